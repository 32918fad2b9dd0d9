"""Synthetic known forms with exact truth per named field, for templates' tests and benchmark.

Two fixed layouts, each with a template in ``templates/``: ``synth-cheque`` (the cheque of
:mod:`digitscan.synth`: date comb, amount frame, reference number on a rule) and ``synth-form`` (combs,
frames and an underlined field). Every page is skewed (as in :mod:`digitscan.synth`) and then scaled about
its centre and shifted by a known amount, as a scanner set to another zoom or a page fed askew would do;
each field's truth is its digit string and the box enclosing its digits on the final page.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from digitscan.mnist import MnistData
from digitscan.segment import Box
from digitscan.synth import Style, SyntheticPage, _Canvas, _digits_text, _random_digits, _scan, _skew, render_cheque

LAYOUTS = ("synth-cheque", "synth-form")


@dataclass(frozen=True)
class PageTransform:
    """Rotate (degrees, counter-clockwise) and scale about the page centre, then shift (pixels)."""

    scale: float = 1.0
    dx: float = 0.0
    dy: float = 0.0
    rotate_deg: float = 0.0

    def matrix(self, width: int, height: int) -> np.ndarray:
        """The 2x3 affine matrix of this transform for a page of this size."""
        matrix = cv2.getRotationMatrix2D((width / 2, height / 2), self.rotate_deg, self.scale)
        matrix[:, 2] += np.array([self.dx, self.dy])
        return matrix


# Scanned style: the printed label over each field of the fixed form, and where it is printed.
_FORM_LABELS = {
    "account": ("1. Account no.", 120, 160),
    "zip": ("2. Postcode", 1300, 160),
    "date": ("3. Date (DD MM YYYY)", 120, 460),
    "amount": ("4. Amount", 1100, 440),
    "phone": ("5. Phone", 120, 750),
    "quantity": ("6. Quantity", 1100, 740),
    "customer": ("7. Customer no.", 120, 1080),
    "code": ("8. Branch code", 1300, 1080),
}


def render_synth_form(
    rng: np.random.Generator,
    digits: MnistData,
    values: dict[str, str] | None = None,
    blank: bool = False,
    style: Style = "clean",
) -> tuple[SyntheticPage, list[str]]:
    """The fixed synthetic form: its page and the field name of each truth number, in order.

    ``values`` writes given digits into named fields instead of random ones; ``blank`` writes nothing.
    ``scanned``: with a printed title and form number, a numbered label over each field, touching and broken
    digits, and a scan's damage (as :func:`digitscan.synth.render_form` draws them).
    """
    scanned = style == "scanned"
    canvas = _Canvas(rng, 2000, 2600, digits, scanned)
    canvas.frame(40, 40, 1920, 2520, thickness=4)
    names = []
    chosen = values or {}
    if scanned:
        canvas.print_text("ORDER FORM", 120, 110, 1.6)
        canvas.print_text(f"Form {_digits_text(rng, 2)}-B No. {_digits_text(rng, 6)}", 1380, 110, 0.9)
        for text, x, baseline in _FORM_LABELS.values():
            canvas.print_text(text, x, baseline, 0.9)

    def comb(name: str, x: int, y: int, cells: int, text: str) -> None:
        lefts = canvas.comb(x, y, 90, 125, cells)
        if not blank:
            canvas.write_in_cells(chosen.get(name, text), lefts, 90, y, 125)
            names.append(name)

    def framed(name: str, x: int, y: int, w: int, text: str) -> None:
        canvas.frame(x, y, w, 160)
        if not blank:
            canvas.write_number(chosen.get(name, text), x + 40 + int(rng.integers(0, 40)), y + 125, 85)
            names.append(name)

    comb("account", 120, 180, 10, _random_digits(rng, 10, 10))
    comb("zip", 1300, 180, 5, _random_digits(rng, 5, 5))
    day, month, year = int(rng.integers(1, 29)), int(rng.integers(1, 13)), int(rng.integers(1990, 2031))
    comb("date", 120, 480, 8, f"{day:02d}{month:02d}{year:04d}")
    framed("amount", 1100, 460, 760, _random_digits(rng, 2, 6))
    canvas.rule(120, 900, 1000, 900)
    if not blank:
        canvas.write_number(chosen.get("phone", _random_digits(rng, 7, 9)), 150 + int(rng.integers(0, 60)), 898, 85)
        names.append("phone")
    framed("quantity", 1100, 760, 400, _random_digits(rng, 1, 3))
    framed("customer", 120, 1100, 900, _random_digits(rng, 6, 8))
    comb("code", 1300, 1100, 4, _random_digits(rng, 4, 4))
    canvas.rule(120, 2300, 1880, 2300)  # signature line
    if scanned:
        canvas.print_text("Signature", 120, 2345, 0.9)
    page = canvas.render(_skew(rng, scanned))
    page.layout = "synth-form"
    return (_scan(page, rng) if scanned else page), names


def render_layout(
    layout: str, rng: np.random.Generator, digits: MnistData, style: Style = "clean"
) -> tuple[SyntheticPage, list[str]]:
    """A page of ``layout`` (in ``style``) and the field name of each of its truth numbers."""
    if layout == "synth-cheque":
        page = render_cheque(rng, digits, style)
        return page, ["date", "amount", "reference"]
    if layout == "synth-form":
        return render_synth_form(rng, digits, style=style)
    raise ValueError(f"unknown layout {layout!r}; one of {', '.join(LAYOUTS)}")


def transform_page(page: SyntheticPage, transform: PageTransform) -> SyntheticPage:
    """The page scaled and shifted by ``transform`` (same size; paper fills the border), truth boxes moved."""
    height, width = page.image.shape[:2]
    matrix = transform.matrix(width, height)
    image = cv2.warpAffine(page.image, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    moved = SyntheticPage(page.layout, image)
    for number in page.numbers:
        digits = []
        for d in number.digits:
            b = d.box
            corners = (
                np.array([[b.x, b.y, 1], [b.right, b.y, 1], [b.x, b.bottom, 1], [b.right, b.bottom, 1]]) @ matrix.T
            )
            (x0, y0), (x1, y1) = corners.min(axis=0), corners.max(axis=0)
            digits.append(type(d)(d.digit, Box(int(x0), int(y0), max(1, round(x1 - x0)), max(1, round(y1 - y0)))))
        moved.numbers.append(type(number)(number.text, tuple(digits)))
    return moved


def field_truth(page: SyntheticPage, names: list[str]) -> dict[str, tuple[str, Box]]:
    """Field name -> (digits, the box enclosing them) on the page."""
    return {
        name: (number.text, Box.enclosing([d.box for d in number.digits]))
        for name, number in zip(names, page.numbers, strict=True)
    }


def write_form_pages(
    folder: Path,
    layout: str,
    pages: int,
    seed: int,
    digits: MnistData,
    transform: PageTransform | None = None,
    style: Style = "clean",
) -> dict[str, dict[str, tuple[str, Box]]]:
    """Write ``pages`` PNG pages of ``layout`` (each with a random or the given transform) and truth.json.

    Returns file name -> field name -> (digits, box).
    """
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    truth: dict[str, dict[str, tuple[str, Box]]] = {}
    for index in range(1, pages + 1):
        page, names = render_layout(layout, rng, digits, style)
        chosen = transform or PageTransform(
            float(rng.uniform(0.95, 1.05)), float(rng.uniform(-20, 20)), float(rng.uniform(-20, 20))
        )
        page = transform_page(page, chosen)
        name = f"{layout}_{index:03d}.png"
        Image.fromarray(cv2.cvtColor(page.image, cv2.COLOR_RGB2GRAY)).save(folder / name, dpi=(300, 300))
        truth[name] = field_truth(page, names)
    document = {
        name: {field: {"digits": text, "box": [b.x, b.y, b.w, b.h]} for field, (text, b) in fields.items()}
        for name, fields in truth.items()
    }
    (folder / "truth.json").write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    return truth
