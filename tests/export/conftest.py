"""Shared fixtures of the export tests: a tiny trained model with augmentation, on an easy image task."""

import keras
import numpy as np
import pytest


def brightness_task(n_per_class=12, size=28, seed=0):
    """Grey uint8 images whose class (0, 1, 2) is their mean brightness: learnable in a few steps."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(3), n_per_class)
    base = np.array([40, 128, 215])[y]
    x = np.clip(base[:, None, None, None] + rng.normal(0, 20, (len(y), size, size, 1)), 0, 255).astype("uint8")
    order = rng.permutation(len(y))
    return x[order], y[order]


@pytest.fixture(scope="module")
def trained():
    """``(model, history, (x_train, y_train), (x_test, y_test))``: tiny_cnn + augmentation after a real fit."""
    import keras_transfer as kt
    from keras_transfer.testing import register_tiny_backbone

    keras.utils.set_random_seed(7)
    backbone = kt.backbones.get(register_tiny_backbone(), weights=None, input_shape=(32, 32), trainable="full")
    augmentation = keras.Sequential([keras.layers.RandomFlip("horizontal"), keras.layers.RandomRotation(0.05)])
    model = kt.TransferModel(backbone, kt.ClassificationHead(3, dropout=0.1), augmentation=augmentation)
    x, y = brightness_task(16)
    model.compile(keras.optimizers.Adam(2e-2))
    history = model.fit(x[:36], y[:36], epochs=5, batch_size=12, verbose=0)
    return model, history, (x[:36], y[:36]), (x[36:], y[36:])
