"""Review of doubtful digits: what needs a person's eye, the decisions made, and results rebuilt from them.

A results document (the JSON that ``digitscan process --out results.json`` writes) is read back into a
:class:`~digitscan.results.RunResult`. Its ``needs_review`` digits become :class:`ReviewItem` s, least
confident first. Each reviewer decision (the right digit, or "not a digit") is a :class:`Decision` keyed by the
digit's identity (file, page, number, position, box), committed at once to a :class:`CorrectionStore` (SQLite
in WAL mode beside the results) or exported by the static review page as a corrections JSON file.
:func:`apply_corrections` rebuilds the results with the reviewed digits marked ``source=human``, and
:func:`iter_corrections` hands the decisions to training as (file, page, box, label) records.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from digitscan.errors import BadResultsError, NoInputError, OutputNotWritableError
from digitscan.results import (
    HUMAN,
    DigitResult,
    Failure,
    FileResult,
    NumberResult,
    PageAlignment,
    PageResult,
    RunResult,
)
from digitscan.segment import Box, Field

log = logging.getLogger(__name__)

NOT_A_DIGIT = "not_a_digit"  # the label of a box that holds no digit (a speck, a letter, a stroke)
CORRECTIONS_FORMAT = 1  # version of the exported corrections file
STORE_SCHEMA = 1
_DIGIT_LABELS = frozenset("0123456789")


# --- the results document -------------------------------------------------------------------------------


@dataclass(frozen=True)
class InputRoot:
    """One path given to the run that wrote the results: a folder (files named relative to it) or a file."""

    path: str  # as given on the command line
    absolute: str
    folder: bool


@dataclass(frozen=True)
class ResultsDocument:
    """A results JSON document read back: the run, the PDF dpi it used, and where its inputs were."""

    path: Path
    run: RunResult
    sha256: str
    pdf_dpi: int
    inputs: tuple[InputRoot, ...]

    def page_size(self, file: str, page: int) -> tuple[int, int] | None:
        """Width and height of a page as the run saw it, or None when the page is not in the results."""
        for file_result in self.run.files:
            if file_result.file == file:
                for page_result in file_result.pages:
                    if page_result.page == page:
                        return page_result.width, page_result.height
        return None


def _box(data: Mapping[str, Any]) -> Box:
    return Box(int(data["x"]), int(data["y"]), int(data["w"]), int(data["h"]))


def _digit(data: Mapping[str, Any]) -> DigitResult:
    return DigitResult(
        position=int(data["position"]),
        digit=int(data["digit"]),
        confidence=float(data["confidence"]),
        second_digit=int(data["second_digit"]),
        second_confidence=float(data["second_confidence"]),
        box=_box(data),
        needs_review=bool(data["needs_review"]),
        source=str(data.get("source", "model")),
        printed=bool(data.get("printed", False)),
    )


def _number(data: Mapping[str, Any]) -> NumberResult:
    digits = tuple(_digit(d) for d in data["digits"])
    field = data.get("field")
    valid = data.get("valid")
    # A template field with no digit is written with the field's box as its own.
    region = _box(data) if field is not None and not digits else None
    field_name = None if field is None else str(field)
    return NumberResult(int(data["number"]), digits, field_name, None if valid is None else bool(valid), region)


def _page(data: Mapping[str, Any]) -> PageResult:
    numbers = tuple(_number(n) for n in data["numbers"] if n["digits"] or n.get("field") is not None)
    alignment = data.get("alignment")
    return PageResult(
        int(data["page"]),
        int(data["width"]),
        int(data["height"]),
        float(data["skew_deg"]),
        numbers,
        None if alignment is None else PageAlignment(**alignment),
        skew_confidence=float(data.get("skew_confidence", 0.0)),
        fields=tuple(Field(_box(f), tuple(Box(*cell) for cell in f["cells"])) for f in data.get("fields", [])),
    )


def run_from_json(document: Mapping[str, Any]) -> RunResult:
    """The :class:`RunResult` a JSON results document describes (the inverse of ``writers.render_json``).

    Raises ``KeyError``, ``TypeError`` or ``ValueError`` on a malformed document.
    """
    files = tuple(
        FileResult(str(f["file"]), None if f["kind"] is None else str(f["kind"]), tuple(_page(p) for p in f["pages"]))
        for f in document["files"]
    )
    failures = tuple(
        Failure(str(x["file"]), x["page"], str(x["stage"]), str(x["error_type"]), str(x["message"]))
        for x in document.get("failures", [])
    )
    metadata = document.get("digitscan", {})
    if not isinstance(metadata, dict):
        raise TypeError("'digitscan' must be an object")
    return RunResult(files, failures, metadata, float(document.get("summary", {}).get("elapsed_s", 0.0)))


def load_results(path: Path) -> ResultsDocument:
    """Read a JSON results document; a clear :class:`BadResultsError` (exit 6) when it is not one."""
    if not path.is_file():
        raise NoInputError(f"results file {path} does not exist (write one with: digitscan process SCANS --out {path})")
    if path.suffix.lower() != ".json":
        raise BadResultsError(
            f"{path} is not a JSON results document: review and apply read the JSON output "
            "(digitscan process SCANS --out results.json)"
        )
    try:
        raw = path.read_bytes()
        document = json.loads(raw)
    except OSError as exc:
        raise BadResultsError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadResultsError(f"{path} is not valid JSON ({exc}); is it a digitscan results document?") from exc
    if not isinstance(document, dict) or not isinstance(document.get("files"), list):
        raise BadResultsError(f"{path} is not a digitscan results document (no 'files' list)")
    try:
        run = run_from_json(document)
        options = run.metadata.get("options", {})
        pdf_dpi = int(options.get("pdf_dpi", 300))
        inputs = tuple(
            InputRoot(str(i["path"]), str(i["absolute"]), bool(i["folder"])) for i in run.metadata.get("inputs", [])
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BadResultsError(
            f"{path} is not a well-formed digitscan results document: {type(exc).__name__}: {exc}"
        ) from exc
    return ResultsDocument(path, run, hashlib.sha256(raw).hexdigest(), pdf_dpi, inputs)


# --- what to review ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DigitKey:
    """A digit's identity in a run's results: stable across restarts, exports and reruns of the same run."""

    file: str
    page: int
    number: int
    position: int
    box: Box

    @property
    def id(self) -> str:
        """A short opaque id: how the review page and the corrections file name a digit (never by path)."""
        b = self.box
        text = f"{self.file}\0{self.page}\0{self.number}\0{self.position}\0{b.x},{b.y},{b.w},{b.h}"
        return hashlib.sha256(text.encode()).hexdigest()[:20]


@dataclass(frozen=True)
class ReviewItem:
    """One digit that needs review, with the number it belongs to and the size of its page."""

    key: DigitKey
    digit: DigitResult
    number: NumberResult
    page_width: int
    page_height: int

    @property
    def id(self) -> str:
        return self.key.id

    def context_box(self) -> Box:
        """The region shown to the reviewer: the whole number with a margin, clipped to the page."""
        box = self.number.box
        margin_x, margin_y = max(box.h, 24), max(box.h // 2, 16)
        x0, y0 = max(0, box.x - margin_x), max(0, box.y - margin_y)
        x1 = min(self.page_width, box.right + margin_x)
        y1 = min(self.page_height, box.bottom + margin_y)
        return Box(x0, y0, max(1, x1 - x0), max(1, y1 - y0))


def review_items(run: RunResult) -> list[ReviewItem]:
    """The digits flagged ``needs_review``, least confident first (then in file, page, number, position order)."""
    items = []
    for file_result in run.files:
        for page in file_result.pages:
            for number in page.numbers:
                for digit in number.digits:
                    if digit.needs_review:
                        key = DigitKey(file_result.file, page.page, number.index, digit.position, digit.box)
                        items.append(ReviewItem(key, digit, number, page.width, page.height))
    return sorted(items, key=lambda item: item.digit.confidence)  # stable: ties keep document order


def digit_keys(run: RunResult) -> dict[str, DigitKey]:
    """Every digit of a run by id."""
    return {
        key.id: key
        for f in run.files
        for p in f.pages
        for n in p.numbers
        for d in n.digits
        for key in [DigitKey(f.file, p.page, n.index, d.position, d.box)]
    }


# --- decisions --------------------------------------------------------------------------------------------


def parse_label(value: object) -> int | None:
    """A reviewer's label from its stored form: ``"0"`` .. ``"9"`` (or an int) or ``"not_a_digit"`` (None)."""
    if value == NOT_A_DIGIT:
        return None
    text = str(value) if isinstance(value, (int, str)) and not isinstance(value, bool) else ""
    if text not in _DIGIT_LABELS:
        raise ValueError(f"a label is a digit 0-9 or {NOT_A_DIGIT!r}, not {value!r}")
    return int(text)


