"""Synthetic cheque and form scans with exact ground truth, built from MNIST test digits.

The pages exercise the whole pipeline: tinted and patterned paper, printed frames, comb boxes and
underlines, handwritten digits (MNIST test images scaled to 300 dpi handwriting size) inside boxes, across
comb cells and sitting on rules, a small page skew, and every file format digitscan reads. Truth is exact:
each digit's box is the bounding box of its own ink after the page skew.

Two styles. ``clean`` pages are the ones above (the committed ``samples/`` are made of them, and a seed
gives the same files it always did). ``scanned`` pages add what real scans bring: printed labels and
printed numbers (account number, serial, a MICR-like line, numbered form labels) in Hershey type, which
are not handwriting and are recorded apart from the truth numbers; touching neighbours and digits broken
by a thin gap; a wider skew; and per-page blur, sensor noise, JPEG artefacts, and some pages thresholded to
1 bit with specks.
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np
from PIL import Image

from digitscan.mnist import MnistData
from digitscan.segment import Box
from digitscan.styles import crossing_hands

DPI = 300
INK_ALPHA_FLOOR = 0.3  # alpha above which a pixel counts as the digit's ink for its truth box
SOLID_INK_ALPHA = 0.6  # touching digits share pixels at least this dark in both
Style = Literal["clean", "scanned"]
STYLES: tuple[Style, ...] = ("clean", "scanned")
# Whose hands: MNIST's own (American: bare 1s, uncrossed 7s), or hands that cross their 7s and flag most 1s
# (styles.crossing_hands), the writers ``--crossed-sevens`` is for.
HANDS = ("mnist", "crossing")
# Scanned style: shares of free-written numbers with one touching pair, and of digits broken by a gap.
TOUCHING_SHARE = 0.3
BROKEN_SHARE = 0.08
BINARY_SHARE = 0.2  # pages thresholded to 1 bit
SCANNED_SKEW_DEG = 5.0


@dataclass(frozen=True)
class TruthDigit:
    """One handwritten digit and its box on the page."""

    digit: int
    box: Box


@dataclass(frozen=True)
class TruthNumber:
    """One handwritten number, digits left to right.

    ``touching``: positions whose digit touches the next one; ``broken``: positions of digits cut by a gap.
    """

    text: str
    digits: tuple[TruthDigit, ...]
    touching: tuple[int, ...] = ()
    broken: tuple[int, ...] = ()


@dataclass(frozen=True)
class PrintedChar:
    """One printed character (a label's letter or a printed number's digit): not handwriting, never read."""

    char: str
    box: Box


@dataclass
class SyntheticPage:
    """A rendered page (RGB) and its truth."""

    layout: str
    image: np.ndarray
    numbers: list[TruthNumber] = field(default_factory=list)
    fields: list[Box] = field(default_factory=list)  # combs and boxes drawn to hold one number each
    printed: list[PrintedChar] = field(default_factory=list)
    scan: dict[str, float] = field(default_factory=dict)  # the degradations applied (scanned style)


_Placed = tuple[int, np.ndarray, int, int]  # digit, its alpha patch, left, top


@dataclass
class _Written:
    """A number as drawn: its placed digits, which of them touch the next, which are broken."""

    placed: list[_Placed]
    touching: tuple[int, ...] = ()
    broken: tuple[int, ...] = ()


def _ink_box(patch: np.ndarray, left: int, top: int, matrix: np.ndarray) -> Box:
    """The bounding box, on the skewed page, of a patch's ink placed at (left, top) before the skew."""
    ys, xs = np.nonzero(patch > INK_ALPHA_FLOOR)
    points = np.stack([xs + left, ys + top, np.ones_like(xs)], axis=1).astype(np.float64) @ matrix.T
    x0, y0 = np.floor(points.min(axis=0)).astype(int)
    x1, y1 = np.ceil(points.max(axis=0)).astype(int) + 1
    return Box(int(x0), int(y0), int(x1 - x0), int(y1 - y0))


