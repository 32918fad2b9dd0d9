"""The IDX reader on the real MNIST files and on damaged ones."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from digitscan.errors import UsageError
from digitscan.mnist import MnistData, load_mnist, read_idx


def test_reads_the_four_files_with_the_published_counts(mnist: MnistData) -> None:
    assert mnist.train_images.shape == (60000, 28, 28)
    assert mnist.test_images.shape == (10000, 28, 28)
    assert np.bincount(mnist.test_labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert mnist.test_labels[:20].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9, 0, 6, 9, 0, 1, 5, 9, 7, 3, 4]
    assert round(float(mnist.train_images.mean()), 4) == 33.3184
    assert len(mnist.sha256) == 64


def test_bad_magic_and_truncation_are_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.gz"
    with gzip.open(bad, "wb") as stream:
        stream.write(b"\x00\x00\x09\x99" + b"\x00" * 12)
    with pytest.raises(UsageError, match="not an MNIST IDX"):
        read_idx(bad)
    short = tmp_path / "short"
    short.write_bytes((2049).to_bytes(4, "big") + (100).to_bytes(4, "big") + b"\x01" * 10)
    with pytest.raises(UsageError, match="truncated"):
        read_idx(short)


def test_missing_folder_or_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        load_mnist(tmp_path / "nope")
    with pytest.raises(UsageError, match=r"(t10k|train)-"):
        load_mnist(tmp_path)