def label_text(label: int | None) -> str:
    """The stored form of a label."""
    return NOT_A_DIGIT if label is None else str(label)


def now_iso() -> str:
    """The current UTC time in ISO 8601, to the second."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


@dataclass(frozen=True)
class Decision:
    """A reviewer's answer for one digit: the right digit, or None for "not a digit"."""

    key: DigitKey
    label: int | None
    model_digit: int
    decided_at: str

    @property
    def id(self) -> str:
        return self.key.id

    def to_json(self) -> dict[str, Any]:
        """The decision as one record of a corrections file."""
        k = self.key
        return {
            "id": k.id,
            "file": k.file,
            "page": k.page,
            "number": k.number,
            "position": k.position,
            "x": k.box.x,
            "y": k.box.y,
            "w": k.box.w,
            "h": k.box.h,
            "label": label_text(self.label),
            "model_digit": self.model_digit,
            "decided_at": self.decided_at,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Decision:
        """Read one record of a corrections file; ``ValueError``/``KeyError``/``TypeError`` when malformed."""
        key = DigitKey(str(data["file"]), int(data["page"]), int(data["number"]), int(data["position"]), _box(data))
        if data.get("id", key.id) != key.id:
            raise ValueError(f"id {data['id']!r} does not match its file, page, number, position and box")
        return cls(key, parse_label(data["label"]), int(data.get("model_digit", -1)), str(data.get("decided_at", "")))


def decide(item: ReviewItem, label: int | None) -> Decision:
    """A decision on ``item`` made now."""
    return Decision(item.key, label, item.digit.digit, now_iso())


def store_path(results: Path) -> Path:
    """Where the review decisions of ``results`` live: ``results.json.review.sqlite`` beside it."""
    return results.with_name(f"{results.name}.review.sqlite")


class CorrectionStore:
    """Review decisions in SQLite (WAL, synchronous=FULL): each one committed when made, safe from kill -9.

    One connection shared by the review server's threads behind a lock.
    """

    def __init__(self, path: Path, db: sqlite3.Connection) -> None:
        self.path = path
        self._db = db
        self._lock = threading.Lock()

    @classmethod
    def open(cls, path: Path, create: bool = True) -> CorrectionStore:
        """Open the store at ``path``, creating it when ``create`` (else a missing store is an error)."""
        if not create and not path.is_file():
            raise NoInputError(f"corrections store {path} does not exist")
        try:
            db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10.0)
        except sqlite3.Error as exc:
            raise OutputNotWritableError(f"cannot open the review store {path}: {exc}") from exc
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            db.execute(
                "CREATE TABLE IF NOT EXISTS decisions (id TEXT PRIMARY KEY, file TEXT NOT NULL, page INTEGER NOT NULL,"
                " number INTEGER NOT NULL, position INTEGER NOT NULL, x INTEGER NOT NULL, y INTEGER NOT NULL,"
                " w INTEGER NOT NULL, h INTEGER NOT NULL, label TEXT NOT NULL, model_digit INTEGER NOT NULL,"
                " decided_at TEXT NOT NULL)"
            )
            version = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            if version is None:
                db.execute("INSERT INTO meta VALUES ('schema', ?)", (str(STORE_SCHEMA),))
            elif version[0] != str(STORE_SCHEMA):
                raise BadResultsError(f"{path} is a review store of schema {version[0]}, not {STORE_SCHEMA}")
        except sqlite3.OperationalError as exc:  # read-only folder, locked, disk full
            db.close()
            raise OutputNotWritableError(f"cannot use the review store {path}: {exc}") from exc
        except sqlite3.DatabaseError as exc:  # not an SQLite file at all
            db.close()
            raise BadResultsError(f"{path} is not a digitscan review store: {exc}") from exc
        except BadResultsError:
            db.close()
            raise
        return cls(path, db)

    def save(self, decision: Decision) -> None:
        """Record (or replace) one decision and commit it to disk before returning."""
        k = decision.key
        row = (k.id, k.file, k.page, k.number, k.position, k.box.x, k.box.y, k.box.w, k.box.h)
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute(
                "INSERT OR REPLACE INTO decisions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*row, label_text(decision.label), decision.model_digit, decision.decided_at),
            )

    def forget(self, digit_id: str) -> None:
        """Undo the decision on one digit (it needs review again)."""
        with self._lock, self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("DELETE FROM decisions WHERE id = ?", (digit_id,))

    def decisions(self) -> dict[str, Decision]:
        """Every recorded decision by digit id."""
        with self._lock:
            rows = self._db.execute(
                "SELECT file, page, number, position, x, y, w, h, label, model_digit, decided_at FROM decisions"
            ).fetchall()
        found = {}
        for file, page, number, position, x, y, w, h, label, model_digit, decided_at in rows:
            decision = Decision(
                DigitKey(file, page, number, position, Box(x, y, w, h)), parse_label(label), model_digit, decided_at
            )
            found[decision.id] = decision
        return found

    def close(self) -> None:
        """Close the database (every decision is already committed)."""
        with self._lock:
            self._db.close()


