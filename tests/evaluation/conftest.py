"""A tiny model trained to tell a bright square from a dim one at any position: its Grad-CAM has a right answer."""

import keras
import numpy as np
import pytest


def _square_images(n, seed):
    """32×32 grey noise with one 10×10 square at a random position: bright (255, label 1) or dim (110, label 0).

    Returns ``(images, labels, boxes)``, boxes as ``(x0, y0, x1, y1)`` with exclusive ends.
    """
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 60, (n, 32, 32, 1)).astype("uint8")
    labels = np.arange(n) % 2
    boxes = np.zeros((n, 4), "int64")
    for i in range(n):
        x0, y0 = (int(v) for v in rng.integers(0, 23, 2))
        images[i, y0:y0 + 10, x0:x0 + 10] = 255 if labels[i] else 110
        boxes[i] = (x0, y0, x0 + 10, y0 + 10)
    return images, labels, boxes


@pytest.fixture(scope="session")
def square_images():
    """The generator ``square_images(n, seed) -> (images, labels, boxes)``."""
    return _square_images


@pytest.fixture(scope="session")
def square_task():
    """``(model, (x, y), (test_x, test_y, test_boxes))``: a tiny_cnn TransferModel with augmentation (flips,
    small translations),
    fitted for 10 epochs on 160 images. Shared: tests must not change it."""
    import keras_transfer as kt
    from keras_transfer.testing import register_tiny_backbone

    keras.utils.set_random_seed(0)
    backbone = kt.backbones.get(register_tiny_backbone(), weights=None, input_shape=(32, 32), train_bn=False, trainable="full")
    model = kt.TransferModel(backbone, kt.ClassificationHead(2, dropout=0.0),
                             augmentation=kt.augmentation.get({"flip": "horizontal_and_vertical", "translation": 0.05}, seed=0))
    x, y, _ = _square_images(160, 0)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    model.fit(x, y, epochs=10, batch_size=32, verbose=0)
    tx, ty, boxes = _square_images(40, 1)
    return model, (x, y), (tx, ty, boxes)
