"""Train the digit CNN on MNIST, calibrate it, and write the model with its card.

Every MNIST image goes through :func:`digitscan.normalize.normalize_many` first, the same function that
prepares crops at inference. Augmentation (affine jitter, stroke thickness, blur, noise) runs inside the
TensorFlow input pipeline on whole batches. A validation split held out from the 60,000 training images
chooses nothing during training; after it, that split fits the temperature and the review threshold.
"""

from __future__ import annotations

import logging
import math
import platform
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from digitscan.calibration import fit_temperature, review_threshold, softmax
from digitscan.card import NOT_A_DIGIT, ModelCard, file_sha256, read_card, write_card
from digitscan.classify import batched_logits, import_tensorflow, traced_call
from digitscan.clutter import cluttered_digits, touching_pairs, wrong_cuts
from digitscan.errors import UsageError
from digitscan.evaluation import Evaluation, accepted_as_digit, nondigit_test_crops
from digitscan.mnist import MnistData
from digitscan.nondigit import generate_nondigits
from digitscan.normalize import normalize_many
from digitscan.styles import styled_digits

log = logging.getLogger(__name__)

REVIEW_MAX_RISK = 0.001  # the review threshold keeps the error among accepted digits at or below 0.1%...
REVIEW_COVERAGE = 0.98  # ...while accepting this share of the validation digits, and no more
_EVAL_BATCH = 1024


@dataclass(frozen=True)
class TrainSettings:
    """Everything that decides the trained weights; stored in the model card."""

    epochs: int = 45  # from scratch; 81 s an epoch on 2 quiet CPU cores
    batch_size: int = 128
    learning_rate: float = 3e-3
    weight_decay: float = 1e-4
    validation_size: int = 5000
    seed: int = 0  # weights' start, batch order, augmentation and the generated training extras
    validation_seed: int = 0  # which images are held out: one split for every seed, so the models of an
    # ensemble are calibrated together on images none of them trained on
    train_limit: int | None = None  # use only the first N training images (smoke tests)
    augment: bool = True
    max_rotation_deg: float = 12.0
    max_scale: float = 0.12
    max_shear: float = 0.25
    max_shift_px: float = 2.5
    stroke_change_prob: float = 0.2
    blur_prob: float = 0.15
    max_noise: float = 0.06
    one_bit_prob: float = 0.1  # share of batches' images thresholded to two levels, as 1-bit scans are
    nondigit_share: float = 0.1  # generated non-digit crops added, as a share of the training digits
    clutter_share: float = 0.25  # digits with a neighbour's edge or lines drawn in, added as a share of them
    pair_share: float = 0.05  # touching pairs of digits, as a share of the training digits: class NOT_A_DIGIT
    wrong_cut_share: float = 0.0  # pieces of wrongly cut 0s and pairs (clutter.wrong_cuts): NOT_A_DIGIT
    style_share: float = 0.25  # of each styled digit's images, the share added again in its style (styles.py)
    styled_digits: tuple[int, ...] = (9,)  # mirrored 9s; flagged 1s and barred 7s (1, 7) read more real digits
    # but let more wrong amounts through unflagged and cost MNIST accuracy (README, "The model")
    elastic_prob: float = 0.3  # share of images bent by a smooth random displacement field
    max_elastic_px: float = 1.5  # the largest displacement at the field's control points


@dataclass(frozen=True)
class TrainResult:
    """What training produced."""

    model_path: Path
    card: ModelCard


