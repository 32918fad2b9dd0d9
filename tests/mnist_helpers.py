"""MNIST test digits at the size the pipeline tests write them on a page."""

from __future__ import annotations

import cv2
import numpy as np

from digitscan.mnist import MnistData

SIZE = 90  # pixels a digit is written at


def mnist_digit(mnist: MnistData, label: int, nth: int) -> np.ndarray:
    """The ``nth`` MNIST test image of ``label``, resized to SIZE x SIZE (ink high)."""
    index = int(np.flatnonzero(mnist.test_labels == label)[nth])
    return cv2.resize(mnist.test_images[index], (SIZE, SIZE), interpolation=cv2.INTER_LINEAR)
