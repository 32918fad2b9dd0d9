"""`digitscan evaluate`: the shipped model's figures on MNIST test, the plots, and real cheque digits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from digitscan.calibration import review_threshold
from digitscan.classify import DigitClassifier
from digitscan.cli import app
from digitscan.evaluation import evaluate, orand_digit_crops, report, write_plots
from digitscan.mnist import MnistData
from digitscan.normalize import normalize_many

from .conftest import REPO

ORAND = REPO.parent / "shared" / "data" / "real" / "car_orand"


def test_shipped_model_is_accurate_and_calibrated_on_mnist_test(
    classifier: DigitClassifier, mnist: MnistData, tmp_path: Path
) -> None:
    result = evaluate("MNIST test", normalize_many(mnist.test_images), mnist.test_labels, classifier)
    assert result.accuracy >= 0.9965  # the target for the shipped model
    assert result.ece <= 0.01
    accepted, error = result.at_threshold()
    # The card's threshold keeps its promise on unseen data (error among accepted <= 0.1%). The target of
    # >= 98% accepted is NOT met (96.87%): a few confidently misread validation digits, some of them mislabelled,
    # set the threshold. The floor guards against a worse model.
    assert accepted >= 0.965 and error <= 0.001
    matrix = result.confusion()
    assert matrix.sum() == 10000 and np.trace(matrix) == round(result.accuracy * 10000)
    points = result.risk_at_coverages()
    targets = (0.9, 0.95, 0.98, 0.99, 1.0)
    assert all(c - 1e-9 <= p.coverage < c + 0.01 for p, c in zip(points, targets, strict=True))
    assert points[-1].risk == pytest.approx(1 - result.accuracy)
    text = report(result)
    assert "accuracy 0.99" in text and text.count("\n") == 15
    for png in write_plots(result, tmp_path):
        with Image.open(png) as image:
            assert image.format == "PNG" and image.width > 500


def test_evaluate_command_prints_figures_and_writes_plots(mnist_dir: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["evaluate", "--mnist", str(mnist_dir), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "MNIST test: 10000 digits" in result.output and "risk-coverage" in result.output
    assert "generated non-digits (held out)" in result.output
    assert "MNIST test digits with clutter drawn in: 10000 crops" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mnist-test-confusion.png", "mnist-test-reliability.png"]


def test_real_cheque_digits_are_cropped_with_digitscans_own_code(classifier: DigitClassifier) -> None:
    if not ORAND.is_dir():
        pytest.skip("../shared/data/real/car_orand is absent (real scans are evaluation data kept outside the repo)")
    crops, labels = orand_digit_crops(ORAND)
    assert crops.shape == (len(labels), 28, 28) and len(labels) == 4830
    assert np.allclose(crops.max(axis=(1, 2)), 1.0)
    # The shipped model reads 93.3% of the real cheque digits (the previous models 92.5%, and 90.0% without
    # cluttered training digits); the target of 97% is not met.
    assert evaluate("ORAND", crops, labels, classifier).accuracy >= 0.93
    # Told that these Chilean writers cross their 7s, it reads their flagged 1s as 1s more often: 93.7%.
    assert evaluate("ORAND", crops, labels, classifier, crossed_sevens=True).accuracy >= 0.935


def test_the_review_threshold_accepts_the_target_share_and_no_more() -> None:
    # 1,000 digits, confidences 1.000 down to 0.001; the 995th and 999th most confident are wrong.
    confidence = np.linspace(1.0, 0.001, 1000)
    correct = np.ones(1000, bool)
    correct[[994, 998]] = False
    strict = review_threshold(confidence, correct, max_risk=0.002, target_coverage=0.9)
    assert strict.coverage == pytest.approx(0.9) and strict.threshold == pytest.approx(confidence[899])
    assert strict.risk == 0.0
    # Where the target share cannot be had within the risk, the widest coverage that keeps it.
    short = review_threshold(confidence, correct, max_risk=0.0015, target_coverage=0.999)
    assert short.coverage == pytest.approx(0.998) and short.risk == pytest.approx(1 / 998)
    assert review_threshold(confidence, ~correct, max_risk=0.001, target_coverage=0.9).coverage == 0.0
