"""TransferModel: compile defaults, augmentation only in training, safe .keras round trip, refused parts."""

import keras
import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer import errors
from keras_transfer.testing import register_tiny_backbone


def _model(augmentation=None):
    backbone = kt.backbones.get(register_tiny_backbone(), weights=None, input_shape=(32, 32))
    return kt.TransferModel(backbone, kt.ClassificationHead(3, dropout=0.0), augmentation=augmentation)


def test_compile_takes_the_heads_loss_and_metrics(tiny_images):
    model = _model()
    model.compile(optimizer="adam")
    assert isinstance(model.loss, keras.losses.SparseCategoricalCrossentropy)
    history = model.fit(*tiny_images, epochs=1, verbose=0)
    assert "accuracy" in history.history
    assert model.num_classes == 3


def test_augmentation_runs_only_in_training(tiny_images):
    x = tiny_images[0][:4]
    model = _model(augmentation=keras.layers.GaussianNoise(1.0))
    clean = keras.ops.convert_to_numpy(model(x, training=False))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(model(x, training=False)), clean)
    noisy = keras.ops.convert_to_numpy(model(x, training=True))
    assert not np.array_equal(noisy, clean)


def test_keras_round_trip_with_augmentation_and_compile_state(tmp_path, tiny_images):
    model = _model(augmentation=keras.Sequential([keras.layers.RandomFlip("horizontal")]))
    model.compile(optimizer=keras.optimizers.Adam(3e-4))
    model.fit(*tiny_images, epochs=1, verbose=0)
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    x = tiny_images[0][:5]
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(loaded(x)), keras.ops.convert_to_numpy(model(x)), atol=1e-6
    )
    assert isinstance(loaded.augmentation, keras.Sequential)
    assert float(keras.ops.convert_to_numpy(loaded.optimizer.learning_rate)) == pytest.approx(3e-4)
    loaded.fit(*tiny_images, epochs=1, verbose=0)  # loaded model is compiled and trains on


def test_refused_parts():
    with pytest.raises(errors.InvalidConfigError, match=r"Received: backbone of type Dense"):
        kt.TransferModel(keras.layers.Dense(3), kt.ClassificationHead(3))
    backbone = kt.backbones.get(register_tiny_backbone(), weights=None)
    with pytest.raises(errors.InvalidConfigError, match=r"Received: head of type int"):
        kt.TransferModel(backbone, 3)
    with pytest.raises(errors.InvalidConfigError, match=r"augmentation of type str"):
        kt.TransferModel(backbone, kt.ClassificationHead(3), augmentation="strong")
    with pytest.raises(errors.UnknownBackboneError, match="Did you mean"):
        kt.TransferModel("resnet50v2", kt.ClassificationHead(3))
