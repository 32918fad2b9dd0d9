"""Generate crops that are not digits, so the model can learn to answer "none of the digits".

Real pages hand the classifier much that is not a handwritten digit: printed letters and words, punctuation
and currency signs (``, . -  $ ₹``, the ``/-`` that closes an amount), fragments of boxes and rules, specks
and background pattern. MNIST has none of these, so a 10-class model must call each of them some digit.
This module draws such crops, with randomness from a seed, as ink images (ink high, background 0) of the
kind segmentation produces; :func:`digitscan.normalize.normalize_many` then turns them into model input
exactly as it does for real crops.

Shapes that a person could read as a digit are left out on purpose (O, I, l, S, Z, B, g, q, a lone ``/``
or ``|``, and F, f, Y, y, +, A, P, d, h, n, v that some hands' 7, 4, 9, 6 and open 0 resemble): teaching
the model that they are "not a digit" would teach it to reject real digits written that way.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import cv2
import numpy as np

# Letters and signs that no reader would take for a digit (see the module docstring for what is left out).
SAFE_GLYPHS = "EHKMRWXkmpwx$%#*=-.,:;~"
_FONTS = (
    cv2.FONT_HERSHEY_SIMPLEX,
    cv2.FONT_HERSHEY_DUPLEX,
    cv2.FONT_HERSHEY_COMPLEX,
    cv2.FONT_HERSHEY_TRIPLEX,
    cv2.FONT_HERSHEY_PLAIN,
)
_SCRIPT_FONTS = (cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, cv2.FONT_HERSHEY_SCRIPT_COMPLEX)


def _crop_to_ink(canvas: np.ndarray) -> np.ndarray:
    """The canvas cut to its ink's bounding box with a 2-pixel margin (an empty canvas stays as it is)."""
    rows, cols = np.flatnonzero(canvas.max(axis=1)), np.flatnonzero(canvas.max(axis=0))
    if not len(rows):
        return canvas
    return np.pad(canvas[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1], 2)


def _text(rng: np.random.Generator, fonts: tuple[int, ...]) -> np.ndarray:
    """One to three safe glyphs in a Hershey font (printed or script), at a random size and weight."""
    text = "".join(rng.choice(list(SAFE_GLYPHS), size=int(rng.choice([1, 1, 1, 2, 3]))))
    font = int(rng.choice(fonts)) | (cv2.FONT_ITALIC if rng.random() < 0.25 else 0)
    scale = float(rng.uniform(0.8, 2.2))
    thickness = int(rng.integers(1, 5))
    (width, height), baseline = cv2.getTextSize(text, font, scale, thickness)
    canvas = np.zeros((height + baseline + 20, width + 20), np.uint8)
    cv2.putText(canvas, text, (10, height + 10), font, scale, 255, thickness, cv2.LINE_AA)
    return canvas


def _rupee(rng: np.random.Generator) -> np.ndarray:
    """The rupee sign: two bars, a bowl closing to the right, and a diagonal leg."""
    size = int(rng.integers(24, 64))
    thickness = max(1, int(size * rng.uniform(0.05, 0.12)))
    canvas = np.zeros((size + 8, size + 8), np.uint8)
    s = size / 24
    bars = [(4, 4, 20, 4), (4, 10, 20, 10)]
    for x0, y0, x1, y1 in bars:
        cv2.line(canvas, (int(4 + x0 * s), int(4 + y0 * s)), (int(4 + x1 * s), int(4 + y1 * s)), 255, thickness)
    cv2.ellipse(canvas, (int(4 + 9 * s), int(4 + 9 * s)), (int(6 * s), int(5 * s)), 0, -90, 90, 255, thickness)
    cv2.line(canvas, (int(4 + 9 * s), int(4 + 14 * s)), (int(4 + 19 * s), int(4 + 24 * s)), 255, thickness)
    return canvas


def _closing_stroke(rng: np.random.Generator) -> np.ndarray:
    """The ``/-`` or long hooked stroke that closes a cheque amount so nothing can be added."""
    height = int(rng.integers(20, 60))
    width = int(height * rng.uniform(0.8, 3.0))
    thickness = max(1, int(height * rng.uniform(0.05, 0.12)))
    canvas = np.zeros((height + 10, width + 10), np.uint8)
    if rng.random() < 0.5:
        slash_w = int(width * rng.uniform(0.25, 0.45))
        cv2.line(canvas, (5, height + 5), (5 + slash_w, 5), 255, thickness, cv2.LINE_AA)
        y = 5 + int(height * rng.uniform(0.4, 0.7))
        cv2.line(canvas, (5 + slash_w + thickness * 2, y), (5 + width, y), 255, thickness, cv2.LINE_AA)
    else:
        bend = rng.uniform(0.5, 1.5)
        t = np.linspace(0, 1, 12)
        points = np.stack([5 + width * t, 5 + height * (0.6 + 0.3 * np.sin(math.pi * t * bend))], 1).astype(np.int32)
        points[0] = (5, 5 + int(height * rng.uniform(0.0, 0.4)))
        cv2.polylines(canvas, [points], False, 255, thickness, cv2.LINE_AA)
    return canvas


