"""The synthetic generator: clean pages unchanged for a seed, scanned pages' truth exact, and the scanned
set read end to end above the targets, with a margin below what was measured."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from digitscan.classify import DigitClassifier
from digitscan.mnist import MnistData
from digitscan.pipeline import ProcessOptions, process
from digitscan.scoring import read_results_csv, score
from digitscan.segment import Box
from digitscan.synth import SyntheticPage, render_cheque, render_form, write_samples
from digitscan.writers import write_results

from .conftest import SAMPLES


def _overlap(a: Box, b: Box) -> bool:
    return min(a.right, b.right) > max(a.x, b.x) and min(a.bottom, b.bottom) > max(a.y, b.y)


@pytest.fixture(scope="module")
def scanned(mnist: MnistData) -> list[SyntheticPage]:
    rng = np.random.default_rng(5)
    return [render_cheque(rng, mnist, "scanned") for _ in range(3)] + [
        render_form(rng, mnist, "scanned") for _ in range(3)
    ]


def test_clean_style_writes_the_committed_samples_byte_for_byte(mnist: MnistData, tmp_path: Path) -> None:
    write_samples(tmp_path, pages=7, seed=0, digits=mnist)
    names = sorted(p.name for p in SAMPLES.iterdir())
    assert sorted(p.name for p in tmp_path.iterdir()) == names
    for name in names:
        if not name.endswith(".pdf"):  # a PDF carries its creation time
            assert (tmp_path / name).read_bytes() == (SAMPLES / name).read_bytes(), name


def test_printed_characters_are_recorded_apart_from_the_handwritten_numbers(scanned: list[SyntheticPage]) -> None:
    for page in scanned:
        printed_digits = [c for c in page.printed if c.char.isdigit()]
        assert len(printed_digits) >= (30 if page.layout == "cheque" else 8)  # account, serial, MICR; labels, id
        handwritten = [d.box for n in page.numbers for d in n.digits]
        assert not any(_overlap(c.box, box) for c in page.printed for box in handwritten)
        assert all(len(n.text) == len(n.digits) for n in page.numbers)


def test_touching_digits_share_ink_and_keep_their_own_boxes(scanned: list[SyntheticPage]) -> None:
    pairs = 0
    for page in scanned:
        ink = (cv2.cvtColor(page.image, cv2.COLOR_RGB2GRAY) < 128).astype(np.uint8)
        for number in page.numbers:
            for position in number.touching:
                left, right = number.digits[position].box, number.digits[position + 1].box
                assert right.x < left.right  # each box is its own digit's ink: they overlap, not merge
                assert right.right > left.right and left.x < right.x
                both = left.union(right)
                crop = ink[both.y : both.bottom, both.x : both.right]
                # a rule under both (a number written on a line) joins nothing
                rule = cv2.morphologyEx(crop, cv2.MORPH_OPEN, np.ones((1, crop.shape[1] - 2), np.uint8))
                _, labels = cv2.connectedComponents(crop & (1 - rule), connectivity=8)
                only_left = labels[left.y - both.y : left.bottom - both.y, : right.x - both.x]
                only_right = labels[right.y - both.y : right.bottom - both.y, left.right - both.x :]
                shared = (set(np.unique(only_left)) & set(np.unique(only_right))) - {0}
                assert shared, f"digits {position} and {position + 1} of {number.text} do not touch"
                pairs += 1
    assert pairs >= 3


@pytest.mark.slow
def test_scanned_pages_read_end_to_end(mnist: MnistData, classifier: DigitClassifier, tmp_path: Path) -> None:
    truth = write_samples(tmp_path / "pages", pages=12, seed=3, digits=mnist, style="scanned")
    run = process([tmp_path / "pages"], ProcessOptions(), classifier=classifier)
    write_results(run, tmp_path / "results.csv")
    result = score(truth, read_results_csv(tmp_path / "results.csv"))
    # Measured on these 12 pages: recall 0.972, precision 0.974, exact 0.844 (65 of 77), 9 of 12 wrong numbers
    # flagged, no printed digit reported. Below the targets (0.99, 0.98, 0.95): touching pairs read
    # as one digit and broken digits read as two (benchmarks/synthetic_pages.py, README).
    assert result.truth_digits > 350
    assert result.box_recall >= 0.95, result.summary()
    assert result.box_precision >= 0.95, result.summary()
    assert result.number_exact >= 0.78, result.summary()
    assert result.wrong_flagged >= 0.5, result.summary()
    assert result.printed_digits_reported <= 2, result.summary()