class _Canvas:
    """A page being drawn: paper colour, printed rules, and a float ink layer with per-digit bookkeeping."""

    def __init__(
        self, rng: np.random.Generator, width: int, height: int, digits: MnistData, scanned: bool = False
    ) -> None:
        self.rng = rng
        self.scanned = scanned  # touching and broken digits, printed text in this page's typeface
        self.width, self.height = width, height
        self.digits = digits
        tint = rng.uniform(225, 250, size=3)
        self.paper = np.ones((height, width, 3), np.float32) * tint
        self._add_pattern()
        self.printed = np.zeros((height, width), np.float32)  # alpha of printed rules and type
        self.ink = np.zeros((height, width), np.float32)  # alpha of handwriting
        self.ink_colour = np.array(rng.choice([(20, 30, 90), (25, 25, 30), (10, 40, 120)]), np.float32)
        self.print_colour = np.array(rng.choice([(70, 70, 70), (40, 60, 110), (90, 60, 60)]), np.float32)
        self.numbers: list[_Written] = []
        self.fields: list[Box] = []
        self.printed_chars: list[tuple[str, np.ndarray, int, int]] = []
        if scanned:
            fonts = [cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_COMPLEX]
            self.font = int(rng.choice(fonts))

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

    def print_text(self, text: str, x: int, baseline: int, scale: float) -> int:
        """Print ``text`` in the page's typeface from ``x`` on ``baseline``, one character at a time so each
        has its own truth box; return the x after it. Scale 1 is type about 22 pixels tall (7 pt at 300 dpi)."""
        thickness = max(1, round(1.8 * scale))
        for char in text:
            (width, height), below = cv2.getTextSize(char, self.font, scale, thickness)
            if char != " ":
                pad = thickness + 2
                drawn = np.zeros((height + below + 2 * pad, width + 2 * pad), np.uint8)
                cv2.putText(drawn, char, (pad, pad + height), self.font, scale, 255, thickness, cv2.LINE_AA)
                patch = drawn.astype(np.float32) / 255.0
                left, top = x - pad, baseline - height - pad
                region = self.printed[top : top + patch.shape[0], left : left + patch.shape[1]]
                np.maximum(region, patch, out=region)
                self.printed_chars.append((char, patch, left, top))
            x += width
        return x

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

    def broken(self, patch: np.ndarray) -> np.ndarray:
        """``patch`` with a thin gap cut across one stroke, as faint ink or a dry pen leaves one.

        The gap goes through a point on a stroke's centre line, in the direction that crosses the least
        ink (across the stroke, not along it), and reaches just past the stroke's edges.
        """
        ink = (patch > INK_ALPHA_FLOOR).astype(np.uint8)
        depth = cv2.distanceTransform(ink, cv2.DIST_L2, 3)
        height = patch.shape[0]
        ys, xs = np.nonzero(depth >= 0.6 * depth.max())
        middle = np.flatnonzero((ys > 0.2 * height) & (ys < 0.8 * height))
        pick = int(self.rng.choice(middle)) if len(middle) else int(self.rng.integers(len(ys)))
        cy, cx = int(ys[pick]), int(xs[pick])
        reach = float(depth[cy, cx]) + 3.0
        thickness = max(2, round(height / 40))
        cuts = []
        for angle in np.linspace(0, math.pi, 12, endpoint=False):
            dx, dy = reach * math.cos(angle), reach * math.sin(angle)
            ends = (round(cx - dx), round(cy - dy)), (round(cx + dx), round(cy + dy))
            line = np.zeros_like(ink)
            cv2.line(line, ends[0], ends[1], 1, thickness)
            cuts.append((int(np.count_nonzero(line & ink)), ends))
        _, (start, end) = min(cuts, key=lambda cut: cut[0])
        cut = patch.copy()
        cv2.line(cut, start, end, 0.0, thickness)
        return cut

    def place(self, digit: int, patch: np.ndarray, x: int, top: int) -> _Placed:
        """Put a digit's ink on the page with its top-left at (x, top)."""
        region = self.ink[top : top + patch.shape[0], x : x + patch.shape[1]]
        np.maximum(region, patch[: region.shape[0], : region.shape[1]], out=region)
        return digit, patch, x, top

    def touching_x(self, previous: _Placed, patch: np.ndarray, top: int) -> int | None:
        """The left edge at which ``patch`` (placed at ``top``) shares solid ink with the digit before it, a
        pixel or three deeper than the first contact; None when sliding it a third of the way in finds none."""
        _, before, left, above = previous
        before_ink, ink = before > SOLID_INK_ALPHA, patch > SOLID_INK_ALPHA
        y0, y1 = max(above, top), min(above + before.shape[0], top + patch.shape[0])
        if y1 <= y0:
            return None
        for x in range(left + before.shape[1], left + before.shape[1] // 3, -1):
            x0, x1 = max(left, x), min(left + before.shape[1], x + patch.shape[1])
            if x1 <= x0:
                continue
            shared = (
                before_ink[y0 - above : y1 - above, x0 - left : x1 - left] & ink[y0 - top : y1 - top, x0 - x : x1 - x]
            )
            if shared.any():
                return x - int(self.rng.integers(1, 4))
        return None

    def write_number(self, text: str, x: int, y_bottom: int, height: int) -> int:
        """Handwrite ``text`` from ``x`` with its baseline near ``y_bottom``; return the x after its last digit.

        Scanned pages: in some numbers one digit is pushed into its neighbour until their inks touch, and
        some other digits are broken.
        """
        touch_after = -1
        if self.scanned and len(text) >= 2 and self.rng.random() < TOUCHING_SHARE:
            touch_after = int(self.rng.integers(0, len(text) - 1))
        placed: list[_Placed] = []
        touching: list[int] = []
        broken: list[int] = []
        for position, char in enumerate(text):
            patch = self.digit_patch(int(char), int(height * self.rng.uniform(0.85, 1.1)))
            jitter = int(self.rng.integers(-height // 12, height // 12 + 1))
            top = y_bottom + jitter - patch.shape[0]
            if touch_after >= 0 and position == touch_after + 1:
                contact = self.touching_x(placed[-1], patch, top)
                if contact is not None:
                    x = contact
                    touching.append(touch_after)
            elif self.scanned and position != touch_after and self.rng.random() < BROKEN_SHARE:
                patch = self.broken(patch)
                broken.append(position)
            placed.append(self.place(int(char), patch, x, top))
            x += patch.shape[1] + int(height * self.rng.uniform(0.15, 0.4))
        self.numbers.append(_Written(placed, tuple(touching), tuple(broken)))
        return x

    def write_in_cells(self, text: str, lefts: list[int], cell_w: int, top: int, cell_h: int) -> None:
        """Handwrite one digit per comb cell, centred with a little jitter, clear of the cell walls."""
        placed = []
        broken = []
        for position, (char, left) in enumerate(zip(text, lefts, strict=False)):
            patch = self.digit_patch(int(char), int(cell_h * self.rng.uniform(0.5, 0.68)))
            if patch.shape[1] > cell_w - 16:
                patch = cv2.resize(patch, (cell_w - 16, patch.shape[0]), interpolation=cv2.INTER_AREA)
            if self.scanned and self.rng.random() < BROKEN_SHARE:
                patch = self.broken(patch)
                broken.append(position)
            room_x, room_y = cell_w - patch.shape[1], cell_h - patch.shape[0]
            x = left + room_x // 2 + int(self.rng.integers(-room_x // 4, room_x // 4 + 1))
            y = top + room_y // 2 + int(self.rng.integers(-room_y // 4, room_y // 4 + 1))
            placed.append(self.place(int(char), patch, x, y))
        self.numbers.append(_Written(placed, broken=tuple(broken)))

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
        for written in self.numbers:
            truth = tuple(TruthDigit(d, _ink_box(patch, left, top, matrix)) for d, patch, left, top in written.placed)
            text = "".join(str(d.digit) for d in truth)
            page.numbers.append(TruthNumber(text, truth, written.touching, written.broken))
        page.printed = [
            PrintedChar(c, _ink_box(patch, left, top, matrix)) for c, patch, left, top in self.printed_chars
        ]
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


def _skew(rng: np.random.Generator, scanned: bool) -> float:
    return float(rng.uniform(-SCANNED_SKEW_DEG, SCANNED_SKEW_DEG)) if scanned else float(rng.uniform(-3, 3))


def _digits_text(rng: np.random.Generator, count: int) -> str:
    return "".join(str(d) for d in rng.integers(0, 10, size=count))


def _print_cheque(canvas: _Canvas, rng: np.random.Generator, date_cells: list[int]) -> None:
    """A cheque's printing around the handwriting: bank and branch, labels, account number, serial, MICR."""
    canvas.print_text("SYNTHETIC BANK OF INDIA", 80, 105, 1.5)
    canvas.print_text(f"MG ROAD BRANCH, PUNE {_digits_text(rng, 6)}", 80, 150, 0.8)
    canvas.print_text(f"IFSC: SYNB0{_digits_text(rng, 6)}", 80, 190, 0.8)
    canvas.print_text("DATE", 1370, 140, 0.9)
    for letter, left in zip("DDMMYYYY", date_cells, strict=True):
        canvas.print_text(letter, left + 32, 212, 0.7)
    serial = _digits_text(rng, 6)
    canvas.print_text(f"Cheque No. {serial}", 1800, 300, 0.9)
    canvas.print_text("Pay", 50, 322, 1.0)
    canvas.print_text("or Bearer", 1410, 322, 0.9)
    canvas.rule(200, 440, 1400, 440)
    canvas.print_text("Rupees", 50, 432, 1.0)
    canvas.print_text("Rs.", 1420, 480, 1.1)
    canvas.print_text("Ref. No.", 120, 758, 0.7)
    canvas.print_text(f"A/c No. {_digits_text(rng, int(rng.integers(11, 15)))}", 120, 805, 1.0)
    canvas.print_text("Please sign above", 1650, 900, 0.8)
    micr = f"|{serial}|  {_digits_text(rng, 9)}:  {_digits_text(rng, 6)}|  {_digits_text(rng, 2)}"
    canvas.print_text(micr, 500, 945, 1.3)


def render_cheque(rng: np.random.Generator, digits: MnistData, style: Style = "clean") -> SyntheticPage:
    """A cheque: date in 8 comb boxes, courtesy amount in a frame, a reference number on a rule.

    ``scanned``: with the printing of a real cheque (labels, account number, serial, MICR line) and a scan's
    damage.
    """
    scanned = style == "scanned"
    canvas = _Canvas(rng, 2200, 1000, digits, scanned)
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
    if scanned:
        _print_cheque(canvas, rng, lefts)
    page = canvas.render(_skew(rng, scanned))
    page.layout = "cheque"
    return _scan(page, rng) if scanned else page


FORM_LABELS = ("Amount", "Phone", "Postcode", "Qty", "Account no.", "Age", "Year", "Units", "Reference", "Customer id")


def render_form(rng: np.random.Generator, digits: MnistData, style: Style = "clean") -> SyntheticPage:
    """A form: rows of framed fields, comb fields and underlined fields, one or two per row.

    ``scanned``: with a printed title, form id, a numbered label over each field ("3. Amount"), a signature
    line, and a scan's damage.
    """
    scanned = style == "scanned"
    canvas = _Canvas(rng, 2000, 2600, digits, scanned)
    canvas.frame(40, 40, 1920, 2520, thickness=4)
    if scanned:
        canvas.print_text("APPLICATION FORM", 120, 110, 1.6)
        canvas.print_text(f"Form {_digits_text(rng, 2)}-B No. {_digits_text(rng, 6)}", 1380, 110, 0.9)
    labels = 0
    y = 180
    while y < 2250:
        x = 120
        for _ in range(int(rng.integers(1, 3))):
            kind = rng.choice(["frame", "comb", "rule"])
            height = int(rng.uniform(75, 100))
            if scanned:
                labels += 1
                canvas.print_text(f"{labels}. {rng.choice(FORM_LABELS)}", x, y - 14, 0.9)
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
    if scanned:
        canvas.rule(1200, 2440, 1800, 2440)
        canvas.print_text("Signature", 1200, 2485, 0.9)
    page = canvas.render(_skew(rng, scanned))
    page.layout = "form"
    return _scan(page, rng) if scanned else page


def _scan(page: SyntheticPage, rng: np.random.Generator) -> SyntheticPage:
    """What scanning and copying do to a page: blur, sensor noise, JPEG artefacts, and on some pages a
    threshold to 1 bit with salt-and-pepper specks. The truth stays the ink as drawn."""
    image: np.ndarray = page.image.astype(np.float32)
    if rng.random() < 0.6:
        sigma = float(rng.uniform(0.5, 1.5))
        image = cv2.GaussianBlur(image, (0, 0), sigma)
        page.scan["blur_sigma"] = round(sigma, 2)
    noise = float(rng.uniform(1.0, 6.0))
    image += rng.normal(0, noise, image.shape).astype(np.float32)
    page.scan["noise_sigma"] = round(noise, 2)
    pixels = np.clip(image, 0, 255).astype(np.uint8)
    if rng.random() < 0.5:
        quality = int(rng.integers(20, 61))
        encoded = io.BytesIO()
        Image.fromarray(pixels).save(encoded, format="JPEG", quality=quality)
        pixels = np.asarray(Image.open(encoded).convert("RGB"))
        page.scan["jpeg_quality"] = quality
    if rng.random() < BINARY_SHARE:
        level = float(rng.uniform(140, 180))
        binary = np.where(cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY) > level, 255, 0).astype(np.uint8)
        density = float(rng.uniform(2e-4, 1e-3))
        specks = rng.random(binary.shape) < density
        binary[specks] = 255 - binary[specks]
        pixels = np.repeat(binary[..., None], 3, axis=2)
        page.scan["binary_level"] = round(level, 1)
        page.scan["speck_density"] = round(density, 5)
    page.image = pixels
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


def _box(box: Box) -> list[int]:
    return [box.x, box.y, box.w, box.h]


def _page_truth(page: SyntheticPage, number: int, style: Style) -> dict[str, Any]:
    """A page's truth; scanned pages add the printed characters, the damage done, and per number which
    digits touch the next and which are broken (keys a clean page never had, so its truth is unchanged)."""
    height, width = page.image.shape[:2]
    truth: dict[str, Any] = {
        "page": number,
        "layout": page.layout,
        "width": width,
        "height": height,
        "numbers": [
            {"text": n.text, "digits": [{"digit": d.digit, "box": _box(d.box)} for d in n.digits]} for n in page.numbers
        ],
    }
    if style == "scanned":
        for entry, n in zip(truth["numbers"], page.numbers, strict=True):
            entry.update({"touching": list(n.touching), "broken": list(n.broken)})
        truth["printed"] = [{"char": c.char, "box": _box(c.box)} for c in page.printed]
        truth["scan"] = page.scan
    return truth


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


def write_samples(
    out: Path, pages: int, seed: int, digits: MnistData, style: Style = "clean", hands: str = "mnist"
) -> dict[str, Any]:
    """Write ``pages`` synthetic pages into ``out`` as files of every supported format, plus truth.json.

    With ``hands="crossing"`` the digits are written as hands that cross their 7s write them
    (:func:`digitscan.styles.crossing_hands`, seeded by ``seed`` too).
    """
    if pages < 1:
        raise ValueError("pages must be at least 1")
    if style not in STYLES:
        raise ValueError(f"style must be one of {', '.join(STYLES)}, not {style!r}")
    if hands not in HANDS:
        raise ValueError(f"hands must be one of {', '.join(HANDS)}, not {hands!r}")
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    generator: dict[str, Any] = {"seed": seed, "pages": pages, "dpi": DPI}
    if style != "clean":  # the clean samples' truth.json stays byte for byte what it was
        generator["style"] = style
    if hands != "mnist":
        generator["hands"] = hands
        digits = crossing_hands(digits, seed)
    truth: dict[str, Any] = {"generator": generator, "files": {}}
    made, unit = 0, 0
    while made < pages:
        pattern, layouts, kind = _UNITS[unit % len(_UNITS)]
        layouts = layouts[: pages - made]
        rendered = [
            render_cheque(rng, digits, style) if lay == "cheque" else render_form(rng, digits, style) for lay in layouts
        ]
        name = pattern.format(unit + 1)
        _write_file(out / name, rendered, kind, rng)
        truth["files"][name] = [_page_truth(page, i, style) for i, page in enumerate(rendered, start=1)]
        made += len(rendered)
        unit += 1
    (out / "truth.json").write_text(json.dumps(truth, indent=1) + "\n", encoding="utf-8")
    return truth
