"""Register a scanned page to a form template from the form's own printed frames and rules.

1. Deskew the page (the projection-profile estimate of :mod:`digitscan.segment`).
2. Find its long horizontal and vertical rules with morphology (an opening with a long thin kernel).
3. Coarse search: for each scale in the template's range, correlate the template's landmark lines (the
   edges of framed fields, the walls of combs, extra ``align.lines``) drawn on a small canvas with a
   "closeness to a detected rule" map of the page, horizontal and vertical lines separately (an
   orientation-aware chamfer match); the best scale and translation win.
4. Refine at full resolution: measure every landmark line near where the coarse fit puts it, fit
   ``X = sx * x + dx`` and ``Y = sy * y + dy`` by least squares (dropping outliers), and report the RMS
   residual in template pixels and the share of landmarks found. Too few found, or too large a residual,
   and the page fails with :class:`TemplateMismatchError`.
5. Each framed field is then snapped to its own printed frame, measured near the fitted position, so a form
   printed with one box a little off (another bank's cheque) is still cut on its frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import cv2
import numpy as np

from digitscan.errors import TemplateMismatchError
from digitscan.segment import Box, _to_original, binarise, estimate_skew
from digitscan.template import FieldSpec, Template

WORK_SIZE = 700  # long side of the image the coarse search runs on, in pixels
CLOSENESS_RADIUS = 3.0  # working pixels over which a template line still scores near a detected rule


@dataclass(frozen=True)
class Landmark:
    """A printed line of the template: horizontal (at ``y = position``) or vertical (at ``x = position``)."""

    horizontal: bool
    position: float
    start: float  # extent along the line, template pixels
    end: float
    field: str | None = None  # the framed field whose edge this is
    edge: str = ""  # top, bottom, left, right, wall


def landmarks(template: Template) -> list[Landmark]:
    """The template's landmark lines: edges of framed fields, walls of framed combs, and ``align.lines``."""
    found: list[Landmark] = []
    for spec in template.fields:
        if not spec.frame:
            continue
        x, y, w, h = spec.box
        found += [
            Landmark(True, y, x, x + w, spec.name, "top"),
            Landmark(True, y + h, x, x + w, spec.name, "bottom"),
            Landmark(False, x, y, y + h, spec.name, "left"),
            Landmark(False, x + w, y, y + h, spec.name, "right"),
        ]
        for i in range(1, spec.cells or 1):
            found.append(Landmark(False, x + i * w / (spec.cells or 1), y, y + h, spec.name, "wall"))
    for x0, y0, x1, y1 in template.align.lines:
        if y0 == y1:
            found.append(Landmark(True, y0, min(x0, x1), max(x0, x1)))
        else:
            found.append(Landmark(False, x0, min(y0, y1), max(y0, y1)))
    return found


