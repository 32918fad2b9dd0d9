"""Cluttered training digits: a neighbour's edge or lines drawn into MNIST digits, labels kept."""

from __future__ import annotations

import cv2
import numpy as np

from digitscan.card import NOT_A_DIGIT
from digitscan.classify import DigitClassifier
from digitscan.clutter import (
    cluttered_digits,
    touching_pair,
    touching_pairs,
    with_lines,
    with_neighbour,
    wrong_cut,
    wrong_cuts,
)
from digitscan.mnist import MnistData
from digitscan.normalize import normalize_many


def _ink_columns(image: np.ndarray) -> tuple[int, int]:
    cols = np.flatnonzero(image.max(axis=0))
    return int(cols[0]), int(cols[-1]) + 1


def test_a_neighbour_adds_only_a_sliver_beside_the_whole_digit(mnist: MnistData) -> None:
    rng = np.random.default_rng(0)
    for index in range(200):
        digit, neighbour = mnist.test_images[index], mnist.test_images[index + 200]
        crop = with_neighbour(digit, neighbour, rng)
        left, right = _ink_columns(digit)
        # The crop is the digit's own columns plus at most 3 more on the neighbour's side.
        assert right - left <= crop.shape[1] <= right - left + 3
        # All of the digit's ink is there; the neighbour adds a sliver, never most of itself.
        ink, neighbour_ink = float(digit.astype(np.float64).sum()), float(neighbour.astype(np.float64).sum())
        assert ink - 1e-6 <= crop.sum() <= ink + 0.6 * neighbour_ink


def test_lines_stay_within_the_digits_box_and_keep_its_ink(mnist: MnistData) -> None:
    rng = np.random.default_rng(1)
    added = 0
    for digit in mnist.test_images[:200]:
        crossed = with_lines(digit, rng)
        assert crossed.shape == digit.shape and np.all(crossed >= digit)
        rows, cols = np.flatnonzero(digit.max(axis=1)), np.flatnonzero(digit.max(axis=0))
        outside = np.ones(digit.shape, bool)
        outside[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1] = False
        assert not crossed[outside].any()
        added += int((crossed > digit).sum() > 0)
    assert added >= 180  # nearly every digit gets a visible line or hatching


def _solid_pieces(image: np.ndarray) -> int:
    solid = (image >= 0.6 * image.max()).astype(np.uint8)
    return cv2.connectedComponents(np.pad(solid, 2), connectivity=8)[0] - 1


def test_a_touching_pair_is_one_blob_holding_both_digits(mnist: MnistData) -> None:
    rng = np.random.default_rng(2)
    made = 0
    for index in range(200):
        first, second = mnist.test_images[index], mnist.test_images[index + 200]
        pair = touching_pair(first, second, rng)
        if pair is None:
            continue
        made += 1
        # Their solid inks touch: the pair has fewer solid pieces than the two digits apart.
        assert _solid_pieces(pair) < _solid_pieces(first) + _solid_pieces(second)
        # Wider than either digit, narrower than both side by side; all of the ink of each is there.
        widths = [_ink_columns(d)[1] - _ink_columns(d)[0] for d in (first, second)]
        assert max(widths) < pair.shape[1] <= sum(widths)
        assert pair.sum() >= max(float(first.astype(np.float64).sum()), float(second.astype(np.float64).sum()))
    assert made >= 130  # most pairs touch before either digit is half within the other's columns
    assert all(
        np.array_equal(a, b)
        for a, b in zip(
            touching_pairs(mnist.test_images[:300], 50, 3), touching_pairs(mnist.test_images[:300], 50, 3), strict=True
        )
    )


def test_a_wrong_cut_leaves_part_of_a_digit_never_a_whole_one_alone(mnist: MnistData) -> None:
    rng = np.random.default_rng(3)
    zeros = np.flatnonzero(mnist.test_labels == 0)[:100]
    others = np.flatnonzero(mnist.test_labels > 1)[:200]
    for zero in zeros:
        piece = wrong_cut(mnist.test_images[zero], mnist.test_images[zero], True, rng)
        if piece is None:
            continue
        # Part of a 0: the cut leaves 35-65% of its ink on one side, give or take the cut column's ink.
        share = piece.sum() / mnist.test_images[zero].astype(np.float64).sum()
        assert 0.2 <= share <= 0.8 and piece.shape[1] >= 0.35 * piece.shape[0]
    made = 0
    for first, second in zip(others[:100], others[100:], strict=True):
        piece = wrong_cut(mnist.test_images[first], mnist.test_images[second], False, rng)
        if piece is None:
            continue
        made += 1
        # One whole digit and part of the other: more ink than either part alone, less than both digits.
        inks = [float(mnist.test_images[i].astype(np.float64).sum()) for i in (first, second)]
        assert min(inks) * 1.2 < piece.sum() < sum(inks)
    assert made >= 30  # a pair touching half a digit finds contact less often than two whole digits
    labels = mnist.test_labels[:600]
    pieces = wrong_cuts(mnist.test_images[:600], labels, 60, 4)
    assert len(pieces) == 60 and all(
        np.array_equal(a, b) for a, b in zip(pieces, wrong_cuts(mnist.test_images[:600], labels, 60, 4), strict=True)
    )


def test_cluttered_digits_are_reproducible_from_the_seed(mnist: MnistData) -> None:
    images = mnist.test_images[:500]
    first, again, other = (
        cluttered_digits(images, 100, 4),
        cluttered_digits(images, 100, 4),
        cluttered_digits(images, 100, 5),
    )
    assert np.array_equal(first[0], again[0]) and all(
        np.array_equal(a, b) for a, b in zip(first[1], again[1], strict=True)
    )
    assert not np.array_equal(first[0], other[0])


def test_shipped_model_reads_digits_through_clutter(classifier: DigitClassifier, mnist: MnistData) -> None:
    chosen, inks = cluttered_digits(mnist.test_images[:2000], 2000, 99)  # test digits: never trained on
    predictions = classifier.classify(normalize_many(inks))
    accuracy = float(np.mean(predictions.digit == mnist.test_labels[:2000][chosen]))
    assert accuracy >= 0.97


def test_shipped_model_does_not_read_a_touching_pair_as_one_sure_digit(
    classifier: DigitClassifier, mnist: MnistData
) -> None:
    # A pair that segmentation left whole, read as one sure digit, is a digit silently missing from its
    # number; read as "not a digit", the touching-digit reader cuts it. The model trained before touching
    # pairs were in its training data read 2.5% of these as no digit and 25% as one sure digit.
    pairs = touching_pairs(mnist.test_images, 2000, 7)  # test digits: never trained on
    predictions = classifier.classify(normalize_many(pairs))
    sure = (predictions.digit != NOT_A_DIGIT) & (predictions.confidence >= classifier.card.review_threshold)
    assert np.mean(predictions.digit == NOT_A_DIGIT) >= 0.85 and np.mean(sure) <= 0.01
