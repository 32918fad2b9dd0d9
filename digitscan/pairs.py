"""Two touching digits read as one pair: a second CNN for the blobs that segmentation has to cut.

Where two digits touch, the touching-digit reader (:mod:`digitscan.touching`) cuts the blob and reads each
part with the digit model. A straight cut leaves a piece of one digit with the other, and the digit model,
trained to read a digit through a neighbour's edge, reads both parts surely all the same (a '57' cut as a 5
and a 1). The pair model reads the whole blob as one of the 100 pairs '00'-'99'. It is trained on MNIST
training digits slid together until their inks touch (:func:`digitscan.clutter.touching_pair`, as the digit
model's "not a digit" pairs are made), each digit first varied by the digit model's own augmentation, and
calibrated on pairs of the digit model's held-out validation images.

The pipeline asks it only about a blob the touching-digit reader cut into exactly two digits: those two are
then the pair that both models find likeliest together (:func:`read_pair`), so neither reads alone.
"""

from __future__ import annotations

import itertools
import logging
import time
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from digitscan.calibration import fit_temperature, softmax
from digitscan.card import ModelCard, default_model_path, read_card
from digitscan.classify import batched_logits, import_tensorflow, load_keras_model, select_device, traced_call
from digitscan.clutter import iter_touching_pairs
from digitscan.errors import UsageError
from digitscan.mnist import MnistData
from digitscan.normalize import ink_box, normalize_many

log = logging.getLogger(__name__)

PAIR_SHAPE = (28, 56)
PAIR_FIT = (20, 48)  # the pair is scaled to fit this box (height, width) keeping its aspect
DEFAULT_PAIR_MODEL_NAME = "digitscan-pairs.keras"
PAIR_CLASSES = [f"{first}{second}" for first in range(10) for second in range(10)]
PAIR_INPUT_SPEC: dict[str, Any] = {
    "shape": [*PAIR_SHAPE, 1],
    "dtype": "float32",
    "range": [0.0, 1.0],
    "polarity": "white ink on black",
    "normalization": "digitscan.pairs: fit 20x48 keeping aspect, centred in 28x56",
}
_EVAL_BATCH = 512


def normalize_pair(ink: np.ndarray) -> np.ndarray:
    """A touching pair's ink (ink high, any numeric dtype) as the pair model reads it: a 28x56 float32 in
    [0, 1], the ink scaled to fit 20x48 keeping its aspect and centred. An empty crop gives zeros."""
    out = np.zeros(PAIR_SHAPE, np.float32)
    image = ink_box(ink)
    if image is None:
        return out
    height, width = image.shape
    scale = min(PAIR_FIT[0] / height, PAIR_FIT[1] / width)
    new_h, new_w = max(1, round(height * scale)), max(1, round(width * scale))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    patch = np.clip(cv2.resize(image, (new_w, new_h), interpolation=interpolation), 0.0, 1.0)
    top, left = (PAIR_SHAPE[0] - new_h) // 2, (PAIR_SHAPE[1] - new_w) // 2
    out[top : top + new_h, left : left + new_w] = patch
    peak = float(out.max())
    return out / peak if peak > 0 else out


def normalize_pairs(inks: list[np.ndarray]) -> np.ndarray:
    """Normalise pair inks into one float32 array of shape (N, 28, 56)."""
    result = np.zeros((len(inks), *PAIR_SHAPE), np.float32)
    for index, ink in enumerate(inks):
        result[index] = normalize_pair(ink)
    return result


def read_pair_card(model_path: Path | None = None) -> tuple[Path, ModelCard]:
    """The pair model's file (the shipped one unless given) and its card, checked against the file and
    against what digitscan feeds a pair model."""
    path = model_path or default_model_path(DEFAULT_PAIR_MODEL_NAME)
    return path, read_card(path, PAIR_INPUT_SPEC, PAIR_CLASSES)


def read_pair(pair: np.ndarray, left: np.ndarray, right: np.ndarray) -> tuple[int, int]:
    """The two digits of a blob cut in two: the pair the pair model (``pair``, 100 probabilities) and the
    digit model's readings of the two parts (``left``, ``right``: each digit's probability) find likeliest
    together. Either model alone errs where a cut leaves a stroke on the wrong side; their product needs
    both to find the pair plausible."""
    joint = pair.reshape(10, 10) * left[:, None] * right[None, :]
    first, second = divmod(int(joint.argmax()), 10)
    return first, second


@dataclass(frozen=True)
class PairSettings:
    """Everything that decides the pair model's weights; stored in its card."""

    pairs: int = 250_000  # touching pairs trained on
    copies: int = 3  # varied copies of each training digit that the pairs are drawn from
    epochs: int = 8  # about 2 minutes an epoch on 2 CPU cores
    batch_size: int = 128
    learning_rate: float = 3e-3
    weight_decay: float = 1e-4
    seed: int = 0
    train_limit: int | None = None  # use only the first N MNIST training images (smoke tests)
    validation_pairs: int = 5000  # pairs of the digit model's held-out images: fit the temperature
    test_pairs: int = 10_000  # pairs of MNIST test digits: measure the model


