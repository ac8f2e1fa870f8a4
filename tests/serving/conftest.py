"""Shared fixtures of the serving tests: a tiny trained RGB image classifier exported to .tflite, and test images."""

import io

import keras
import numpy as np
import pytest

NAMES = ["dark", "mid", "bright"]
LEVELS = (40, 128, 215)


def _png_bytes(level: int, size=(28, 28), seed=0) -> bytes:
    """A PNG file of an RGB image of the given mean brightness (the class of the brightness task)."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    array = np.clip(level + rng.normal(0, 10, (*size, 3)), 0, 255).astype("uint8")
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="package")
def png_bytes():
    """``png_bytes(level, size=(28, 28), seed=0)``: PNG file bytes of an image of that mean brightness."""
    return _png_bytes


@pytest.fixture(scope="package")
def classes():
    """``(names, levels)``: the class names and the brightness level of each class."""
    return NAMES, LEVELS


@pytest.fixture(scope="package")
def served_model(tmp_path_factory):
    """``(tflite_path, keras_model)``: a brightness classifier (dark / mid / bright) exported with its labels."""
    import keras_transfer as kt
    from keras_transfer.testing import register_tiny_backbone

    keras.utils.set_random_seed(11)
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 16)
    x = np.clip(np.array(LEVELS)[y][:, None, None, None] + rng.normal(0, 15, (len(y), 28, 28, 3)), 0, 255)
    x = x.astype("uint8")
    backbone = kt.backbones.get(register_tiny_backbone(), weights=None, input_shape=(32, 32), train_bn=False)
    model = kt.TransferModel(backbone, kt.ClassificationHead(3, dropout=0.0))
    model.compile(keras.optimizers.Adam(2e-2))
    model.fit(x, y, epochs=8, batch_size=12, verbose=0)
    directory = tmp_path_factory.mktemp("served")
    path = directory / "brightness.tflite"
    report = kt.export(model, path, "tflite", parity_data=(x, y), class_names=NAMES, verbose=False)
    assert report.exported_accuracy == 1.0, "the tiny task must be learnt for the label checks to mean anything"
    return str(path), model
