"""Cut a registered form's fields and find each field's digits, per the field's kind.

Every field is cut from the deskewed page with its margin, its own printed rules that segmentation would
mistake or merge with digits are painted over (an underline, a comb's rules, a currency cell's wall; a
box's frame is left to segmentation's rule removal), the cut is segmented with
:func:`digitscan.segment.segment_page`, and digit candidates are kept when their centre lies in the field.
Then, by kind:

* ``digits``: every candidate, left to right, is one number;
* ``comb`` and ``date`` with ``cells``: one digit per printed cell, its position the cell's index (an empty
  cell leaves a gap, which fails the length rule);
* ``amount``: the printed currency sign and separators (commas, points, the closing ``/-``) are dropped.

A field whose ink its digits do not explain (touching digits read as one, a blob segmentation dropped) is
marked ``doubtful``: all its digits then need review.

Validity (length, pattern, a date that exists, an amount that parses) is checked once the digits are
classified: :meth:`digitscan.template.FieldSpec.check`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import cv2
import numpy as np

from digitscan.align import Alignment, align_page, rule_masks
from digitscan.segment import (
    CLOSING_HEIGHT,
    SEPARATOR_HEIGHT,
    Box,
    DigitCandidate,
    SegmentSettings,
    binarise,
    is_dash,
    is_stroke,
    restore_crossings,
    segment_page,
    separator_marks,
)
from digitscan.template import FieldSpec, Template

# The '/' of a closing '/-', by the elongation of its ink (its length over its width) and how far it leans
# from the vertical: straight, leaning and a little taller than the digits (one real handwritten '1' in
# nine is as straight and leans as far, so a slash's height counts). Its dash: segment.is_dash.
SLASH = (4.0, 25.0)
SLASH_HEIGHT = 1.2
SLASH_WIDTH = 1.2  # a '/' with a dash after it is at most this wide for its height
# Ink on both sides of a painted rule at most this share of the field's height apart is a stroke crossing it.
CROSSING_BRIDGE = 0.2


@dataclass(frozen=True)
class FieldCut:
    """The digit candidates of one field: boxes on the original page, positions, and their ink."""

    name: str
    region: Box  # the field's box on the original page
    boxes: tuple[Box, ...]
    positions: tuple[int, ...]  # position of each digit in the field (the cell index in a comb)
    inks: tuple[np.ndarray, ...]
    doubtful: bool = False  # ink in the field that was not read (touching digits, a stroke): needs review
    # Per digit but the last: it and the next as one digit (segment.DigitCandidate.joined), box on the page
    joins: tuple[DigitCandidate | None, ...] = ()
    breaks: tuple[int, ...] = ()  # an amount's separators: how many of its digit candidates precede each


@dataclass(frozen=True)
class FormReading:
    """One page read against a template: its registration and its fields in template order."""

    alignment: Alignment
    fields: tuple[FieldCut, ...]


def _centre(box: Box) -> tuple[float, float]:
    return box.x + box.w / 2, box.y + box.h / 2


def _in_cells(
    spec: FieldSpec, left: float, width: float, found: list[tuple[Box, DigitCandidate]]
) -> list[tuple[int, int]]:
    """One candidate per comb cell (the one with most ink): (candidate index, cell index), left to right."""
    cells = spec.cells or 1
    best: dict[int, tuple[float, int]] = {}
    for i, (box, candidate) in enumerate(found):
        cell = int(np.clip((_centre(box)[0] - left) // (width / cells), 0, cells - 1))
        ink = float(candidate.ink.sum())
        if cell not in best or ink > best[cell][0]:
            best[cell] = (ink, i)
    return [(best[cell][1], cell) for cell in sorted(best)]


def _dash_after(
    binary: np.ndarray, origin: tuple[int, int], found: list[tuple[Box, DigitCandidate]], box_w: float, box_h: float
) -> bool:
    """Whether a dash (the '-' of a closing '/-') lies right of the last candidate, at mid height, and reaches
    past it: a 5's top bar that the pen left apart from its body ends within the 5's box.

    ``binary`` is the field's cut, whose top-left corner is ``origin`` on the page.
    """
    horizontal, vertical = rule_masks(binary, round(0.5 * box_w), round(0.5 * box_h))
    ink = cv2.bitwise_and(binary, cv2.bitwise_not(cv2.bitwise_or(horizontal, vertical)))
    heights = [box.h for box, _ in found]
    median = float(np.median(heights))
    top = float(np.median([box.y for box, _ in found])) - origin[1]
    last = found[-1][0]
    last_cx, last_right = _centre(last)[0] - origin[0], last.right - origin[0]
    count, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    for x, y, w, h, area in stats[1:count]:
        if area < 10 or h > 0.4 * median or w < 0.35 * median or w < 1.8 * h:
            continue
        cy = y + h / 2
        if x + w / 2 > last_cx and x + w > last_right + 0.1 * median and top < cy < top + median:
            return True
    return False


def _amount(
    spec: FieldSpec,
    box: tuple[float, float, float, float],
    found: list[tuple[Box, DigitCandidate]],
    binary: np.ndarray,
    origin: tuple[int, int],
) -> tuple[list[int], tuple[int, ...]]:
    """Indices of the candidates that are digits of an amount, and where its separators part them (the
    number of digit candidates before each separator that has digits on both sides).

    Dropped: a printed currency sign (the first candidate, when it lies in the template's ``currency``
    zone at the box's left), separators (commas, points: short, or hanging below the digits' tops, judged
    against the field and against their neighbours, :func:`digitscan.segment.separator_marks`), and
    the closing '/-': its dash when kept as a candidate (a flat straight stroke at the end, no loop), then its '/'
    (the last candidate, when it towers over the digits, is a straight leaning stroke a little taller than
    them, or has a dash after it).
    """
    x, _, w, h = box
    keep = list(range(len(found)))
    if keep and spec.currency and _centre(found[0][0])[0] < x + spec.currency * w:
        keep = keep[1:]
    if not keep:
        return [], ()
    # Separators: short, or hanging from the middle of the line down (a comma's top is below the digits'), as
    # judged against the whole field or against the marks beside them (an amount's last zeros written small
    # set the field's median top as low as a comma's).
    median = float(np.median([found[i][0].h for i in keep]))
    top = float(np.median([found[i][0].y for i in keep]))
    marks = separator_marks([found[i][0] for i in keep], lambda j: found[keep[j]][1].ink > 0, SEPARATOR_HEIGHT)
    digits = [
        i
        for j, i in enumerate(keep)
        if j not in marks and found[i][0].h >= SEPARATOR_HEIGHT * median and found[i][0].y < top + 0.4 * median
    ]
    separators, keep = sorted(set(keep) - set(digits)), digits
    # The closing '/-' (or '/=', '/—'): its dash when segmentation kept it, then its '/'.
    while len(keep) > 1 and is_dash(found[keep[-1]][1].ink):
        keep = keep[:-1]
    if len(keep) > 1:
        last = found[keep[-1]]
        median = float(np.median([found[i][0].h for i in keep[:-1]]))
        # A closing '/' (or '/-' in one stroke) towers over the digits, or has its dash after it, or is a
        # straight leaning stroke taller than them. A slanted stroke no taller than the digits is left to
        # the classifier, which knows a lone '/' (its "not a digit" class): by its slant alone, a leaning
        # '1' passes for one.
        tall = last[0].h >= CLOSING_HEIGHT * median
        slash = last[0].h >= SLASH_HEIGHT * median and is_stroke(last[1].ink, *SLASH)
        upright = last[0].w <= SLASH_WIDTH * last[0].h  # digits written in one stroke ("000") are wider
        if tall or slash or (upright and _dash_after(binary, origin, [found[i] for i in keep], w, h)):
            keep = keep[:-1]
    before = sorted({sum(i < separator for i in keep) for separator in separators})
    return keep, tuple(count for count in before if 0 < count < len(keep))


def _printed_rules(
    binary: np.ndarray, spec: FieldSpec, left: float, w: float, h: float
) -> tuple[np.ndarray, np.ndarray]:
    """The field's own printed rules in its cut (dilated a little), horizontal and vertical, to be painted
    over with paper.

    Digits touching an underline or a frame make one component with it, which hides them (and the text
    height) from segmentation, and a comb wall beside a '1' is easily taken for it. Since the field's
    geometry is known, its rules are removed before segmenting: an underline; a comb's rules (its vertical
    ones only near its edges and walls: a '1' may be as tall as a cell); the wall of a currency sign's cell.
    A box's own frame is left to segmentation, which removes it whole.
    """
    horizontal, vertical = rule_masks(binary, round(0.5 * w), round(0.6 * h))
    if spec.frame and spec.cells:
        cell = w / spec.cells
        band = max(3, round(0.12 * cell))
        near = np.zeros_like(vertical)
        for i in range(spec.cells + 1):
            centre = round(left + i * cell)
            near[:, max(0, centre - band) : max(0, centre + band + 1)] = 255
        vertical = cv2.bitwise_and(vertical, near)
    elif spec.currency:  # the wall closing a currency sign's cell, near the zone's end
        vertical = rule_masks(binary, binary.shape[1] + 1, round(0.8 * h))[1]
        vertical[:, : max(0, round(left + 0.5 * spec.currency * w))] = 0
        vertical[:, round(left + 1.6 * spec.currency * w) :] = 0
        horizontal = np.zeros_like(horizontal)
    else:
        vertical = np.zeros_like(vertical)
        if spec.frame:
            horizontal = np.zeros_like(horizontal)
    grow = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))
    return cv2.dilate(horizontal, grow), cv2.dilate(vertical, grow)


def cut_field(spec: FieldSpec, deskewed: np.ndarray, alignment: Alignment) -> FieldCut:
    """Segment one field of a registered page and select its digits by the field's kind."""
    x, y, w, h = alignment.field_box(spec.name)
    if spec.margin is None:
        left = top = right = bottom = max(4.0, 0.08 * h)
    else:
        left, right = spec.margin[0] * alignment.scale_x, spec.margin[2] * alignment.scale_x
        top, bottom = spec.margin[1] * alignment.scale_y, spec.margin[3] * alignment.scale_y
    height, width = deskewed.shape
    x0, y0 = max(0, round(x - left)), max(0, round(y - top))
    x1, y1 = min(width, round(x + w + right)), min(height, round(y + h + bottom))
    region = alignment.to_original(Box(round(x), round(y), max(1, round(w)), max(1, round(h))), deskewed.shape)
    if x1 - x0 < 8 or y1 - y0 < 8:
        return FieldCut(spec.name, region, (), (), ())
    crop = deskewed[y0:y1, x0:x1].copy()
    paper = int(np.percentile(crop, 90))
    binary = binarise(crop).binary
    horizontal, vertical = _printed_rules(binary, spec, x - x0, w, h)
    # A stroke that crosses an underline or a comb's edge stays whole (a 6's loop, a 2's foot on the rule);
    # a comb's walls go whole: the digits on their two sides are two.
    cleaned = restore_crossings(binary, horizontal, np.zeros_like(vertical), round(CROSSING_BRIDGE * h))
    cleaned = cv2.bitwise_and(cleaned, cv2.bitwise_not(vertical))
    crop[cv2.bitwise_and(cv2.bitwise_or(horizontal, vertical), cv2.bitwise_not(cleaned)) > 0] = paper
    binary = cleaned
    # Segmentation takes components taller than half the image for rules: give the cut paper around it.
    pad = y1 - y0
    padded = cv2.copyMakeBorder(crop, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=paper)
    # The template says what the field holds: handwriting, however evenly a hand writes in its boxes.
    # A comb's cells, in the padded cut: segmentation takes what each holds for one digit, however broken.
    cell_w = w / (spec.cells or 1)
    cells = tuple(
        Box(round(x - x0 + pad + i * cell_w), round(y - y0 + pad), round(cell_w), round(h))
        for i in range(spec.cells or 0)
    )
    settings = SegmentSettings(find_printed=False, scan_area=(pad, pad, x1 - x0, y1 - y0), known_cells=cells)
    segmentation = segment_page(padded, settings)

    def on_page(box: Box) -> Box:
        return Box(box.x + x0 - pad, box.y + y0 - pad, box.w, box.h)

    def in_field(box: Box) -> bool:
        """Digits may overflow a frame (the cut's margin), but their centre stays clear of its sides, unlike
        what is left of a frame's side or a neighbour's bar code. Writing on a rule often runs past its ends:
        there, a digit anywhere in the cut (the box and its margins) belongs to the field."""
        cx, cy = _centre(box)
        if spec.frame:
            inside = x + 0.1 * h <= cx <= x + w - 0.1 * h and y0 <= cy <= y1
        else:
            inside = x0 <= cx <= x1 and y0 <= cy <= y1
        if spec.cells:  # a comb's digits sit in its cells, whatever is printed above them
            inside = inside and y - 0.25 * h <= cy <= y + h
        is_frame = box.w >= 0.85 * w and box.h >= 0.85 * h  # a small frame segmentation kept whole
        return inside and not is_frame

    found = []
    following: dict[int, DigitCandidate] = {}  # id of a candidate -> the next of its number (its join's partner)
    for number in segmentation.numbers:
        following.update((id(first), second) for first, second in itertools.pairwise(number.digits))
        found += [(on_page(c.box), c) for c in number.digits if in_field(on_page(c.box))]
    found.sort(key=lambda item: item[0].x)
    breaks: tuple[int, ...] = ()
    if spec.cells:
        chosen = _in_cells(spec, x, w, found)
        keep, positions = [i for i, _ in chosen], [cell for _, cell in chosen]
    else:
        if spec.kind == "amount":
            keep, breaks = _amount(spec, (x, y, w, h), found, binary, (x0, y0))
        else:
            keep = list(range(len(found)))
        positions = list(range(len(keep)))
    # A mark too short for a digit but no speck (a broken digit's piece) may be what a digit misses, as in
    # page mode.
    doubtful = _doubtful(spec, (x, y, w, h), found, keep, binary, (x0, y0)) or any(
        in_field(on_page(mark)) for mark in segmentation.leftovers
    )
    joins: list[DigitCandidate | None] = []
    for i, j in itertools.pairwise(keep):
        (box, first), (next_box, second) = found[i], found[j]
        joined = first.joined
        # Only a join that segmentation offered with this very neighbour; a comb's cells are never joined.
        if joined is None or spec.cells or following.get(id(first)) is not second:
            joins.append(None)
        else:
            joins.append(DigitCandidate(alignment.to_original(box.union(next_box), deskewed.shape), joined.ink))
    return FieldCut(
        spec.name,
        region,
        tuple(alignment.to_original(found[i][0], deskewed.shape) for i in keep),
        tuple(positions),
        tuple(found[i][1].ink for i in keep),
        doubtful,
        tuple(joins),
        breaks,
    )


