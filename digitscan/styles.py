"""Write MNIST digits in the conventions of the hands that MNIST lacks: a 1 with a flag, a 2 whose top closes
into a loop, a 4 whose stem barely rises above its bar, a 7 with a bar, a 9 whose stem leaves its loop on the
left, a 0 cut from a cursive chain with its joining strokes.

MNIST was written by American census staff and students, whose 1 is a bare stroke and whose 7 has no bar.
Much of the world writes a 1 with a long flag at its top, crosses its 7 and starts a 9 at the foot of its
loop; a model that never saw them reads such a 1 as a 7, a looped 2 as a 9, a crossed 7 as a 2 and such a 9
as an 8 (on real cheque amounts these are the commonest misreads). This module draws those strokes onto MNIST
training images (ink high, background 0, before normalisation), or mirrors the 9s, keeping each label.
Randomness comes from a seed, so a training run is reproducible.
"""

from __future__ import annotations

import math
from dataclasses import replace

import cv2
import numpy as np
from skimage.morphology import skeletonize

from digitscan.mnist import MnistData

_MARGIN = 8  # room around the 28x28 image for a stroke that reaches past MNIST's field
_INK_LEVEL = 128  # pixels at or above this count as a digit's stroke when measuring it


def stroke_width(ink: np.ndarray) -> float:
    """The width of the strokes of a boolean ink mask, in pixels: twice the distance from their edge to their
    centre line (its 90th percentile); 0 without ink."""
    if not ink.any():
        return 0.0
    distance = cv2.distanceTransform(ink.astype(np.uint8), cv2.DIST_L2, 3)
    return 2.0 * float(np.percentile(distance[ink], 90))


def ink_runs(row: np.ndarray) -> list[tuple[int, int]]:
    """The [start, end) column ranges of the ink in one row of a boolean mask."""
    edges = np.diff(np.r_[0, row.astype(np.int8), 0])
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(), strict=True))


def longest_run(row: np.ndarray) -> int:
    """The length of the longest run of ink in one row of a boolean mask (0 without ink)."""
    return max((end - start for start, end in ink_runs(row)), default=0)


def _stroke_width(image: np.ndarray) -> int:
    """A digit's stroke width in whole pixels (at least 1), measured on its ink at or above _INK_LEVEL."""
    return max(1, round(stroke_width(image >= _INK_LEVEL)))


