"""`tiny_cnn`: a three-block CNN with BatchNorm, registered on demand, for fast tests and examples."""

import keras

from keras_transfer.backbones.image import stage_key
from keras_transfer.backbones.registry import register
from keras_transfer.backbones.spec import BackboneSpec
from keras_transfer.errors import WeightsUnavailableError
from keras_transfer.weights import load_weights_file

__all__ = ["TINY_BACKBONE", "register_tiny_backbone"]

TINY_BACKBONE = "tiny_cnn"


def _build_tiny(input_shape, weights):
    if weights == "imagenet":
        raise WeightsUnavailableError(
            "tiny_cnn is a test backbone without pretrained weights. Received: weights='imagenet'. "
            "Use weights=None or a weights file."
        )
    inputs = keras.Input(tuple(input_shape))
    x = inputs
    for i, filters in enumerate((8, 16, 32), start=1):
        x = keras.layers.Conv2D(filters, 3, strides=2, padding="same", use_bias=False, name=f"block{i}_conv")(x)
        x = keras.layers.BatchNormalization(name=f"block{i}_bn")(x)
        x = keras.layers.ReLU(name=f"block{i}_relu")(x)
    model = keras.Model(inputs, x, name="tiny_cnn")
    if weights is not None:
        load_weights_file(model, weights)
    return model


def register_tiny_backbone() -> str:
    """Register ``tiny_cnn`` (3 conv/BN/ReLU blocks, 8-16-32 channels, 3 layer groups) and return its name.

    Idempotent. Register it in every process that loads a saved model using it.

    Returns:
        str: ``"tiny_cnn"``.

    Examples:
    >>> name = keras_transfer.testing.register_tiny_backbone()
    >>> keras_transfer.backbones.get(name, weights=None).output_dim
    32
    """
    spec = BackboneSpec(
        TINY_BACKBONE, "tiny test CNN", _build_tiny, 32, 8, "tf",
        stage_key(r"block(\d)_", [(1, "block1"), (2, "block2"), (3, "block3")]),
        "none (test backbone)",
    )
    register(spec, overwrite=True)
    return TINY_BACKBONE