def augment_batch(images: Any, settings: TrainSettings) -> Any:
    """Random affine (rotation, scale, shear, shift), bending, stroke thickness, blur and noise on a (B,28,28,1)
    batch."""
    import tensorflow as tf

    batch = tf.shape(images)[0]

    def uniform(limit: float) -> Any:
        return tf.random.uniform([batch], -limit, limit)

    angle = uniform(math.radians(settings.max_rotation_deg))
    scale = 1.0 + uniform(settings.max_scale)
    shear = uniform(settings.max_shear)
    shift_x, shift_y = uniform(settings.max_shift_px), uniform(settings.max_shift_px)
    cos, sin = tf.cos(angle), tf.sin(angle)
    # Forward map A = R(angle) @ Shear @ S(scale); the projective op needs the inverse (output -> input).
    a00, a01 = scale * cos, scale * (cos * shear - sin)
    a10, a11 = scale * sin, scale * (sin * shear + cos)
    det = a00 * a11 - a01 * a10
    i00, i01, i10, i11 = a11 / det, -a01 / det, -a10 / det, a00 / det
    centre = 13.5
    out_x, out_y = centre + shift_x, centre + shift_y
    b0 = centre - (i00 * out_x + i01 * out_y)
    b1 = centre - (i10 * out_x + i11 * out_y)
    zeros = tf.zeros([batch])
    transforms = tf.stack([i00, i01, b0, i10, i11, b1, zeros, zeros], axis=1)
    images = tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=transforms,
        output_shape=tf.constant([28, 28]),
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )

    images = _bend(images, settings)

    choice = tf.random.uniform([batch, 1, 1, 1])
    thicker = tf.nn.max_pool2d(images, 2, 1, "SAME")
    thinner = -tf.nn.max_pool2d(-images, 2, 1, "SAME")
    half = settings.stroke_change_prob / 2
    images = tf.where(choice < half, thicker, tf.where(choice < 2 * half, thinner, images))

    level = tf.random.uniform([batch, 1, 1, 1], 0.25, 0.6)
    one_bit = tf.cast(images > level, images.dtype)
    images = tf.where(tf.random.uniform([batch, 1, 1, 1]) < settings.one_bit_prob, one_bit, images)

    gauss = np.array([0.25, 0.5, 0.25], np.float32)
    kernel = tf.constant(np.outer(gauss, gauss)[:, :, None, None])
    blurred = tf.nn.conv2d(images, kernel, 1, "SAME")
    images = tf.where(tf.random.uniform([batch, 1, 1, 1]) < settings.blur_prob, blurred, images)

    sigma = tf.random.uniform([batch, 1, 1, 1], 0.0, settings.max_noise)
    images = images + sigma * tf.random.normal(tf.shape(images))
    return tf.clip_by_value(images, 0.0, 1.0)


def _bend(images: Any, settings: TrainSettings) -> Any:
    """Elastic distortion (Simard et al., 2003) of a share of a (B,28,28,1) batch: each pixel moves by a smooth
    random field, interpolated from a 4x4 grid of displacements, so strokes curve the way hands vary them."""
    import tensorflow as tf

    batch = tf.shape(images)[0]
    grid = tf.random.uniform([batch, 4, 4, 2], -settings.max_elastic_px, settings.max_elastic_px)
    bent = tf.random.uniform([batch, 1, 1, 1]) < settings.elastic_prob
    field = tf.where(bent, tf.image.resize(grid, [28, 28], method="bicubic"), 0.0)
    ys, xs = tf.meshgrid(tf.range(28.0), tf.range(28.0), indexing="ij")
    x = tf.clip_by_value(xs + field[..., 0], -1.0, 28.0) + 1.0  # in a frame padded by one blank pixel
    y = tf.clip_by_value(ys + field[..., 1], -1.0, 28.0) + 1.0
    padded = tf.reshape(tf.pad(images[..., 0], [[0, 0], [1, 1], [1, 1]]), [batch, 30 * 30])
    x0, y0 = tf.floor(x), tf.floor(y)
    fx, fy = x - x0, y - y0

    def at(row: Any, col: Any) -> Any:
        index = tf.cast(tf.clip_by_value(row, 0.0, 29.0) * 30 + tf.clip_by_value(col, 0.0, 29.0), tf.int32)
        return tf.reshape(tf.gather(padded, tf.reshape(index, [batch, -1]), batch_dims=1), [batch, 28, 28])

    top = at(y0, x0) * (1 - fx) + at(y0, x0 + 1) * fx
    bottom = at(y0 + 1, x0) * (1 - fx) + at(y0 + 1, x0 + 1) * fx
    return (top * (1 - fy) + bottom * fy)[..., None]


