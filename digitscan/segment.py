"""Find the handwritten digits on a page and group them into numbers.

Stages, each a small function: flatten the background and binarise; measure and undo the skew; remove
ruled lines and box frames (restoring the ink of digits that cross them); connected components; merge the
strokes of one digit; drop specks, dots and dashes; group digits into numbers in reading order; offer
neighbours that fit one digit's box as one crop too (the classifier decides whether they are one digit).

Work happens on the deskewed page; every box handed back is mapped to the ORIGINAL page's pixel grid.
Sizes are relative to the page's own text height (the median height of its components), so the same code
works on a 100-pixel amount crop and a 300 dpi form.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import cv2
import numpy as np
import skimage.filters
import skimage.measure

MAX_SKEW_DEG = 15.0
COMB_CELL = 1.3  # a comb's cell, which holds one digit, is at most this wide for its height
# Ink in a comb's cell at least this share of the cell's height is the cell's digit, however small beside the
# page's handwriting (a date's small 0s under a payee's name written twice their size).
CELL_DIGIT = 0.2
# Separators among an amount's digits, as shares of the digits' height, in page mode and in template fields:
SEPARATOR_HEIGHT = 0.55  # commas and points are shorter than this...
CLOSING_HEIGHT = 1.4  # ...and the '/' of a closing '/-' at least this tall
CLOSING_ELONGATION = 2.5  # ...and a stroke: its ink at least this many times as long as it is wide
# A last mark this much taller than the digits and closing no loop is a closing '/' whatever its shape: written
# in one stroke with its dash ('/-' as a hook or a check mark) it is no straight stroke. On IDRBT cheques such
# marks stand 1.75-2.2 times as tall as the digits; ORAND-CAR's tallest last digits stand at most 1.62.
CLOSING_TOWER = 1.7
DASH = (3.0, 60.0)  # the '-' of a closing '/-': its ink this many times as long as wide, lying this flat
# (degrees from the vertical)
# In page mode a comma may also be tall: it then hangs at least COMMA_TAIL of the digits' height below their
# foot. A mark is judged against the neighbours at least SEPARATOR_NEIGHBOUR of its own height.
COMMA_TAIL = 0.2
# A mark too short for a digit (but at least ``min_leftover`` of the text height) is a digit candidate all the
# same when it is 0s written small in one stroke (Chile's '6.ooo'): ZERO_CHAIN_ASPECT times as wide as tall or
# more, with two closed loops side by side, each at least ZERO_CHAIN_LOOP of its height squared.
ZERO_CHAIN_ASPECT = 1.3
ZERO_CHAIN_LOOP = 0.05
SEPARATOR_NEIGHBOUR = 0.8
# A coloured pen (a blue ballpoint reads 80-135 on IDRBT's cheques, JPEG's colour blur and all): its ink's
# chroma, the spread of R, G and B, is at least PEN_CHROMA; black print reads 2-21, on a tinted band too.
# Ink below PRINT_CHROMA of the pen's median is print. The pen is known from at least PEN_MARKS marks in
# the cells of the page's combs, PEN_SHARE of them coloured.
PEN_CHROMA = 50
PRINT_CHROMA = 0.3
PEN_MARKS = 3
PEN_SHARE = 2 / 3
# A small low mark that is a 0 left open at the top (many hands write an amount's last zeros small, low and
# quick): at least as wide as OPEN_ZERO_ASPECT times its height, round (its ink at most OPEN_ZERO_ELONGATION
# times as long as wide) and hollow (at most OPEN_ZERO_SOLIDITY of its convex hull inked). A point is solid;
# a comma, a stroke or a dash is long.
OPEN_ZERO_ASPECT = 0.9
OPEN_ZERO_ELONGATION = 2.2
OPEN_ZERO_SOLIDITY = 0.65


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in pixels: left, top, width, height."""

    x: int
    y: int
    w: int
    h: int

    @property
    def right(self) -> int:
        return self.x + self.w

    @property
    def bottom(self) -> int:
        return self.y + self.h

    def union(self, other: Box) -> Box:
        """The smallest box holding both."""
        x, y = min(self.x, other.x), min(self.y, other.y)
        return Box(x, y, max(self.right, other.right) - x, max(self.bottom, other.bottom) - y)

    @staticmethod
    def enclosing(boxes: list[Box]) -> Box:
        """The smallest box holding all of ``boxes`` (at least one)."""
        result = boxes[0]
        for box in boxes[1:]:
            result = result.union(box)
        return result

    def iou(self, other: Box) -> float:
        """Intersection over union."""
        inter_w = min(self.right, other.right) - max(self.x, other.x)
        inter_h = min(self.bottom, other.bottom) - max(self.y, other.y)
        if inter_w <= 0 or inter_h <= 0:
            return 0.0
        inter = inter_w * inter_h
        return inter / (self.w * self.h + other.w * other.h - inter)


@dataclass(frozen=True)
class DigitCandidate:
    """One digit found on a page: its box on the original page and its ink (ink high, background 0)."""

    box: Box
    ink: np.ndarray
    printed: bool = False  # part of a run of printed characters (kept only with ``keep_printed``)
    in_cell: bool = False  # alone in a comb's cell, no wider than it: one digit, never cut into two
    # This candidate and the next one of its number as one: the strokes of one digit may not touch (a 4 whose
    # stem the pen lifted from), and where the two fit one digit's box the classifier decides (pipeline).
    joined: DigitCandidate | None = None


@dataclass(frozen=True)
class NumberCandidate:
    """Digits that read as one number, left to right."""

    digits: tuple[DigitCandidate, ...]


@dataclass(frozen=True)
class Field:
    """A printed frame that holds one number: a single box, or a comb of cells side by side.

    Digits inside one field are one number, however far apart they sit, and a number never runs across a
    field's border. Boxes are on the original page (the deskewed rectangles' bounding boxes).
    """

    box: Box
    cells: tuple[Box, ...]  # left to right; a single box has one cell


@dataclass(frozen=True)
class PageSegmentation:
    """What segmentation found on one page, numbers in reading order."""

    skew_deg: float
    skew_confidence: float
    text_height: float
    numbers: tuple[NumberCandidate, ...]
    fields: tuple[Field, ...] = ()
    # Marks too short for a digit but too big for a point or a speck, left out (original page coordinates): a
    # digit's broken stroke, a cursive '000' written small. A number beside one is reviewed (pipeline).
    leftovers: tuple[Box, ...] = ()


@dataclass(frozen=True)
class SegmentSettings:
    """Tunable thresholds, all relative to the page's text height unless named otherwise."""

    min_digit_height: float = 0.45  # smaller components are specks, dots, commas
    min_leftover: float = 0.25  # a mark shorter than a digit but at least this tall and wide is reported
    max_digit_height: float = 3.0  # taller ones are frames or rules left over
    max_aspect: float = 7.0  # wider than this (w/h) is a rule or a long stroke (touching digits are cut later)
    joined_aspect: float = 3.5  # wider than this may be characters joined by what is left of their line
    number_gap: float = 0.9  # a horizontal gap wider than this splits a number
    line_length: float = 2.2  # ruled lines are at least this long
    min_cell_height: float = 0.9  # a field's cells are at least this tall...
    max_cell_height: float = 4.0  # ...and at most this tall (a page's outer frame is no field)
    max_field_width: float = 30.0
    # Printed text: characters in a row whose heights, tops and bottoms agree to within this share of their
    # height (or ``printed_slack_px``, what scanning and JPEG do to small type) are type, not handwriting;
    # ``printed_run`` of them in a row make a printed run.
    printed_tolerance: float = 0.03
    printed_slack_px: float = 2.0
    printed_run: int = 4
    printed_gap: float = 3.0  # neighbours in a run at most this many character heights apart
    # Neighbours that may be the strokes of one digit: at most ``join_gap`` apart, their union at most
    # ``join_height`` tall and ``join_aspect`` times as wide as tall, the narrower at most ``join_part`` of
    # its height wide.
    join_gap: float = 0.6
    join_height: float = 1.6
    join_aspect: float = 1.5
    join_part: float = 0.8
    keep_printed: bool = False  # report printed digits too (marked printed) instead of dropping them
    find_printed: bool = True  # off where the page is known to hold handwriting only (a template's field)
    # A comb's cells known beforehand (a template's field whose printed rules were painted out), in the image:
    # each holds one digit, as in a comb found on the page.
    known_cells: tuple[Box, ...] = ()
    scan_area: tuple[int, int, int, int] | None = None  # (x, y, w, h) of the scan in an image padded with
    # blank paper (a template field's cut), whose own ink threshold bounds the padded image's (binarise)
    # Separators inside a number of three or more: shorter than this share of its median character, or
    # hanging from mid-line down (commas, points), or a closing stroke this much taller ('/' of '/-').
    drop_separators: bool = False
    separator_height: float = SEPARATOR_HEIGHT
    closing_height: float = CLOSING_HEIGHT


