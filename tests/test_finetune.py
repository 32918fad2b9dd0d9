"""Corrections teach the model: reviewed boxes are cut like segmentation's crops, and `train --extra` fine-tunes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from digitscan.card import NOT_A_DIGIT, default_model_path, file_sha256
from digitscan.classify import DigitClassifier
from digitscan.cli import app
from digitscan.finetune import correction_crops, load_corrections
from digitscan.review import CorrectionStore, Decision, DigitKey, iter_corrections, load_results, now_iso, store_path

from .review_helpers import make_results


def _review_everything(results: Path, not_a_digit: int = 0) -> int:
    """Answer every digit of the results with its true value (the truth run's digits); the first
    ``not_a_digit`` answers say "not a digit" instead."""
    document = load_results(results)
    store = CorrectionStore.open(store_path(results))
    count = 0
    try:
        for file_result in document.run.files:
            for page in file_result.pages:
                for number in page.numbers:
                    for digit in number.digits:
                        key = DigitKey(file_result.file, page.page, number.index, digit.position, digit.box)
                        label = None if count < not_a_digit else digit.digit
                        store.save(Decision(key, label, digit.digit, now_iso()))
                        count += 1
    finally:
        store.close()
    return count


def test_reviewed_boxes_are_cut_as_the_model_expects(tmp_path: Path, classifier: DigitClassifier) -> None:
    results = make_results(tmp_path)
    answered = _review_everything(results)
    crops = correction_crops(iter_corrections(results))
    assert len(crops) == answered > 50 and crops.skipped == 0
    assert crops.crops.shape == (answered, 28, 28) and np.allclose(crops.crops.max(axis=(1, 2)), 1.0)
    # The crops are cut from the pages the way segmentation cuts digits: the shipped model reads them.
    assert np.mean(classifier.classify(crops.crops).digit == crops.labels) >= 0.95
    tuning, held_out = crops.split_by_file(0.5, seed=0)
    assert len(tuning) + len(held_out) == len(crops)
    assert not set(tuning.files) & set(held_out.files) and len(set(held_out.files)) == 1


def test_train_extra_fine_tunes_on_corrections_and_reports_the_held_out_gain(tmp_path: Path, mnist_dir: Path) -> None:
    results = make_results(tmp_path)
    _review_everything(results, not_a_digit=1)
    assert (load_corrections([results]).labels == NOT_A_DIGIT).sum() == 1

    out = tmp_path / "tuned.keras"
    args = ["train", "--mnist", str(mnist_dir), "--out", str(out), "--extra", str(results)]
    result = CliRunner().invoke(app, [*args, "--holdout", "0.5", "--epochs", "1", "--limit", "3000"])
    assert result.exit_code == 0, result.output
    assert "held-out corrections:" in result.output and "before" in result.output and "after" in result.output
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["training"]["fine_tuned_from"] == file_sha256(default_model_path())
    assert 0 < card["training"]["corrections"] < 300 and card["training"]["epochs"] == 1
    assert card["metrics"]["mnist_test_accuracy"] > 0.97  # fine-tuning from the shipped model, not from scratch
    DigitClassifier(out)  # the card matches the file


def test_train_extra_without_reviews_is_a_usage_error(tmp_path: Path, mnist_dir: Path) -> None:
    results = make_results(tmp_path)
    args = ["train", "--mnist", str(mnist_dir), "--out", str(tmp_path / "m.keras"), "--extra", str(results)]
    assert CliRunner().invoke(app, args).exit_code == 2
