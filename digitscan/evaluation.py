"""Measure a model: accuracy, per-class precision and recall, calibration, risk-coverage, and plots.

Two test sets: the MNIST test images, and real cheque digits (the ORAND-CAR digit boxes, each cropped from
its field image and normalised by digitscan's own code, exactly as segmentation's crops are).
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from digitscan.calibration import OperatingPoint, expected_calibration_error, risk_coverage, softmax
from digitscan.card import CLASSES, NOT_A_DIGIT
from digitscan.classify import DigitClassifier, decide, predictions_from
from digitscan.clutter import cluttered_digits
from digitscan.errors import UsageError
from digitscan.loading import to_gray
from digitscan.mnist import MnistData
from digitscan.nondigit import generate_nondigits
from digitscan.normalize import normalize_many
from digitscan.segment import Box, binarise

COVERAGES = (0.90, 0.95, 0.98, 0.99, 1.0)
NONDIGIT_TEST_SEED = 7_777_777  # far from the seeds training draws its non-digits from (seed * 1000 + 1, + 2)
NONDIGIT_TEST_SIZE = 3000
CLUTTER_TEST_SEED = 8_888_888


def nondigit_test_crops(count: int = NONDIGIT_TEST_SIZE) -> np.ndarray:
    """Held-out generated non-digit crops (letters, signs, frame pieces, specks), normalised (N, 28, 28)."""
    return normalize_many(generate_nondigits(count, NONDIGIT_TEST_SEED))


def accepted_as_digit(probs: np.ndarray, threshold: float) -> np.ndarray:
    """Which rows the pipeline would report as a sure digit: best class a digit, confidence at the threshold."""
    predictions = predictions_from(probs)
    return (predictions.digit != NOT_A_DIGIT) & (predictions.confidence >= threshold)


@dataclass(frozen=True)
class Evaluation:
    """A model's calibrated probabilities on one labelled set, and the figures derived from them."""

    name: str
    labels: np.ndarray
    probs: np.ndarray
    threshold: float

    @property
    def predicted(self) -> np.ndarray:
        """Each digit's answer, as the pipeline decides it (see :func:`digitscan.classify.decide`)."""
        return decide(self.probs)

    @property
    def confidence(self) -> np.ndarray:
        """The calibrated probability of each answer."""
        return self.probs[np.arange(len(self.probs)), self.predicted]

    @property
    def digit_confidence(self) -> np.ndarray:
        """Confidence in the digit read, 0 where the best answer is "not a digit" (such crops are dropped)."""
        return np.where(self.predicted != NOT_A_DIGIT, self.confidence, 0.0)

    @property
    def correct(self) -> np.ndarray:
        return self.predicted == self.labels

    @property
    def accuracy(self) -> float:
        return float(self.correct.mean())

    @property
    def ece(self) -> float:
        return expected_calibration_error(self.confidence, self.correct)

    def confusion(self) -> np.ndarray:
        """10x11 counts: row = true digit, column = predicted class (the last one: not a digit)."""
        matrix = np.zeros((10, len(CLASSES)), np.int64)
        np.add.at(matrix, (self.labels, self.predicted), 1)
        return matrix

    def at_threshold(self) -> tuple[float, float]:
        """(share of digits accepted, error among accepted) at the review threshold."""
        accepted = accepted_as_digit(self.probs, self.threshold)
        error = float(1 - self.correct[accepted].mean()) if accepted.any() else 0.0
        return float(accepted.mean()), error

    def risk_at_coverages(self) -> list[OperatingPoint]:
        """The error among accepted digits when the most confident 90%, 95%, ... are accepted."""
        curve = risk_coverage(self.digit_confidence, self.correct)
        return [next(p for p in curve if p.coverage >= target - 1e-9) for target in COVERAGES]


