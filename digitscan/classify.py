"""Classify normalised digit crops in fixed-size batches with the CNN.

TensorFlow is imported here, lazily and quietly, the first time a classifier is built: ``digitscan --help``
and the CPU-only stages never pay for it. Every call feeds the model a full batch (the last one padded),
so the graph is traced once and each call costs the same.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from digitscan.calibration import softmax
from digitscan.card import CLASSES, NOT_A_DIGIT, ModelCard, default_model_path, read_card
from digitscan.conventions import weigh_crossed_sevens
from digitscan.errors import BadModelError, MissingDependencyError, UsageError

log = logging.getLogger(__name__)

DEVICES = ("auto", "cpu", "gpu")
NONE_CONFIDENCE = 0.9  # a crop is dropped as "not a digit" only when the model is at least this sure


@dataclass(frozen=True)
class Predictions:
    """Best class and second-best digit, with calibrated confidences, for N crops.

    ``digit`` is NOT_A_DIGIT where the model's best answer is "none of the digits"; ``second_digit`` is
    always a digit (the best one other than ``digit``), so a reviewer is offered a digit to choose.
    """

    digit: np.ndarray
    confidence: np.ndarray
    second_digit: np.ndarray
    second_confidence: np.ndarray
    digit_probabilities: np.ndarray  # (N, 10): each digit's calibrated probability, for field rules

    def __len__(self) -> int:
        return len(self.digit)


def import_tensorflow() -> Any:
    """Import TensorFlow with its start-up chatter silenced (C++ logs, oneDNN banner, absl warnings)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    verbose = logging.getLogger("digitscan").isEnabledFor(logging.DEBUG)
    saved = None
    if not verbose:
        # The oneDNN banner is written by C++ straight to fd 2 at import; no variable turns it off.
        try:
            saved = os.dup(2)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 2)
            os.close(devnull)
        except OSError:
            saved = None
    try:
        import tensorflow as tf
    except ImportError as exc:
        raise MissingDependencyError(
            "TensorFlow is not installed; install digitscan with its CPU extra: pip install 'digitscan[cpu]'"
        ) from exc
    finally:
        if saved is not None:
            os.dup2(saved, 2)
            os.close(saved)
    tf.get_logger().setLevel(logging.ERROR)
    return tf


def select_device(tf: Any, device: str) -> str:
    """Apply ``--device`` and return the TensorFlow device name to run on."""
    if device not in DEVICES:
        raise UsageError(f"--device must be one of {', '.join(DEVICES)}, not {device!r}")
    gpus = tf.config.list_physical_devices("GPU")
    if device == "gpu" and not gpus:
        raise MissingDependencyError(
            "--device gpu was asked for but TensorFlow sees no GPU (is the CUDA build installed: "
            "pip install 'digitscan[gpu]'?); use --device cpu or auto"
        )
    if device == "cpu" and gpus:
        tf.config.set_visible_devices([], "GPU")
        gpus = []
    return "/GPU:0" if gpus else "/CPU:0"


def traced_call(model: Any, batch_size: int) -> Any:
    """``model(x, training=False)`` traced once for a fixed (batch_size, *input shape) float32 input."""
    tf = import_tensorflow()
    spec = tf.TensorSpec((batch_size, *model.input_shape[1:]), tf.float32)
    return tf.function(lambda x: model(x, training=False), input_signature=[spec])


def batched_logits(call: Any, crops: np.ndarray, batch_size: int, classes: int = len(CLASSES)) -> np.ndarray:
    """Logits of (N, H, W[, 1]) crops through ``call`` on full batches (the last one zero-padded)."""
    crops = np.asarray(crops, np.float32)
    crops = crops.reshape(len(crops), crops.shape[1], crops.shape[2], 1)
    out = np.zeros((len(crops), classes), np.float32)
    batch = np.zeros((batch_size, *crops.shape[1:]), np.float32)
    for start in range(0, len(crops), batch_size):
        chunk = crops[start : start + batch_size]
        batch[: len(chunk)] = chunk
        batch[len(chunk) :] = 0.0
        out[start : start + len(chunk)] = call(batch).numpy()[: len(chunk)]
    return out


