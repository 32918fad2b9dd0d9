"""Training through the same code path as the shipped model, on a small subset (CI never retrains fully)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from digitscan.card import NOT_A_DIGIT, default_model_path, file_sha256
from digitscan.classify import DigitClassifier
from digitscan.cli import app
from digitscan.mnist import MnistData
from digitscan.normalize import normalize_many
from digitscan.train import TrainSettings, _split


def test_smoke_training_writes_a_loadable_calibrated_model(tmp_path: Path, mnist_dir: Path, mnist: MnistData) -> None:
    out = tmp_path / "tiny.keras"
    args = ["train", "--mnist", str(mnist_dir), "--out", str(out), "--epochs", "2", "--limit", "6000", "--seed", "3"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["sha256"] == file_sha256(out)
    assert card["training"]["train_limit"] == 6000 and card["training"]["seed"] == 3
    assert card["training"]["mnist_sha256"] == mnist.sha256
    assert 0 < card["review_threshold"] <= 1 and card["temperature"] > 0
    assert card["classes"][NOT_A_DIGIT] == "none" and 0 <= card["metrics"]["nondigit_test_accepted_share"] <= 1
    classifier = DigitClassifier(out)
    predictions = classifier.classify(normalize_many(mnist.test_images[:1000]))
    accuracy = float(np.mean(predictions.digit == mnist.test_labels[:1000]))
    assert accuracy > 0.8  # 4,800 images, two epochs: far above chance, below the shipped model
    assert abs(accuracy - card["metrics"]["mnist_test_accuracy"]) < 0.05


def test_train_with_a_base_fine_tunes_it_on_the_recipe_and_records_where_it_came_from(
    tmp_path: Path, mnist_dir: Path, mnist: MnistData
) -> None:
    out = tmp_path / "tuned.keras"
    base = default_model_path()
    args = ["train", "--mnist", str(mnist_dir), "--base", str(base), "--out", str(out), "--epochs", "1"]
    result = CliRunner().invoke(app, [*args, "--limit", "3000", "--learning-rate", "1e-4"])
    assert result.exit_code == 0, result.output
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["training"]["fine_tuned_from"] == file_sha256(base)
    assert card["training"]["learning_rate"] == 1e-4 and card["training"]["clutter_share"] == 0.25
    predictions = DigitClassifier(out).classify(normalize_many(mnist.test_images[:1000]))
    # One gentle epoch on 2,400 images keeps what the base model knows.
    assert float(np.mean(predictions.digit == mnist.test_labels[:1000])) >= 0.98


def test_train_refuses_bad_arguments(tmp_path: Path, mnist_dir: Path) -> None:
    result = CliRunner().invoke(app, ["train", "--mnist", str(mnist_dir), "--out", str(tmp_path / "m.h5")])
    assert result.exit_code == 2
    args = ["train", "--mnist", str(mnist_dir), "--out", str(tmp_path / "m.keras"), "--learning-rate", "2"]
    assert CliRunner().invoke(app, args).exit_code == 2
    result = CliRunner().invoke(app, ["train", "--mnist", str(tmp_path / "none"), "--out", str(tmp_path / "m.keras")])
    assert result.exit_code == 2


def test_folding_batch_norm_keeps_the_outputs() -> None:
    import keras

    from digitscan.network import build_network, fold_batch_norm

    keras.utils.set_random_seed(0)
    trained = build_network()
    rng = np.random.default_rng(0)
    for layer in trained.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, variance = layer.get_weights()
            layer.set_weights(
                [
                    rng.uniform(0.5, 1.5, gamma.shape),
                    rng.normal(0, 0.2, beta.shape),
                    rng.normal(0, 0.2, mean.shape),
                    rng.uniform(0.5, 2.0, variance.shape),
                ]
            )
    images = rng.uniform(0, 1, (16, 28, 28, 1)).astype(np.float32)
    folded = fold_batch_norm(trained)
    assert len(folded.layers) < len(trained.layers)
    expected = trained(images, training=False).numpy()
    assert np.allclose(folded(images, training=False).numpy(), expected, atol=1e-4)


def test_training_data_holds_generated_nondigits_in_train_and_validation(mnist: MnistData) -> None:
    settings = TrainSettings(
        train_limit=2000, validation_size=400, nondigit_share=0.1, pair_share=0.05, wrong_cut_share=0.03
    )
    x_train, y_train, x_val, y_val = _split(mnist, settings)
    assert x_train.shape[1:] == (28, 28, 1) and len(x_train) == len(y_train) and len(x_val) == len(y_val)
    # Training: generated non-digits, touching pairs and wrong cuts; validation: generated non-digits only.
    assert np.sum(y_train == NOT_A_DIGIT) == round(0.1 * 1600) + round(0.05 * 1600) + round(0.03 * 1600)
    assert np.sum(y_val == NOT_A_DIGIT) == round(0.1 * 400)
    assert set(np.unique(y_train).tolist()) == set(range(11))


def test_every_seed_holds_out_the_same_validation_images(mnist: MnistData) -> None:
    """Models trained with different seeds must be calibrated together (an ensemble) on images none saw."""
    small = TrainSettings(train_limit=2000, validation_size=400, nondigit_share=0.1, clutter_share=0.0)
    _, _, val_a, labels_a = _split(mnist, small)
    x_train_b, _, val_b, labels_b = _split(mnist, TrainSettings(**{**small.__dict__, "seed": 5}))
    assert np.array_equal(val_a, val_b) and np.array_equal(labels_a, labels_b)
    held_out = {image.tobytes() for image in val_a[labels_a != NOT_A_DIGIT]}
    assert not held_out & {image.tobytes() for image in x_train_b}
    _, _, val_c, _ = _split(mnist, TrainSettings(**{**small.__dict__, "validation_seed": 1}))
    assert not np.array_equal(val_a, val_c)


def test_an_ensemble_averages_its_members_and_is_calibrated_on_the_images_they_held_out(
    tmp_path: Path, mnist_dir: Path, mnist: MnistData
) -> None:
    import keras

    from digitscan.train import train

    members = [
        train(mnist, TrainSettings(epochs=1, train_limit=1500, seed=seed), tmp_path / f"m{seed}.keras").model_path
        for seed in (3, 4)
    ]
    other_split = tmp_path / "other.keras"  # member 3's weights, but a card that says it held out other images
    other_split.write_bytes(members[0].read_bytes())
    other_card = json.loads(members[0].with_suffix(".json").read_text())
    other_card["training"]["validation_seed"] = 1
    other_split.with_suffix(".json").write_text(json.dumps(other_card))
    members.append(other_split)
    out = tmp_path / "ensemble.keras"
    args = ["ensemble", str(members[0]), str(members[1]), "--mnist", str(mnist_dir), "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    card = json.loads(out.with_suffix(".json").read_text())
    assert [m["sha256"] for m in card["training"]["ensemble_of"]] == [file_sha256(m) for m in members[:2]]
    assert card["training"]["validation_seed"] == 0 and card["training"]["train_limit"] == 1500
    images = normalize_many(mnist.test_images[:64])[..., None]
    outputs = [keras.models.load_model(m, compile=False)(images).numpy() for m in [*members[:2], out]]
    assert np.allclose(outputs[2], (outputs[0] + outputs[1]) / 2, atol=1e-4)
    assert DigitClassifier(out).card.temperature == card["temperature"]

    refused = ["ensemble", str(members[0]), str(members[2]), "--mnist", str(mnist_dir), "--out", str(out)]
    result = CliRunner().invoke(app, refused)  # held out other images: calibration would be unfair
    assert result.exit_code == 2 and "same validation images" in result.output
    assert CliRunner().invoke(app, [*refused[:2], *refused[3:]]).exit_code == 2  # one model is no ensemble
