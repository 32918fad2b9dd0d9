"""Turn one digit crop into the 28x28 MNIST convention.

This is the only place that defines what the model sees. Training runs every MNIST image through
:func:`normalize_digit` and inference runs every segmented crop through it, so the two can never drift
apart (the most common reason MNIST models fail on real scans is a preprocessing mismatch).

The convention (LeCun et al.): white ink on black, the digit scaled to fit a 20x20 box keeping its aspect
ratio, anti-aliased, and placed in a 28x28 field so that its centre of mass is at the centre.
"""

from __future__ import annotations

import cv2
import numpy as np

SIZE = 28
FIT = 20
_INK_FLOOR = 0.1  # share of the crop's peak ink below which a pixel does not count for the bounding box


def ink_box(ink: np.ndarray) -> np.ndarray | None:
    """A 2-D ink image (ink high, any numeric dtype) as float32 scaled to a peak of 1 and cut to its ink's
    box (pixels below _INK_FLOOR of the peak do not count); None when it holds no ink."""
    image = np.asarray(ink, dtype=np.float32)
    if image.ndim != 2:
        raise ValueError(f"a digit crop must be a 2-D ink image, got shape {image.shape}")
    peak = float(image.max()) if image.size else 0.0
    if peak <= 0:
        return None
    image = image / peak
    rows = np.flatnonzero(image.max(axis=1) > _INK_FLOOR)
    cols = np.flatnonzero(image.max(axis=0) > _INK_FLOOR)
    return image[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def normalize_digit(ink: np.ndarray) -> np.ndarray:
    """Normalise an ink image (ink high, background 0; any numeric dtype) to a 28x28 float32 in [0, 1].

    An empty crop gives an all-zero image rather than an error: it will be classified with low confidence.
    """
    out = np.zeros((SIZE, SIZE), np.float32)
    image = ink_box(ink)
    if image is None:
        return out
    height, width = image.shape
    scale = FIT / max(height, width)
    new_w = max(1, round(width * scale))
    new_h = max(1, round(height * scale))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    patch = cv2.resize(image, (new_w, new_h), interpolation=interpolation)
    patch = np.clip(patch, 0.0, 1.0)

    moments = cv2.moments(patch)
    if moments["m00"] > 0:
        com_x, com_y = moments["m10"] / moments["m00"], moments["m01"] / moments["m00"]
    else:
        com_x, com_y = new_w / 2, new_h / 2
    # Put the centre of mass at the field's centre, but never push ink off the 28x28 field.
    shift_x = min(max(SIZE / 2 - com_x, 0.0), SIZE - new_w)
    shift_y = min(max(SIZE / 2 - com_y, 0.0), SIZE - new_h)
    matrix = np.array([[1, 0, shift_x], [0, 1, shift_y]], dtype=np.float32)
    cv2.warpAffine(patch, matrix, (SIZE, SIZE), dst=out, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    top = float(out.max())
    return out / top if top > 0 else out


def normalize_many(inks: list[np.ndarray] | np.ndarray) -> np.ndarray:
    """Normalise a sequence of ink images into one float32 array of shape (N, 28, 28)."""
    result = np.zeros((len(inks), SIZE, SIZE), np.float32)
    for index, ink in enumerate(inks):
        result[index] = normalize_digit(ink)
    return result
