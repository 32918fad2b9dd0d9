"""Handwriting conventions a run can be told about.

MNIST's American hands write a 1 as a bare stroke and a 7 without a bar, so the model reads a 1 with a long
flag as a 7: that shape is a 7 in MNIST. Where the writers cross their 7s (continental Europe, Latin
America), a 7-shape without a bar is a flagged 1 far more often than a 7; told so, a run weighs the model's
reading of a 7 by whether the crop has a bar (on ORAND-CAR's Chilean cheques, 1 read as 7 is the
commonest misread of all).
"""

from __future__ import annotations

import numpy as np

from digitscan.card import NOT_A_DIGIT
from digitscan.normalize import SIZE
from digitscan.styles import longest_run, stroke_width

SEVEN = 7
INK = 0.35  # a normalised crop's pixels at or above this are stroke
BAR_BAND = (0.3, 0.75)  # the rows, as shares of the ink's height from its top, where a 7's bar crosses its stem
BAR_STROKES = 2.0  # a bar: a row's ink run at least this many stroke widths long in that band
# Under the convention, how likely a 7 is to have no bar, against how likely the model finds a 7: a 7 read in a
# crop without a bar keeps this share of its probability.
UNCROSSED_SEVEN_ODDS = 0.1
_CONSIDERED = 0.01  # crops whose probability of a 7 is below this are left alone: no bar can matter


def has_bar(crop: np.ndarray) -> bool:
    """Whether a normalised crop (28x28, ink high) has a stroke across its middle rows: a crossed 7's bar.

    A row's longest run of ink in the band is compared with the stroke width (twice the 90th percentile of
    the distance from the ink's edge): a stem, upright or slanted, runs about one stroke width across a
    row, a bar several.
    """
    ink = crop.reshape(SIZE, SIZE) >= INK
    rows = np.flatnonzero(ink.any(axis=1))
    if len(rows) < 5:
        return False
    top, height = int(rows[0]), int(rows[-1] - rows[0] + 1)
    band = ink[top + int(BAR_BAND[0] * height) : top + int(BAR_BAND[1] * height) + 1]
    longest = max((longest_run(row) for row in band), default=0)
    return longest >= BAR_STROKES * max(1.0, stroke_width(ink))


def weigh_crossed_sevens(crops: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Class probabilities (N, 11: ten digits, then "not a digit") for hands that cross their 7s: where a
    crop has no bar, its probability of a 7 is multiplied by UNCROSSED_SEVEN_ODDS and the digits' are scaled
    back to their former sum. The convention tells a 7 from a 1, not a digit from a speck: the probability
    of "not a digit" stays as the model gave it."""
    weighed = probs.copy()
    for index in np.flatnonzero(probs[:, SEVEN] >= _CONSIDERED):
        if has_bar(crops[index]):
            continue
        digits = weighed[index, :NOT_A_DIGIT]
        total = float(digits.sum())
        digits[SEVEN] *= UNCROSSED_SEVEN_ODDS
        digits *= total / float(digits.sum())
    return weighed
