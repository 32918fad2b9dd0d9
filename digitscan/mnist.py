"""Read the MNIST IDX files from a local folder (keras' downloader only as a fallback)."""

from __future__ import annotations

import gzip
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from digitscan.errors import MissingDependencyError, UsageError

log = logging.getLogger(__name__)

IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
_IMAGE_MAGIC = 2051
_LABEL_MAGIC = 2049


@dataclass(frozen=True)
class MnistData:
    """The four MNIST arrays (uint8 images N x 28 x 28, uint8 labels N) and where they came from."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    sha256: str
    source: str


def _find(folder: Path, stem: str) -> Path:
    for name in (stem + ".gz", stem, stem.replace("-idx", ".idx") + ".gz", stem.replace("-idx", ".idx")):
        if (folder / name).is_file():
            return folder / name
    raise UsageError(f"{folder} has no {stem}.gz (expected the four MNIST IDX files there)")


def read_idx(path: Path) -> np.ndarray:
    """Read one IDX file (gzipped or not) into a uint8 array, checking its magic number and size."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as stream:
        data = stream.read()
    magic = int.from_bytes(data[:4], "big")
    if magic == _IMAGE_MAGIC:
        count, rows, cols = (int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(3))
        shape: tuple[int, ...] = (count, rows, cols)
        offset = 16
    elif magic == _LABEL_MAGIC:
        shape = (int.from_bytes(data[4:8], "big"),)
        offset = 8
    else:
        raise UsageError(f"{path} is not an MNIST IDX file (magic number {magic})")
    array = np.frombuffer(data, dtype=np.uint8, offset=offset)
    if array.size != int(np.prod(shape)):
        raise UsageError(f"{path} is truncated: {array.size} values for shape {shape}")
    return array.reshape(shape)


def load_mnist(folder: Path | None) -> MnistData:
    """Load MNIST from ``folder`` (the four IDX files); with no folder, fall back to keras' downloader."""
    if folder is None:
        return _load_with_keras()
    if not folder.is_dir():
        raise UsageError(f"MNIST folder {folder} does not exist")
    digest = hashlib.sha256()
    arrays = {}
    for key, stem in IDX_FILES.items():
        path = _find(folder, stem)
        arrays[key] = read_idx(path)
        digest.update(arrays[key].tobytes())
    return MnistData(**arrays, sha256=digest.hexdigest(), source=str(folder))


def _load_with_keras() -> MnistData:
    try:
        from keras.datasets import mnist
    except ImportError as exc:  # pragma: no cover - TensorFlow is a declared dependency
        raise MissingDependencyError("keras is not installed; pass --mnist DIR with the IDX files") from exc
    log.info("no MNIST folder given: using keras.datasets.mnist (downloads once)")
    try:
        (train_x, train_y), (test_x, test_y) = mnist.load_data()
    except Exception as exc:
        raise MissingDependencyError(
            f"could not download MNIST ({exc}); pass --mnist DIR pointing at the four IDX .gz files"
        ) from exc
    digest = hashlib.sha256()
    for array in (train_x, train_y, test_x, test_y):
        digest.update(array.tobytes())
    return MnistData(train_x, train_y, test_x, test_y, sha256=digest.hexdigest(), source="keras.datasets.mnist")