def flagged_one(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A 1 with a flag: a stroke from the top of its stem down to the left, 30-70% of its height long, at
    30-65 degrees below the horizontal (a 7's bar lies near it) and at least 20 off the stem."""
    canvas = np.pad(image, _MARGIN).astype(np.float32)
    ink = canvas >= _INK_LEVEL
    ys, xs = np.nonzero(ink)
    top, height = int(ys.min()), int(ys.max() - ys.min() + 1)
    top_x = float(xs[ys == top].mean())
    lean = float(np.polyfit(ys, xs, 1)[0])  # x change per row down the stem: < 0 when the top leans right
    stem = math.degrees(math.atan2(1.0, -lean))  # the stem's downward angle below the leftward horizontal
    angle = math.radians(rng.uniform(30.0, max(30.0, min(65.0, stem - 20.0))))
    length = rng.uniform(0.3, 0.7) * height
    end = (round(top_x - length * math.cos(angle)), round(top + length * math.sin(angle)))
    width = max(1, round(_stroke_width(image) * rng.uniform(0.6, 1.0)))
    cv2.line(canvas, (round(top_x), top), end, float(canvas.max()), width, cv2.LINE_AA)
    return canvas


def crossed_seven(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A 7 with a short bar across its stem a little above half its height."""
    canvas = np.pad(image, _MARGIN).astype(np.float32)
    ink = canvas >= _INK_LEVEL
    rows = np.flatnonzero(ink.any(axis=1))
    top, bottom = int(rows[0]), int(rows[-1])
    y = round(top + rng.uniform(0.45, 0.62) * (bottom - top))
    stem = np.flatnonzero(ink[y])
    if not len(stem):
        return canvas
    centre = float(stem.mean())
    half = rng.uniform(0.2, 0.35) * (bottom - top)
    tilt = rng.uniform(-0.1, 0.1) * half
    start = (round(centre - half), round(y + tilt))
    end = (round(centre + half * rng.uniform(0.6, 1.0)), round(y - tilt))
    cv2.line(canvas, start, end, float(canvas.max()), _stroke_width(image), cv2.LINE_AA)
    return canvas


def mirrored_nine(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A 9 whose stem leaves the loop on its left: written from the loop's foot, anticlockwise, as many
    hands write it (read as an 8 by a model that saw only stems on the right). No other digit looks so."""
    return np.pad(image[:, ::-1], _MARGIN).astype(np.float32)


def joined_zero(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A 0 cut out of a cursive chain (``000`` written without lifting the pen): the stubs of the strokes that
    joined it to its neighbours, entering on the left and leaving on the right between a quarter and three
    quarters of its height, or one joining stroke running across the loop (read as an 8 or a 6 without it)."""
    canvas = np.pad(image, _MARGIN).astype(np.float32)
    ink = canvas >= _INK_LEVEL
    ys, xs = np.nonzero(ink)
    left, right, top, bottom = int(xs.min()), int(xs.max()), int(ys.min()), int(ys.max())
    width, height = right - left + 1, bottom - top + 1
    level, stroke = float(canvas.max()), max(1, round(_stroke_width(image) * rng.uniform(0.6, 1.0)))

    def joining(start_x: float, end_x: float) -> None:
        """A near-flat stroke (rising at most 20 degrees to the right, falling at most 10) at a random height."""
        y = top + rng.uniform(0.25, 0.75) * height
        rise = (end_x - start_x) * math.tan(math.radians(rng.uniform(-10.0, 20.0)))
        cv2.line(canvas, (round(start_x), round(y)), (round(end_x), round(y - rise)), level, stroke, cv2.LINE_AA)

    def reach() -> float:
        return rng.uniform(0.15, 0.4) * width

    if rng.random() < 1 / 3:  # the joining stroke crosses the loop
        joining(left + rng.uniform(0.0, 0.3) * width, right + reach())
        return canvas
    sides = ((True, False), (False, True), (True, True))[int(rng.integers(3))]
    if sides[0]:  # entering from the left neighbour, at the loop's left side
        joining(left - reach(), left + 1)
    if sides[1]:  # leaving towards the right neighbour
        joining(right - 1, right + reach())
    return canvas


def looped_two(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A 2 whose top closes into a loop: the stroke starts inside the bowl, on the diagonal, and rises to the
    left into the arc (as many hands write it, the loop read as a 9's by a model that never saw it). Drawn
    as a curve from the arc's free end, bulging left, down to the diagonal a half to two thirds of the way
    down."""
    canvas = np.pad(image, _MARGIN).astype(np.float32)
    ink = canvas >= _INK_LEVEL
    if cv2.connectedComponents((~ink).astype(np.uint8), connectivity=4)[0] > 2:  # a loop already (at its foot)
        return canvas
    skeleton = skeletonize(ink)
    ys, xs = np.nonzero(skeleton)
    if not len(ys):
        return canvas
    top, height = int(ys.min()), int(ys.max() - ys.min() + 1)
    left, width = int(xs.min()), int(xs.max() - xs.min() + 1)
    ring = np.ones((3, 3), np.float32)
    ring[1, 1] = 0
    neighbours = cv2.filter2D(skeleton.astype(np.float32), -1, ring, borderType=cv2.BORDER_CONSTANT)
    ends = [(y, x) for y, x in zip(ys, xs, strict=True) if neighbours[y, x] == 1 and y < top + 0.6 * height]
    if not ends:
        return canvas
    start_y, start_x = min(ends, key=lambda p: (p[0] - top) / height + (p[1] - left) / width)
    row = top + round(rng.uniform(0.5, 0.67) * height)
    on_row = xs[ys == row]
    if not len(on_row):
        return canvas
    end = np.array([float(on_row.min()), float(row)])
    start = np.array([float(start_x), float(start_y)])
    control = np.array([min(start[0], end[0]) - rng.uniform(0.1, 0.3) * width, (start[1] + end[1]) / 2])
    t = np.linspace(0.0, 1.0, 24)[:, None]
    curve = (1 - t) ** 2 * start + 2 * (1 - t) * t * control + t**2 * end
    width_px = max(1, round(_stroke_width(image) * rng.uniform(0.7, 1.0)))
    cv2.polylines(canvas, [np.round(curve).astype(np.int32)], False, float(canvas.max()), width_px, cv2.LINE_AA)
    return canvas


def short_stem_four(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A 4 whose right stem rises only a little above its bar (a shape like an 'h' or a 'ч' turned round, as
    many hands write it, read as a 6 by a model that saw only MNIST's tall stems): the stem above the bar is
    erased from its top down to 10-40% of the way left above the bar."""
    canvas = np.pad(image, _MARGIN).astype(np.float32)
    ink = canvas >= _INK_LEVEL
    rows = np.flatnonzero(ink.any(axis=1))
    top, height = int(rows[0]), int(rows[-1] - rows[0] + 1)
    band = range(top + round(0.35 * height), top + round(0.8 * height))
    runs = {row: ink_runs(ink[row]) for row in band}
    bar_row = max(band, key=lambda row: max((end - start for start, end in runs[row]), default=0))
    if not runs[bar_row]:
        return canvas
    bar_start, bar_end = max(runs[bar_row], key=lambda run: run[1] - run[0])
    middle = (bar_start + bar_end) / 2
    keep_from = bar_row - round(rng.uniform(0.1, 0.4) * (bar_row - top))
    traced = canvas > 0.1 * float(canvas.max())  # the stroke with its soft edge, erased with it
    for row in range(max(0, top - 2), keep_from):
        for start, end in ink_runs(traced[row]):
            if end > middle and start >= bar_start:  # the stem, reaching right of the bar's middle
                canvas[row, start:end] = 0.0
    return canvas


STYLES = {0: joined_zero, 1: flagged_one, 2: looped_two, 4: short_stem_four, 7: crossed_seven, 9: mirrored_nine}


def crossing_hands(digits: MnistData, seed: int, flagged_share: float = 0.6) -> MnistData:
    """MNIST's test digits as hands that cross their 7s write them (continental Europe, Latin America): every 7
    crossed, ``flagged_share`` of the 1s flagged, the rest as they are, all on the styles' wider canvas (their
    size changes nothing where the digits are cropped to their ink, as the synthetic pages crop them).

    Pages drawn from these (``digitscan synth --hands crossing``) measure ``--crossed-sevens`` with exact truth;
    the training images are left alone.
    """
    rng = np.random.default_rng(seed)
    images = np.pad(digits.test_images, ((0, 0), (_MARGIN, _MARGIN), (_MARGIN, _MARGIN)))
    sevens = np.flatnonzero(digits.test_labels == 7)
    ones = np.flatnonzero(digits.test_labels == 1)
    for index in sevens:
        images[index] = np.clip(crossed_seven(digits.test_images[index], rng), 0, 255)
    for index in rng.choice(ones, round(flagged_share * len(ones)), replace=False):
        images[index] = np.clip(flagged_one(digits.test_images[index], rng), 0, 255)
    return replace(digits, test_images=images)


def styled_digits(
    images: np.ndarray, labels: np.ndarray, share: float, seed: int, digits: tuple[int, ...]
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Styled copies of ``share`` of ``images`` (N, 28, 28) of each of ``digits`` (keys of STYLES): their indices
    and inks."""
    rng = np.random.default_rng(seed)
    chosen: list[int] = []
    inks: list[np.ndarray] = []
    for digit in digits:
        draw = STYLES[digit]
        candidates = np.flatnonzero(labels == digit)
        picked = rng.choice(candidates, round(share * len(candidates)), replace=False)
        for index in np.sort(picked):
            chosen.append(int(index))
            inks.append(draw(images[index], rng))
    return np.array(chosen, np.int64), inks
