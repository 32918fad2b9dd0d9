"""Shared fixtures: the local MNIST copy, the shipped classifier, and synthetic pages with exact truth."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from digitscan.mnist import MnistData, load_mnist

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples"


def _mnist_dir() -> Path | None:
    for candidate in (os.environ.get("DIGITSCAN_MNIST"), REPO.parent / "shared" / "data" / "mnist"):
        if candidate and (Path(candidate) / "t10k-images-idx3-ubyte.gz").is_file():
            return Path(candidate)
    return None


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The local MNIST IDX files (../shared/data/mnist, or $DIGITSCAN_MNIST). CI must have them."""
    found = _mnist_dir()
    if found is None:
        message = "MNIST IDX files not found at ../shared/data/mnist (set DIGITSCAN_MNIST)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture(scope="session")
def mnist(mnist_dir: Path) -> MnistData:
    return load_mnist(mnist_dir)


@pytest.fixture(scope="session")
def classifier():  # type: ignore[no-untyped-def]
    """The shipped default model, loaded once for the whole session."""
    from digitscan.classify import DigitClassifier

    return DigitClassifier()


@pytest.fixture(scope="session")
def synthetic_dir(tmp_path_factory: pytest.TempPathFactory, mnist: MnistData) -> Path:
    """A fresh synthetic set (every format, 10 pages) that is not the committed samples."""
    from digitscan.synth import write_samples

    folder = tmp_path_factory.mktemp("synthetic")
    write_samples(folder, pages=10, seed=2024, digits=mnist)
    return folder
