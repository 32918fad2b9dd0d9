"""Does test-time augmentation pay? The model's logits averaged over altered copies of each crop, against
the plain model, on MNIST test and on the real ORAND-CAR digit boxes.

    .venv/bin/python benchmarks/test_time_augmentation.py [--model M.keras] [--real ../shared/data/real]

Each set of copies is calibrated as a shipped model is: the temperature and the review threshold are
fitted on the same held-out validation split (train.validation_set), by the same rule, then measured on
MNIST test and ORAND-CAR. The copies are made from the normalised 28x28 crop, so each costs one more pass
of the model: the cost column is that multiple of the plain model's cost per digit. ORAND-CAR's "wrong
accepted" counts real digits read wrong with a confidence at or above the threshold, the ones that pass
unreviewed: a threshold fitted on MNIST accepts more real digits and lets more wrong ones through too, so
the table also gives them at the plain model's threshold.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from digitscan.calibration import fit_temperature, review_threshold, softmax
from digitscan.card import NOT_A_DIGIT
from digitscan.classify import DigitClassifier
from digitscan.evaluation import Evaluation, accepted_as_digit, orand_digit_crops
from digitscan.mnist import load_mnist
from digitscan.normalize import SIZE, normalize_many
from digitscan.train import REVIEW_COVERAGE, REVIEW_MAX_RISK, TrainSettings, validation_set

Alteration = Callable[[np.ndarray], np.ndarray]
_CROSS = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))


def _each(function: Callable[[np.ndarray], np.ndarray]) -> Alteration:
    return lambda crops: np.stack([function(crop) for crop in crops])


def _affine(matrix: np.ndarray) -> Alteration:
    return _each(lambda crop: cv2.warpAffine(crop, matrix, (SIZE, SIZE), flags=cv2.INTER_LINEAR))


def _rotated(degrees: float, scale: float = 1.0) -> Alteration:
    return _affine(cv2.getRotationMatrix2D((SIZE / 2, SIZE / 2), degrees, scale))


def _sheared(shear: float) -> Alteration:
    return _affine(np.array([[1, shear, -shear * SIZE / 2], [0, 1, 0]], np.float32))


ALTERATIONS: dict[str, Alteration] = {
    "right": lambda crops: np.roll(crops, 1, axis=2),
    "left": lambda crops: np.roll(crops, -1, axis=2),
    "down": lambda crops: np.roll(crops, 1, axis=1),
    "up": lambda crops: np.roll(crops, -1, axis=1),
    "rotate +8": _rotated(8.0),
    "rotate -8": _rotated(-8.0),
    "scale 0.9": _rotated(0.0, 0.9),
    "scale 1.1": _rotated(0.0, 1.1),
    "shear +0.2": _sheared(0.2),
    "shear -0.2": _sheared(-0.2),
    "thicker": _each(lambda crop: cv2.dilate(crop, _CROSS)),
    "thinner": _each(lambda crop: cv2.erode(crop, _CROSS)),
}
COPY_SETS: dict[str, tuple[str, ...]] = {
    "plain": (),
    "shifts": ("right", "left", "down", "up"),
    "rotations": ("rotate +8", "rotate -8"),
    "scales": ("scale 0.9", "scale 1.1"),
    "shears": ("shear +0.2", "shear -0.2"),
    "stroke width": ("thicker", "thinner"),
    "all": tuple(ALTERATIONS),
}


def mean_logits(classifier: DigitClassifier, crops: np.ndarray, copies: tuple[str, ...]) -> np.ndarray:
    """The model's logits averaged over the crop and its altered copies."""
    crops = np.asarray(crops, np.float32).reshape(-1, SIZE, SIZE)
    passes = [classifier.logits(crops)]
    passes += [classifier.logits(np.clip(ALTERATIONS[name](crops), 0.0, 1.0)) for name in copies]
    return np.mean(passes, axis=0)


def wrong_accepted(evaluation: Evaluation, threshold: float) -> tuple[float, int]:
    """(share of the set accepted as a sure digit, how many of those are wrong) at ``threshold``."""
    accepted = accepted_as_digit(evaluation.probs, threshold)
    return float(accepted.mean()), int((~evaluation.correct[accepted]).sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None, help="model to measure [default: the shipped one]")
    parser.add_argument("--mnist", type=Path, default=Path("../shared/data/mnist"))
    parser.add_argument("--real", type=Path, default=Path("../shared/data/real"))
    args = parser.parse_args()

    classifier = DigitClassifier(args.model)
    data = load_mnist(args.mnist)
    validation_crops, validation_labels = validation_set(data, TrainSettings())
    test_crops = normalize_many(data.test_images)
    orand_crops, orand_labels = orand_digit_crops(args.real / "car_orand")
    plain_threshold = classifier.card.review_threshold
    digits = validation_labels != NOT_A_DIGIT

    print(
        f"{'copies':<13} {'cost':>4} | {'MNIST test':>10} {'ECE':>6} {'threshold':>9} {'accepted':>8} "
        f"{'error':>6} | {'ORAND boxes':>11} {'accepted':>8} {'wrong accepted':>14} | at {plain_threshold:.3f}"
    )
    for name, copies in COPY_SETS.items():
        validation_logits = mean_logits(classifier, validation_crops, copies)
        temperature = fit_temperature(validation_logits, validation_labels)
        validation = Evaluation(
            "validation", validation_labels[digits], softmax(validation_logits, temperature)[digits], 1.0
        )
        threshold = review_threshold(
            validation.digit_confidence, validation.correct, REVIEW_MAX_RISK, REVIEW_COVERAGE
        ).threshold
        test = Evaluation(
            "MNIST test", data.test_labels, softmax(mean_logits(classifier, test_crops, copies), temperature), threshold
        )
        orand = Evaluation(
            "ORAND-CAR", orand_labels, softmax(mean_logits(classifier, orand_crops, copies), temperature), threshold
        )
        accepted, error = test.at_threshold()
        orand_accepted, orand_wrong = wrong_accepted(orand, threshold)
        plain_accepted, plain_wrong = wrong_accepted(orand, plain_threshold)
        print(
            f"{name:<13} {1 + len(copies):>3}x | {test.accuracy:>10.2%} {test.ece:>6.2%} {threshold:>9.3f} "
            f"{accepted:>8.2%} {error:>6.2%} | {orand.accuracy:>11.2%} {orand_accepted:>8.1%} {orand_wrong:>14} "
            f"| {plain_accepted:.1%}, {plain_wrong} wrong"
        )


if __name__ == "__main__":
    main()