@dataclass(frozen=True)
class Alignment:
    """How a page maps onto its template, and where each field lies on the deskewed page."""

    template: str
    skew_deg: float  # the page was rotated by this much (counter-clockwise) before registration
    scale_x: float  # template pixel -> deskewed page pixel: X = scale_x * x + dx
    scale_y: float
    dx: float
    dy: float
    residual_px: float  # RMS distance of the found landmarks from their fitted place, template pixels
    matched: float  # share of landmark lines found
    rotation: tuple[tuple[float, float, float], tuple[float, float, float]]  # original -> deskewed page
    fields: tuple[tuple[str, tuple[float, float, float, float]], ...]  # field boxes on the deskewed page

    def map_box(self, box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
        """A template box on the deskewed page."""
        x, y, w, h = box
        return self.scale_x * x + self.dx, self.scale_y * y + self.dy, self.scale_x * w, self.scale_y * h

    def field_box(self, name: str) -> tuple[float, float, float, float]:
        """The field's box on the deskewed page (snapped to its own frame when it has one)."""
        return dict(self.fields)[name]

    def to_original(self, box: Box, shape: tuple[int, int]) -> Box:
        """Map a box on the deskewed page back to the original page (bounding box of its corners)."""
        return _to_original(box, cv2.invertAffineTransform(np.array(self.rotation, np.float64)), shape)


def rule_masks(binary: np.ndarray, min_horizontal: int, min_vertical: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixels of horizontal and vertical rules at least this long (small gaps in a printed line bridged)."""
    horizontal = cv2.morphologyEx(binary, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (7, 1)))
    horizontal = cv2.morphologyEx(
        horizontal, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (max(3, min_horizontal), 1))
    )
    vertical = cv2.morphologyEx(binary, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (1, 7)))
    vertical = cv2.morphologyEx(
        vertical, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, max(3, min_vertical)))
    )
    return horizontal, vertical


def deskew(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
    """The page deskewed (grayscale and binary), the angle, and the original -> deskewed matrix."""
    if float(np.mean(gray)) < 110:  # white ink on black: an inverted scan
        gray = cv2.bitwise_not(gray)
    binary = binarise(gray).frames  # the printed frame, however light its ink
    skew, _ = estimate_skew(binary)
    height, width = gray.shape
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), skew, 1.0)
    if abs(skew) < 0.05:
        return gray, binary, 0.0, matrix
    gray = cv2.warpAffine(gray, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    binary = cv2.warpAffine(binary, matrix, (width, height), flags=cv2.INTER_NEAREST)
    return gray, binary, skew, matrix


def _closeness(mask: np.ndarray, factor: float) -> np.ndarray:
    """1 on a rule, falling to 0 at CLOSENESS_RADIUS working pixels from one, on the working grid."""
    height, width = mask.shape
    small = cv2.resize(
        mask, (max(1, round(width * factor)), max(1, round(height * factor))), interpolation=cv2.INTER_AREA
    )
    distance = cv2.distanceTransform(np.where(small > 0, 0, 255).astype(np.uint8), cv2.DIST_L2, 3)
    return np.clip(1.0 - distance / CLOSENESS_RADIUS, 0.0, 1.0).astype(np.float32)


def _coarse(
    marks: list[Landmark], template: Template, horizontal: np.ndarray, vertical: np.ndarray
) -> tuple[float, float, float, float]:
    """Best (scale, dx, dy, score) by chamfer correlation over the template's scale and translation range."""
    height, width = horizontal.shape
    factor = min(1.0, WORK_SIZE / max(height, width))
    maps = (_closeness(horizontal, factor), _closeness(vertical, factor))
    base = width / template.width
    margin_x = max(2, round(template.align.search * width * factor))
    margin_y = max(2, round(template.align.search * height * factor))
    low, high = template.align.scale
    steps = max(3, round((high - low) / 0.01) + 1)
    # each landmark as a segment x0, y0, x1, y1 in template pixels
    segments = np.array(
        [
            (m.start, m.position, m.end, m.position) if m.horizontal else (m.position, m.start, m.position, m.end)
            for m in marks
        ]
    )
    best = (base, 0.0, 0.0, -1.0)
    for scale in base * np.linspace(low, high, steps):
        k = scale * factor
        scaled = np.round(segments * k).astype(int)
        left, top = int(scaled[:, [0, 2]].min()), int(scaled[:, [1, 3]].min())
        canvas_w, canvas_h = int(scaled[:, [0, 2]].max()) - left + 2, int(scaled[:, [1, 3]].max()) - top + 2
        total = np.zeros((2 * margin_y + 1, 2 * margin_x + 1), np.float32)
        points = 0.0
        for orientation, closeness in zip((True, False), maps, strict=True):
            drawing = np.zeros((canvas_h, canvas_w), np.float32)
            for m, (x0, y0, x1, y1) in zip(marks, scaled, strict=True):
                if m.horizontal == orientation:
                    cv2.line(drawing, (x0 - left, y0 - top), (x1 - left, y1 - top), 1.0, 1)
            if not drawing.any():
                continue
            points += float(drawing.sum())
            padded = cv2.copyMakeBorder(
                closeness, margin_y, margin_y + canvas_h, margin_x, margin_x + canvas_w, cv2.BORDER_CONSTANT, value=0
            )
            region = padded[top : top + canvas_h + 2 * margin_y, left : left + canvas_w + 2 * margin_x]
            total += cv2.matchTemplate(region, drawing, cv2.TM_CCORR)
        score = total / max(points, 1.0)
        iy, ix = np.unravel_index(int(np.argmax(score)), score.shape)
        if score[iy, ix] > best[3]:
            best = (float(scale), (ix - margin_x) / factor, (iy - margin_y) / factor, float(score[iy, ix]))
    return best


def _rules_near(
    mask: np.ndarray, horizontal: bool, position: float, start: float, end: float, radius: float
) -> list[tuple[float, float]]:
    """Rules running start..end within ``radius`` of ``position``: (centre, coverage) of each, strongest first.

    A row (column) belongs to a rule when at least half of the span (less 10% at each end) is rule pixels;
    adjacent such rows are one rule, its centre the middle of its thickness.
    """
    length = end - start
    a, b = round(start + 0.1 * length), round(end - 0.1 * length)
    lo, hi = round(position - radius), round(position + radius) + 1
    limit = mask.shape[0] if horizontal else mask.shape[1]
    across = mask.shape[1] if horizontal else mask.shape[0]
    a, b, lo, hi = max(0, a), min(across, b), max(0, lo), min(limit, hi)
    if b - a < 3 or hi - lo < 1:
        return []
    band = mask[lo:hi, a:b] if horizontal else mask[a:b, lo:hi].T
    coverage = (band > 0).mean(axis=1)
    rules = []
    row = 0
    while row < len(coverage):
        if coverage[row] < 0.5:
            row += 1
            continue
        first = row
        while row + 1 < len(coverage) and coverage[row + 1] >= 0.5:
            row += 1
        rules.append((lo + (first + row) / 2, float(coverage[first : row + 1].max())))
        row += 1
    return sorted(rules, key=lambda rule: -rule[1])


def _measure(mask: np.ndarray, horizontal: bool, position: float, start: float, end: float, radius: float) -> float:
    """Where the rule expected at ``position`` (spanning start..end) really is, or NaN when it is absent."""
    rules = _rules_near(mask, horizontal, position, start, end, radius)
    return rules[0][0] if rules else math.nan


def _fit(found: list[tuple[Landmark, float]], scale: float, span: tuple[int, int]) -> tuple[float, float, float, float]:
    """Least-squares ``(sx, dx, sy, dy)`` from measured landmarks.

    An axis whose landmarks do not spread over a tenth of the page takes its scale from the other axis (or
    the coarse ``scale``) and fits only its offset.
    """
    axes: list[tuple[float | None, float]] = []
    for horizontal, size in ((False, span[0]), (True, span[1])):
        template_pos = np.array([m.position for m, _ in found if m.horizontal == horizontal])
        measured = np.array([w for m, w in found if m.horizontal == horizontal])
        if len(template_pos) >= 2 and np.ptp(template_pos) >= 0.1 * size:
            slope, offset = np.polyfit(template_pos, measured, 1)
            axes.append((float(slope), float(offset)))
        else:
            axes.append((None, math.nan))
    known = [s for s, _ in axes if s is not None]
    fallback = float(np.mean(known)) if known else scale
    result = []
    for horizontal, (slope, offset) in zip((False, True), axes, strict=True):
        if slope is not None:
            result += [slope, offset]
            continue
        pairs = [(m.position, w) for m, w in found if m.horizontal == horizontal]
        result += [fallback, float(np.mean([w - fallback * p for p, w in pairs])) if pairs else math.nan]
    return result[0], result[1], result[2], result[3]


def _predicted(m: Landmark, fit: tuple[float, float, float, float]) -> tuple[float, float, float]:
    """Where the fit puts a landmark: position across the line, and its extent along it."""
    sx, dx, sy, dy = fit
    if m.horizontal:
        return sy * m.position + dy, sx * m.start + dx, sx * m.end + dx
    return sx * m.position + dx, sy * m.start + dy, sy * m.end + dy


def align_page(gray: np.ndarray, template: Template) -> tuple[Alignment, np.ndarray]:
    """Register ``gray`` to ``template``; returns the alignment and the deskewed grayscale page.

    Raises :class:`TemplateMismatchError` when the page is not this form (wrong shape, its landmarks not
    found, or found too far from where the template puts them).
    """
    height, width = gray.shape
    aspect, expected = width / height, template.width / template.height
    if abs(aspect / expected - 1) > template.align.aspect_tolerance:
        raise TemplateMismatchError(
            f"page is {width}x{height} (width/height {aspect:.2f}); template {template.name!r} expects "
            f"{template.width}x{template.height} ({expected:.2f})"
        )
    marks = landmarks(template)
    deskewed, binary, skew, rotation = deskew(gray)
    base = width / template.width
    shortest_h = min((m.end - m.start for m in marks if m.horizontal), default=template.width)
    shortest_v = min((m.end - m.start for m in marks if not m.horizontal), default=template.height)
    horizontal, vertical = rule_masks(binary, round(0.6 * shortest_h * base), round(0.6 * shortest_v * base))
    scale, dx, dy, score = _coarse(marks, template, horizontal, vertical)
    if score < 0.2:
        raise TemplateMismatchError(
            f"page does not look like template {template.name!r}: its printed frames and rules were not found "
            f"(match score {score:.2f})"
        )
    fit = (scale, dx, scale, dy)
    radius = max(6.0, 2.5 * CLOSENESS_RADIUS * max(height, width) / WORK_SIZE)
    found: list[tuple[Landmark, float]] = []
    for round_ in range(3):
        found = []
        for m in marks:
            across, start, end = _predicted(m, fit)
            where = _measure(horizontal if m.horizontal else vertical, m.horizontal, across, start, end, radius)
            if not math.isnan(where):
                found.append((m, where))
        if round_ == 2 and found:  # the last round also drops outliers of the previous fit
            misses = np.array([abs(w - _predicted(m, fit)[0]) for m, w in found])
            limit = max(2.0, 3.0 * float(np.median(misses)))
            found = [f for f, e in zip(found, misses, strict=True) if e <= limit]
        if not found:
            break
        new = _fit(found, scale, (template.width, template.height))
        fit = (new[0], fit[1] if math.isnan(new[1]) else new[1], new[2], fit[3] if math.isnan(new[3]) else new[3])
        radius = max(4.0, radius / 2)
    sx, dx, sy, dy = fit
    matched = len(found) / len(marks)
    residual = math.nan
    if found:
        errors = [(w - _predicted(m, fit)[0]) / (sy if m.horizontal else sx) for m, w in found]
        residual = float(np.sqrt(np.mean(np.square(errors))))
    if matched < template.align.min_matched:
        raise TemplateMismatchError(
            f"page does not match template {template.name!r}: found {len(found)} of its {len(marks)} printed "
            f"landmark lines (at least {template.align.min_matched:.0%} needed)"
        )
    if not residual <= template.align.max_residual:
        raise TemplateMismatchError(
            f"page does not match template {template.name!r}: landmark residual {residual:.1f} px after "
            f"registration (at most {template.align.max_residual:g} allowed)"
        )
    if not 0.8 < sx / sy < 1.25:
        raise TemplateMismatchError(
            f"page does not match template {template.name!r}: it would be stretched {sx / sy:.2f} times wider"
        )
    alignment = Alignment(
        template=template.name,
        skew_deg=skew,
        scale_x=sx,
        scale_y=sy,
        dx=dx,
        dy=dy,
        residual_px=round(residual, 2),
        matched=round(matched, 3),
        rotation=(
            (float(rotation[0, 0]), float(rotation[0, 1]), float(rotation[0, 2])),
            (float(rotation[1, 0]), float(rotation[1, 1]), float(rotation[1, 2])),
        ),
        fields=(),
    )
    reach = None if template.align.snap is None else template.align.snap * (sx + sy) / 2
    boxes = tuple((spec.name, _snap(spec, alignment, horizontal, vertical, reach)) for spec in template.fields)
    return replace(alignment, fields=boxes), deskewed


def _snap(
    spec: FieldSpec, alignment: Alignment, horizontal: np.ndarray, vertical: np.ndarray, reach: float | None
) -> tuple[float, float, float, float]:
    """The field's box on the deskewed page: the fitted box, moved onto its own printed frame when found.

    Each pair of opposite edges is chosen among the rules found within ``reach`` of them (page pixels;
    default a third of the field's smaller side) as the pair whose distance best matches the box's size,
    so a comb's inner walls or a neighbouring frame are not taken for its edges.
    """
    x, y, w, h = alignment.map_box(spec.box)
    if not spec.frame:
        return x, y, w, h
    radius = reach if reach is not None else max(4.0, 0.33 * min(w, h))
    x0, x1 = _snap_pair(vertical, False, x, w, y, y + h, radius, spec.cells or 1)
    y0, y1 = _snap_pair(horizontal, True, y, h, x0, x1, radius)
    return x0, y0, x1 - x0, y1 - y0


def _snap_pair(
    mask: np.ndarray,
    horizontal: bool,
    first: float,
    size: float,
    start: float,
    end: float,
    radius: float,
    cells: int = 1,
) -> tuple[float, float]:
    """The two opposite edges (top/bottom or left/right) of a frame expected at first and first + size.

    For a comb (``cells`` > 1) the pair whose evenly spaced walls are found wins first: a comb shifted by
    one cell has edges where walls are, but its walls fall between the real ones.
    """
    near_first = _rules_near(mask, horizontal, first, start, end, radius)
    near_second = _rules_near(mask, horizontal, first + size, start, end, radius)

    def missing_walls(a: float, b: float) -> int:
        step = (b - a) / cells
        return sum(
            not _rules_near(mask, horizontal, a + i * step, start, end, max(3.0, 0.1 * step)) for i in range(1, cells)
        )

    pairs = [
        (missing_walls(a, b), abs((b - a) - size) + 0.25 * (abs(a - first) + abs(b - first - size)), a, b)
        for a, _ in near_first
        for b, _ in near_second
        if 0.75 < (b - a) / size < 1.33
    ]
    if pairs:
        _, _, a, b = min(pairs)
        return a, b
    if near_first:
        return near_first[0][0], near_first[0][0] + size
    if near_second:
        return near_second[0][0] - size, near_second[0][0]
    return first, first + size
