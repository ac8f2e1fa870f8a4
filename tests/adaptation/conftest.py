"""A tiny shifted task: grey images whose class is their brightness; the target is darker and low-contrast."""

import numpy as np
import pytest


def brightness_images(n, rng, shifted=False):
    y = np.arange(n) % 3
    x = np.array([40, 128, 215])[y][:, None, None, None] + rng.normal(0, 20, (n, 16, 16, 1))
    if shifted:
        x = 0.4 * x + 20
    return np.clip(x, 0, 255).astype("uint8"), y


@pytest.fixture
def shift_task():
    """``(source, validation, target_x, target)``: labelled source splits, unlabelled target inputs, a labelled
    target test split (for assertions only)."""
    rng = np.random.default_rng(0)
    source, validation = brightness_images(48, rng), brightness_images(12, rng)
    target_x, _ = brightness_images(24, rng, shifted=True)
    return source, validation, target_x, brightness_images(24, rng, shifted=True)


def tiny_model(num_classes=3, multi_task=False):
    """tiny_cnn at 16x16 standing in for a pretrained backbone (train_bn=False)."""
    import keras_transfer as kt
    from keras_transfer.testing import register_tiny_backbone

    backbone = kt.backbones.get(register_tiny_backbone(), weights=None, input_shape=(16, 16), train_bn=False)
    if multi_task:
        return kt.MultiTaskModel(backbone, {"level": kt.ClassificationHead(num_classes, dropout=0.0),
                                            "bright": kt.ClassificationHead(2, dropout=0.0)})
    return kt.TransferModel(backbone, kt.ClassificationHead(num_classes, dropout=0.0))


@pytest.fixture(scope="session")
def source_weights():
    """Weights of a tiny model trained on the source task (plain ``fit``, 4 epochs), shared by the tests."""
    import keras

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x, y = brightness_images(48, rng)
    model = tiny_model()
    model.backbone.set_mode("full")
    model.compile(keras.optimizers.Adam(3e-2))
    model.fit(x, y, epochs=4, batch_size=16, verbose=0)
    model.backbone.set_mode("frozen")
    return model.get_weights()


def source_model(weights):
    """A fresh tiny model holding ``weights`` (from ``source_weights``)."""
    model = tiny_model()
    model(np.zeros((1, 16, 16, 1), "uint8"))
    model.set_weights(weights)
    model.compile("adam")
    return model


def session(model, shift_task, **kwargs):
    """An AdaptationSession over the shift task's source, validation and unlabelled target."""
    from keras_transfer.adaptation import AdaptationSession

    source, validation, target_x, _ = shift_task
    return AdaptationSession(model, source, target_x, validation=validation, batch_size=16, verbose=0,
                             **{"epochs": 1, "learning_rate": 1e-2, **kwargs})


def trained_model(source, validation, **options):
    """A tiny model trained by fine_tune on the source (default: 1 head + 1 fine-tune epoch), with ``options``."""
    import keras_transfer as kt

    model = tiny_model()
    options = {"head_epochs": 1, "fine_tune_epochs": 1, "head_lr": 3e-2, "batch_size": 16, "seed": 0, "verbose": 0,
               **options}
    history = kt.fine_tune(model, source, validation=validation, **options)
    return model, history