def render_corrections_file(decisions: Iterable[Decision], results: ResultsDocument) -> str:
    """The corrections JSON file format, as the static review page exports it and ``apply`` reads it."""
    document = {
        "digitscan_corrections": CORRECTIONS_FORMAT,
        "results": results.path.name,
        "results_sha256": results.sha256,
        "corrections": [d.to_json() for d in sorted(decisions, key=lambda d: d.decided_at)],
    }
    return json.dumps(document, indent=1) + "\n"


def read_corrections_file(path: Path) -> dict[str, Decision]:
    """Decisions from a corrections JSON file (the static page's export); :class:`BadResultsError` if malformed."""
    try:
        document = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise NoInputError(f"corrections file {path} does not exist") from None
    except OSError as exc:
        raise BadResultsError(f"cannot read corrections file {path}: {exc.strerror or exc}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadResultsError(f"corrections file {path} is not valid JSON: {exc}") from exc
    if not isinstance(document, dict) or document.get("digitscan_corrections") != CORRECTIONS_FORMAT:
        raise BadResultsError(
            f"{path} is not a digitscan corrections file (format {CORRECTIONS_FORMAT}, as the review page exports)"
        )
    records = document.get("corrections")
    if not isinstance(records, list):
        raise BadResultsError(f"corrections file {path} has no 'corrections' list")
    found = {}
    for index, record in enumerate(records):
        try:
            decision = Decision.from_json(record)
        except (KeyError, TypeError, ValueError) as exc:
            raise BadResultsError(f"corrections file {path}, record {index}: {type(exc).__name__}: {exc}") from exc
        found[decision.id] = decision
    return found


def load_decisions(results: Path, sources: Sequence[Path] = ()) -> dict[str, Decision]:
    """Decisions for ``results``: from ``sources`` (review stores or corrections files, later ones winning),
    or by default from the store beside the results (none when there is no store yet)."""
    if not sources:
        default = store_path(results)
        sources = [default] if default.is_file() else []
    found: dict[str, Decision] = {}
    for source in sources:
        if source.suffix.lower() == ".json":
            found.update(read_corrections_file(source))
            continue
        store = CorrectionStore.open(source, create=False)
        try:
            found.update(store.decisions())
        finally:
            store.close()
    return found


# --- applying decisions -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AppliedReview:
    """Results with the reviewed digits replaced, and what was done."""

    run: RunResult
    confirmed: int  # the model's reading was right
    corrected: int  # the reviewer gave another digit
    not_digits: int  # boxes removed as "not a digit"
    numbers_dropped: int  # numbers left without digits
    unmatched: int  # decisions for digits that are not in these results


def _reviewed_number(
    file: str, page: int, number: NumberResult, decisions: Mapping[str, Decision], counts: dict[str, int]
) -> NumberResult | None:
    digits: list[DigitResult] = []
    for digit in number.digits:
        decision = decisions.get(DigitKey(file, page, number.index, digit.position, digit.box).id)
        if decision is None:
            digits.append(digit)
        elif decision.label is None:
            counts["not_digits"] += 1
        else:
            counts["confirmed" if decision.label == digit.digit else "corrected"] += 1
            digits.append(replace(digit, digit=decision.label, confidence=1.0, needs_review=False, source=HUMAN))
        if decision is not None:
            counts["matched"] += 1
    if number.field is not None:  # a template field stays, and its digits keep their comb cells
        return replace(number, digits=tuple(digits))
    if not digits:
        counts["numbers_dropped"] += 1
        return None
    return replace(number, digits=tuple(replace(d, position=i) for i, d in enumerate(digits)))


def apply_corrections(run: RunResult, decisions: Mapping[str, Decision]) -> AppliedReview:
    """Rebuild ``run`` with the reviewers' decisions.

    A reviewed digit takes the reviewer's label with confidence 1.0, ``needs_review`` false and
    ``source=human``; a "not a digit" box is removed from its number, a number left empty is dropped, and
    digits and numbers are renumbered so positions and indexes stay consecutive. Number text and confidence
    follow from the digits.
    """
    counts = dict.fromkeys(("confirmed", "corrected", "not_digits", "numbers_dropped", "matched"), 0)
    files = []
    for file_result in run.files:
        pages = []
        for page in file_result.pages:
            kept = [_reviewed_number(file_result.file, page.page, n, decisions, counts) for n in page.numbers]
            numbers = tuple(replace(n, index=i) for i, n in enumerate(n for n in kept if n is not None))
            pages.append(replace(page, numbers=numbers))
        files.append(replace(file_result, pages=tuple(pages)))
    review = {
        "decisions_applied": counts["matched"],
        "confirmed": counts["confirmed"],
        "corrected": counts["corrected"],
        "not_digits": counts["not_digits"],
        "applied_at": now_iso(),
    }
    metadata = {**run.metadata, "review": review}
    return AppliedReview(
        replace(run, files=tuple(files), metadata=metadata),
        counts["confirmed"],
        counts["corrected"],
        counts["not_digits"],
        counts["numbers_dropped"],
        len(decisions) - counts["matched"],
    )


# --- decisions for training -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Correction:
    """One reviewed box, for training: where it is and what it holds (``label`` None: "not a digit").

    ``path`` is the scan file found from the results' inputs (None when it cannot be found); load its page
    with ``digitscan.loading.load_page`` at ``pdf_dpi`` and cut ``box``, then normalise as inference does.
    """

    file: str
    path: Path | None
    page: int
    box: Box
    label: int | None
    pdf_dpi: int


def iter_corrections(results: Path, sources: Sequence[Path] = ()) -> Iterator[Correction]:
    """The reviewed boxes of ``results`` as :class:`Correction` records, in decision order.

    ``sources`` as in :func:`load_decisions` (default: the review store beside the results).
    """
    from digitscan.review_images import ScanLocator

    document = load_results(results)
    locator = ScanLocator(document)
    for decision in sorted(load_decisions(results, sources).values(), key=lambda d: d.decided_at):
        key = decision.key
        yield Correction(key.file, locator.find(key.file), key.page, key.box, decision.label, document.pdf_dpi)
