"""Draw the clutter of real pages onto MNIST digits, so the model learns to read a digit through it.

MNIST digits are clean and alone; a crop that segmentation cuts from a real cheque is not. It can hold the
edge of a neighbouring digit that touches it, or the underline, guilloché hatching or ruling that crosses
it. This module makes such crops from MNIST training images (ink high, background 0, before
normalisation, as segmentation's crops are), keeping each digit's label: training adds them so the model
reads the digit and not the clutter. It also makes what segmentation cannot part: two digits written so
close that their inks touch, one blob that is no single digit. Randomness comes from a seed, so a training
run is reproducible.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import cv2
import numpy as np

_FRAGMENT_SHARE = 0.6  # of cluttered digits, the rest get lines drawn through them
_SOLID_INK = 0.6  # share of full ink from which two touching digits' pixels count as shared ink


def _ink_box(image: np.ndarray) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of the ink, bottom and right exclusive."""
    rows, cols = np.flatnonzero(image.max(axis=1)), np.flatnonzero(image.max(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def with_neighbour(digit: np.ndarray, neighbour: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``digit`` with ``neighbour`` written just beside it (touching or a pixel apart), cut at the digit's
    side the way a crop around a digit keeps a sliver of the next one."""
    size = digit.shape[0]
    top, bottom, left, right = _ink_box(digit)
    _, _, n_left, n_right = _ink_box(neighbour)
    margin = size // 2
    at = size + 2  # the digit's column on a canvas with room for a neighbour on either side
    canvas = np.zeros((size + 2 * margin, 3 * size + 4), np.float32)
    canvas[margin : margin + size, at : at + size] = digit
    on_right = rng.random() < 0.6
    extra = int(rng.integers(0, 4))  # the cut falls a little past the digit's own edge
    # Columns of the neighbour's ink inside the digit's box (negative: a gap), so that at most a quarter of
    # the neighbour's width ends up in the crop: a sliver of it, never a whole narrow 1.
    overlap = min(int(rng.integers(-1, 5)), (n_right - n_left) // 4 - extra)
    x = at + right - overlap - n_left if on_right else at + left + overlap - n_right
    y = margin + int(rng.integers(-4, 5))
    target = canvas[y : y + size, x : x + size]
    np.maximum(target, neighbour.astype(np.float32), out=target)
    x0 = at + left - (0 if on_right else extra)
    x1 = at + right + (extra if on_right else 0)
    return canvas[margin + top - 2 : margin + bottom + 2, x0:x1]


def with_lines(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``digit`` crossed by a near-horizontal rule or by a patch of thin diagonal hatching, both kept
    within the digit's box (segmentation's crop ends there)."""
    image = digit.astype(np.float32)
    size = image.shape[0]
    top, bottom, left, right = _ink_box(image)
    level = float(rng.uniform(0.35, 1.0) * image.max())
    lines = np.zeros_like(image)
    if rng.random() < 0.5:
        y = int(rng.integers(top, bottom))
        slope = rng.uniform(-0.15, 0.15)
        cv2.line(lines, (0, y), (size - 1, int(y + slope * (size - 1))), level, 1, cv2.LINE_AA)
    else:
        angle = rng.uniform(0.4, 1.2) * rng.choice([-1, 1])
        gap = int(rng.integers(3, 7))
        run = int(size / np.tan(abs(angle))) * int(np.sign(angle))
        for x in range(-40 + int(rng.integers(0, gap)), size + 40, gap):
            cv2.line(lines, (x, size - 1), (x + run, 0), level * float(rng.uniform(0.5, 1.0)), 1, cv2.LINE_AA)
        ys, xs = np.mgrid[:size, :size]
        cy, cx = rng.uniform(top, bottom), rng.uniform(left, right)
        lines *= (ys - cy) ** 2 + (xs - cx) ** 2 < rng.uniform(36, 200)
    box = np.zeros_like(image, dtype=bool)
    box[top:bottom, left:right] = True
    return np.maximum(image, lines * box)


def cluttered_digits(images: np.ndarray, count: int, seed: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """``count`` cluttered copies of digits drawn from ``images`` (N, 28, 28): their indices and inks."""
    rng = np.random.default_rng(seed)
    chosen = rng.integers(0, len(images), count)
    inks = []
    for index in chosen:
        if rng.random() < _FRAGMENT_SHARE:
            inks.append(with_neighbour(images[index], images[rng.integers(0, len(images))], rng))
        else:
            inks.append(with_lines(images[index], rng))
    return chosen, inks


def touching_pair(first: np.ndarray, second: np.ndarray, rng: np.random.Generator) -> np.ndarray | None:
    """``first`` and ``second`` written side by side and slid together until their solid inks touch, a pixel
    or two deeper, cut to their joint ink: the blob a touching pair is on a page. None when sliding
    ``second`` a third of the way into ``first`` finds no contact, or the contact puts half of either digit
    within the other's columns."""
    size = first.shape[0]
    _, _, left, right = _ink_box(first)
    _, _, n_left, n_right = _ink_box(second)
    margin = 4
    drop = margin + int(rng.integers(-3, 4))  # the second digit's baseline a little off the first's
    canvas = np.zeros((size + 2 * margin, 3 * size), np.float32)
    canvas[margin : margin + size, :size] = first
    solid = canvas >= _SOLID_INK * float(first.max())
    second_solid = second >= _SOLID_INK * float(second.max())
    for x in range(right - n_left, left + (right - left) // 3 - n_left, -1):
        if np.any(solid[drop : drop + size, x : x + size] & second_solid):
            at = max(0, x - int(rng.integers(0, 3)))
            if right - (at + n_left) > min(right - left, n_right - n_left) / 2:  # half a digit in the other's
                return None  # columns: two 1s crossed so are one thick 1, a 1 through a 0 a barred 0
            target = canvas[drop : drop + size, at : at + size]
            np.maximum(target, second.astype(np.float32), out=target)
            top, bottom, pair_left, pair_right = _ink_box(canvas)
            return canvas[top:bottom, pair_left:pair_right]
    return None


def iter_touching_pairs(images: np.ndarray, seed: int) -> Iterator[tuple[int, int, np.ndarray]]:
    """Endless touching pairs of digits drawn from ``images`` (N, 28, 28): the indices of the first and second
    digit, and the pair's ink."""
    rng = np.random.default_rng(seed)
    while True:
        first, second = rng.integers(0, len(images), 2)
        pair = touching_pair(images[first], images[second], rng)
        if pair is not None:
            yield int(first), int(second), pair


def touching_pairs(images: np.ndarray, count: int, seed: int) -> list[np.ndarray]:
    """``count`` touching pairs of digits drawn from ``images`` (N, 28, 28), as inks; training labels them
    NOT_A_DIGIT, so that the classifier does not read a pair that segmentation failed to cut as one sure
    digit (a squat "44" as a 4) and drop a digit from its number without a word."""
    return [pair for _, _, pair in itertools.islice(iter_touching_pairs(images, seed), count)]


_CUT_SHARES = (0.35, 0.65)  # a wrong cut leaves this share of a digit's ink on its left
_MIN_WRONG_CUT_ASPECT = 0.35  # narrower pieces look like a 1 (aspect ~0.2) and would teach it to be no digit


def _cut_digit(image: np.ndarray, keep_left: bool, rng: np.random.Generator) -> np.ndarray:
    """``image`` with its ink on one side of a column erased, the column leaving 35-65% of the ink on its left."""
    share_left = np.cumsum(image.sum(axis=0, dtype=np.float64))
    column = int(np.searchsorted(share_left / share_left[-1], rng.uniform(*_CUT_SHARES))) + 1
    piece = image.astype(np.float32)
    if keep_left:
        piece[:, column:] = 0
    else:
        piece[:, :column] = 0
    return piece


def wrong_cut(first: np.ndarray, second: np.ndarray, zero: bool, rng: np.random.Generator) -> np.ndarray | None:
    """What a touching-digit cut in the wrong column leaves: half of a 0 (``first``, when ``zero``) or a digit
    touching half of its neighbour, on either side. None when the piece is too narrow (a stroke that reads as
    a 1) or the pair finds no contact."""
    if zero:
        piece: np.ndarray | None = _cut_digit(first, bool(rng.integers(2)), rng)
    elif rng.integers(2):
        piece = touching_pair(first, _cut_digit(second, True, rng), rng)
    else:
        piece = touching_pair(_cut_digit(first, False, rng), second, rng)
    if piece is None or not piece.any():
        return None
    top, bottom, left, right = _ink_box(piece)
    piece = piece[top:bottom, left:right]
    return piece if piece.shape[1] >= _MIN_WRONG_CUT_ASPECT * piece.shape[0] else None


def wrong_cuts(images: np.ndarray, labels: np.ndarray, count: int, seed: int) -> list[np.ndarray]:
    """``count`` pieces that a touching-digit cut in the wrong column leaves, from ``images`` (N, 28, 28), as
    inks: a third are halves of 0s, the rest digits with half of a touching neighbour (1s never cut: a 1's
    piece is a 1). Training labels them NOT_A_DIGIT, so that the touching-digit reader, which keeps only
    cuts whose every part reads as a digit, does not cut a cursive "000" into five digits."""
    rng = np.random.default_rng(seed)
    zeros, cuttable = np.flatnonzero(labels == 0), np.flatnonzero(labels != 1)
    pieces: list[np.ndarray] = []
    while len(pieces) < count:
        zero = len(pieces) % 3 == 0
        first, second = rng.choice(zeros if zero else cuttable), rng.choice(cuttable)
        piece = wrong_cut(images[first], images[second], zero, rng)
        if piece is not None:
            pieces.append(piece)
    return pieces
