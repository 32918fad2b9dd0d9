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
from digitscan.card import ModelCard, default_model_path, read_card
from digitscan.errors import BadModelError, MissingDependencyError, UsageError

log = logging.getLogger(__name__)

DEVICES = ("auto", "cpu", "gpu")


@dataclass(frozen=True)
class Predictions:
    """Top-2 digits and calibrated confidences for N crops."""

    digit: np.ndarray
    confidence: np.ndarray
    second_digit: np.ndarray
    second_confidence: np.ndarray

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
    """``model(x, training=False)`` traced once for a fixed (batch_size, 28, 28, 1) float32 input."""
    tf = import_tensorflow()
    spec = tf.TensorSpec((batch_size, 28, 28, 1), tf.float32)
    return tf.function(lambda x: model(x, training=False), input_signature=[spec])


def batched_logits(call: Any, crops: np.ndarray, batch_size: int) -> np.ndarray:
    """Logits of (N, 28, 28[, 1]) crops through ``call`` on full batches (the last one zero-padded)."""
    crops = np.asarray(crops, np.float32).reshape(-1, 28, 28, 1)
    out = np.zeros((len(crops), 10), np.float32)
    batch = np.zeros((batch_size, 28, 28, 1), np.float32)
    for start in range(0, len(crops), batch_size):
        chunk = crops[start : start + batch_size]
        batch[: len(chunk)] = chunk
        batch[len(chunk) :] = 0.0
        out[start : start + len(chunk)] = call(batch).numpy()[: len(chunk)]
    return out


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
        try:
            import keras

            model = keras.models.load_model(self.model_path, compile=False)
        except Exception as exc:
            raise BadModelError(f"cannot load model {self.model_path}: {exc}") from exc
        if tuple(model.input_shape[1:]) != (28, 28, 1) or model.output_shape[-1] != 10:
            raise BadModelError(
                f"model {self.model_path} maps {model.input_shape} to {model.output_shape}, expected 28x28x1 -> 10"
            )
        self.keras_model = model
        self._logits = traced_call(model, batch_size)
        self.calls = 0

    def logits(self, crops: np.ndarray) -> np.ndarray:
        """Raw logits for (N, 28, 28) normalised crops, computed in fixed-size batches."""
        with self._tf.device(self.device):
            out = batched_logits(self._logits, crops, self.batch_size)
        self.calls += -(-len(out) // self.batch_size)
        return out

    def classify(self, crops: np.ndarray) -> Predictions:
        """Top-2 digits and temperature-calibrated confidences for (N, 28, 28) normalised crops."""
        probs = softmax(self.logits(crops), self.card.temperature)
        order = np.argsort(-probs, axis=1)
        rows = np.arange(len(probs))
        return Predictions(
            digit=order[:, 0],
            confidence=probs[rows, order[:, 0]],
            second_digit=order[:, 1],
            second_confidence=probs[rows, order[:, 1]],
        )