def _doubtful(
    spec: FieldSpec,
    box: tuple[float, float, float, float],
    found: list[tuple[Box, DigitCandidate]],
    keep: list[int],
    binary: np.ndarray,
    origin: tuple[int, int],
) -> bool:
    """Whether the field holds ink its digits do not explain, so that a confident reading may still be wrong.

    Two signs: a kept digit much wider than the others (digits touching, read as one; in a comb, wider than
    its cell), and a blob of digit height that segmentation dropped (touching digits too wide to pass for one
    digit, a scribble).
    ``binary`` is the field's cut after its own rules were painted over; ``origin`` its place on the page.
    """
    if not keep:
        return False
    x, y, w, h = box
    widths = [found[i][0].w for i in keep]
    median_h = float(np.median([found[i][0].h for i in keep]))
    if spec.cells:  # one digit a cell: only a digit wider than its cell may be two (a date's 1s are no measure)
        too_wide = max(widths) > w / spec.cells
    else:
        too_wide = len(keep) > 1 and max(widths) >= 1.6 * float(np.median(widths)) and max(widths) >= 0.9 * median_h
    if too_wide:
        return True
    horizontal, vertical = rule_masks(binary, round(0.4 * w), round(0.6 * h))
    ink = cv2.bitwise_and(binary, cv2.bitwise_not(cv2.bitwise_or(horizontal, vertical)))
    taken = np.zeros_like(ink)
    for candidate, _ in found:  # everything segmentation offered, kept or dropped as a separator
        cx0, cy0 = candidate.x - origin[0], candidate.y - origin[1]
        taken[max(0, cy0) : max(0, cy0 + candidate.h), max(0, cx0) : max(0, cx0 + candidate.w)] = 255
    count, _, stats, centroids = cv2.connectedComponentsWithStats(ink, connectivity=8)
    left, right = x - origin[0] + 0.1 * h + spec.currency * w, x - origin[0] + w - 0.1 * h
    top, bottom = y - origin[1], y - origin[1] + h
    for label in range(1, count):
        bx, by, bw, bh, _ = stats[label]
        cx, cy = centroids[label]
        if bh < 0.6 * median_h or bw >= 2.5 * bh or not (left <= cx <= right and top <= cy <= bottom):
            continue  # small, a dash, or outside the field
        if not taken[by : by + bh, bx : bx + bw].any():
            return True
    return False


def read_form(gray: np.ndarray, template: Template) -> FormReading:
    """Register a page to ``template`` and cut every field (raises TemplateMismatchError when it does not fit)."""
    alignment, deskewed = align_page(gray, template)
    return FormReading(alignment, tuple(cut_field(spec, deskewed, alignment) for spec in template.fields))
