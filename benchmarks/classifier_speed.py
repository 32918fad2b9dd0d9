"""Digits per second of the shipped model against the classic tutorial CNN, measured in the same run.

    .venv/bin/python benchmarks/classifier_speed.py [--seconds 3] [--model M.keras]

Both models run the way digitscan runs them: a traced ``model(x, training=False)`` on fixed-size batches.
The tutorial CNN (Conv32 3x3, MaxPool, Dense128, Dense10) is the baseline; the ratio is what matters,
since absolute speeds depend on the machine and its load. The last column runs the same shipped model
through LiteRT (TensorFlow Lite's interpreter, converted in memory) to see whether that runtime would pay.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

from digitscan.classify import DigitClassifier, import_tensorflow

BATCHES = (1, 64, 512)


def tutorial_cnn() -> Any:
    """The seed tutorial CNN, untrained (speed does not depend on the weights)."""
    import keras

    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(32, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(10),
        ]
    )


def digits_per_second(model: Any, batch: int, seconds: float) -> float:
    """Throughput of a traced call on one fixed batch shape, after warm-up."""
    tf = import_tensorflow()
    call = tf.function(lambda x: model(x, training=False))
    data = tf.constant(np.random.default_rng(0).uniform(0, 1, (batch, 28, 28, 1)).astype(np.float32))
    for _ in range(5):
        call(data).numpy()
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        call(data).numpy()
        done += batch
    return done / (time.perf_counter() - start)


def litert_digits_per_second(model: Any, batch: int, seconds: float) -> float:
    """Throughput of the model converted to LiteRT (tf.lite), one fixed batch shape, after warm-up."""
    tf = import_tensorflow()
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [
            tf.function(lambda x: model(x, training=False)).get_concrete_function(
                tf.TensorSpec((batch, 28, 28, 1), tf.float32)
            )
        ],
        model,
    )
    interpreter = tf.lite.Interpreter(model_content=converter.convert(), num_threads=None)
    interpreter.allocate_tensors()
    (source,), (target,) = interpreter.get_input_details(), interpreter.get_output_details()
    data = np.random.default_rng(0).uniform(0, 1, (batch, 28, 28, 1)).astype(np.float32)

    def run() -> None:
        interpreter.set_tensor(source["index"], data)
        interpreter.invoke()
        interpreter.get_tensor(target["index"])

    for _ in range(5):
        run()
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        run()
        done += batch
    return done / (time.perf_counter() - start)


def main() -> None:
    """Print digits/second per batch size for both models and the cost ratio."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    parser.add_argument("--model", type=Path, help="a model other than the shipped one (an ensemble, a candidate)")
    args = parser.parse_args()
    shipped = DigitClassifier(args.model).keras_model
    baseline = tutorial_cnn()
    print(f"{'batch':>6} {'shipped d/s':>12} {'tutorial d/s':>13} {'cost ratio':>11} {'LiteRT d/s':>11} {'gain':>6}")
    for batch in BATCHES:
        ours = digits_per_second(shipped, batch, args.seconds)
        theirs = digits_per_second(baseline, batch, args.seconds)
        lite = litert_digits_per_second(shipped, batch, args.seconds)
        print(f"{batch:>6} {ours:>12.0f} {theirs:>13.0f} {theirs / ours:>10.2f}x {lite:>11.0f} {lite / ours:>5.2f}x")


if __name__ == "__main__":
    main()