@dataclass(frozen=True)
class _Binarised:
    ink: np.ndarray  # uint8, ink high, background flattened to 0
    binary: np.ndarray  # uint8 0/255: the pen's ink
    frames: np.ndarray  # uint8 0/255: all the ink, a printed background pattern too (where rules and frames are)


def _shrink(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``image`` averaged down to ``size`` (width, height): exact halvings first (OpenCV's fast path), then
    one small area resize, several times faster than one area resize by an odd factor."""
    while image.shape[1] >= 2 * size[0] and image.shape[0] >= 2 * size[1]:
        image = cv2.resize(image, (image.shape[1] // 2, image.shape[0] // 2), interpolation=cv2.INTER_AREA)
    if (image.shape[1], image.shape[0]) == size:
        return image
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def binarise(gray: np.ndarray, sample: tuple[int, int, int, int] | None = None) -> _Binarised:
    """Flatten the paper's shading (divide by a closed background estimate) and threshold with Otsu.

    ``sample`` (x, y, w, h) is the scan itself in an image padded with blank paper. Padding lowers Otsu's
    threshold a few levels, which keeps faint strokes; but where it more than halves it, Otsu is splitting
    the blank padding from a scan whose every pixel is darker (a light printed pattern behind the writing
    would pass for ink), and the threshold is Otsu's on the sample alone.
    """
    height, width = gray.shape
    scale = max(1, min(height, width) // 256)
    small = _shrink(gray, (max(1, width // scale), max(1, height // scale)))
    # The closing must be much wider than any pen stroke, or it takes ink for paper: a quarter of the
    # image's short side (at least 15 px) is, both on a 40-pixel amount crop and on a full page.
    kernel = max(3, max(15, min(height, width) // 4) // scale) | 1
    background = cv2.morphologyEx(small, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (kernel, kernel)))
    background = cv2.resize(background, (width, height), interpolation=cv2.INTER_LINEAR)
    flat = cv2.divide(gray, np.maximum(background, 1, out=background), scale=255)
    ink = cv2.bitwise_not(flat)  # 255 - flat
    threshold, binary = cv2.threshold(ink, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    if sample is not None:
        x, y, w, h = sample
        own, _ = cv2.threshold(ink[y : y + h, x : x + w], 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
        if threshold < own / 2:
            threshold, binary = cv2.threshold(ink, own, 255, cv2.THRESH_BINARY)
    frames, faint = binary, 0.5
    if threshold < 25:  # a blank page: Otsu splits paper noise; demand real contrast instead
        _, binary = cv2.threshold(ink, 60, 255, cv2.THRESH_BINARY)
        frames, threshold = binary, 60
    else:
        pattern_threshold, binary = _above_pattern(ink, binary)
        # Over a pattern, the crops keep less of the faint ink around the strokes: most of it is pattern.
        if pattern_threshold is not None:
            threshold, faint = pattern_threshold, PATTERN_FAINT
    # Keep faint ink (at least half the threshold) for the crops; integer ink >= t/2 is ink > ceil(t/2) - 1.
    _, ink = cv2.threshold(ink, math.ceil(threshold * faint) - 1, 255, cv2.THRESH_TOZERO)
    return _Binarised(ink=ink, binary=binary, frames=frames)


PATTERN_SHARE = 0.15  # of the ink Otsu finds, the share lying away from the darkest strokes on a patterned paper
PATTERN_FAINT = 0.75  # over a pattern, crops keep ink down to this share of the pen's threshold


def _above_pattern(ink: np.ndarray, binary: np.ndarray) -> tuple[float | None, np.ndarray]:
    """The threshold and binary image above a printed background pattern (a cheque's hatching); no threshold
    and ``binary`` (Otsu's) unchanged on plain paper.

    Otsu splits paper from everything darker; on a hatched cheque the hatching is darker than the paper and
    lighter than the pen, and comes out as ink. Three-class Otsu splits paper, pattern and pen. Its upper
    class is a pen stroke's core, and on plain paper the middle class is that stroke's soft edge, next to
    the core. Where much of Otsu's ink lies away from any core, it is a pattern, and the upper threshold is
    the pen's. Printed rules and text in a lighter ink than the pen's fall in the pattern too: rules and
    frames are found in Otsu's binary image, the handwriting in this one.
    """
    counts = np.bincount(ink.ravel(), minlength=256)
    if np.count_nonzero(counts) < 3:  # a 1-bit scan: paper and pen, nothing between
        return None, binary
    upper = float(skimage.filters.threshold_multiotsu(classes=3, hist=(counts, np.arange(256)))[1])
    core = np.where(ink > upper, 255, 0).astype(np.uint8)
    near_core = cv2.dilate(core, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5)))
    away = cv2.countNonZero(cv2.bitwise_and(binary, cv2.bitwise_not(near_core)))
    if away <= PATTERN_SHARE * cv2.countNonZero(binary):
        return None, binary
    return upper, core


def estimate_skew(binary: np.ndarray) -> tuple[float, float]:
    """Skew angle in degrees (positive = counter-clockwise text) and a confidence in [0, 1].

    Projection profiles: the angle at which row sums are most peaked (text lines and rules line up).
    A coarse search in 1 degree steps runs on a copy at most 400 pixels long, the 0.1 degree refinement on
    one at most 800 pixels long (a 1 degree turn moves a 400-pixel row's end by 7 pixels, plenty to see;
    0.1 degree needs the larger copy). The confidence compares the best coarse score with the median one,
    both at the same scale. A blank or near-blank page is a no-op (0 degrees, confidence 0).
    """
    if cv2.countNonZero(binary) < 0.0005 * binary.size or cv2.countNonZero(binary) < 50:
        return 0.0, 0.0

    def shrunk(image: np.ndarray, longest: int) -> np.ndarray:
        height, width = image.shape
        factor = min(1.0, longest / max(height, width))
        return _shrink(image, (max(1, int(width * factor)), max(1, int(height * factor))))

    def scores(image: np.ndarray, angles: np.ndarray) -> np.ndarray:
        centre = (image.shape[1] / 2, image.shape[0] / 2)
        result = np.empty(len(angles))
        for index, angle in enumerate(angles):
            matrix = cv2.getRotationMatrix2D(centre, float(angle), 1.0)
            rotated = cv2.warpAffine(image, matrix, (image.shape[1], image.shape[0]), flags=cv2.INTER_NEAREST)
            profile = cv2.reduce(rotated, 1, cv2.REDUCE_SUM, dtype=cv2.CV_32S).ravel().astype(np.float64)
            result[index] = float(np.sum(np.diff(profile) ** 2))
        return result

    fine_image = shrunk(binary, 800)
    coarse = np.arange(-MAX_SKEW_DEG, MAX_SKEW_DEG + 0.01, 1.0)
    coarse_scores = scores(shrunk(fine_image, 400), coarse)
    best = float(coarse[int(coarse_scores.argmax())])
    fine = np.arange(best - 1.0, best + 1.01, 0.1)
    angle = float(fine[int(scores(fine_image, fine).argmax())])
    peak = float(coarse_scores.max())
    confidence = 0.0 if peak <= 0 else float(1.0 - np.median(coarse_scores) / peak)
    return round(angle, 2), round(max(0.0, confidence), 3)


def _components(binary: np.ndarray, connectivity: int = 8) -> tuple[int, np.ndarray, np.ndarray]:
    """Connected components: count, labels and stats.

    16-bit labels take a third of the time of 32-bit ones on a full page; a page with more than 65,535
    components (noise) falls back to 32-bit labels.
    """
    try:
        count, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=connectivity, ltype=cv2.CV_16U)
    except cv2.error:
        count, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=connectivity, ltype=cv2.CV_32S)
    return count, labels, stats


def _fills_page(stats: np.ndarray, shape: tuple[int, int]) -> bool:
    """Whether the page is one field (a cheque's amount cut out): more of its ink lies in solid components
    that are large for the page (which on a full page could only be frames, hollow and so left out, or rules)
    than in character-sized ones. A field's digits fill it, top to bottom, and may be one component with
    their line; a template field, segmented with paper around it, is not such a page."""
    w, h, area = stats[1:, cv2.CC_STAT_WIDTH], stats[1:, cv2.CC_STAT_HEIGHT], stats[1:, cv2.CC_STAT_AREA]
    if not len(area):
        return False
    top = stats[1:, cv2.CC_STAT_TOP]
    if (top + h).max() - top.min() < 0.5 * shape[0]:  # ink in a band of the page (a field cut with paper around)
        return False
    large = (h >= shape[0] * 0.5) | (w * h >= shape[0] * shape[1] * 0.05)
    characters = (h >= 8) & (w < 4 * h) & (area >= 20) & ~large
    return bool(area[large & (area >= 0.08 * w * h)].sum() > area[characters].sum())


def _text_height(stats: np.ndarray, shape: tuple[int, int], settings: SegmentSettings, scale: int = 1) -> float:
    """Median height of components that could be characters (not specks, not rules), from their stats.

    ``scale``: the stats are of an image shrunk that many times; the height is given at full size.

    Characters in runs of printed type (:func:`_mark_printed`) are left out when anything else is left: the
    height wanted is the handwriting's, and the labels, account numbers and MICR line of a cheque or form
    outnumber its handwritten digits several times over while being a quarter of their height.

    On a page that is one field (:func:`_fills_page`) it is the median height of the ink instead, each
    component weighing by its area: there the patterned paper breaks into specks and stroke fragments that
    can outnumber the digits and would make the height a third of theirs. Hollow frames are left out.
    """
    w, h, area = stats[1:, cv2.CC_STAT_WIDTH], stats[1:, cv2.CC_STAT_HEIGHT], stats[1:, cv2.CC_STAT_AREA]
    page_h, page_size = shape[0], shape[0] * shape[1]
    shaped = (h * scale >= 8) & (w < 4 * h) & (area * scale * scale >= 20)
    if _fills_page(stats, shape):
        dense = shaped & (area >= 0.08 * w * h)
        if not dense.any():
            return 0.0
        return _ink_median(h[dense], area[dense]) * scale
    keep = shaped & (h < page_h * 0.5) & (w * h < page_size * 0.05)
    if not keep.any():  # only large components: a few big digits on a strip; hollow frames left out
        keep = shaped & (area >= 0.08 * w * h)
    if settings.find_printed and keep.any():
        handwritten = keep & ~_in_printed_runs(stats, keep, settings, scale)
        keep = handwritten if handwritten.any() else keep
    if not keep.any():
        return 0.0
    # The ink's median height says where the handwriting is; the plain median of what is at least half
    # that tall measures it (weighing by ink alone would favour the largest digits).
    return float(np.median(h[keep & (h >= 0.5 * _ink_median(h[keep], area[keep]))])) * scale


def _ink_median(heights: np.ndarray, areas: np.ndarray) -> float:
    """The height of the component at which half the ink (summed area, shortest first) is reached."""
    order = np.argsort(heights)
    weight = np.cumsum(areas[order])
    return float(heights[order][np.searchsorted(weight, weight[-1] / 2)])


def _in_printed_runs(stats: np.ndarray, chosen: np.ndarray, settings: SegmentSettings, scale: int) -> np.ndarray:
    """Which of the ``chosen`` components (stats without the background row) belong to printed type, by the
    test :func:`_mark_printed` applies to the page's characters (its pixel slack shrunk with the image)."""
    index = np.flatnonzero(chosen)
    blobs = [_Blob(Box(*(int(v) for v in stats[1 + i, :4])), [int(i)]) for i in index]
    shrunk = replace(settings, printed_slack_px=settings.printed_slack_px / scale)
    _mark_printed(blobs, float(np.median(stats[1 + index, cv2.CC_STAT_HEIGHT])), [], shrunk)
    printed = np.zeros(len(chosen), bool)
    printed[index[[b.printed for b in blobs]]] = True
    return printed


def _without_long_rows(binary: np.ndarray) -> np.ndarray:
    """``binary`` less its horizontal runs longer than the page is tall (the line an amount is written on).

    On a page that is one field no stroke of a digit is that long, and digits written on the line are one
    component with it: too wide to measure a text height from until it is gone.
    """
    length = max(15, binary.shape[0])
    rows = cv2.morphologyEx(binary, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (length, 1)))
    return cv2.bitwise_and(binary, cv2.bitwise_not(rows))


# A vertical stroke at least this many text heights long that meets a rule's end is a frame's wall.
CORNER_WALL = 1.5
# A comb's wall printed fainter than its rules may stop short of one of them, where the scan lost its end: a
# hairline (at most HAIRLINE of the text height wide, or 2 pixels: no pen's stroke) that meets one rule and
# reaches within WALL_GAP of the text height of the other is a wall where the comb's pitch puts one. It is
# removed with the rules rather than read as a 1; the cells beside it, open at its gap, are not found.
WALL_GAP = 0.3
HAIRLINE = 0.05
PITCH_SLACK = 0.1  # of the pitch: how far from a whole number of cells from a wall such a hairline may lie


def _box_walls(binary: np.ndarray, horizontal: np.ndarray, text_height: float, vertical_scale: int = 1) -> np.ndarray:
    """Short vertical rules that join a rule above to a rule below: the walls of comb boxes and frames.

    They are too short for the long-line test, and a straight '1' is as tall, but a '1' never runs
    from one printed rule to another. A frame whose other side is not a rule (a cheque's amount box closed
    below by a line of microprinting) has walls that meet a rule at one end only, where the rule ends: a
    corner, which a '1' written on or under a rule does not make. A comb's hairline wall that stops short of
    one rule is a wall too, where the comb's other walls (three or more) put one. ``vertical_scale``: the
    images have 1/``vertical_scale`` of the page's rows (:func:`_pool`).
    """
    short = max(9, int(0.6 * text_height)) // vertical_scale
    reach = -(-3 // vertical_scale)  # how many rows from a rule an end may stop
    gap = max(reach, round(WALL_GAP * text_height / vertical_scale))
    candidates = cv2.morphologyEx(binary, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, short)))
    rules = cv2.dilate(horizontal, cv2.getStructuringElement(cv2.MORPH_RECT, (5, 2 * reach - 1)))
    # Outlines, not labelled components: the candidates are a few thin strips, and tracing them is a
    # fraction of the cost of labelling every pixel of the page.
    contours, _ = cv2.findContours(candidates, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    walls = np.zeros_like(binary)
    side = max(5, round(text_height))
    found: list[tuple[int, int, int]] = []  # (x, top, bottom) of the walls that meet both rules
    hairlines = []
    for contour in contours:
        x, y, w, h = cv2.boundingRect(contour)
        if w > 0.3 * text_height:
            continue
        touches_top = rules[max(0, y - reach) : y + reach, x : x + w].any()
        touches_bottom = rules[max(0, y + h - reach) : y + h + reach, x : x + w].any()
        long = h * vertical_scale >= CORNER_WALL * text_height
        corner = long and (
            _rule_ends_at(horizontal, x, y, w, reach, side) or _rule_ends_at(horizontal, x, y + h, w, reach, side)
        )
        if (touches_top and touches_bottom) or corner:
            cv2.drawContours(walls, [contour], -1, 255, thickness=cv2.FILLED)
            if touches_top and touches_bottom:  # a corner gives no pitch
                found.append((x, y, y + h))
        elif touches_top != touches_bottom and w <= max(2, HAIRLINE * text_height):
            other_end = rules[y + h : y + h + gap] if touches_top else rules[max(0, y - gap) : y]
            if other_end[:, x : x + w].any():
                hairlines.append((contour, x, y, y + h))
    for contour, x, top, bottom in hairlines:
        if _on_comb_pitch(x, [(wx, wt, wb) for wx, wt, wb in found if wt < bottom and wb > top]):
            cv2.drawContours(walls, [contour], -1, 255, thickness=cv2.FILLED)
    return cv2.bitwise_and(walls, candidates)


def _on_comb_pitch(x: int, walls: list[tuple[int, int, int]]) -> bool:
    """Whether column ``x`` lies a whole number of cells from a wall of a comb whose other ``walls`` (x, top,
    bottom: three or more, on the same rules) give its pitch, the narrowest gap between neighbouring walls."""
    columns = sorted({wx for wx, _, _ in walls})
    gaps = [b - a for a, b in itertools.pairwise(columns) if b - a > 2]
    if len(columns) < 3 or not gaps:
        return False
    pitch = min(gaps)
    nearest = min(columns, key=lambda wx: abs(wx - x))
    cells = abs(x - nearest) / pitch
    return round(cells) >= 1 and abs(cells - round(cells)) <= PITCH_SLACK


def _rule_ends_at(horizontal: np.ndarray, x: int, row: int, w: int, reach: int, side: int) -> bool:
    """Whether a rule in ``horizontal`` runs from columns ``x``..``x + w`` to one side only, within ``reach``
    rows of ``row``: a frame's corner (a rule running past on both sides is crossed, not cornered)."""
    band = horizontal[max(0, row - reach) : row + reach]
    left = band[:, max(0, x - side) : max(0, x - 2)].any()
    right = band[:, x + w + 2 : x + w + side].any()
    return bool(left != right)


# Strokes of one digit are merged only when one of them is at least this share of the text height: a digit
# broken in two keeps a piece that large, while small type set in two close lines is two small marks.
SMALL_STROKE = 0.4
# A 5's top stroke written apart: at most this share of the text height tall, starting at most this share of
# it to the right of the body's top (pen lifts leave a gap).
BAR_HEIGHT = 0.5
BAR_STROKE = 0.15  # and at least this tall: a pen's stroke, not what a ruled line leaves
BAR_REACH = 0.15
BROKEN_HALF = 0.7  # marks shorter than this share of the text height may be halves of one broken stroke

# Text at least this tall (pixels) is measured on the page at half resolution: still 20+ pixels there.
HALF_RESOLUTION_TEXT_HEIGHT = 40
PRINTED_MIN_PX = 10.0  # characters this tall may be type, even beside handwriting four times their height


def _halve(binary: np.ndarray) -> np.ndarray:
    """Half resolution, a pixel inked when any of its 2x2 block is (a max-pool: thin rules survive)."""
    height, width = binary.shape
    even = binary[: height - height % 2, : width - width % 2]
    mean = cv2.resize(even, (width // 2, height // 2), interpolation=cv2.INTER_AREA)
    return cv2.threshold(mean, 0, 255, cv2.THRESH_BINARY)[1]


def _pool(binary: np.ndarray, axis: int) -> np.ndarray:
    """Half resolution along one axis (0: rows, 1: columns), inked where either pixel of a pair is."""
    if axis == 0:
        return np.maximum(binary[0 : binary.shape[0] - binary.shape[0] % 2 : 2], binary[1::2])
    return np.maximum(binary[:, 0 : binary.shape[1] - binary.shape[1] % 2 : 2], binary[:, 1::2])


def _unpool(mask: np.ndarray, binary: np.ndarray, axis: int) -> np.ndarray:
    """A mask made by :func:`_pool` back on ``binary``'s grid, kept only where ``binary`` has ink."""
    height, width = binary.shape
    size = (width, 2 * mask.shape[0]) if axis == 0 else (2 * mask.shape[1], height)
    full = cv2.resize(mask, size, interpolation=cv2.INTER_NEAREST)
    if full.shape != binary.shape:  # an odd row or column count: the last one has no pair
        full = cv2.copyMakeBorder(full, 0, height - full.shape[0], 0, width - full.shape[1], cv2.BORDER_CONSTANT)
    return cv2.bitwise_and(full, binary)


def _rules(binary: np.ndarray, text_height: float, settings: SegmentSettings) -> tuple[np.ndarray, np.ndarray]:
    """Horizontal rules, and vertical rules with box walls, as masks of ``binary``'s ink.

    A rule is a run of ink at least ``line_length`` text heights long. Runs are found along the rule at
    half resolution (a morphological opening half as long on half the pixels: a quarter of the work) and
    across it at full resolution, so a stroke that lies along a rule is not taken for part of it.
    """
    length = max(15, int(settings.line_length * text_height))
    if length < 30:  # small text: too little to gain
        horizontal = cv2.morphologyEx(binary, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (length, 1)))
        vertical = cv2.morphologyEx(binary, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, length)))
        return horizontal, cv2.bitwise_or(vertical, _box_walls(binary, horizontal, text_height))
    line = cv2.getStructuringElement(cv2.MORPH_RECT, (length // 2, 1))
    horizontal = _unpool(cv2.morphologyEx(_pool(binary, 1), cv2.MORPH_OPEN, line), binary, 1)
    columns = _pool(binary, 0)  # half the rows: vertical runs and comb walls
    vertical = cv2.morphologyEx(columns, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, length // 2)))
    walls = _box_walls(columns, _pool(horizontal, 0), text_height, vertical_scale=2)
    return horizontal, _unpool(cv2.bitwise_or(vertical, walls), binary, 0)


def remove_lines(binary: np.ndarray, text_height: float, settings: SegmentSettings) -> tuple[np.ndarray, np.ndarray]:
    """Remove horizontal and vertical rules and frames, restoring ink where a stroke crossed a rule.

    Returns the cleaned binary image and the mask of rule pixels that were removed.
    """
    cleaned, removed, _ = _remove_lines(binary, text_height, settings)
    return cleaned, removed


def _rows_joining_characters(
    labels: np.ndarray, stats: np.ndarray, text_height: float, settings: SegmentSettings
) -> np.ndarray:
    """Long horizontal runs inside components too wide to be characters: what is left of a line that the
    characters stand on, too bent or broken for rule removal, and that joins them all into one component.

    No stroke of a digit runs flat for more than a character height, so such runs are cut out and the
    characters come apart; without this the whole component is dropped as a rule, and its digits with it.
    """
    joined = np.zeros(labels.shape, np.uint8)
    length = max(15, round(1.2 * text_height))
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (length, 1))
    for label in (
        np.flatnonzero(
            (stats[1:, cv2.CC_STAT_WIDTH] > settings.joined_aspect * stats[1:, cv2.CC_STAT_HEIGHT])
            & (stats[1:, cv2.CC_STAT_HEIGHT] >= settings.min_digit_height * text_height)
        )
        + 1
    ):
        x, y, w, h = (int(v) for v in stats[label, :4])
        mask = (labels[y : y + h, x : x + w] == label).astype(np.uint8) * 255
        region = joined[y : y + h, x : x + w]
        np.maximum(region, cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel), out=region)
    return joined


def _remove_lines(
    binary: np.ndarray, text_height: float, settings: SegmentSettings, frames: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`remove_lines`, also returning the mask of all rules (what frames are made of), found in
    ``frames`` (the page's ink with any printed pattern) where given."""
    horizontal, vertical = _rules(binary if frames is None else frames, text_height, settings)
    grow = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))
    horizontal = cv2.dilate(horizontal, grow)
    vertical = cv2.dilate(vertical, grow)
    lines = cv2.bitwise_or(horizontal, vertical)
    cleaned = restore_crossings(binary, horizontal, vertical, max(3, int(0.25 * text_height)))
    return cleaned, cv2.bitwise_and(lines, cv2.bitwise_not(cleaned)), lines


def restore_crossings(binary: np.ndarray, horizontal: np.ndarray, vertical: np.ndarray, bridge: int) -> np.ndarray:
    """``binary`` without the rules' pixels, except where a stroke crosses a rule: ink above and below a
    horizontal rule (left and right of a vertical one), at most ``bridge`` pixels apart, is one stroke."""
    cleaned = cv2.bitwise_and(binary, cv2.bitwise_not(cv2.bitwise_or(horizontal, vertical)))
    bridge |= 1
    fill_h = cv2.morphologyEx(cleaned, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (1, bridge)))
    fill_v = cv2.morphologyEx(cleaned, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (bridge, 1)))
    restored = cv2.bitwise_or(cv2.bitwise_and(fill_h, horizontal), cv2.bitwise_and(fill_v, vertical))
    return cv2.bitwise_or(cleaned, cv2.bitwise_and(restored, binary))


def _find_fields(lines: np.ndarray, text_height: float, settings: SegmentSettings) -> list[Field]:
    """Boxes and combs drawn by the rules, in the coordinates of ``lines`` (the deskewed page).

    A cell is a rectangular patch of page fully enclosed by rules, about one to four text heights tall
    (found at half resolution). Cells of the same height that share a wall make one comb; a cell alone is
    a single box.
    """
    half = _halve(lines)  # the rules were grown by a pixel already: small gaps in them are closed
    # The holes in the rules (4-connected blank patches inside 8-connected rules): their contours run
    # along the rule pixels around them, one pixel outside the blank patch.
    contours, hierarchy = cv2.findContours(half, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    cells = []
    for contour, (_, _, _, parent) in zip(contours, hierarchy[0] if hierarchy is not None else [], strict=False):
        if parent < 0:
            continue
        x, y, w, h = cv2.boundingRect(contour)
        full = Box(2 * (x + 1), 2 * (y + 1), 2 * (w - 2), 2 * (h - 2))
        if (
            settings.min_cell_height * text_height <= full.h <= settings.max_cell_height * text_height
            and 0.4 * text_height <= full.w <= settings.max_field_width * text_height
            and cv2.contourArea(contour) >= 0.85 * (w - 1) * (h - 1)  # a rectangle, not the space between rules
        ):
            cells.append(full)
    cells.sort(key=lambda c: (c.x, c.y))
    combs: list[list[Box]] = []
    slack = 0.25 * text_height

    def one_wall_apart(left: Box, right: Box) -> bool:
        """Only rule between the two cells: no column of blank paper (two fields side by side have one)."""
        if not 0 <= right.x - left.right <= 0.3 * text_height:
            return False
        top, bottom = max(left.y, right.y) // 2, min(left.bottom, right.bottom) // 2
        between = half[top:bottom, left.right // 2 : right.x // 2]
        return bool(between.size == 0 or np.all(between.any(axis=0)))

    for cell in cells:
        for comb in combs:
            last = comb[-1]
            if abs(cell.y - last.y) <= slack and abs(cell.bottom - last.bottom) <= slack and one_wall_apart(last, cell):
                comb.append(cell)
                break
        else:
            combs.append([cell])
    return [Field(Box.enclosing(comb), tuple(comb)) for comb in combs]


@dataclass
class _Blob:
    box: Box
    labels: list[int]
    printed: bool = False
    in_cell: bool = False  # the only digit in a comb's cell, no wider than it


def _is_field_wall(box: Box, shape: tuple[int, int]) -> bool:
    """Whether a blob on a page that one field fills is a wall of the field's frame, cut with it: thin, at
    the left or right edge of the page, and running its whole height. Too short for rule removal on such a
    page, it would be read as a '1'; a handwritten 1 stops short of the crop's edges somewhere."""
    height, width = shape
    edge = max(2, round(0.06 * height))  # a deskewed page's edges move by a few pixels
    at_side = box.x <= edge or box.right >= width - edge
    return at_side and box.y <= edge and box.bottom >= height - edge and box.w <= 0.25 * box.h


def principal_axis(ink: np.ndarray) -> tuple[float, float]:
    """Of an ink image's inked pixels: how many times longer than wide they lie along their principal axis,
    and how far that axis leans from the vertical (degrees). A straight stroke is long; a loop is not."""
    ys, xs = np.nonzero(ink)
    if len(ys) < 5:
        return 1.0, 0.0
    eigenvalues, eigenvectors = np.linalg.eigh(np.cov(np.vstack([xs, ys]).astype(np.float64)))
    along_x, along_y = np.abs(eigenvectors[:, 1])
    elongation = float(np.sqrt(eigenvalues[1] / max(float(eigenvalues[0]), 1e-6)))
    return elongation, float(np.degrees(np.arctan2(along_x, along_y)))


def _merge_strokes(blobs: list[_Blob], text_height: float) -> list[_Blob]:
    """Merge components that sit one above the other and overlap in x (a 5's bar, a broken stroke).

    Pairs merge one at a time, the first in x order first. A merged blob keeps its place in that order (it
    starts where its left part did), so after a merge only the blobs that reach it need looking at again:
    a page of guilloché holds thousands of fragments, and rescanning them all after each merge was most of
    segmentation's time.
    """
    blobs = sorted(blobs, key=lambda b: b.box.x)
    start = 0
    while (pair := _first_to_merge(blobs, start, text_height)) is not None:
        i, j = pair
        blobs[i] = _Blob(blobs[i].box.union(blobs[j].box), blobs[i].labels + blobs[j].labels)
        del blobs[j]
        start = next((k for k in range(i) if blobs[k].box.right >= blobs[i].box.x), i)
    return blobs


def _bar_at_top(bar: Box, body: Box, text_height: float) -> bool:
    """Whether ``bar`` is a flat mark shorter than a digit lying at ``body``'s top, as the top stroke of a 5 or
    a 7 written apart from the rest lies (each test then says from where it reaches)."""
    return (
        BAR_STROKE * text_height <= bar.h < BAR_HEIGHT * text_height
        and bar.w >= 1.3 * bar.h
        and body.h >= SMALL_STROKE * text_height
        and 2 * bar.y + bar.h <= 2 * body.y + 0.6 * body.h  # its middle in the body's top 30%
        and body.y - bar.bottom < BAR_REACH * text_height
        and max(bar.bottom, body.bottom) - min(bar.y, body.y) <= 1.6 * text_height
        and max(bar.right, body.right) - min(bar.x, body.x) <= 1.8 * text_height
    )


def is_five_bar(bar: Box, body: Box, text_height: float) -> bool:
    """Whether ``bar`` is the top stroke of a 5 written apart from its ``body``: a flat mark shorter than a
    digit, lying at the body's top, starting over the body's right part or just past it and reaching right.
    It overlaps the body too little in x to merge as stacked strokes do, and alone it is too small to be read."""
    return (
        _bar_at_top(bar, body, text_height)
        and body.x + 0.3 * body.w <= bar.x <= body.right + BAR_REACH * text_height
        and bar.right > body.right
    )


def is_seven_bar(bar: Box, body: Box, text_height: float) -> bool:
    """Whether ``bar`` is the top stroke of a 7 broken off its stem (``body``): a flat mark shorter than a
    digit, lying at the body's top, starting left of it and ending over it, past its first quarter (a 5's bar
    drawn leftwards from its stem ends over the body's left edge)."""
    return _bar_at_top(bar, body, text_height) and bar.x < body.x and body.x + 0.25 * body.w <= bar.right <= body.right


def _broken_across(first: Box, second: Box, text_height: float) -> bool:
    """Whether two short marks are the halves of a slanted stroke broken across (a leaning 1 or 7): one
    right under the other, a pen's gap apart, sharing a few columns however few. Neither is a digit's height:
    a comma hangs beside a whole digit, not under half of one."""
    upper, lower = (first, second) if first.y <= second.y else (second, first)
    return (
        max(first.h, second.h) < BROKEN_HALF * text_height
        and -0.15 * min(first.h, second.h) <= lower.y - upper.bottom <= 0.1 * text_height
        and min(first.right, second.right) > max(first.x, second.x)
    )


def _over_another(blobs: list[_Blob], pair: tuple[int, int], text_height: float) -> bool:
    """Whether the bar ``blobs[pair[1]]`` also lies over another stroke than its body ``blobs[pair[0]]``: the
    bar of the next digit's 5, or a stroke between two digits, reaches over both, and its owner is unclear."""
    bar = blobs[pair[1]].box
    return any(
        k not in pair
        and blobs[k].box.h >= SMALL_STROKE * text_height
        and min(bar.right, blobs[k].box.right) - max(bar.x, blobs[k].box.x) > 0.2 * bar.w
        and blobs[k].box.y < bar.bottom + 0.35 * text_height
        and blobs[k].box.bottom > bar.y
        for k in range(len(blobs))
        if blobs[k].box.x < bar.right and blobs[k].box.right > bar.x
    )


def _first_to_merge(blobs: list[_Blob], start: int, text_height: float) -> tuple[int, int] | None:
    """The first pair (in x order, from ``start``) of one digit's strokes: they overlap in x by most of the
    narrower one (however few columns, for the halves of a leaning stroke broken across), lie close above each
    other, and together are no bigger than a digit; or the second is the first's 5 bar."""
    for i in range(start, len(blobs)):
        first = blobs[i].box
        for j in range(i + 1, len(blobs)):
            second = blobs[j].box
            if second.x > first.right + BAR_REACH * text_height:
                break
            if is_five_bar(second, first, text_height) and not _over_another(blobs, (i, j), text_height):
                return i, j
            if is_seven_bar(first, second, text_height) and not _over_another(blobs, (j, i), text_height):
                return i, j
            overlap = min(first.right, second.right) - max(first.x, second.x)
            if overlap < 0.6 * min(first.w, second.w) and not _broken_across(first, second, text_height):
                continue
            gap = max(first.y, second.y) - min(first.bottom, second.bottom)
            if gap >= 0.35 * text_height:
                continue
            if max(first.h, second.h) < SMALL_STROKE * text_height:  # two lines of small type, one over the other
                continue
            union = first.union(second)
            if union.h <= 1.6 * text_height and union.w <= 1.3 * text_height:
                return i, j
    return None


def _may_join(left: _Blob, right: _Blob, text_height: float, settings: SegmentSettings) -> bool:
    """Whether two neighbouring handwritten blobs, left to right, could be the strokes of one digit."""
    if left.printed or right.printed or left.in_cell or right.in_cell:
        return False
    union = left.box.union(right.box)
    return (
        right.box.x - left.box.right <= settings.join_gap * text_height
        and union.h <= settings.join_height * text_height
        and union.w <= settings.join_aspect * union.h
        and min(left.box.w, right.box.w) <= settings.join_part * union.h
    )


def _alike(left: Box, right: Box, settings: SegmentSettings) -> bool:
    """Two characters as type sets them: the same height, top and bottom, to within the tolerance."""
    slack = max(settings.printed_slack_px, settings.printed_tolerance * max(left.h, right.h))
    return max(abs(left.h - right.h), abs(left.y - right.y), abs(left.bottom - right.bottom)) <= slack


def _mark_printed(blobs: list[_Blob], text_height: float, fields: list[Field], settings: SegmentSettings) -> None:
    """Mark the blobs that belong to runs of printed characters (account numbers, MICR, labels, serials).

    Type is regular where handwriting is not: each character's nearest neighbour to the right on its line
    has the same height, top and bottom to within a pixel or two. ``printed_run`` or more characters linked
    that way are printed; two handwritten digits in a row rarely agree so closely, four almost never. The
    cells of a comb are the exception: they square handwriting up to their own walls, so what they hold is
    never taken for type.
    """
    # Specks are no characters: they would link anything to anything. Small type is no speck, though, however
    # much taller the handwriting that sets the text height: 5 pt type at 300 dpi has letters 10 pixels tall.
    shortest = max(4.0, min(0.3 * text_height, PRINTED_MIN_PX))
    combs = [f for f in fields if len(f.cells) > 1]
    order = sorted(
        (i for i, b in enumerate(blobs) if b.box.h >= shortest and _field_of(b.box, combs) is None),
        key=lambda i: blobs[i].box.x,
    )
    parent = list(range(len(blobs)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for rank, i in enumerate(order):
        box = blobs[i].box
        for j in order[rank + 1 :]:
            other = blobs[j].box
            if other.x - box.right > settings.printed_gap * box.h:
                break
            overlap = min(box.bottom, other.bottom) - max(box.y, other.y)
            if other.x < box.x + 0.5 * box.w or overlap < 0.5 * min(box.h, other.h):
                continue
            if _alike(box, other, settings):  # the nearest on the line decides
                parent[root(j)] = root(i)
            break
    sizes: dict[int, int] = {}
    for i in range(len(blobs)):
        sizes[root(i)] = sizes.get(root(i), 0) + 1
    for i, blob in enumerate(blobs):
        blob.printed = sizes[root(i)] >= settings.printed_run
    _grow_printed([blobs[i] for i in order])


def _ink_chroma(
    blob: _Blob, labels: np.ndarray, ink: np.ndarray, chroma: np.ndarray, matrix: np.ndarray | None
) -> float:
    """The colour of a blob's ink: the median chroma of its darker half (its edges blend with the paper's tint).
    ``ink`` and ``chroma`` are the original page's; ``matrix`` deskews them to the blob's page, box by box."""
    b = blob.box
    own = np.isin(labels[b.y : b.bottom, b.x : b.right], blob.labels)
    strength = _deskewed_ink(ink, matrix, b.x, b.y, b.right, b.bottom)[own]
    colour = _deskewed_ink(chroma, matrix, b.x, b.y, b.right, b.bottom)[own]
    return float(np.median(colour[strength >= np.median(strength)])) if colour.size else 0.0


def _mark_print_by_colour(
    blobs: list[_Blob],
    labels: np.ndarray,
    ink: np.ndarray,
    chroma: np.ndarray,
    matrix: np.ndarray | None,
    fields: list[Field],
    text_height: float,
    settings: SegmentSettings,
) -> None:
    """Where the handwriting in the page's combs is in a coloured pen, mark black and gray marks outside the
    page's fields as printed: labels the regularity test misses (a word in another script, 'अदा करें';
    lower-case text of uneven heights; two capitals in a box).

    The pen's colour is taken from what the cells of the page's combs hold (a date in 8 boxes: one handwritten
    digit a cell, where a box's other marks may be print, its currency sign or a line of micro-print): marks of
    digit height, at least PEN_MARKS of them, PEN_SHARE of them at PEN_CHROMA or more. Print is ink below
    PRINT_CHROMA of the pen's median chroma; specks (below ``min_leftover``) are left to the speck filter. A
    page whose combs hold black handwriting, or that has no comb, is left as it is, however colourful its
    print: a blue printed account number is no pen.
    """
    combs = [f.cells for f in fields if len(f.cells) > 1]
    handwritten = [
        b
        for b in blobs
        if not b.printed
        and b.box.h >= settings.min_digit_height * text_height
        and any(_comb_cell(b.box, cells) is not None for cells in combs)
    ]
    if len(handwritten) < PEN_MARKS:
        return
    colours = np.array([_ink_chroma(b, labels, ink, chroma, matrix) for b in handwritten])
    pen = colours >= PEN_CHROMA
    if pen.mean() < PEN_SHARE:
        return
    limit = PRINT_CHROMA * float(np.median(colours[pen]))
    for blob in blobs:
        if (
            not blob.printed
            and max(blob.box.h, blob.box.w) >= settings.min_leftover * text_height
            and _field_of(blob.box, fields) is None
            and _ink_chroma(blob, labels, ink, chroma, matrix) < limit
        ):
            blob.printed = True


def _grow_printed(blobs: list[_Blob]) -> None:
    """Mark the characters that touch printed type and match its size: the rest of a printed label (a word
    in another script under 'DATE', lower-case letters of uneven heights) is type too, though not regular.

    Grown from the newly marked characters only, each compared with all blobs at once (a cheque holds
    thousands of guilloché fragments).
    """
    if not blobs:
        return
    x0, y0, x1, y1, height = np.array([(b.box.x, b.box.y, b.box.right, b.box.bottom, b.box.h) for b in blobs]).T
    printed = np.array([b.printed for b in blobs])
    frontier = np.flatnonzero(printed)
    while len(frontier):
        grown = np.zeros(len(blobs), bool)
        for k in frontier:
            near = 0.6 * height[k]
            grown |= (
                (0.4 * height[k] <= height)
                & (height <= 2.0 * height[k])
                & (x0 - near <= x1[k])
                & (x0[k] - near <= x1)
                & (y0 - near <= y1[k])
                & (y0[k] - near <= y1)
            )
        grown &= ~printed
        printed |= grown
        frontier = np.flatnonzero(grown)
    for blob, mark in zip(blobs, printed, strict=True):
        blob.printed = bool(mark)


def separator_marks(boxes: list[Box], ink_of: Callable[[int], np.ndarray], separator_height: float) -> set[int]:
    """Indices of the commas and points among the marks of a line (``boxes``; ``ink_of(i)``: mark i's ink):
    marks whose top is below the middle of the characters beside them, and which are short, or are no wider
    than tall and reach below those characters' foot (a handwritten comma hangs from the line as tall as a
    small 0 beside it). A mark that closes a loop around paper, or is round and hollow
    (:func:`is_small_zero`), is no comma or point but a small 0.

    Judged against the neighbours on either side (within one and a half of their heights), not against a
    number or a text line: the gap after a comma often splits an Indian amount (``12,00,500``) into groups
    of one or two digits, a comma sitting low may fall outside its line, and an amount's last zeros written
    small would set a line's median top as low as a comma's.
    """
    marks = set()
    for index, box in enumerate(boxes):
        beside = [
            other
            for j, other in enumerate(boxes)
            if j != index
            and other.h > SEPARATOR_NEIGHBOUR * box.h
            and max(other.x - box.right, box.x - other.right) < 1.5 * other.h
            and other.y < box.bottom
            and box.y < other.bottom + 0.5 * other.h
        ]
        if len(beside) < 2:
            continue
        height = float(np.median([b.h for b in beside]))
        top = float(np.median([b.y for b in beside]))
        foot = float(np.median([b.bottom for b in beside]))
        low = box.y > top + 0.4 * height
        short = box.h < separator_height * height
        mark = low and (short or (box.bottom > foot + COMMA_TAIL * height and box.w <= box.h))
        if mark and not is_small_zero(ink_of(index)):
            marks.add(index)
    return marks


def _without_commas(blobs: list[_Blob], settings: SegmentSettings, labels: np.ndarray) -> list[_Blob]:
    """``blobs`` without commas and points (:func:`separator_marks`); ``labels``: the page's components."""

    def ink_of(index: int) -> np.ndarray:
        box = blobs[index].box
        return np.isin(labels[box.y : box.bottom, box.x : box.right], blobs[index].labels)

    marks = separator_marks([blob.box for blob in blobs], ink_of, settings.separator_height)
    return [blob for index, blob in enumerate(blobs) if index not in marks]


def is_stroke(ink: np.ndarray, min_elongation: float, min_lean: float) -> bool:
    """Whether ink is one straight stroke, its principal axis ``min_elongation`` times its width or more,
    leaning at least ``min_lean`` degrees from the vertical."""
    elongation, lean = principal_axis(ink)
    return elongation >= min_elongation and lean >= min_lean


def encloses_paper(ink: np.ndarray, share: float) -> bool:
    """Whether ink closes a loop around paper of at least ``share`` of its box."""
    paper = np.pad(ink == 0, 1, constant_values=True).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(paper, connectivity=4)
    return count > 2 and bool((stats[2:, cv2.CC_STAT_AREA] >= share * ink.size).any())


def is_small_zero(ink: np.ndarray) -> bool:
    """Whether a small mark (ink high, 2-D) is a 0 rather than a point or comma: it closes a loop around paper
    (at least 10% of its box), or its largest piece is a loop left open, wide, round and hollow (OPEN_ZERO_*)."""
    if encloses_paper(ink, 0.1):
        return True
    regions = skimage.measure.regionprops(skimage.measure.label(ink > 0, connectivity=2))
    if not regions:
        return False
    piece = max(regions, key=lambda region: region.area)
    top, left, bottom, right = piece.bbox
    return (
        right - left >= OPEN_ZERO_ASPECT * (bottom - top)
        and piece.axis_major_length <= OPEN_ZERO_ELONGATION * max(piece.axis_minor_length, 1.0)
        and piece.solidity <= OPEN_ZERO_SOLIDITY
    )


def closed_loops(ink: np.ndarray, min_area: float) -> list[tuple[int, int, int, int]]:
    """The boxes (x, y, w, h) of the closed loops in a mark's ink, left to right: holes of at least
    ``min_area`` times its height squared (smaller ones are gaps the pen left)."""
    height = ink.shape[0]
    contours, hierarchy = cv2.findContours((ink > 0).astype(np.uint8), cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if hierarchy is None:
        return []
    loops = []
    for contour, (_, _, _, parent) in zip(contours, hierarchy[0], strict=True):
        if parent >= 0 and cv2.contourArea(contour) >= min_area * height * height:
            x, y, w, h = cv2.boundingRect(contour)
            loops.append((int(x), int(y), int(w), int(h)))
    return sorted(loops)


def columns_between_loops(loops: list[tuple[int, int, int, int]]) -> list[int]:
    """The columns between two closed loops side by side (their columns apart, their rows shared). A digit
    has at most two loops, one above the other (an 8): two beside each other are two digits touching, and
    the cut between them falls between the loops."""
    columns = []
    for (x0, y0, w0, h0), (x1, y1, w1, h1) in itertools.pairwise(loops):
        columns_apart = x0 + w0 - x1 <= 0.2 * min(w0, w1)
        rows_shared = min(y0 + h0, y1 + h1) - max(y0, y1) >= 0.5 * min(h0, h1)
        if columns_apart and rows_shared:
            columns.append((x0 + w0 + x1) // 2)
    return columns


def is_zero_chain(ink: np.ndarray) -> bool:
    """Whether a mark too short for a digit is 0s written small in one stroke (Chile's '6.ooo'): at least
    ZERO_CHAIN_ASPECT times as wide as tall, with two closed loops side by side."""
    height, width = ink.shape
    if width < ZERO_CHAIN_ASPECT * height:
        return False
    return bool(columns_between_loops(closed_loops(ink, ZERO_CHAIN_LOOP)))


def is_dash(ink: np.ndarray) -> bool:
    """Whether ink is the dash of a closing '/-': a flat straight stroke (DASH) that closes no loop around
    paper (at least 1% of its box), for a cursive '000' may lie as flat and long."""
    return is_stroke(ink, *DASH) and not encloses_paper(ink, 0.01)


def _without_closing(number: list[_Blob], settings: SegmentSettings, labels: np.ndarray) -> list[_Blob]:
    """A number without its closing '/-' (or '/=', '/—'): the dashes at its end (flat straight strokes with
    no loop), then its '/', a last stroke that is tall or came before a dash, or a last mark with no loop
    that towers over the digits (CLOSING_TOWER); a tall 8 or 0 at the end is a digit, and so is a leaning
    '1' a little taller than the digits with no dash after it.
    ``labels``: the page's components, of which the blobs are made."""
    if len(number) < 3:
        return number

    def ink(blob: _Blob) -> np.ndarray:
        b = blob.box
        return np.isin(labels[b.y : b.bottom, b.x : b.right], blob.labels)

    kept = list(number)
    while len(kept) > 2 and is_dash(ink(kept[-1])):
        kept.pop()
    last = kept[-1]
    dashed = len(kept) < len(number)
    last_ink = ink(last)
    median = float(np.median([b.box.h for b in kept[:-1]]))
    tall = last.box.h >= settings.closing_height * median
    straight = principal_axis(last_ink)[0] >= CLOSING_ELONGATION
    towering = last.box.h >= CLOSING_TOWER * median and not encloses_paper(last_ink, 0.01)
    if ((dashed or tall) and straight) or towering:
        kept.pop()
    return kept


def _holds_centre(cell: Box, box: Box) -> bool:
    """Whether ``box``'s centre lies in ``cell``."""
    cx, cy = box.x + box.w / 2, box.y + box.h / 2
    return cell.x <= cx <= cell.right and cell.y <= cy <= cell.bottom


def _field_of(box: Box, fields: list[Field]) -> int | None:
    """The index of the field whose cells hold ``box``'s centre, if any."""
    for index, field in enumerate(fields):
        if any(_holds_centre(c, box) for c in field.cells):
            return index
    return None


def _comb_cell(box: Box, cells: tuple[Box, ...]) -> int | None:
    """The index of the comb cell among ``cells`` (one no wider than COMB_CELL times its height, which holds
    one digit) that holds ``box``'s centre, if any."""
    return next((i for i, c in enumerate(cells) if c.w <= COMB_CELL * c.h and _holds_centre(c, box)), None)


def _one_blob_a_cell(blobs: list[_Blob], cells: tuple[Box, ...]) -> list[_Blob]:
    """``blobs`` (left to right) with those whose centres share a comb cell merged: a comb holds one digit a
    cell, so pieces in one cell are one digit's (a stroke the pen or the removed cell wall broke), and a digit
    no wider than its cell is never cut into two (``in_cell``). A cell wider than COMB_CELL times its height
    (an amount box beside its currency sign's cell) holds a number."""
    merged: dict[int, list[_Blob]] = {}
    for position, blob in enumerate(blobs):
        cell = _comb_cell(blob.box, cells)
        merged.setdefault(-1 - position if cell is None else cell, []).append(blob)
    kept = []
    for key, group in merged.items():
        box = Box.enclosing([b.box for b in group])
        in_cell = key >= 0 and box.w <= cells[key].w
        kept.append(_Blob(box, [n for b in group for n in b.labels], group[0].printed, in_cell))
    return sorted(kept, key=lambda b: b.box.x)


def _ends_in_comb(number: list[_Blob], cells: tuple[Box, ...]) -> bool:
    """Whether a field's last mark lies in a comb's cell, which holds a digit, not an amount's closing '/-':
    a field of several cells whose last mark's cell is no wider than COMB_CELL times its height (an amount
    box beside its currency sign's cell is a field of two cells, its last one wide)."""
    if len(cells) == 1 or not number:
        return False
    cell = next((c for c in cells if _holds_centre(c, number[-1].box)), None)
    return cell is None or cell.w <= COMB_CELL * cell.h


def _lines_of(items: list[tuple[Box, list[_Blob]]]) -> list[list[tuple[Box, list[_Blob]]]]:
    """Group boxed items into text lines (an item joins a line its centre falls in), lines top to bottom."""
    lines: list[list[tuple[Box, list[_Blob]]]] = []
    spans: list[tuple[float, float]] = []  # each line's median top and bottom, updated as it grows
    for item in sorted(items, key=lambda i: i[0].y + i[0].h / 2):
        centre = item[0].y + item[0].h / 2
        for index, (top, bottom) in enumerate(spans):
            if top <= centre <= bottom:
                line = lines[index]
                line.append(item)
                spans[index] = (float(np.median([i[0].y for i in line])), float(np.median([i[0].bottom for i in line])))
                break
        else:
            lines.append([item])
            spans.append((float(item[0].y), float(item[0].bottom)))
    lines.sort(key=lambda line: min(i[0].y for i in line))
    for line in lines:
        line.sort(key=lambda i: i[0].x)
    return lines


def _group_numbers(
    blobs: list[_Blob], settings: SegmentSettings, labels: np.ndarray, fields: list[Field] | None = None
) -> list[list[_Blob]]:
    """Group digit blobs (made of ``labels``' components) into numbers in reading order.

    Digits inside one field are one number. The others are grouped into text lines (vertical overlap) and
    split into numbers at wide gaps and at field borders. Numbers are then ordered by line, left to right.
    With ``drop_separators``, commas, points and closing slashes outside combs are left out.
    """
    fields = fields or []
    if settings.drop_separators:
        blobs = _without_commas(blobs, settings, labels)
    in_field: dict[int, list[_Blob]] = {}
    free: list[_Blob] = []
    for blob in blobs:
        index = _field_of(blob.box, fields)
        if index is None:
            free.append(blob)
        else:
            in_field.setdefault(index, []).append(blob)
    numbers = []
    for index, members in in_field.items():
        number = sorted(members, key=lambda b: b.box.x)
        if len(fields[index].cells) > 1:
            number = _one_blob_a_cell(number, fields[index].cells)
        if settings.drop_separators and not _ends_in_comb(number, fields[index].cells):  # a comb cell holds a digit
            number = _without_closing(number, settings, labels)
        numbers.append(number)
    free_numbers: list[list[_Blob]] = []
    for line in _lines_of([(blob.box, [blob]) for blob in free]):
        height = float(np.median([box.h for box, _ in line]))
        current = [line[0][1][0]]
        for box, (blob,) in line[1:]:
            previous = current[-1].box
            gap = box.x - previous.right
            between = any(
                f.box.x < box.x and f.box.right > previous.right and f.box.y < box.bottom and f.box.bottom > box.y
                for f in fields
            )
            if gap > settings.number_gap * height or between:
                free_numbers.append(current)
                current = []
            current.append(blob)
        free_numbers.append(current)
    if settings.drop_separators:
        free_numbers = [_without_closing(number, settings, labels) for number in free_numbers]
    numbers += free_numbers
    ordered = _lines_of([(Box.enclosing([b.box for b in number]), number) for number in numbers])
    return [number for line in ordered for _, number in line]


def _to_original(box: Box, inverse: np.ndarray | None, shape: tuple[int, int]) -> Box:
    """Map a box on the deskewed page back to the original page (bounding box of its rotated corners)."""
    if inverse is None:
        return box
    corners = np.array(
        [[box.x, box.y, 1], [box.right, box.y, 1], [box.x, box.bottom, 1], [box.right, box.bottom, 1]], np.float64
    )
    mapped = corners @ inverse.T
    height, width = shape
    x0 = min(max(math.floor(mapped[:, 0].min()), 0), width - 1)
    y0 = min(max(math.floor(mapped[:, 1].min()), 0), height - 1)
    x1 = min(max(math.ceil(mapped[:, 0].max()), x0 + 1), width)
    y1 = min(max(math.ceil(mapped[:, 1].max()), y0 + 1), height)
    return Box(x0, y0, x1 - x0, y1 - y0)


def _deskewed_ink(ink: np.ndarray, matrix: np.ndarray | None, x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    """The region x0..x1, y0..y1 of the deskewed ink, warping only that region rather than the whole page."""
    if matrix is None:
        return ink[y0:y1, x0:x1]
    shifted = matrix.copy()
    shifted[:, 2] -= (x0, y0)
    return cv2.warpAffine(ink, shifted, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR)


def segment_page(
    gray: np.ndarray, settings: SegmentSettings | None = None, chroma: np.ndarray | None = None
) -> PageSegmentation:
    """Segment one grayscale page (dark ink on light paper) into numbers of digit candidates.

    ``chroma`` (a colour scan's :func:`digitscan.loading.to_chroma`) lets a coloured pen tell the handwriting
    from black print (:func:`_mark_print_by_colour`)."""
    settings = settings or SegmentSettings()
    if gray.ndim != 2 or gray.dtype != np.uint8:
        raise ValueError("segment_page needs an 8-bit grayscale image")
    if chroma is not None and chroma.shape != gray.shape:
        raise ValueError("segment_page needs the chroma of the page's own pixels")
    if float(np.mean(gray)) < 110:  # white ink on black: an inverted scan
        gray = cv2.bitwise_not(gray)
    page = binarise(gray, settings.scan_area)
    skew, skew_confidence = estimate_skew(page.binary)
    binary, frames, matrix, inverse = page.binary, page.frames, None, None
    if abs(skew) >= 0.2:
        height, width = gray.shape
        matrix = cv2.getRotationMatrix2D((width / 2, height / 2), skew, 1.0)
        inverse = cv2.invertAffineTransform(matrix)
        binary = cv2.warpAffine(binary, matrix, (width, height), flags=cv2.INTER_NEAREST)
        frames = (
            binary
            if page.frames is page.binary
            else cv2.warpAffine(frames, matrix, (width, height), flags=cv2.INTER_NEAREST)
        )

    # The text height sets the scale of line removal; at half resolution it is measured to within a pixel
    # or two of a tall text, in a quarter of the time. Small text is measured at full resolution.
    half = _halve(binary)
    stats = _components(half)[2]
    one_field = _fills_page(stats, half.shape)
    text_height = _text_height(stats, half.shape, settings, scale=2)
    if text_height < HALF_RESOLUTION_TEXT_HEIGHT:
        stats = _components(binary)[2]
        one_field = _fills_page(stats, binary.shape)
        if one_field:  # an amount crop: its digits may be joined by their line
            stats = _components(_without_long_rows(binary))[2]
        text_height = _text_height(stats, binary.shape, settings)
    if text_height == 0:
        return PageSegmentation(skew, skew_confidence, 0.0, ())
    # A page's frames may be printed lighter than the pen (in the pattern's ink); an amount cut out of its
    # cheque has no frames to find, and a pattern's hatching would pass for bits of rule.
    cleaned, removed, lines = _remove_lines(binary, text_height, settings, None if one_field else frames)
    fields = _find_fields(lines, text_height, settings)
    if settings.known_cells:
        # the cells are given on the page as cut: the deskew's forward matrix puts them on the deskewed page
        cells = tuple(_to_original(cell, matrix, gray.shape) for cell in settings.known_cells)
        fields.insert(0, Field(Box.enclosing(list(cells)), cells))
    page_fields = tuple(
        Field(_to_original(f.box, inverse, gray.shape), tuple(_to_original(c, inverse, gray.shape) for c in f.cells))
        for f in fields
    )
    count, labels, stats = _components(cleaned)
    text_height = _text_height(stats, cleaned.shape, settings) or text_height
    joined = _rows_joining_characters(labels, stats, text_height, settings)
    if joined.any():
        cleaned = cv2.bitwise_and(cleaned, cv2.bitwise_not(joined))
        removed = cv2.bitwise_or(removed, joined)
        count, labels, stats = _components(cleaned)
    blobs = [
        _Blob(Box(int(x), int(y), int(w), int(h)), [label])
        for label, (x, y, w, h, area) in enumerate(stats[1:count], start=1)
        if area >= 4
    ]
    if one_field:
        blobs = [blob for blob in blobs if not _is_field_wall(blob.box, cleaned.shape)]
    # Type is found before strokes merge: a character of type is one component, and lines of small type set
    # close one above another would otherwise merge into digit-sized stacks that no longer look like type.
    # A page that one field fills (an amount cut out) holds what was written in it: no type is looked for.
    if settings.find_printed and not one_field:
        _mark_printed(blobs, text_height, fields, settings)
        if chroma is not None:
            _mark_print_by_colour(blobs, labels, page.ink, chroma, matrix, fields, text_height, settings)
    blobs = _merge_strokes([b for b in blobs if not b.printed], text_height) + [b for b in blobs if b.printed]

    def small_zeros(blob: _Blob) -> bool:
        """0s written small in one stroke: too short for a digit, but no speck (:func:`is_zero_chain`)."""
        b = blob.box
        return (
            settings.min_leftover * text_height <= b.h
            and b.w >= ZERO_CHAIN_ASPECT * b.h
            and is_zero_chain(np.isin(labels[b.y : b.bottom, b.x : b.right], blob.labels))
        )

    def in_a_cell(blob: _Blob) -> bool:
        """Ink that fills enough of a comb's cell to be the digit written in it."""
        for field in fields:
            cell = _comb_cell(blob.box, field.cells) if len(field.cells) > 1 else None
            if cell is not None:
                return blob.box.h >= CELL_DIGIT * field.cells[cell].h
        return False

    # Type kept with ``keep_printed`` is no speck however small beside the handwriting: its run vouches for it.
    digits = [
        blob
        for blob in blobs
        if (settings.keep_printed or not blob.printed)
        and (
            blob.printed
            or settings.min_digit_height * text_height <= blob.box.h
            or small_zeros(blob)
            or in_a_cell(blob)
        )
        and blob.box.h <= settings.max_digit_height * text_height
        and blob.box.w <= settings.max_aspect * blob.box.h
    ]
    taken = {id(blob) for blob in digits}
    leftovers = tuple(
        _to_original(blob.box, inverse, gray.shape)
        for blob in blobs
        if not blob.printed
        and id(blob) not in taken
        and settings.min_leftover * text_height <= min(blob.box.h, blob.box.w)
        and blob.box.h < settings.min_digit_height * text_height
    )
    if not digits:
        return PageSegmentation(skew, skew_confidence, text_height, (), page_fields, leftovers)

    margin = max(1, int(0.08 * text_height))
    dilate = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * margin + 1, 2 * margin + 1))

    def candidate(blob: _Blob, joined: DigitCandidate | None = None) -> DigitCandidate:
        b = blob.box
        y0, y1 = max(0, b.y - margin), min(cleaned.shape[0], b.bottom + margin)
        x0, x1 = max(0, b.x - margin), min(cleaned.shape[1], b.right + margin)
        mask = cv2.dilate(np.isin(labels[y0:y1, x0:x1], blob.labels).astype(np.uint8), dilate)
        mask[removed[y0:y1, x0:x1] > 0] = 0  # the rules' ink is not the digit's
        crop = _deskewed_ink(page.ink, matrix, x0, y0, x1, y1) * mask
        return DigitCandidate(_to_original(b, inverse, gray.shape), crop, blob.printed, blob.in_cell, joined)

    numbers = []
    for group in _group_numbers(digits, settings, labels, fields):
        joins = [
            candidate(_Blob(left.box.union(right.box), left.labels + right.labels))
            if _may_join(left, right, text_height, settings)
            else None
            for left, right in itertools.pairwise(group)
        ]
        numbers.append(NumberCandidate(tuple(map(candidate, group, [*joins, None]))))
    return PageSegmentation(skew, skew_confidence, text_height, tuple(numbers), page_fields, leftovers)
