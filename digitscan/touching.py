"""Touching digits: propose where one connected blob might be cut into two or three digits.

Handwritten amounts are often written in one stroke ("200", "10" with the 1 touching the 0), so one
connected component holds several digits. Where a blob is wide for its height, this module proposes cuts
at the thinnest columns of its ink; it does not decide. The classifier reads the whole blob and every
proposed part, and the pipeline keeps a cut only when its parts read as digits more surely than the whole
(see :func:`choose`): the choice among candidate cuts is made with the model's own confidence.
"""

from __future__ import annotations

import numpy as np

from digitscan.segment import Box

MIN_ASPECT_FOR_TWO = 0.8  # width / height from which a blob may hold two digits
MIN_ASPECT_FOR_THREE = 1.3  # ... and three
MIN_PART_INK = 0.12  # each part must hold at least this share of the blob's ink
SURE_ENOUGH = 0.35  # the weakest part of a kept cut must read at least this surely (it is reviewed if below threshold)

CUT_MARGIN = 0.4  # a whole read as a digit is cut only when the parts read this much more surely

Cut = tuple[tuple[int, int], ...]  # column ranges [start, end) of the parts, left to right


def candidate_cuts(ink: np.ndarray, max_two_way: int = 2) -> list[Cut]:
    """Ways to cut a blob's ink (ink high, 2-D) into two or three parts, at the thinnest columns."""
    height, width = ink.shape
    if width < MIN_ASPECT_FOR_TWO * height or width < 6:
        return []
    profile = np.convolve((ink > 0).sum(axis=0).astype(float), [0.25, 0.5, 0.25], mode="same")
    total = float((ink > 0).sum())

    def thinnest(start: float, end: float) -> int:
        lo, hi = int(start * width), max(int(start * width) + 1, int(end * width))
        return lo + int(np.argmin(profile[lo:hi]))

    cuts: list[Cut] = []
    taken: list[int] = []
    for column in np.argsort(profile[int(0.25 * width) : int(0.75 * width)], kind="stable") + int(0.25 * width):
        if len(taken) == max_two_way:
            break
        if all(abs(int(column) - other) >= 0.1 * width for other in taken):
            taken.append(int(column))
            cuts.append(((0, int(column)), (int(column), width)))
    if width >= MIN_ASPECT_FOR_THREE * height:
        first, second = thinnest(0.2, 0.45), thinnest(0.55, 0.8)
        cuts.append(((0, first), (first, second), (second, width)))
    return [cut for cut in cuts if all((ink[:, a:b] > 0).sum() >= MIN_PART_INK * total for a, b in cut)]


def part_box(box: Box, width: int, start: int, end: int) -> Box:
    """The page box of columns [start, end) of a crop ``width`` pixels wide that covers ``box``."""
    x0 = box.x + round(box.w * start / width)
    x1 = box.x + round(box.w * end / width)
    return Box(x0, box.y, max(1, x1 - x0), box.h)


def choose(whole: tuple[bool, float], cuts: list[list[tuple[bool, float]]]) -> int:
    """Which reading to keep: -1 for the whole blob, else the index of the cut.

    Each reading is given as (is a digit, confidence) per part. A cut wins when all its parts read as
    digits, its weakest part is at least SURE_ENOUGH, and more sure than the whole blob read as one digit
    by CUT_MARGIN (a whole that the model calls "not a digit" counts as 0, with no margin): on clean pages
    a wide single digit read with middling confidence must stay whole.
    """
    whole_is_digit, whole_confidence = whole
    best, best_score = -1, (whole_confidence + CUT_MARGIN) if whole_is_digit else 0.0
    for index, parts in enumerate(cuts):
        if not all(is_digit for is_digit, _ in parts):
            continue
        score = min(confidence for _, confidence in parts)
        if score >= SURE_ENOUGH and score > best_score:
            best, best_score = index, score
    return best