def _with_nondigits(x: np.ndarray, y: np.ndarray, inks: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Append non-digit inks (class NOT_A_DIGIT), normalised, to normalised crops ``x``."""
    if not inks:
        return x, y
    extra = normalize_many(inks)[..., None]
    return np.concatenate([x, extra]), np.concatenate([y, np.full(len(inks), NOT_A_DIGIT, y.dtype)])


def _generated_nondigits(x: np.ndarray, y: np.ndarray, share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Append ``share * len(x)`` generated non-digit crops (nondigit.py) to normalised crops ``x``."""
    return _with_nondigits(x, y, generate_nondigits(round(share * len(x)), seed))


def _with_variants(
    x: np.ndarray, y: np.ndarray, labels: np.ndarray, variants: tuple[np.ndarray, list[np.ndarray]]
) -> tuple[np.ndarray, np.ndarray]:
    """Append variants drawn on raw MNIST images (their indices and inks) to normalised crops ``x``, each with
    the label of the image it was drawn on."""
    chosen, inks = variants
    if not len(chosen):
        return x, y
    return np.concatenate([x, normalize_many(inks)[..., None]]), np.concatenate([y, labels[chosen]])


def limited(data: MnistData, settings: TrainSettings) -> tuple[np.ndarray, np.ndarray]:
    """MNIST training images and labels, only the first ``train_limit`` of them when it is set."""
    if settings.train_limit is None:
        return data.train_images, data.train_labels
    return data.train_images[: settings.train_limit], data.train_labels[: settings.train_limit]


def held_out(count: int, settings: TrainSettings) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the validation images and of the training images among ``count``, from ``validation_seed``."""
    order = np.random.default_rng(settings.validation_seed).permutation(count)
    n_val = min(settings.validation_size, count // 5)
    return order[:n_val], order[n_val:]


def validation_set(data: MnistData, settings: TrainSettings) -> tuple[np.ndarray, np.ndarray]:
    """The normalised validation crops and labels: held-out MNIST images plus generated non-digits."""
    images, labels = limited(data, settings)
    val_idx, _ = held_out(len(images), settings)
    x_val, y_val = normalize_many(images[val_idx])[..., None], labels[val_idx]
    return _generated_nondigits(x_val, y_val, settings.nondigit_share, settings.validation_seed * 1000 + 2)


def _split(data: MnistData, settings: TrainSettings) -> tuple[np.ndarray, ...]:
    """Normalised training and validation crops and labels: MNIST, generated non-digits, touching pairs,
    cluttered and styled digits."""
    images, labels = limited(data, settings)
    _, train_idx = held_out(len(images), settings)
    x_train, y_train = normalize_many(images[train_idx])[..., None], labels[train_idx]
    x_train, y_train = _generated_nondigits(x_train, y_train, settings.nondigit_share, settings.seed * 1000 + 1)
    train_images, train_labels = images[train_idx], labels[train_idx]
    pair_count = round(settings.pair_share * len(train_images))
    x_train, y_train = _with_nondigits(
        x_train, y_train, touching_pairs(train_images, pair_count, settings.seed * 1000 + 5)
    )
    wrong_cut_count = round(settings.wrong_cut_share * len(train_images))
    x_train, y_train = _with_nondigits(
        x_train, y_train, wrong_cuts(train_images, train_labels, wrong_cut_count, settings.seed * 1000 + 6)
    )
    clutter_count = round(settings.clutter_share * len(train_images))
    x_train, y_train = _with_variants(
        x_train, y_train, train_labels, cluttered_digits(train_images, clutter_count, settings.seed * 1000 + 3)
    )
    x_train, y_train = _with_variants(
        x_train,
        y_train,
        train_labels,
        styled_digits(
            train_images, train_labels, settings.style_share, settings.seed * 1000 + 4, settings.styled_digits
        ),
    )
    return (x_train, y_train, *validation_set(data, settings))


def fit(
    model: Any,
    x_train: np.ndarray,
    y_train: np.ndarray,
    validation: tuple[np.ndarray, np.ndarray],
    settings: TrainSettings,
) -> float:
    """Fit ``model`` on augmented batches with AdamW and a cosine schedule; return the final training loss."""
    tf = import_tensorflow()
    import keras

    dataset = tf.data.Dataset.from_tensor_slices((x_train, y_train.astype(np.int32)))
    dataset = dataset.shuffle(len(x_train), seed=settings.seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(settings.batch_size, drop_remainder=True)
    if settings.augment:
        dataset = dataset.map(lambda x, y: (augment_batch(x, settings), y), num_parallel_calls=tf.data.AUTOTUNE)
    dataset = dataset.prefetch(tf.data.AUTOTUNE)

    steps = max(1, len(x_train) // settings.batch_size) * settings.epochs
    schedule = keras.optimizers.schedules.CosineDecay(
        settings.learning_rate / 10, steps, warmup_target=settings.learning_rate, warmup_steps=max(1, steps // 20)
    )
    model.compile(
        optimizer=keras.optimizers.AdamW(schedule, weight_decay=settings.weight_decay),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    history = model.fit(
        dataset,
        epochs=settings.epochs,
        validation_data=(validation[0], validation[1].astype(np.int32)),
        verbose=0,
        shuffle=False,  # the dataset shuffles itself, reproducibly from the seed
        callbacks=[_epoch_logger()],
    )
    return float(history.history["loss"][-1])


def train(data: MnistData, settings: TrainSettings, out: Path) -> TrainResult:
    """Train, fold, calibrate and save the model at ``out`` with its card beside it."""
    import keras

    from digitscan.network import build_network, fold_batch_norm

    started = time.monotonic()
    keras.utils.set_random_seed(settings.seed)
    x_train, y_train, x_val, y_val = _split(data, settings)
    log.info("training on %d images, %d held out for calibration", len(x_train), len(x_val))
    model = build_network()
    loss = fit(model, x_train, y_train, (x_val, y_val), settings)
    training = {**asdict(settings), "final_train_loss": loss}
    return calibrate_and_save(fold_batch_norm(model), data, (x_val, y_val), training, out, started)


def _held_out_images(card: ModelCard) -> tuple[str, int, int, int | None, float]:
    """What decides the images a model held out: MNIST files, validation seed and size, limit, non-digit share."""
    training = card.training
    try:
        return (
            str(training["mnist_sha256"]),
            int(training.get("validation_seed", training["seed"])),  # before validation_seed, the seed chose them
            int(training["validation_size"]),
            training["train_limit"],
            float(training["nondigit_share"]),
        )
    except KeyError as exc:
        raise UsageError(f"the card of {card.model_file} does not say which images it held out ({exc})") from exc


def ensemble(data: MnistData, members: list[Path], out: Path) -> TrainResult:
    """Average the logits of trained ``members`` in one model, calibrated on the validation split they share.

    Calibration needs images that no member trained on, so every member must have held out the same ones:
    trained on the same MNIST files with the same validation seed, size, limit and non-digit share.
    """
    import keras

    from digitscan.network import average_logits

    started = time.monotonic()
    if len(members) < 2:
        raise UsageError("an ensemble needs at least two models")
    cards = [read_card(member) for member in members]
    held_out = {_held_out_images(card) for card in cards}
    if len(held_out) != 1:
        raise UsageError("the models did not hold out the same validation images (MNIST files, validation seed)")
    mnist_sha256, validation_seed, validation_size, train_limit, nondigit_share = held_out.pop()
    if mnist_sha256 != data.sha256:
        raise UsageError("the models were trained on other MNIST files than --mnist")
    settings = TrainSettings(
        validation_seed=validation_seed,
        validation_size=validation_size,
        train_limit=train_limit,
        nondigit_share=nondigit_share,
    )
    models = [keras.models.load_model(member, compile=False) for member in members]
    training = {
        "ensemble_of": [
            {"file": member.name, "sha256": card.sha256, "seed": card.training.get("seed")}
            for member, card in zip(members, cards, strict=True)
        ],
        "validation_seed": validation_seed,
        "validation_size": validation_size,
        "train_limit": train_limit,
        "nondigit_share": nondigit_share,
    }
    return calibrate_and_save(average_logits(models), data, validation_set(data, settings), training, out, started)


def calibrate_and_save(
    inference: Any,
    data: MnistData,
    validation: tuple[np.ndarray, np.ndarray],
    training: dict[str, Any],
    out: Path,
    started: float,
) -> TrainResult:
    """Fit the temperature and review threshold on ``validation``, measure on MNIST test, save model and card."""
    x_val, y_val = validation
    call = traced_call(inference, _EVAL_BATCH)
    val_logits = batched_logits(call, x_val, _EVAL_BATCH)
    temperature = fit_temperature(val_logits, y_val)
    val_probs = softmax(val_logits, temperature)
    digits = y_val != NOT_A_DIGIT
    val_digits = Evaluation("validation", y_val[digits].astype(np.int64), val_probs[digits], 1.0)
    point = review_threshold(val_digits.digit_confidence, val_digits.correct, REVIEW_MAX_RISK, REVIEW_COVERAGE)

    test_probs = softmax(batched_logits(call, normalize_many(data.test_images), _EVAL_BATCH), temperature)
    test = Evaluation("MNIST test", data.test_labels.astype(np.int64), test_probs, point.threshold)
    accepted_share, error_among_accepted = test.at_threshold()
    nondigit_probs = softmax(batched_logits(call, nondigit_test_crops(), _EVAL_BATCH), temperature)
    metrics = {
        "mnist_test_accuracy": test.accuracy,
        "mnist_test_ece": test.ece,
        "mnist_test_accepted_share": accepted_share,
        "mnist_test_error_among_accepted": error_among_accepted,
        "nondigit_test_accepted_share": float(accepted_as_digit(nondigit_probs, point.threshold).mean()),
        "validation_accuracy": val_digits.accuracy,
        "validation_accepted_share": point.coverage,
    }

    card = save_with_card(inference, out, temperature, point.threshold, metrics, training, data, started)
    return TrainResult(out, card)


def save_with_card(
    inference: Any,
    out: Path,
    temperature: float,
    threshold: float,
    metrics: dict[str, float],
    training: dict[str, Any],
    data: MnistData,
    started: float,
    **card_fields: Any,
) -> ModelCard:
    """Save a trained model at ``out`` and its card beside it, with where and when it was trained (from
    ``started``, monotonic) added to ``training``; ``card_fields``: a card's input spec and classes where they
    are not the digit model's."""
    out.parent.mkdir(parents=True, exist_ok=True)
    inference.save(out)
    provenance = {
        "mnist_sha256": data.sha256,
        "mnist_source": data.source,
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "duration_s": round(time.monotonic() - started, 1),
        "tensorflow": import_tensorflow().__version__,
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
    }
    card = ModelCard(
        model_file=out.name,
        sha256=file_sha256(out),
        temperature=temperature,
        review_threshold=threshold,
        metrics=metrics,
        training={**training, **provenance},
        **card_fields,
    )
    write_card(card, out)
    log.info("saved %s: %s", out, metrics)
    return card


def _epoch_logger() -> Any:
    """A Keras callback that logs one line per epoch (no progress bars in logs)."""
    import keras

    class EpochLogger(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
            logs = logs or {}
            log.info(
                "epoch %d: loss %.4f acc %.4f val_acc %.4f",
                epoch + 1,
                logs.get("loss", float("nan")),
                logs.get("accuracy", float("nan")),
                logs.get("val_accuracy", float("nan")),
            )

    return EpochLogger()
