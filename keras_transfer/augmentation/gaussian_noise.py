"""`RandomGaussianNoise`: additive Gaussian pixel noise scaled to the pixel value range, in training only."""

from typing import Optional, Tuple

import keras
from keras import ops

from keras_transfer.augmentation.shape_preserving import ShapePreservingAugmentation
from keras_transfer.checks import check_fraction

__all__ = ["RandomGaussianNoise"]


@keras.saving.register_keras_serializable(package="keras_transfer")
class RandomGaussianNoise(ShapePreservingAugmentation):
    """Add zero-mean Gaussian noise whose standard deviation is a fraction of the value range.

    ``keras.layers.GaussianNoise`` caps its standard deviation at 1, which is 0.4 % of a raw ``[0, 255]``
    pixel range; this layer takes the deviation as a fraction of ``value_range`` instead. Identity at inference.

    Args:
        stddev: float in (0, 1]. Standard deviation as a fraction of ``value_range[1] - value_range[0]``.
        value_range: pair. Pixel value range, ``(0, 255)`` for raw images.
        seed: int or None.
        **kwargs: base layer arguments.

    Raises:
        InvalidConfigError: ``stddev`` out of range.

    Examples:
    >>> import numpy as np
    >>> noise = keras_transfer.augmentation.RandomGaussianNoise(0.05, seed=0)
    >>> images = np.full((1, 8, 8, 1), 128, "float32")
    >>> 0 < float(np.std(noise(images, training=True))) < 20
    True
    """

    config_keys = ("stddev", "value_range", "seed")

    def __init__(
        self, stddev: float = 0.03, value_range: Tuple[float, float] = (0, 255), seed: Optional[int] = None, **kwargs
    ):
        super().__init__(**kwargs)
        self.stddev = check_fraction("stddev", stddev, allow_zero=False,
                                     expected="a fraction of the value range in (0, 1]")
        self.value_range = (float(value_range[0]), float(value_range[1]))
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=None):
        if not training:
            return inputs
        x = ops.cast(inputs, self.compute_dtype)
        scale = self.stddev * (self.value_range[1] - self.value_range[0])
        return x + scale * keras.random.normal(ops.shape(x), seed=self.seed_generator, dtype=self.compute_dtype)
