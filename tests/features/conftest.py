"""Fixtures for the feature-cache tests: a tiny frozen backbone and small labelled image sets."""

import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer.testing import register_tiny_backbone


@pytest.fixture
def tiny_backbone():
    """``tiny_cnn`` (32 features) at 32x32, random weights."""
    return kt.backbones.get(register_tiny_backbone(), weights=None, input_shape=(32, 32))


@pytest.fixture
def labelled_images():
    """40 random grey 28x28 uint8 images; label i is the example's index (so rows can be traced)."""
    rng = np.random.default_rng(3)
    return rng.integers(0, 256, size=(40, 28, 28, 1), dtype=np.uint8), np.arange(40)


def entries(cache_dir):
    """Names of the published entries in a cache directory."""
    import os

    return sorted(name for name in os.listdir(cache_dir) if not name.startswith("."))
