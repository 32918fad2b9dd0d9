"""The digit CNN: its architecture, and the inference copy with batch norm folded into the convolutions.

Imports Keras, so only ``train`` and ``classify`` import this module, and only when they need it.

The network is sized for CPU batch work: the first convolution downsamples (5x5, stride 2) so no layer
runs many channels at full 28x28 resolution, which keeps its cost per digit within a small multiple of the
classic tutorial CNN while its accuracy is far higher. Training uses BatchNorm after every convolution and
the hidden dense layer; for inference each BatchNorm is folded into the preceding layer's weights, which
gives the same outputs with fewer operations.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from digitscan.card import CLASSES

# (kind, argument) per block; "conv" = (filters, kernel, stride), "dense" = units, "pool" = 2x2 max pool.
ARCHITECTURE: list[tuple[str, Any]] = [
    ("conv", (32, 5, 2)),
    ("conv", (48, 3, 1)),
    ("pool", None),
    ("conv", (96, 3, 1)),
    ("pool", None),
    ("flatten", None),
    ("dense", 256),
    ("dropout", 0.35),
]
_BN_EPSILON = 1e-3
_BN_MOMENTUM = 0.9  # moving statistics settle within ~50 steps, so short runs evaluate sensibly too


def build_network(
    folded: bool = False, input_shape: tuple[int, int, int] = (28, 28, 1), classes: int = len(CLASSES)
) -> keras.Model:
    """Build the CNN; ``folded=False`` is the training graph (BatchNorm), ``True`` the inference graph.

    The digit model reads one 28x28 crop into 11 classes; the pair model (:mod:`digitscan.pairs`) the same
    layers on a 28x56 crop of two touching digits into 100."""
    inputs = keras.Input(input_shape, name="digit")
    x = inputs
    for index, (kind, arg) in enumerate(ARCHITECTURE):
        if kind == "conv":
            filters, kernel, stride = arg
            x = keras.layers.Conv2D(
                filters,
                kernel,
                strides=stride,
                padding="same",
                use_bias=folded,
                activation="relu" if folded else None,
                name=f"conv{index}",
            )(x)
        elif kind == "dense":
            x = keras.layers.Dense(arg, use_bias=folded, activation="relu" if folded else None, name=f"dense{index}")(x)
        elif kind == "pool":
            x = keras.layers.MaxPooling2D(name=f"pool{index}")(x)
        elif kind == "flatten":
            x = keras.layers.Flatten(name=f"flatten{index}")(x)
        elif kind == "dropout":
            if not folded:
                x = keras.layers.Dropout(arg, name=f"dropout{index}")(x)
            continue
        if kind in ("conv", "dense") and not folded:
            x = keras.layers.BatchNormalization(momentum=_BN_MOMENTUM, epsilon=_BN_EPSILON, name=f"bn{index}")(x)
            x = keras.layers.ReLU(name=f"relu{index}")(x)
    outputs = keras.layers.Dense(classes, name="logits")(x)
    return keras.Model(inputs, outputs, name="digitscan_cnn_folded" if folded else "digitscan_cnn")


def fold_batch_norm(trained: keras.Model) -> keras.Model:
    """Return the inference network whose weights fold each BatchNorm into its convolution or dense layer."""
    folded = build_network(True, tuple(trained.input_shape[1:]), int(trained.output_shape[-1]))
    for index, (kind, _) in enumerate(ARCHITECTURE):
        if kind not in ("conv", "dense"):
            continue
        name = f"{kind}{index}"
        (kernel,) = trained.get_layer(name).get_weights()
        gamma, beta, mean, variance = trained.get_layer(f"bn{index}").get_weights()
        scale = gamma / np.sqrt(variance + _BN_EPSILON)
        folded.get_layer(name).set_weights([kernel * scale, beta - mean * scale])
    folded.get_layer("logits").set_weights(trained.get_layer("logits").get_weights())
    return folded


def average_logits(members: list[keras.Model]) -> keras.Model:
    """One model whose logits are the mean of ``members``' logits: an ensemble that runs as a single graph."""
    inputs = keras.Input((28, 28, 1), name="digit")
    logits = [
        keras.Model(member.input, member.output, name=f"member{index}")(inputs) for index, member in enumerate(members)
    ]
    return keras.Model(inputs, keras.layers.Average(name="mean_logits")(logits), name="digitscan_ensemble")