def load_keras_model(path: Path, input_shape: tuple[int, ...], classes: int) -> Any:
    """Load a Keras model file, refusing one that does not map ``input_shape`` to ``classes`` logits."""
    try:
        import keras

        model = keras.models.load_model(path, compile=False)
    except Exception as exc:
        raise BadModelError(f"cannot load model {path}: {exc}") from exc
    if tuple(model.input_shape[1:]) != tuple(input_shape) or model.output_shape[-1] != classes:
        shape = "x".join(map(str, input_shape))
        raise BadModelError(
            f"model {path} maps {model.input_shape} to {model.output_shape}, expected {shape} -> {classes}"
        )
    return model


class DigitClassifier:
    """The digit CNN behind a small interface: normalised crops in, top-2 calibrated predictions out."""

    def __init__(self, model_path: Path | None = None, device: str = "auto", batch_size: int = 256) -> None:
        if batch_size < 1:
            raise UsageError("batch size must be at least 1")
        self.model_path = model_path or default_model_path()
        self.card: ModelCard = read_card(self.model_path)
        self.batch_size = batch_size
        self._tf = import_tensorflow()
        self.device = select_device(self._tf, device)
        model = load_keras_model(self.model_path, (28, 28, 1), len(CLASSES))
        self.keras_model = model
        self._logits = traced_call(model, batch_size)
        self.calls = 0

    def logits(self, crops: np.ndarray) -> np.ndarray:
        """Raw logits for (N, 28, 28) normalised crops, computed in fixed-size batches."""
        with self._tf.device(self.device):
            out = batched_logits(self._logits, crops, self.batch_size)
        self.calls += -(-len(out) // self.batch_size)
        return out

    def probabilities(self, crops: np.ndarray, crossed_sevens: bool = False) -> np.ndarray:
        """Temperature-calibrated class probabilities (N, 11) for (N, 28, 28) normalised crops; with
        ``crossed_sevens``, weighed for hands that cross their 7s (:mod:`digitscan.conventions`)."""
        probs = softmax(self.logits(crops), self.card.temperature)
        return weigh_crossed_sevens(crops, probs) if crossed_sevens else probs

    def classify(self, crops: np.ndarray, crossed_sevens: bool = False) -> Predictions:
        """Best class, second-best digit and calibrated confidences for (N, 28, 28) normalised crops."""
        return predictions_from(self.probabilities(crops, crossed_sevens))


def decide(probs: np.ndarray) -> np.ndarray:
    """Each row's answer: NOT_A_DIGIT where the model is sure of it (NONE_CONFIDENCE), else its best digit.

    A crop the model only half believes is not a digit stays a digit, whose low probability sends it to
    review, rather than being dropped unseen: dropping a real digit costs more than reviewing a speck.
    """
    return np.where(probs[:, NOT_A_DIGIT] >= NONE_CONFIDENCE, NOT_A_DIGIT, probs[:, :NOT_A_DIGIT].argmax(axis=1))


def predictions_from(probs: np.ndarray) -> Predictions:
    """Predictions from calibrated class probabilities (N, 11)."""
    rows = np.arange(len(probs))
    best = decide(probs)
    digits_only = probs[:, :NOT_A_DIGIT].copy()
    is_digit = best != NOT_A_DIGIT
    digits_only[rows[is_digit], best[is_digit]] = -1.0
    second = digits_only.argmax(axis=1)
    return Predictions(
        digit=best,
        confidence=probs[rows, best],
        second_digit=second,
        second_confidence=probs[rows, second],
        digit_probabilities=probs[:, :NOT_A_DIGIT],
    )
