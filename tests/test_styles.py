"""Styled training digits (flagged 1s, looped 2s, crossed 7s, mirrored 9s, joined 0s) and the elastic bending of
batches."""

from __future__ import annotations

import math

import cv2
import numpy as np

from digitscan.conventions import has_bar
from digitscan.mnist import MnistData
from digitscan.normalize import normalize_many
from digitscan.styles import (
    _MARGIN,
    crossed_seven,
    crossing_hands,
    flagged_one,
    joined_zero,
    looped_two,
    mirrored_nine,
    short_stem_four,
    styled_digits,
)
from digitscan.train import TrainSettings, _bend


def _added(image: np.ndarray, styled: np.ndarray) -> np.ndarray:
    """The ink the style drew: where the styled canvas is darker than the padded original."""
    return styled > np.pad(image, _MARGIN).astype(np.float32) + 64


def test_a_flag_leaves_the_top_of_the_stem_down_to_the_left(mnist: MnistData) -> None:
    rng = np.random.default_rng(0)
    ones = mnist.test_images[mnist.test_labels == 1][:200]
    for one in ones:
        styled = flagged_one(one, rng)
        added = _added(one, styled)
        assert added.sum() >= 4  # a visible stroke, not a pixel
        ys, xs = np.nonzero(np.pad(one, _MARGIN) >= 128)
        top_x = xs[ys == ys.min()].mean()
        flag_ys, flag_xs = np.nonzero(added)
        # It starts at the stem's top (less half a thick pen's width) and reaches to its left, within the
        # upper ~60%.
        assert flag_ys.min() >= ys.min() - 4 and flag_xs.min() < top_x - 2
        assert flag_ys.max() <= ys.min() + 0.6 * (ys.max() - ys.min()) + 2
        # Far from the stem's own line: a flag, not the stem drawn twice.
        far = flag_xs.mean() - top_x
        drop = flag_ys.mean() - ys.min()
        assert math.degrees(math.atan2(drop, -far)) < 75


def _holes(image: np.ndarray) -> list[tuple[float, float]]:
    """The centres (x, y) of the paper that a digit's strokes close in (4-connected, so a diagonal gap leaks)."""
    paper = (image < 128).astype(np.uint8)
    count, _, stats, centroids = cv2.connectedComponentsWithStats(paper, connectivity=4)
    height, width = image.shape
    return [
        (float(centroids[i][0]), float(centroids[i][1]))
        for i in range(1, count)
        if stats[i, cv2.CC_STAT_LEFT] > 0
        and stats[i, cv2.CC_STAT_TOP] > 0
        and stats[i, cv2.CC_STAT_LEFT] + stats[i, cv2.CC_STAT_WIDTH] < width
        and stats[i, cv2.CC_STAT_TOP] + stats[i, cv2.CC_STAT_HEIGHT] < height
    ]


def test_a_looped_two_closes_its_top_into_a_loop(mnist: MnistData) -> None:
    rng = np.random.default_rng(3)
    twos = mnist.test_images[mnist.test_labels == 2][:200]
    open_twos = looped = 0
    for two in twos:
        padded = np.pad(two, _MARGIN)
        styled = looped_two(two, rng)
        if _holes(padded):  # a 2 already looped at its foot is left as it is: two loops would make an 8
            assert np.array_equal(styled, padded.astype(np.float32))
            continue
        open_twos += 1
        ys, _ = np.nonzero(padded >= 128)
        loops = _holes(styled.astype(np.uint8))
        # a loop, in the digit's upper part (the bowl), not at its foot
        looped += bool(loops) and all(y <= ys.min() + 0.7 * (ys.max() - ys.min()) for _, y in loops)
    assert open_twos >= 100 and looped >= 0.8 * open_twos


def test_a_bar_crosses_the_sevens_stem_near_half_height(mnist: MnistData) -> None:
    rng = np.random.default_rng(1)
    sevens = mnist.test_images[mnist.test_labels == 7][:200]
    crossed = 0
    for seven in sevens:
        added = _added(seven, crossed_seven(seven, rng))
        if not added.any():
            continue
        ys, _ = np.nonzero(np.pad(seven, _MARGIN) >= 128)
        bar_ys, bar_xs = np.nonzero(added)
        middle = (bar_ys.mean() - ys.min()) / (ys.max() - ys.min())
        assert 0.3 <= middle <= 0.75
        assert bar_xs.max() - bar_xs.min() > 2 * (bar_ys.max() - bar_ys.min())  # a bar: wider than it is tall
        crossed += 1
    assert crossed >= 190


def test_a_mirrored_nine_is_the_nine_seen_in_a_mirror(mnist: MnistData) -> None:
    for nine in mnist.test_images[mnist.test_labels == 9][:100]:
        styled = mirrored_nine(nine, np.random.default_rng(0))
        assert np.array_equal(styled[_MARGIN:-_MARGIN, _MARGIN:-_MARGIN], nine[:, ::-1])
        assert not styled[:_MARGIN].any() and not styled[:, :_MARGIN].any()


