"""Fine-tune a model: on reviewers' corrections (cut the reviewed boxes), or on the current training recipe.

A reviewer's answers (``digitscan review``) name boxes on pages and what they hold: a digit, or "not a digit".
Here those boxes are cut from their pages the way segmentation cuts digits and normalised by the one
normalisation, then the model is fine-tuned on them mixed with its MNIST training data (so it does not
forget the rest) and calibrated again on the same held-out validation split as a fresh training run.
A share of the corrections can be held out, to tell whether fine-tuning helped on digits it did not see.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from digitscan.card import NOT_A_DIGIT, file_sha256
from digitscan.discover import InputFile, detect_kind
from digitscan.errors import DigitscanError, UsageError
from digitscan.evaluation import box_inks
from digitscan.loading import load_page
from digitscan.mnist import MnistData
from digitscan.normalize import normalize_many
from digitscan.review import Correction, iter_corrections
from digitscan.train import TrainResult, TrainSettings, _split, calibrate_and_save, fit

log = logging.getLogger(__name__)

CORRECTION_SHARE = 0.05  # corrections are repeated until they make up about this share of each epoch


@dataclass(frozen=True)
class CorrectionCrops:
    """Normalised crops of reviewed boxes, their labels (NOT_A_DIGIT for "not a digit") and source files."""

    crops: np.ndarray
    labels: np.ndarray
    files: tuple[str, ...]
    skipped: int  # reviewed boxes whose scan could not be found or read

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, mask: np.ndarray) -> CorrectionCrops:
        files = tuple(f for f, keep in zip(self.files, mask, strict=True) if keep)
        return CorrectionCrops(self.crops[mask], self.labels[mask], files, 0)

    def split_by_file(self, holdout: float, seed: int) -> tuple[CorrectionCrops, CorrectionCrops]:
        """(train, held out): whole files go to one side, so held-out digits come from unseen pages."""
        names = sorted(set(self.files))
        chosen = set(np.random.default_rng(seed).permutation(names)[: round(holdout * len(names))].tolist())
        held = np.array([name in chosen for name in self.files], bool)
        return self.subset(~held), self.subset(held)


def correction_crops(corrections: Iterable[Correction]) -> CorrectionCrops:
    """Cut and normalise every reviewed box, loading each page once."""
    by_page: dict[tuple[Path, str, int, int], list[Correction]] = defaultdict(list)
    skipped = 0
    for correction in corrections:
        if correction.path is None:
            skipped += 1
            continue
        by_page[(correction.path, correction.file, correction.page, correction.pdf_dpi)].append(correction)
    inks, labels, files = [], [], []
    for (path, name, number, dpi), group in by_page.items():
        try:
            page = load_page(InputFile(path, name, detect_kind(path)), number, dpi)
        except DigitscanError as exc:
            log.warning("skipping %d correction(s) on %s page %d: %s", len(group), name, number, exc)
            skipped += len(group)
            continue
        inks += box_inks(page.image, [c.box for c in group])
        labels += [NOT_A_DIGIT if c.label is None else c.label for c in group]
        files += [name] * len(group)
    return CorrectionCrops(normalize_many(inks), np.array(labels, np.int64), tuple(files), skipped)


def load_corrections(results: Sequence[Path]) -> CorrectionCrops:
    """The reviewed boxes of one or more results files (each with its review store beside it)."""
    parts = [correction_crops(iter_corrections(path)) for path in results]
    crops = CorrectionCrops(
        np.concatenate([p.crops for p in parts]) if parts else np.zeros((0, 28, 28), np.float32),
        np.concatenate([p.labels for p in parts]) if parts else np.zeros(0, np.int64),
        tuple(f for p in parts for f in p.files),
        sum(p.skipped for p in parts),
    )
    if not len(crops):
        raise UsageError("the results given with --extra hold no reviewed digits (review them first)")
    return crops


def fine_tune(
    data: MnistData, settings: TrainSettings, base: Path, extra: CorrectionCrops | None, out: Path
) -> TrainResult:
    """Fine-tune the model at ``base`` on the training recipe's data (and ``extra`` corrections mixed in, when
    given), recalibrate on the same validation split as a fresh run, and save it at ``out``."""
    import keras

    started = time.monotonic()
    keras.utils.set_random_seed(settings.seed)
    x_train, y_train, x_val, y_val = _split(data, settings)
    training: dict[str, Any] = {}
    if extra is not None and len(extra):
        repeat = max(1, round(CORRECTION_SHARE * len(x_train) / len(extra)))
        x_train = np.concatenate([x_train, np.repeat(extra.crops[..., None], repeat, axis=0)])
        y_train = np.concatenate([y_train, np.repeat(extra.labels, repeat)])
        log.info("fine-tuning on %d corrections (x%d) and %d training images", len(extra), repeat, len(y_train))
        training = {"corrections": len(extra), "correction_repeat": repeat}
    else:
        log.info("fine-tuning on %d training images", len(y_train))
    model = keras.models.load_model(base, compile=False)
    loss = fit(model, x_train, y_train, (x_val, y_val), settings)
    inference = keras.models.clone_model(model)  # uncompiled: the file holds the weights, not the optimizer's state
    inference.set_weights(model.get_weights())
    training = {**asdict(settings), "final_train_loss": loss, "fine_tuned_from": file_sha256(base), **training}
    return calibrate_and_save(inference, data, (x_val, y_val), training, out, started)


def accuracy_on(model: Path, crops: CorrectionCrops) -> float:
    """Share of the corrections' crops whose best class (a digit or "not a digit") is the reviewer's label."""
    from digitscan.classify import DigitClassifier

    predicted = DigitClassifier(model).classify(crops.crops).digit
    return float(np.mean(predicted == crops.labels)) if len(crops) else float("nan")