def touching_pair_set(digits: np.ndarray, labels: np.ndarray, count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` touching pairs drawn from ``digits`` (N, 28, 28): normalised (count, 28, 56, 1) crops and
    their classes (10 x first digit + second)."""
    x = np.zeros((count, *PAIR_SHAPE, 1), np.float32)
    y = np.zeros(count, np.int64)
    for made, (first, second, ink) in enumerate(itertools.islice(iter_touching_pairs(digits, seed), count)):
        x[made, ..., 0] = normalize_pair(ink)
        y[made] = 10 * int(labels[first]) + int(labels[second])
    return x, y


def _varied_digits(digits: np.ndarray, copies: int) -> np.ndarray:
    """``copies`` copies of each normalised digit (N, 28, 28), each varied by the digit model's training
    augmentation (affine, bending, stroke thickness, 1-bit, blur, noise), as (copies x N, 28, 28)."""
    from digitscan.train import TrainSettings, augment_batch

    tf = import_tensorflow()
    settings = TrainSettings()
    varied = []
    for _ in range(copies):
        for start in range(0, len(digits), 4096):
            batch = tf.constant(digits[start : start + 4096, ..., None])
            varied.append(augment_batch(batch, settings).numpy()[..., 0])
    return np.concatenate(varied)


def train_pairs(data: MnistData, settings: PairSettings, out: Path) -> ModelCard:
    """Train, fold, calibrate and save the pair model at ``out`` with its card beside it."""
    import keras

    from digitscan.network import build_network, fold_batch_norm
    from digitscan.train import TrainSettings, fit, held_out, limited, save_with_card

    if out.suffix != ".keras":
        raise UsageError("the pair model's file must end in .keras")
    started = time.monotonic()
    keras.utils.set_random_seed(settings.seed)
    digit_settings = TrainSettings(
        epochs=settings.epochs,
        batch_size=settings.batch_size,
        learning_rate=settings.learning_rate,
        weight_decay=settings.weight_decay,
        seed=settings.seed,
        train_limit=settings.train_limit,
        augment=False,  # the digits were varied before they were paired
    )
    images, labels = limited(data, digit_settings)
    val_idx, train_idx = held_out(len(images), digit_settings)
    digits = normalize_many(images[train_idx])
    varied = _varied_digits(digits, settings.copies)
    x_train, y_train = touching_pair_set(
        varied, np.tile(labels[train_idx], settings.copies), settings.pairs, settings.seed * 1000 + 7
    )
    validation = touching_pair_set(
        normalize_many(images[val_idx]), labels[val_idx], settings.validation_pairs, settings.seed * 1000 + 8
    )
    log.info("training the pair model on %d touching pairs", len(x_train))
    model = build_network(False, (*PAIR_SHAPE, 1), len(PAIR_CLASSES))
    loss = fit(model, x_train, y_train, validation, digit_settings)
    inference = fold_batch_norm(model)

    call = traced_call(inference, _EVAL_BATCH)
    temperature = fit_temperature(batched_logits(call, validation[0], _EVAL_BATCH, len(PAIR_CLASSES)), validation[1])
    x_test, y_test = touching_pair_set(
        normalize_many(data.test_images), data.test_labels, settings.test_pairs, settings.seed * 1000 + 9
    )
    test_probs = softmax(batched_logits(call, x_test, _EVAL_BATCH, len(PAIR_CLASSES)), temperature)
    metrics = {"mnist_test_pairs_accuracy": float((test_probs.argmax(axis=1) == y_test).mean())}
    training = {
        **asdict(settings),
        "final_train_loss": loss,
        "validation_seed": digit_settings.validation_seed,
        "validation_size": digit_settings.validation_size,
    }
    # A cut is segmentation's guess, its digits always reviewed: the pair model has no review threshold of its own
    return save_with_card(
        inference,
        out,
        temperature,
        1.0,
        metrics,
        training,
        data,
        started,
        input_spec=dict(PAIR_INPUT_SPEC),
        classes=list(PAIR_CLASSES),
    )


class PairReader:
    """The pair model behind a small interface: normalised pair crops in, calibrated probabilities out."""

    def __init__(self, model_path: Path | None = None, device: str = "auto", batch_size: int = 256) -> None:
        self.model_path, self.card = read_pair_card(model_path)
        self.batch_size = batch_size
        self._tf = import_tensorflow()
        self.device = select_device(self._tf, device)
        model = load_keras_model(self.model_path, (*PAIR_SHAPE, 1), len(PAIR_CLASSES))
        self._logits = traced_call(model, batch_size)

    def probabilities(self, crops: np.ndarray) -> np.ndarray:
        """Calibrated probabilities (N, 100) of the pairs 00-99 for (N, 28, 56) normalised pair crops."""
        if not len(crops):
            return np.zeros((0, len(PAIR_CLASSES)), np.float32)
        with self._tf.device(self.device):
            logits = batched_logits(self._logits, crops, self.batch_size, len(PAIR_CLASSES))
        return softmax(logits, self.card.temperature)


@lru_cache(maxsize=2)
def shared_pair_reader(model_path: Path, device: str, batch_size: int) -> PairReader:
    """One loaded pair model per file, device and batch size for the whole process: a program that runs
    digitscan many times (a test suite, a service) loads and traces it once."""
    return PairReader(model_path, device, batch_size)
