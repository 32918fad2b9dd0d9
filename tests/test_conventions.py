"""Hands that cross their 7s: the bar detector on generated digits, the reweighing, and a run told so."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from digitscan.classify import DigitClassifier
from digitscan.cli import app
from digitscan.conventions import UNCROSSED_SEVEN_ODDS, has_bar, weigh_crossed_sevens
from digitscan.mnist import MnistData
from digitscan.normalize import normalize_many
from digitscan.pipeline import ProcessOptions, process
from digitscan.styles import crossed_seven, flagged_one

from .conftest import SAMPLES


def _styled(mnist: MnistData, digit: int, style, seed: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    return normalize_many([style(image, rng) for image in mnist.test_images[mnist.test_labels == digit][:400]])


def test_a_bar_is_found_across_crossed_sevens_and_not_across_ones(mnist: MnistData) -> None:
    crossed = _styled(mnist, 7, crossed_seven, seed=5)
    ones = normalize_many(mnist.test_images[mnist.test_labels == 1][:400])
    assert np.mean([has_bar(crop) for crop in crossed]) >= 0.98  # 99.3% measured
    assert np.mean([has_bar(crop) for crop in ones]) <= 0.03  # 1.3% measured
    assert not has_bar(np.zeros((28, 28), np.float32))


def test_only_a_seven_without_a_bar_is_weighed_and_not_a_digit_keeps_its_probability(mnist: MnistData) -> None:
    seven = normalize_many(mnist.test_images[mnist.test_labels == 7][:1])[0]
    crossed = _styled(mnist, 7, crossed_seven, seed=5)[0]
    assert not has_bar(seven) and has_bar(crossed)
    probs = np.zeros((3, 11))
    probs[:, 7], probs[:, 1], probs[:, 10] = 0.6, 0.2, 0.2
    probs[2] = [0.0] * 7 + [0.005, 0.0, 0.795, 0.2]  # a 7 hardly in question: left alone
    weighed = weigh_crossed_sevens(np.stack([seven, crossed, seven]), probs)
    ratio = UNCROSSED_SEVEN_ODDS * 0.6 / 0.2
    assert weighed[0, 7] / weighed[0, 1] == pytest.approx(ratio)
    assert weighed[0, :10].sum() == pytest.approx(0.8) and weighed[0, 10] == pytest.approx(0.2)
    assert np.array_equal(weighed[1:], probs[1:])


def test_flagged_ones_read_as_sevens_are_mostly_read_as_ones_when_sevens_are_crossed(
    classifier: DigitClassifier, mnist: MnistData
) -> None:
    flagged = _styled(mnist, 1, flagged_one, seed=5)
    crossed = _styled(mnist, 7, crossed_seven, seed=5)
    before, after = classifier.classify(flagged).digit, classifier.classify(flagged, crossed_sevens=True).digit
    assert (after == 7).sum() <= 0.7 * (before == 7).sum()  # 113 -> 63 of 400 measured
    assert (after == 1).sum() >= (before == 1).sum() + 25  # 138 -> 175
    sevens = [(classifier.classify(crossed, crossed_sevens=told).digit == 7).sum() for told in (False, True)]
    assert sevens[1] >= sevens[0] - 2 and sevens[0] >= 0.9 * len(crossed)  # 382 of 400 either way


def test_a_page_of_flagged_ones_reads_them_as_ones_when_told_that_sevens_are_crossed(
    classifier: DigitClassifier, mnist: MnistData, tmp_path: Path
) -> None:
    # Six generated flagged 1s whose crops the model reads as 7s, drawn four times larger on a page, one
    # number each: read through segmentation and normalisation as a run reads them.
    rng = np.random.default_rng(5)
    styled = [flagged_one(image, rng) for image in mnist.test_images[mnist.test_labels == 1][:400]]
    crops = normalize_many(styled)
    chosen = np.flatnonzero(
        (classifier.classify(crops).digit == 7) & (classifier.classify(crops, crossed_sevens=True).digit == 1)
    )[:6]
    page = np.full((400, 1400), 255, np.uint8)
    for k, index in enumerate(chosen):
        ink = cv2.resize(styled[index] / styled[index].max(), None, fx=4, fy=4, interpolation=cv2.INTER_LINEAR)
        area = page[100 : 100 + ink.shape[0], 60 + 200 * k : 60 + 200 * k + ink.shape[1]]
        np.minimum(area, (255 * (1 - ink)).astype(np.uint8), out=area)
    scan = tmp_path / "ones.png"
    cv2.imwrite(str(scan), page)
    readings = {}
    for told in (False, True):
        run = process([scan], ProcessOptions(crossed_sevens=told), classifier=classifier)
        numbers = [n for p in run.files[0].pages for n in p.numbers]
        assert all(n.needs_review for n in numbers)  # a flagged 1 is a doubtful digit either way
        readings[told] = [n.text for n in numbers]
    assert len(chosen) == 6 and readings[False].count("7") >= 4 and readings[True].count("1") >= 4  # 5 and 5
    overlay = tmp_path / "ones-overlay.png"
    result = CliRunner().invoke(app, ["inspect", str(scan), "--out", str(overlay), "--crossed-sevens"])
    assert result.exit_code == 0, result.output
    assert cv2.imread(str(overlay)).shape[:2] == page.shape


def test_a_run_told_of_crossed_sevens_says_so_and_is_not_resumed_from_a_run_that_was_not(tmp_path: Path) -> None:
    folder = tmp_path / "scans"
    folder.mkdir()
    (folder / "cheque_001.png").write_bytes((SAMPLES / "cheque_001.png").read_bytes())
    out = tmp_path / "r.json"
    runner = CliRunner()
    args = ["process", str(folder), "--out", str(out), "-q"]
    assert runner.invoke(app, args).exit_code == 0
    result = runner.invoke(app, [*args, "--crossed-sevens"])
    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text())
    assert document["digitscan"]["options"]["crossed_sevens"] is True
    assert document["digitscan"]["files_from_journal"] == 0
    assert runner.invoke(app, [*args, "--crossed-sevens"]).exit_code == 0
    assert json.loads(out.read_text())["digitscan"]["files_from_journal"] == 1
