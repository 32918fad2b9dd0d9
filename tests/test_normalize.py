"""The one crop normalisation: MNIST geometry, polarity and centring, shared by training and inference."""

from __future__ import annotations

import cv2
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from digitscan import normalize, pipeline, train
from digitscan.mnist import MnistData
from digitscan.normalize import normalize_digit, normalize_many


def _ink_box(image: np.ndarray) -> tuple[int, int]:
    rows = np.flatnonzero(image.max(axis=1) > 0.1)
    cols = np.flatnonzero(image.max(axis=0) > 0.1)
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def _centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    m = cv2.moments(image)
    return m["m10"] / m["m00"], m["m01"] / m["m00"]


def test_training_and_inference_share_one_normalisation() -> None:
    assert train.normalize_many is normalize.normalize_many
    assert pipeline.normalize_many is normalize.normalize_many


def test_tall_crop_fits_20_pixels_high_keeping_aspect_and_centred() -> None:
    crop = np.zeros((120, 40), np.uint8)
    cv2.rectangle(crop, (5, 5), (34, 114), 255, thickness=-1)  # a 30x110 ink bar
    out = normalize_digit(crop)
    assert out.shape == (28, 28) and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() == 1.0
    height, width = _ink_box(out)
    assert height in (20, 21)
    assert abs(width - 20 * 30 / 110) <= 1.5
    cx, cy = _centre_of_mass(out)
    assert abs(cx - 14) < 0.6 and abs(cy - 14) < 0.6


def test_empty_and_all_dark_crops_give_a_blank_image() -> None:
    assert not normalize_digit(np.zeros((30, 20), np.uint8)).any()
    assert not normalize_digit(np.zeros((0, 0), np.float32)).any()


def test_size_does_not_matter(mnist: MnistData) -> None:
    """The same digit written 4x larger normalises to nearly the same image."""
    for image in mnist.test_images[:50]:
        small = normalize_digit(image)
        large = normalize_digit(cv2.resize(image, (112, 112), interpolation=cv2.INTER_CUBIC))
        assert np.corrcoef(small.ravel(), large.ravel())[0, 1] > 0.9


def test_mnist_images_are_already_in_the_convention(mnist: MnistData) -> None:
    original = mnist.test_images[:500].astype(np.float32) / 255
    renormalised = normalize_many(mnist.test_images[:500])
    correlation = [np.corrcoef(a.ravel(), b.ravel())[0, 1] for a, b in zip(original, renormalised, strict=True)]
    assert np.median(correlation) > 0.95


@settings(max_examples=60, deadline=None)
@given(
    height=st.integers(3, 200),
    width=st.integers(3, 200),
    blob=st.tuples(st.floats(0.1, 0.9), st.floats(0.1, 0.9), st.floats(0.05, 0.5)),
)
def test_any_blob_lands_inside_the_field_with_ink_centred(height: int, width: int, blob: tuple) -> None:
    crop = np.zeros((height, width), np.uint8)
    fx, fy, radius = blob
    cv2.ellipse(
        crop,
        (int(fx * width), int(fy * height)),
        (max(1, int(radius * width)), max(1, int(radius * height))),
        0,
        0,
        360,
        255,
        -1,
    )
    out = normalize_digit(crop)
    assert out.shape == (28, 28)
    assert out.max() == 1.0
    box_h, box_w = _ink_box(out)
    assert max(box_h, box_w) <= 22
    cx, cy = _centre_of_mass(out)
    assert abs(cx - 14) < 4.5 and abs(cy - 14) < 4.5