def _frame_fragment(rng: np.random.Generator) -> np.ndarray:
    """A piece of a form's ruling: a corner, a T, a comb, or an empty box, drawn heavy or light."""
    size = int(rng.integers(20, 70))
    thickness = max(1, int(size * rng.uniform(0.04, 0.14)))
    canvas: np.ndarray = np.zeros((size, size), np.uint8)
    end = size - 1
    kind = rng.integers(0, 4)
    if kind == 0:  # corner
        cv2.line(canvas, (0, 0), (end, 0), 255, thickness)
        cv2.line(canvas, (0, 0), (0, end), 255, thickness)
    elif kind == 1:  # T junction
        cv2.line(canvas, (0, 0), (end, 0), 255, thickness)
        cv2.line(canvas, (end // 2, 0), (end // 2, end), 255, thickness)
    elif kind == 2:  # comb: a floor with two or three teeth
        cv2.line(canvas, (0, end), (end, end), 255, thickness)
        for x in np.linspace(0, end, int(rng.integers(2, 4))):
            cv2.line(canvas, (int(x), end // 2), (int(x), end), 255, thickness)
    else:  # an empty box
        cv2.rectangle(canvas, (0, 0), (end, int(end * rng.uniform(0.5, 1.0))), 255, thickness)
    if rng.random() < 0.5:
        angle = float(rng.uniform(-4, 4))
        matrix = cv2.getRotationMatrix2D((size / 2, size / 2), angle, 1.0)
        canvas = cv2.warpAffine(canvas, matrix, (size, size))
    return canvas


def _specks(rng: np.random.Generator) -> np.ndarray:
    """Dust and toner specks, or a patch of wavy background pattern (guilloché) that survived thresholding."""
    size = int(rng.integers(16, 48))
    canvas = np.zeros((size, size), np.uint8)
    if rng.random() < 0.5:
        for _ in range(int(rng.integers(1, 8))):
            centre = (int(rng.integers(0, size)), int(rng.integers(0, size)))
            axes = (int(rng.integers(1, max(2, size // 8))), int(rng.integers(1, max(2, size // 8))))
            cv2.ellipse(canvas, centre, axes, float(rng.uniform(0, 180)), 0, 360, 255, -1)
    else:
        period = rng.uniform(4, 10)
        phase = rng.uniform(0, 2 * math.pi)
        for row in range(0, size, int(rng.integers(3, 7))):
            xs = np.arange(size)
            ys = row + 2 * np.sin(xs / period + phase + row)
            points = np.stack([xs, ys], 1).astype(np.int32)
            cv2.polylines(canvas, [points], False, 255, 1, cv2.LINE_AA)
        canvas[rng.random((size, size)) >= rng.uniform(0.3, 0.8)] = 0  # broken up, as thresholding leaves it
    return canvas


_KINDS: tuple[tuple[float, Callable[[np.random.Generator], np.ndarray]], ...] = (
    (0.32, lambda rng: _text(rng, _FONTS)),
    (0.18, lambda rng: _text(rng, _SCRIPT_FONTS)),
    (0.07, _rupee),
    (0.10, _closing_stroke),
    (0.20, _frame_fragment),
    (0.13, _specks),
)


def generate_nondigits(count: int, seed: int) -> list[np.ndarray]:
    """``count`` non-digit ink images (uint8, ink high on 0), reproducible from ``seed``; class NOT_A_DIGIT."""
    rng = np.random.default_rng(seed)
    weights = np.array([weight for weight, _ in _KINDS])
    kinds = rng.choice(len(_KINDS), size=count, p=weights / weights.sum())
    crops = []
    for kind in kinds:
        ink = _crop_to_ink(_KINDS[kind][1](rng))
        if rng.random() < 0.2:
            ink = cv2.GaussianBlur(ink, (3, 3), 0)
        crops.append(ink)
    return crops