def test_a_joined_zero_has_near_flat_strokes_reaching_past_its_loop(mnist: MnistData) -> None:
    rng = np.random.default_rng(2)
    zeros = mnist.test_images[mnist.test_labels == 0][:200]
    sides = {"left": 0, "right": 0}
    flatness = []
    for zero in zeros:
        added = _added(zero, joined_zero(zero, rng))
        ys, xs = np.nonzero(np.pad(zero, _MARGIN) >= 128)
        join_ys, join_xs = np.nonzero(added)
        assert len(join_ys) >= 3
        # Joining strokes lie flat (a ligature, not a stem) and start in the loop's middle half; rising, they may
        # end near its top.
        flatness.append((join_xs.max() - join_xs.min() + 1) / (join_ys.max() - join_ys.min() + 1))
        assert ys.min() <= join_ys.mean() <= ys.max()
        # Each drawing reaches out of the loop on at least one side: the stub of a neighbour's stroke.
        left, right = join_xs.min() < xs.min(), join_xs.max() > xs.max()
        assert left or right
        sides["left"] += left
        sides["right"] += right
    assert min(sides.values()) >= 50  # both neighbours' strokes are drawn, often
    assert np.median(flatness) > 2 and np.percentile(flatness, 5) > 0.8


def test_a_short_stemmed_four_loses_only_the_top_of_its_stem(mnist: MnistData) -> None:
    rng = np.random.default_rng(3)
    drops = []
    for four in mnist.test_images[mnist.test_labels == 4][:200]:
        before = np.pad(four, _MARGIN).astype(np.float32)
        after = short_stem_four(four, rng)
        assert np.all(after <= before)  # erased, never drawn
        ys, xs = np.nonzero(before >= 128)
        top, height, middle = ys.min(), ys.max() - ys.min() + 1, (xs.min() + xs.max()) // 2
        removed_ys, _ = np.nonzero((before >= 128) & (after < 128))
        assert not len(removed_ys) or removed_ys.max() < top + 0.8 * height  # the bar and the stem below it stay
        assert (after[top + round(0.8 * height) :] == before[top + round(0.8 * height) :]).all()
        drops.append(
            (np.nonzero(after[:, middle:] >= 128)[0].min() - np.nonzero(before[:, middle:] >= 128)[0].min()) / height
        )
    # The ink right of the middle (the stem) now starts lower: by a quarter of the height or more in half of them.
    assert np.mean(np.array(drops) >= 0.1) >= 0.9 and np.median(drops) >= 0.25  # 95.5%, 0.35 measured


def test_crossing_hands_cross_every_seven_flag_most_ones_and_leave_the_rest(mnist: MnistData) -> None:
    hands = crossing_hands(mnist, seed=1)
    assert np.array_equal(hands.test_labels, mnist.test_labels) and hands.train_images is mnist.train_images
    padded = np.pad(mnist.test_images, ((0, 0), (_MARGIN, _MARGIN), (_MARGIN, _MARGIN)))
    changed = np.any(hands.test_images != padded, axis=(1, 2))
    sevens, ones = mnist.test_labels == 7, mnist.test_labels == 1
    assert changed[sevens].all() and not changed[~(sevens | ones)].any()
    assert changed[ones].sum() == round(0.6 * ones.sum())
    crops = normalize_many(hands.test_images[sevens][:300])
    assert np.mean([has_bar(crop) for crop in crops]) >= 0.97


def test_styled_digits_take_the_share_of_the_chosen_digits_and_keep_their_labels(mnist: MnistData) -> None:
    images, labels = mnist.test_images[:2000], mnist.test_labels[:2000]
    chosen, inks = styled_digits(images, labels, 0.5, 3, (1, 7, 9))
    expected = sum(round(0.5 * np.sum(labels == digit)) for digit in (1, 7, 9))
    assert len(chosen) == len(inks) == expected
    assert set(labels[chosen].tolist()) == {1, 7, 9}
    nines, _ = styled_digits(images, labels, 0.5, 3, (9,))
    assert len(nines) == round(0.5 * np.sum(labels == 9)) and set(labels[nines].tolist()) == {9}
    again, other = styled_digits(images, labels, 0.5, 3, (1, 7, 9)), styled_digits(images, labels, 0.5, 4, (1, 7, 9))
    assert np.array_equal(chosen, again[0]) and all(np.array_equal(a, b) for a, b in zip(inks, again[1], strict=True))
    assert not np.array_equal(chosen, other[0])


def test_bending_moves_strokes_but_keeps_the_digit(mnist: MnistData) -> None:
    import keras

    keras.utils.set_random_seed(0)
    batch = normalize_many(mnist.test_images[:256])[..., None]
    unchanged = _bend(batch, TrainSettings(elastic_prob=0.0)).numpy()
    assert np.allclose(unchanged, batch, atol=1e-6)
    bent = _bend(batch, TrainSettings(elastic_prob=1.0, max_elastic_px=2.0)).numpy()
    moved = np.abs(bent - batch).sum(axis=(1, 2, 3)) / batch.sum(axis=(1, 2, 3))
    assert np.median(moved) > 0.1  # visibly bent
    ink_ratio = bent.sum(axis=(1, 2, 3)) / batch.sum(axis=(1, 2, 3))
    # Moved, not lost or made: a bend stretches some strokes and squeezes others, but keeps the ink overall.
    assert 0.95 < np.median(ink_ratio) < 1.05 and np.all((ink_ratio > 0.5) & (ink_ratio < 2.0))
