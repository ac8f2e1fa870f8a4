"""`AugmentationPipeline`: image augmentation layers applied in order, in training only."""

from typing import Sequence, Tuple

import keras
from keras import ops

from keras_transfer.errors import InvalidConfigError, InvalidInputError

__all__ = ["AugmentationPipeline"]

# Layers that read colour (HSV conversions, RandAugment's colour ops): grey inputs go through them as RGB.
_RGB_LAYERS = ("RandomColorJitter", "RandomSaturation", "RandomHue", "RandAugment", "AugMix", "RandomGrayscale")


@keras.saving.register_keras_serializable(package="keras_transfer")
class AugmentationPipeline(keras.layers.Layer):
    """Image augmentation layers applied in order to raw images, and only in training.

    Built by ``keras_transfer.augmentation.get(preset_or_config)``; usable directly with any list of Keras
    image preprocessing layers. Inputs are batches of images ``(batch, height, width, channels)`` with 1 or 3
    channels in ``value_range`` (uint8 or float). In training the layers run in order on float32 images; grey
    images pass through colour layers (colour jitter, RandAugment) as 3 equal channels and come back grey; the
    result is clipped to ``value_range``. At inference (``training`` false or None) the input is returned as is,
    so saved, exported or converted models contain none of the random ops.

    Args:
        layers: sequence of Keras layers taking and returning image batches of the same shape.
        value_range: pair. Range of pixel values, ``(0, 255)`` for raw images.
        **kwargs: base layer arguments (``name``).

    Raises:
        InvalidConfigError: an element of ``layers`` is not a Keras layer.
        InvalidInputError: (when called) inputs that are not image batches, e.g. token ids of a text model.

    Examples:
    >>> import numpy as np
    >>> pipeline = keras_transfer.augmentation.AugmentationPipeline([keras.layers.RandomFlip("horizontal")])
    >>> images = np.random.randint(0, 255, (2, 28, 28, 1)).astype("uint8")
    >>> bool(np.all(np.asarray(pipeline(images)) == images))
    True
    """

    def __init__(self, layers: Sequence[keras.layers.Layer] = (), value_range: Tuple[float, float] = (0, 255), **kwargs):
        super().__init__(**kwargs)
        layers = list(layers)
        for layer in layers:
            if not isinstance(layer, keras.layers.Layer):
                raise InvalidConfigError(
                    "AugmentationPipeline takes Keras layers. "
                    f"Received: an element of type {type(layer).__name__}. Use keras_transfer.augmentation.get(...) "
                    "to build layers from a preset or a config."
                )
        self.augmentation_layers = layers
        self.value_range = (float(value_range[0]), float(value_range[1]))
        self._needs_rgb = any(type(layer).__name__ in _RGB_LAYERS for layer in layers)

    def build(self, input_shape):
        shape = tuple(input_shape)
        if len(shape) != 4 or shape[-1] not in (1, 3, None):
            raise InvalidInputError(
                "Image augmentation takes batches of images (batch, height, width, channels) with 1 or 3 channels. "
                f"Received: inputs of shape {shape}. A rank-2 input is token ids or features (a text / tabular "
                "model): use augmentation=None there and keras_transfer.augmentation.RandomTokenMask on token ids; "
                "for spectrograms use keras_transfer.augmentation.SpecAugment after the front end."
            )
        self.built = True

    def call(self, inputs, training=None):
        if not training or not self.augmentation_layers:
            return inputs
        dtype = keras.backend.standardize_dtype(inputs.dtype)
        if dtype == "string" or dtype == "bool":
            raise InvalidInputError(
                f"Image augmentation needs numeric pixel values. Received: inputs of dtype {dtype}. "
                "Text models take no image augmentation: use augmentation=None."
            )
        x = ops.cast(inputs, "float32")
        grey = x.shape[-1] == 1 and self._needs_rgb
        if grey:
            x = ops.concatenate([x, x, x], axis=-1)
        for layer in self.augmentation_layers:
            x = layer(x, training=True)
        if grey:
            x = ops.mean(x, axis=-1, keepdims=True)
        return ops.clip(x, self.value_range[0], self.value_range[1])

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            layers=[keras.saving.serialize_keras_object(layer) for layer in self.augmentation_layers],
            value_range=self.value_range,
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["layers"] = [keras.saving.deserialize_keras_object(layer) for layer in config.get("layers", [])]
        return cls(**config)