def evaluate(
    name: str, crops: np.ndarray, labels: np.ndarray, classifier: DigitClassifier, crossed_sevens: bool = False
) -> Evaluation:
    """Classify normalised crops and keep the calibrated probabilities (``crossed_sevens``: for hands that
    cross their 7s)."""
    probs = classifier.probabilities(crops, crossed_sevens)
    return Evaluation(name, np.asarray(labels, np.int64), probs, classifier.card.review_threshold)


def orand_digit_crops(folder: Path, limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The ORAND-CAR labelled digit boxes, cropped from their field images and normalised (N, 28, 28)."""
    boxes_csv = folder / "digit_boxes.csv"
    if not boxes_csv.is_file():
        raise UsageError(f"{folder} has no digit_boxes.csv (expected the ORAND-CAR folder)")
    boxes: dict[str, list[dict[str, str]]] = defaultdict(list)
    with boxes_csv.open(newline="", encoding="utf-8") as stream:
        for row in csv.DictReader(stream):
            boxes[row["image"]].append(row)
    inks, labels = [], []
    for image_name in sorted(boxes)[:limit]:
        with Image.open(folder / image_name) as image:
            gray = to_gray(image)
        rows = boxes[image_name]
        inks += box_inks(gray, [Box(*(int(row[k]) for k in ("x", "y", "w", "h"))) for row in rows])
        labels += [int(row["digit"]) for row in rows]
    return normalize_many(inks), np.array(labels)


def box_inks(gray: np.ndarray, boxes: list[Box]) -> list[np.ndarray]:
    """The ink of each box on a grayscale page, masked to its own components as segmentation crops a digit.

    Segmentation hands the model a digit's own strokes, not everything in its bounding box; a box drawn by a
    person also holds the ends of neighbouring digits and background specks, which are left out the same way:
    a component counts when at least half of it is inside the box, or when it holds a large share of the
    box's ink (a digit that touches its neighbour is one component with it), and it is not a speck.
    """
    page = binarise(gray)
    _, components, stats, _ = cv2.connectedComponentsWithStats(page.binary, connectivity=8)
    areas = stats[:, cv2.CC_STAT_AREA]
    inks = []
    for box in boxes:
        region = components[box.y : box.bottom, box.x : box.right]
        ids, inside = np.unique(region[region > 0], return_counts=True)
        if not len(ids):
            inks.append(np.zeros(region.shape, page.ink.dtype))
            continue
        belongs = (inside * 2 >= areas[ids]) | (inside * 4 >= inside.sum())
        keep = ids[belongs & (inside >= max(4, 0.03 * inside.max()))]
        inks.append(page.ink[box.y : box.bottom, box.x : box.right] * np.isin(region, keep))
    return inks


def nondigit_report(classifier: DigitClassifier) -> str:
    """How the model treats held-out generated non-digits: the share it would report as a sure digit."""
    probs = softmax(classifier.logits(nondigit_test_crops()), classifier.card.temperature)
    accepted = accepted_as_digit(probs, classifier.card.review_threshold).mean()
    rejected = np.mean(decide(probs) == NOT_A_DIGIT)
    return (
        f"generated non-digits (held out): {len(probs)} crops\n"
        f"  accepted as a digit at the review threshold {accepted:.4f}   read as not a digit {rejected:.4f}"
    )


def cluttered_report(classifier: DigitClassifier, data: MnistData) -> str:
    """How the model reads MNIST test digits (never trained on) with a touching neighbour's edge, a rule or
    hatching drawn in, as crops cut from real pages hold them."""
    chosen, inks = cluttered_digits(data.test_images, len(data.test_images), CLUTTER_TEST_SEED)
    predicted = classifier.classify(normalize_many(inks)).digit
    accuracy = float(np.mean(predicted == data.test_labels[chosen]))
    return f"MNIST test digits with clutter drawn in: {len(inks)} crops\n  accuracy {accuracy:.4f}"


def report(evaluation: Evaluation) -> str:
    """The figures as plain text."""
    accepted, error = evaluation.at_threshold()
    matrix = evaluation.confusion()
    lines = [
        f"{evaluation.name}: {len(evaluation.labels)} digits",
        f"  accuracy {evaluation.accuracy:.4f}   ECE {evaluation.ece:.4f}",
        f"  review threshold {evaluation.threshold:.4f}: {accepted:.4f} accepted, error among accepted {error:.4%}",
        f"  read as not a digit: {np.mean(evaluation.predicted == NOT_A_DIGIT):.4f}",
        "  risk-coverage: " + ", ".join(f"{p.coverage:.0%} -> {p.risk:.3%}" for p in evaluation.risk_at_coverages()),
        "  digit  precision  recall",
    ]
    for digit in range(10):
        predicted, actual = matrix[:, digit].sum(), matrix[digit].sum()
        precision = matrix[digit, digit] / predicted if predicted else 0.0
        recall = matrix[digit, digit] / actual if actual else 0.0
        lines.append(f"  {digit:>5}  {precision:9.4f}  {recall:6.4f}")
    return "\n".join(lines)


def write_plots(evaluation: Evaluation, folder: Path) -> list[Path]:
    """A confusion-matrix PNG and a reliability-diagram PNG (with the risk-coverage curve) in ``folder``."""
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    slug = evaluation.name.lower().replace(" ", "-")
    matrix = evaluation.confusion()
    figure, axes = plt.subplots(figsize=(6.5, 5.5))
    shown = axes.imshow(np.log1p(matrix), cmap="Blues")
    for (row, col), count in np.ndenumerate(matrix):
        if count:
            colour = "white" if matrix[row, col] > matrix.max() / 3 else "black"
            axes.text(col, row, str(count), ha="center", va="center", fontsize=7, color=colour)
    axes.set(xticks=range(len(CLASSES)), yticks=range(10), xlabel="predicted class", ylabel="true digit")
    axes.set_xticklabels(CLASSES)
    axes.set_title(f"{evaluation.name}: accuracy {evaluation.accuracy:.2%}")
    figure.colorbar(shown, ax=axes, label="log(1 + count)")
    confusion_png = folder / f"{slug}-confusion.png"
    figure.savefig(confusion_png, dpi=120, bbox_inches="tight")
    plt.close(figure)

    figure, (reliability, curve) = plt.subplots(1, 2, figsize=(11, 4.5))
    edges = np.linspace(0, 1, 16)
    index = np.clip(np.digitize(evaluation.confidence, edges[1:-1], right=True), 0, 14)
    centres, accuracy, counts = [], [], []
    for b in range(15):
        members = index == b
        if members.any():
            centres.append(evaluation.confidence[members].mean())
            accuracy.append(evaluation.correct[members].mean())
            counts.append(int(members.sum()))
    reliability.plot([0, 1], [0, 1], "--", color="grey", label="perfect calibration")
    reliability.plot(centres, accuracy, "o-", label="model")
    for x, y, n in zip(centres, accuracy, counts, strict=True):
        reliability.annotate(str(n), (x, y), fontsize=7, textcoords="offset points", xytext=(3, -10))
    reliability.set(xlabel="confidence", ylabel="accuracy", xlim=(0, 1), ylim=(0, 1.02))
    reliability.set_title(f"reliability (ECE {evaluation.ece:.2%}; labels: digits per bin)")
    reliability.legend(loc="upper left")
    points = risk_coverage(evaluation.digit_confidence, evaluation.correct)
    curve.plot([p.coverage for p in points], [p.risk for p in points])
    accepted, error = evaluation.at_threshold()
    curve.plot([accepted], [error], "o", label=f"review threshold {evaluation.threshold:.3f}")
    curve.set(xlabel="coverage (share accepted)", ylabel="error among accepted", ylim=(0, None))
    curve.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0, decimals=2))
    curve.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    curve.set_title("risk-coverage")
    curve.legend(loc="upper left")
    reliability_png = folder / f"{slug}-reliability.png"
    figure.savefig(reliability_png, dpi=120, bbox_inches="tight")
    plt.close(figure)
    return [confusion_png, reliability_png]
