"""Known forms: a template names a form's fields, where they are on the page and what each must hold.

A template is a YAML or JSON file (schema in the README, examples in ``templates/``). Coordinates are pixels
of the template's reference page (``page.width`` x ``page.height``); a scan of another size or resolution is
registered to it by :mod:`digitscan.align` before fields are cut. Loading validates everything and raises
:class:`TemplateError` (exit code 2) with a message naming the file, the field and the fix.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from digitscan.errors import UsageError

KINDS = ("digits", "comb", "amount", "date")
DATE_FORMATS = {
    "DDMMYYYY": ("day", "month", "year4"),
    "MMDDYYYY": ("month", "day", "year4"),
    "YYYYMMDD": ("year4", "month", "day"),
    "DDMMYY": ("day", "month", "year2"),
    "MMDDYY": ("month", "day", "year2"),
    "YYMMDD": ("year2", "month", "day"),
}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


class TemplateError(UsageError):
    """A template file cannot be read or does not follow the schema (exit code 2)."""


@dataclass(frozen=True)
class FieldSpec:
    """One named field: its box on the reference page, what it holds, and the rule its digits must pass."""

    name: str
    kind: str  # digits | comb | amount | date
    box: tuple[float, float, float, float]  # x, y, w, h in reference-page pixels
    frame: bool  # a printed frame surrounds the box: used as an alignment landmark and snapped to
    cells: int | None  # comb and date: the number of printed boxes (one digit each)
    length: tuple[int, int] | None  # allowed number of digits, inclusive
    pattern: str | None  # a regular expression the whole digit string must match
    date_format: str | None  # date: one of DATE_FORMATS
    required: bool  # an empty field is invalid (needs review) when True
    margin: tuple[float, float, float, float] | None = None  # cut this far beyond the box: left, top, right, bottom
    currency: float = 0.0  # amount: share of the box's width, at its left, holding a printed currency sign
    years: tuple[int, int] = (1900, 2099)  # date: the plausible years, inclusive
    grouped: bool = False  # amount: its separators part its digits into thousands groups (groups_fit)

    def check(self, text: str) -> bool:
        """Whether the digits read in this field pass its rules (length, pattern, date exists, amount parses)."""
        if not text:
            return not self.required
        if not text.isdigit():
            return False
        if self.length is not None and not self.length[0] <= len(text) <= self.length[1]:
            return False
        if self.pattern is not None and re.fullmatch(self.pattern, text) is None:
            return False
        if self.kind == "amount":
            return not text.startswith("0")  # a leading zero (or a zero amount) is a misread
        if self.kind == "date" and self.date_format is not None:
            day = parse_date(text, self.date_format)
            return day is not None and self.years[0] <= day.year <= self.years[1]
        return True

    def groups_fit(self, groups: Sequence[int]) -> bool:
        """Whether the digit counts between an amount's separators, left to right, could be thousands groups:
        every separator stands where one belongs, counting digits from the amount's right end, in one style
        throughout: after 3, 5, 7... (Indian '12,34,567') or after 3, 6, 9... ('1,234,567'). A separator
        segmentation missed (a comma joined to its digit) merges two groups, which still fit; a cursive
        '000' cut into four parts does not ('51,0290'). True for a field that is not ``grouped``.
        """
        if not self.grouped:
            return True
        places = list(itertools.accumulate(reversed(groups[1:])))  # each separator's digits to its right
        indian = all(place >= 3 and place % 2 == 1 for place in places)
        return indian or all(place % 3 == 0 for place in places)

    def likeliest_valid(self, probabilities: np.ndarray, doubted: float, changes: int = 2) -> str | None:
        """The most probable digit string that passes :meth:`check`, changing at most ``changes`` of the
        digits the classifier doubts (best probability below ``doubted``); None when there is none.

        ``probabilities`` holds each read digit's probability of being 0-9, shape (digits, 10). A field's
        rules (a date that exists, a year in range, a pattern) rule out readings page mode cannot tell from
        right ones; among those left, the one the classifier finds likeliest is the best guess to offer a
        reviewer. A digit read surely is never changed: an impossible date written plainly (31 February)
        is the writer's, and stays invalid.
        """
        if len(probabilities) == 0:
            return None
        cost = -np.log(np.clip(probabilities, 1e-9, 1.0))
        best = cost.argmin(axis=1)
        extra = cost - cost[np.arange(len(best)), best][:, None]  # the price of each other digit at each place
        open_places = [i for i in range(len(best)) if probabilities[i, best[i]] < doubted]
        options: list[tuple[float, tuple[tuple[int, int], ...]]] = []
        for count in range(1, min(changes, len(open_places)) + 1):
            for places in itertools.combinations(open_places, count):
                for digits in itertools.product(range(10), repeat=count):
                    if all(d != best[i] for i, d in zip(places, digits, strict=True)):
                        swaps = tuple(zip(places, digits, strict=True))
                        options.append((float(sum(extra[i, d] for i, d in swaps)), swaps))
        options.sort(key=lambda option: option[0])
        for _, swaps in options:
            text = [str(d) for d in best]
            for i, d in swaps:
                text[i] = str(d)
            if self.check("".join(text)):
                return "".join(text)
        return None


def parse_date(text: str, date_format: str) -> date | None:
    """The date ``text`` spells in ``date_format`` (e.g. DDMMYYYY), or None when it does not exist."""
    parts = DATE_FORMATS[date_format]
    if len(text) != len(date_format) or not text.isdigit():
        return None
    values: dict[str, int] = {}
    cursor = 0
    for part in parts:
        width = 4 if part == "year4" else 2
        values[part] = int(text[cursor : cursor + width])
        cursor += width
    year = values.get("year4", 2000 + values.get("year2", 0))
    try:
        return date(year, values["month"], values["day"])
    except ValueError:
        return None


@dataclass(frozen=True)
class AlignSpec:
    """How strictly a page must match the template."""

    max_residual: float = 6.0  # RMS landmark distance after registration, in reference-page pixels
    min_matched: float = 0.6  # share of landmark lines that must be found on the page
    scale: tuple[float, float] = (0.9, 1.1)  # allowed scale around page width / template width
    search: float = 0.08  # allowed translation, as a share of the page's size
    aspect_tolerance: float = 0.15  # allowed relative difference of the page's width/height ratio
    snap: float | None = None  # how far (template pixels) a field's frame may lie from its fitted place
    lines: tuple[tuple[float, float, float, float], ...] = ()  # extra printed rules: x0, y0, x1, y1


@dataclass(frozen=True)
class Template:
    """A known form: reference page size, named fields, alignment settings, and a hash of its content."""

    name: str
    width: int
    height: int
    fields: tuple[FieldSpec, ...]
    align: AlignSpec
    sha256: str  # of the validated content: part of the run journal's key

    def field(self, name: str) -> FieldSpec:
        """The field called ``name``."""
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise KeyError(name)


def _fail(source: str, where: str, message: str) -> TemplateError:
    return TemplateError(f"template {source}: {where}: {message}")


def _number(value: Any, source: str, where: str, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(source, where, f"must be a number, not {value!r}")
    if positive and value <= 0:
        raise _fail(source, where, f"must be positive, not {value!r}")
    return float(value)


def _quad(value: Any, source: str, where: str) -> tuple[float, float, float, float]:
    if not isinstance(value, list | tuple) or len(value) != 4:
        raise _fail(source, where, f"must be a list of 4 numbers, not {value!r}")
    a, b, c, d = (_number(v, source, where) for v in value)
    return a, b, c, d


def _allowed_keys(data: dict[str, Any], allowed: set[str], source: str, where: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise _fail(source, where, f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")


def _field(data: Any, index: int, width: int, height: int, source: str) -> FieldSpec:
    where = f"fields[{index}]"
    if not isinstance(data, dict):
        raise _fail(source, where, "each field must be a mapping with name, kind and box")
    name = data.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise _fail(source, where, f"name must be a word (letters, digits, _ . -), not {name!r}")
    where = f"field {name!r}"
    allowed = {"name", "kind", "box", "frame", "cells", "length", "pattern", "format", "required", "margin"}
    allowed |= {"currency", "years", "grouped"}
    _allowed_keys(data, allowed, source, where)
    kind = data.get("kind", "digits")
    if kind not in KINDS:
        raise _fail(source, where, f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if "box" not in data:
        raise _fail(source, where, "box [x, y, w, h] is required")
    x, y, w, h = _quad(data["box"], source, f"{where} box")
    if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > width or y + h > height:
        raise _fail(source, where, f"box {[x, y, w, h]} must have a positive size and lie on the {width}x{height} page")
    cells = data.get("cells")
    if kind == "comb" and cells is None:
        raise _fail(source, where, "a comb field needs cells: the number of printed boxes")
    if cells is not None and (isinstance(cells, bool) or not isinstance(cells, int) or not 1 <= cells <= 64):
        raise _fail(source, where, f"cells must be a whole number from 1 to 64, not {cells!r}")
    date_format = data.get("format")
    if kind == "date":
        date_format = date_format or "DDMMYYYY"
        if date_format not in DATE_FORMATS:
            raise _fail(source, where, f"format must be one of {', '.join(DATE_FORMATS)}, not {date_format!r}")
        if cells is not None and cells != len(date_format):
            raise _fail(source, where, f"a {date_format} date has {len(date_format)} cells, not {cells}")
    elif date_format is not None:
        raise _fail(source, where, "format is only for kind: date")
    length = data.get("length")
    bounds: tuple[int, int] | None
    if length is None:
        bounds = (len(date_format), len(date_format)) if date_format else (cells, cells) if cells else None
    elif isinstance(length, int) and not isinstance(length, bool) and length > 0:
        bounds = (length, length)
    elif (
        isinstance(length, list)
        and len(length) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in length)
        and 0 < length[0] <= length[1]
    ):
        bounds = (length[0], length[1])
    else:
        raise _fail(source, where, f"length must be a positive whole number or [min, max], not {length!r}")
    pattern = data.get("pattern")
    if pattern is not None:
        if not isinstance(pattern, str):
            raise _fail(source, where, f"pattern must be a string (a regular expression), not {pattern!r}")
        try:
            re.compile(pattern)
        except re.error as exc:
            raise _fail(source, where, f"pattern {pattern!r} is not a valid regular expression: {exc}") from None
    frame = data.get("frame", kind in ("comb", "date"))
    required = data.get("required", True)
    for key, value in (("frame", frame), ("required", required)):
        if not isinstance(value, bool):
            raise _fail(source, where, f"{key} must be true or false, not {value!r}")
    margin = data.get("margin")
    margins: tuple[float, float, float, float] | None = None
    if isinstance(margin, int | float) and not isinstance(margin, bool) and margin >= 0:
        margins = (float(margin), float(margin), float(margin), float(margin))
    elif margin is not None:
        margins = _quad(margin, source, f"{where} margin")
        if min(margins) < 0:
            raise _fail(source, where, f"margin must not be negative, not {margin!r}")
    currency = data.get("currency", 0.0)
    if kind != "amount" and "currency" in data:
        raise _fail(source, where, "currency is only for kind: amount")
    currency = _number(currency, source, f"{where} currency")
    if not 0 <= currency < 0.5:
        raise _fail(source, where, f"currency is a share of the box's width below 0.5, not {currency!r}")
    grouped = data.get("grouped", False)
    if kind != "amount" and "grouped" in data:
        raise _fail(source, where, "grouped is only for kind: amount")
    if not isinstance(grouped, bool):
        raise _fail(source, where, f"grouped must be true or false, not {grouped!r}")
    years = data.get("years", [1900, 2099])
    if kind != "date" and "years" in data:
        raise _fail(source, where, "years is only for kind: date")
    if not (
        isinstance(years, list)
        and len(years) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in years)
        and 1 <= years[0] <= years[1] <= 9999
    ):
        raise _fail(source, where, f"years must be [first, last], whole years, not {years!r}")
    return FieldSpec(
        name,
        kind,
        (x, y, w, h),
        frame,
        cells,
        bounds,
        pattern,
        date_format,
        required,
        margins,
        currency,
        (years[0], years[1]),
        grouped,
    )


def _align(data: Any, source: str) -> AlignSpec:
    if data is None:
        return AlignSpec()
    if not isinstance(data, dict):
        raise _fail(source, "align", "must be a mapping")
    allowed = {"max_residual", "min_matched", "scale", "search", "aspect_tolerance", "lines", "snap"}
    _allowed_keys(data, allowed, source, "align")
    default = AlignSpec()
    max_residual = _number(data.get("max_residual", default.max_residual), source, "align.max_residual", True)
    min_matched = _number(data.get("min_matched", default.min_matched), source, "align.min_matched", True)
    search = _number(data.get("search", default.search), source, "align.search", True)
    aspect = _number(data.get("aspect_tolerance", default.aspect_tolerance), source, "align.aspect_tolerance", True)
    scale = data.get("scale", list(default.scale))
    if not isinstance(scale, list) or len(scale) != 2:
        raise _fail(source, "align.scale", f"must be [low, high], not {scale!r}")
    low, high = (_number(v, source, "align.scale", True) for v in scale)
    if not low <= 1.0 <= high or high > 3 * low:
        raise _fail(source, "align.scale", f"must hold 1.0 and span at most a factor 3, not {scale!r}")
    if min_matched > 1 or search > 0.5:
        raise _fail(source, "align", "min_matched must be at most 1 and search at most 0.5")
    lines_data = data.get("lines", [])
    if not isinstance(lines_data, list):
        raise _fail(source, "align.lines", "must be a list of [x0, y0, x1, y1]")
    lines = tuple(_quad(line, source, f"align.lines[{i}]") for i, line in enumerate(lines_data))
    for i, (x0, y0, x1, y1) in enumerate(lines):
        if x0 != x1 and y0 != y1:
            raise _fail(source, f"align.lines[{i}]", "a landmark line must be horizontal or vertical")
    snap = None if data.get("snap") is None else _number(data["snap"], source, "align.snap", True)
    return AlignSpec(max_residual, min_matched, (low, high), search, aspect, snap, lines)


def parse_template(data: Any, source: str = "<template>") -> Template:
    """Validate a template document (already parsed from YAML or JSON) and build the :class:`Template`."""
    if not isinstance(data, dict):
        raise _fail(source, "top level", "must be a mapping with name, page and fields")
    _allowed_keys(data, {"name", "description", "page", "align", "fields"}, source, "top level")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _fail(source, "name", "a template needs a name")
    page = data.get("page")
    if not isinstance(page, dict) or "width" not in page or "height" not in page:
        raise _fail(source, "page", "page: {width: W, height: H} (the reference page in pixels) is required")
    _allowed_keys(page, {"width", "height"}, source, "page")
    width = int(_number(page["width"], source, "page.width", True))
    height = int(_number(page["height"], source, "page.height", True))
    fields_data = data.get("fields")
    if not isinstance(fields_data, list) or not fields_data:
        raise _fail(source, "fields", "a template needs a non-empty list of fields")
    fields = tuple(_field(f, i, width, height, source) for i, f in enumerate(fields_data))
    names = [f.name for f in fields]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise _fail(source, "fields", f"field names must be unique: {', '.join(duplicates)} repeated")
    align = _align(data.get("align"), source)
    if not align.lines and not any(f.frame for f in fields):
        raise _fail(source, "align", "nothing to align on: mark framed fields with frame: true or list align.lines")
    canonical = json.dumps({k: data[k] for k in ("page", "align", "fields") if k in data}, sort_keys=True)
    return Template(name, width, height, fields, align, hashlib.sha256(canonical.encode()).hexdigest())


def shipped_templates() -> dict[str, Path]:
    """The templates shipped with digitscan by name: inside the installed package, or ``templates/`` of a
    source checkout."""
    package_dir = Path(__file__).resolve().parent
    for folder in (package_dir / "templates", package_dir.parent / "templates"):
        if folder.is_dir():
            return {path.stem: path for path in sorted(folder.glob("*.yaml"))}
    return {}


def load_template(path: Path) -> Template:
    """Read and validate a template file (``.yaml``, ``.yml`` or ``.json``), or a shipped one by name."""
    shipped = shipped_templates()
    if not path.exists() and str(path) in shipped:
        path = shipped[str(path)]
    if path.suffix.lower() not in (".yaml", ".yml", ".json"):
        raise TemplateError(f"template {path}: the file name must end in .yaml, .yml or .json")
    if not path.exists():
        names = ", ".join(shipped) or "none"
        raise TemplateError(f"template {path} does not exist (shipped templates, usable by name: {names})")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateError(f"template {path} cannot be read: {exc}") from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise TemplateError(f"template {path} is not valid JSON: {exc}") from None
    else:
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise TemplateError(f"template {path} is not valid YAML: {exc}") from None
    return parse_template(data, str(path))
