"""Shared test set-up: quiet TensorFlow, fixed seeds, tiny models."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(1234)
    yield


@pytest.fixture
def tiny_images():
    """18 random grey 28×28 uint8 images with 3 balanced labels."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(18, 28, 28, 1), dtype=np.uint8)
    y = np.arange(18) % 3
    return x, y


@pytest.fixture
def tiny_model():
    """A TransferModel on the registered ``tiny_cnn`` backbone (3 groups) with a 3-class head.

    The backbone stands in for a pretrained one, so BatchNorm follows the pretrained rule (``train_bn=False``;
    ``"auto"`` would let it train because the weights are random).
    """
    import keras_transfer as kt
    from keras_transfer.testing import register_tiny_backbone

    name = register_tiny_backbone()
    backbone = kt.backbones.get(name, weights=None, input_shape=(32, 32), train_bn=False)
    return kt.TransferModel(backbone, kt.ClassificationHead(3, dropout=0.0))
