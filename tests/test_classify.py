"""The shipped model and the batched classifier: accuracy on all of MNIST test, batching, card checks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from digitscan.card import INPUT_SPEC, card_path, default_model_path, file_sha256, read_card
from digitscan.classify import DigitClassifier
from digitscan.errors import BadModelError, MissingDependencyError
from digitscan.mnist import MnistData
from digitscan.normalize import normalize_many


@pytest.fixture(scope="module")
def test_crops(mnist: MnistData) -> np.ndarray:
    return normalize_many(mnist.test_images)


def test_shipped_model_reads_the_full_mnist_test_set(
    classifier: DigitClassifier, mnist: MnistData, test_crops: np.ndarray
) -> None:
    calls_before = classifier.calls
    predictions = classifier.classify(test_crops)
    accuracy = float((predictions.digit == mnist.test_labels).mean())
    assert accuracy >= 0.9965
    # Batched: 10,000 crops cost ceil(10000 / batch) model calls, not 10,000.
    assert classifier.calls - calls_before == -(-10000 // classifier.batch_size)
    assert np.all(predictions.confidence >= predictions.second_confidence)
    assert np.all(predictions.digit != predictions.second_digit)


def test_card_matches_the_shipped_model_and_its_metrics() -> None:
    path = default_model_path()
    card = read_card(path)
    assert card.sha256 == file_sha256(path)
    assert card.input_spec == INPUT_SPEC
    assert card.metrics["mnist_test_accuracy"] >= 0.9965
    assert 0.5 < card.review_threshold < 1.0
    assert card.temperature > 0
    assert {"seed", "epochs", "mnist_sha256", "trained_at"} <= set(card.training)


def test_batch_size_does_not_change_results(classifier: DigitClassifier, test_crops: np.ndarray) -> None:
    small = DigitClassifier(batch_size=7)
    a = classifier.classify(test_crops[:50])
    b = small.classify(test_crops[:50])
    assert np.array_equal(a.digit, b.digit)
    assert np.allclose(a.confidence, b.confidence, atol=1e-5)
    assert len(classifier.classify(np.zeros((0, 28, 28), np.float32))) == 0


def test_tampered_or_incomplete_models_are_refused(tmp_path: Path) -> None:
    source = default_model_path()
    model = tmp_path / source.name
    shutil.copy(source, model)
    shutil.copy(card_path(source), card_path(model))
    assert read_card(model).sha256
    with model.open("ab") as stream:
        stream.write(b"\0")
    with pytest.raises(BadModelError, match="does not match its card"):
        DigitClassifier(model)
    card = json.loads(card_path(source).read_text())
    card["input_spec"] = {**card["input_spec"], "polarity": "black ink on white"}
    shutil.copy(source, model)
    card_path(model).write_text(json.dumps(card))
    with pytest.raises(BadModelError, match="expects input"):
        DigitClassifier(model)
    card_path(model).unlink()
    with pytest.raises(BadModelError, match="no card"):
        DigitClassifier(model)
    with pytest.raises(MissingDependencyError):
        DigitClassifier(tmp_path / "absent.keras")


def test_asking_for_a_gpu_that_is_absent_is_a_clear_error() -> None:
    tf = pytest.importorskip("tensorflow")
    if tf.config.list_physical_devices("GPU"):
        pytest.skip("this machine has a GPU")
    with pytest.raises(MissingDependencyError, match="no GPU"):
        DigitClassifier(device="gpu")
