"""Synthetic cheque and form scans with exact ground truth, built from MNIST test digits.

The pages exercise the whole pipeline: tinted and patterned paper, printed frames, comb boxes and
underlines, handwritten digits (MNIST test images scaled to 300 dpi handwriting size) inside boxes, across
comb cells and sitting on rules, a small page skew, and every file format digitscan reads. Truth is exact:
each digit's box is the bounding box of its own ink after the page skew.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from digitscan.mnist import MnistData
from digitscan.segment import Box

DPI = 300
INK_ALPHA_FLOOR = 0.3  # alpha above which a pixel counts as the digit's ink for its truth box


@dataclass(frozen=True)
class TruthDigit:
    """One handwritten digit and its box on the page."""

    digit: int
    box: Box


@dataclass(frozen=True)
class TruthNumber:
    """One handwritten number, digits left to right."""

    text: str
    digits: tuple[TruthDigit, ...]


@dataclass
class SyntheticPage:
    """A rendered page (RGB) and its truth."""

    layout: str
    image: np.ndarray
    numbers: list[TruthNumber] = field(default_factory=list)
    fields: list[Box] = field(default_factory=list)  # combs and boxes drawn to hold one number each


class _Canvas:
    """A page being drawn: paper colour, printed rules, and a float ink layer with per-digit bookkeeping."""

    def __init__(self, rng: np.random.Generator, width: int, height: int, digits: MnistData) -> None:
        self.rng = rng
        self.width, self.height = width, height
        self.digits = digits
        tint = rng.uniform(225, 250, size=3)
        self.paper = np.ones((height, width, 3), np.float32) * tint
        self._add_pattern()
        self.printed = np.zeros((height, width), np.float32)  # alpha of printed rules
        self.ink = np.zeros((height, width), np.float32)  # alpha of handwriting
        self.ink_colour = np.array(rng.choice([(20, 30, 90), (25, 25, 30), (10, 40, 120)]), np.float32)
        self.print_colour = np.array(rng.choice([(70, 70, 70), (40, 60, 110), (90, 60, 60)]), np.float32)
        self.numbers: list[list[tuple[int, np.ndarray, int, int]]] = []
        self.fields: list[Box] = []

    def _add_pattern(self) -> None:
        """Faint guilloche waves, like security paper, well below ink contrast."""
        ys, xs = np.mgrid[0 : self.height, 0 : self.width].astype(np.float32)
        period = self.rng.uniform(25, 60)
        wave = np.sin((ys + 18 * np.sin(xs / self.rng.uniform(80, 160))) * 2 * math.pi / period)
        self.paper -= (self.rng.uniform(4, 10) * (wave > 0.85))[..., None]

    def rule(self, x0: int, y0: int, x1: int, y1: int, thickness: int = 3) -> None:
        cv2.line(self.printed, (x0, y0), (x1, y1), 1.0, thickness)

    def frame(self, x: int, y: int, w: int, h: int, thickness: int = 3) -> None:
        cv2.rectangle(self.printed, (x, y), (x + w, y + h), 1.0, thickness)

    def comb(self, x: int, y: int, cell_w: int, h: int, cells: int) -> list[int]:
        """Draw a row of boxes and return the left edge of each cell."""
        self.frame(x, y, cell_w * cells, h)
        self.fields.append(Box(x, y, cell_w * cells, h))
        for i in range(1, cells):
            self.rule(x + i * cell_w, y, x + i * cell_w, y + h)
        return [x + i * cell_w for i in range(cells)]

    def digit_patch(self, digit: int, height: int) -> np.ndarray:
        """A random MNIST test image of ``digit``, cropped to its ink and scaled to ``height`` pixels."""
        choices = np.flatnonzero(self.digits.test_labels == digit)
        image = self.digits.test_images[int(self.rng.choice(choices))].astype(np.float32) / 255.0
        rows = np.flatnonzero(image.max(axis=1) > 0.1)
        cols = np.flatnonzero(image.max(axis=0) > 0.1)
        image = image[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        scale = height / image.shape[0]
        size = (max(2, round(image.shape[1] * scale)), max(2, round(image.shape[0] * scale)))
        patch = np.clip(cv2.resize(image, size, interpolation=cv2.INTER_CUBIC), 0.0, 1.0)
        return cv2.GaussianBlur(patch, (3, 3), 0.6)

    def place(self, digit: int, patch: np.ndarray, x: int, top: int) -> tuple[int, np.ndarray, int, int]:
        """Put a digit's ink on the page with its top-left at (x, top)."""
        region = self.ink[top : top + patch.shape[0], x : x + patch.shape[1]]
        np.maximum(region, patch[: region.shape[0], : region.shape[1]], out=region)
        return digit, patch, x, top

    def write_number(self, text: str, x: int, y_bottom: int, height: int) -> int:
        """Handwrite ``text`` from ``x`` with its baseline near ``y_bottom``; return the x after its last digit."""
        placed = []
        for char in text:
            patch = self.digit_patch(int(char), int(height * self.rng.uniform(0.85, 1.1)))
            jitter = int(self.rng.integers(-height // 12, height // 12 + 1))
            placed.append(self.place(int(char), patch, x, y_bottom + jitter - patch.shape[0]))
            x += patch.shape[1] + int(height * self.rng.uniform(0.15, 0.4))
        self.numbers.append(placed)
        return x

    def write_in_cells(self, text: str, lefts: list[int], cell_w: int, top: int, cell_h: int) -> None:
        """Handwrite one digit per comb cell, centred with a little jitter, clear of the cell walls."""
        placed = []
        for char, left in zip(text, lefts, strict=False):
            patch = self.digit_patch(int(char), int(cell_h * self.rng.uniform(0.5, 0.68)))
            if patch.shape[1] > cell_w - 16:
                patch = cv2.resize(patch, (cell_w - 16, patch.shape[0]), interpolation=cv2.INTER_AREA)
            room_x, room_y = cell_w - patch.shape[1], cell_h - patch.shape[0]
            x = left + room_x // 2 + int(self.rng.integers(-room_x // 4, room_x // 4 + 1))
            y = top + room_y // 2 + int(self.rng.integers(-room_y // 4, room_y // 4 + 1))
            placed.append(self.place(int(char), patch, x, y))
        self.numbers.append(placed)

    def render(self, skew_deg: float) -> SyntheticPage:
        """Composite paper, print and ink, apply the skew, and compute each digit's truth box."""
        image = self.paper.copy()
        for alpha, colour in ((self.printed, self.print_colour), (self.ink * 0.95, self.ink_colour)):
            image = image * (1 - alpha[..., None]) + colour * alpha[..., None]
        matrix = cv2.getRotationMatrix2D((self.width / 2, self.height / 2), skew_deg, 1.0)
        skewed = cv2.warpAffine(
            image, matrix, (self.width, self.height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        page = SyntheticPage("", np.clip(skewed, 0, 255).astype(np.uint8))
        for placed in self.numbers:
            truth = []
            for digit, patch, left, top in placed:
                ys, xs = np.nonzero(patch > INK_ALPHA_FLOOR)
                points = np.stack([xs + left, ys + top, np.ones_like(xs)], axis=1).astype(np.float64) @ matrix.T
                x0, y0 = np.floor(points.min(axis=0)).astype(int)
                x1, y1 = np.ceil(points.max(axis=0)).astype(int) + 1
                truth.append(TruthDigit(digit, Box(int(x0), int(y0), int(x1 - x0), int(y1 - y0))))
            page.numbers.append(TruthNumber("".join(str(d.digit) for d in truth), tuple(truth)))
        for box in self.fields:
            corners = np.array(
                [[box.x, box.y, 1], [box.right, box.y, 1], [box.x, box.bottom, 1], [box.right, box.bottom, 1]]
            )
            mapped = corners.astype(np.float64) @ matrix.T
            x0, y0 = np.floor(mapped.min(axis=0)).astype(int)
            x1, y1 = np.ceil(mapped.max(axis=0)).astype(int)
            page.fields.append(Box(int(x0), int(y0), int(x1 - x0), int(y1 - y0)))
        return page


def _random_digits(rng: np.random.Generator, low: int, high: int) -> str:
    length = int(rng.integers(low, high + 1))
    first = str(rng.integers(1, 10))
    return first + "".join(str(d) for d in rng.integers(0, 10, size=length - 1))


def render_cheque(rng: np.random.Generator, digits: MnistData) -> SyntheticPage:
    """A cheque: date in 8 comb boxes, courtesy amount in a frame, a reference number on a rule."""
    canvas = _Canvas(rng, 2200, 1000, digits)
    canvas.frame(30, 30, 2140, 940, thickness=4)
    cell_w, cell_h = 80, 115
    lefts = canvas.comb(1480, 70, cell_w, cell_h, 8)
    day, month, year = int(rng.integers(1, 29)), int(rng.integers(1, 13)), int(rng.integers(2000, 2031))
    canvas.write_in_cells(f"{day:02d}{month:02d}{year:04d}", lefts, cell_w, 70, cell_h)
    canvas.rule(120, 330, 1400, 330)  # payee line, left empty
    canvas.frame(1500, 380, 640, 150)
    canvas.write_number(_random_digits(rng, 3, 5), 1540 + int(rng.integers(0, 40)), 500, int(rng.uniform(80, 95)))
    canvas.rule(120, 720, 900, 720)
    canvas.write_number(_random_digits(rng, 4, 8), 160 + int(rng.integers(0, 80)), 722, int(rng.uniform(70, 95)))
    canvas.rule(1500, 860, 2100, 860)  # signature line
    page = canvas.render(float(rng.uniform(-3, 3)))
    page.layout = "cheque"
    return page


def render_form(rng: np.random.Generator, digits: MnistData) -> SyntheticPage:
    """A form: rows of framed fields, comb fields and underlined fields, one or two per row."""
    canvas = _Canvas(rng, 2000, 2600, digits)
    canvas.frame(40, 40, 1920, 2520, thickness=4)
    y = 180
    while y < 2250:
        x = 120
        for _ in range(int(rng.integers(1, 3))):
            kind = rng.choice(["frame", "comb", "rule"])
            height = int(rng.uniform(75, 100))
            if kind == "comb":
                cells = int(rng.integers(3, 8))
                cell_w, cell_h = 90, 125
                lefts = canvas.comb(x, y, cell_w, cell_h, cells)
                canvas.write_in_cells(_random_digits(rng, cells, cells), lefts, cell_w, y, cell_h)
                x += cells * cell_w + 120
            elif kind == "frame":
                end = canvas.write_number(_random_digits(rng, 2, 6), x + 40, y + 30 + height, height)
                canvas.frame(x, y, end - x + 20, height + 60)
                x = end + 140
            else:
                end = canvas.write_number(_random_digits(rng, 2, 7), x + 30, y + height + 42, height)
                canvas.rule(x, y + height + 40, end + 20, y + height + 40)
                x = end + 140
            if x > 1300:
                break
        y += 300
    page = canvas.render(float(rng.uniform(-3, 3)))
    page.layout = "form"
    return page


def render_fields(rng: np.random.Generator, digits: MnistData, skew_deg: float | None = None) -> SyntheticPage:
    """A form of combs and boxes that tests grouping by field: narrow digits far apart in wide comb cells
    (wider gaps than between two numbers), and fields side by side closer than two digits of one number."""
    canvas = _Canvas(rng, 2000, 1400, digits)
    narrow = "1117"
    y = 120
    for cells in (5, 4, 6):  # wide cells, narrow digits: gaps of more than a digit's height
        lefts = canvas.comb(120, y, 170, 125, cells)
        canvas.write_in_cells("".join(rng.choice(list(narrow)) for _ in range(cells)), lefts, 170, y, 125)
        y += 260
    x = 120
    for cells in (3, 4):  # two combs 12 px apart: the last digit of one is near the first of the next
        lefts = canvas.comb(x, y, 80, 115, cells)
        canvas.write_in_cells(_random_digits(rng, cells, cells), lefts, 80, y, 115)
        x += cells * 80 + 12
    height = int(rng.uniform(75, 90))  # a box beside a comb, 16 px apart
    left = x + 16
    end = canvas.write_number(_random_digits(rng, 3, 4), left + 30, y + 25 + height, height)
    canvas.frame(left, y, end - left + 10, height + 55)
    canvas.fields.append(Box(left, y, end - left + 10, height + 55))
    page = canvas.render(float(rng.uniform(-3, 3)) if skew_deg is None else skew_deg)
    page.layout = "fields"
    return page


def _save_gray(page: SyntheticPage) -> Image.Image:
    return Image.fromarray(cv2.cvtColor(page.image, cv2.COLOR_RGB2GRAY))


def _page_truth(page: SyntheticPage, number: int) -> dict[str, Any]:
    height, width = page.image.shape[:2]
    return {
        "page": number,
        "layout": page.layout,
        "width": width,
        "height": height,
        "numbers": [
            {
                "text": n.text,
                "digits": [{"digit": d.digit, "box": [d.box.x, d.box.y, d.box.w, d.box.h]} for d in n.digits],
            }
            for n in page.numbers
        ],
    }


# Each unit is one file: (name pattern, layouts of its pages, writer).
_UNITS = [
    ("cheque_{:03d}.png", ["cheque"], "png"),
    ("cheque_{:03d}.jpg", ["cheque"], "jpeg"),
    ("forms_{:03d}.tif", ["form", "form"], "tiff"),
    ("mixed_{:03d}.pdf", ["cheque", "form"], "pdf"),
    ("form_{:03d}_g4.tif", ["form"], "tiff-g4"),
]


def _with_sensor_noise(page: SyntheticPage, rng: np.random.Generator) -> np.ndarray:
    """Scanner noise, added only to lossy files (in lossless ones it would bloat the samples)."""
    noisy = page.image.astype(np.float32) + rng.normal(0, 2.0, page.image.shape).astype(np.float32)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def _write_file(path: Path, pages: list[SyntheticPage], kind: str, rng: np.random.Generator) -> None:
    dpi = (DPI, DPI)
    if kind == "png":
        _save_gray(pages[0]).save(path, dpi=dpi, optimize=True)
    elif kind == "jpeg":
        Image.fromarray(_with_sensor_noise(pages[0], rng)).save(path, quality=85, dpi=dpi)
    elif kind == "tiff":
        frames = [_save_gray(p) for p in pages]
        frames[0].save(path, save_all=True, append_images=frames[1:], compression="tiff_adobe_deflate", dpi=dpi)
    elif kind == "tiff-g4":
        binary = _save_gray(pages[0]).point(lambda v: 255 if v > 150 else 0).convert("1")
        binary.save(path, compression="group4", dpi=dpi)
    elif kind == "pdf":
        frames = [Image.fromarray(_with_sensor_noise(p, rng)) for p in pages]
        frames[0].save(path, save_all=True, append_images=frames[1:], resolution=float(DPI), quality=85)
    else:  # pragma: no cover - _UNITS is fixed
        raise ValueError(kind)


def write_samples(out: Path, pages: int, seed: int, digits: MnistData) -> dict[str, Any]:
    """Write ``pages`` synthetic pages into ``out`` as files of every supported format, plus truth.json."""
    if pages < 1:
        raise ValueError("pages must be at least 1")
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    truth: dict[str, Any] = {"generator": {"seed": seed, "pages": pages, "dpi": DPI}, "files": {}}
    made, unit = 0, 0
    while made < pages:
        pattern, layouts, kind = _UNITS[unit % len(_UNITS)]
        layouts = layouts[: pages - made]
        rendered = [render_cheque(rng, digits) if lay == "cheque" else render_form(rng, digits) for lay in layouts]
        name = pattern.format(unit + 1)
        _write_file(out / name, rendered, kind, rng)
        truth["files"][name] = [_page_truth(page, i) for i, page in enumerate(rendered, start=1)]
        made += len(rendered)
        unit += 1
    (out / "truth.json").write_text(json.dumps(truth, indent=1) + "\n", encoding="utf-8")
    return truth
