"""Shared helpers for the keras_transfer.data tests."""

import numpy as np
import pytest


@pytest.fixture
def tagged_images():
    """60 images of 3 classes; pixel [0, 0, 0] holds the example index (unique tag)."""
    n = 60
    x = np.zeros((n, 4, 4, 1), dtype=np.uint8)
    x[:, 0, 0, 0] = np.arange(n)
    y = np.repeat(np.arange(3), n // 3)
    return x, y

