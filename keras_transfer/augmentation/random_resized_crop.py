"""`RandomResizedCrop`: crop a random area / aspect-ratio box and resize it back to the input size."""

import math
from typing import Optional, Sequence

import keras
from keras import ops

from keras_transfer.augmentation.shape_preserving import ShapePreservingAugmentation
from keras_transfer.checks import invalid, is_number
from keras_transfer.errors import InvalidConfigError

__all__ = ["RandomResizedCrop", "check_range"]


def check_range(name: str, value, low: float, high: float, *, hint: str = "") -> tuple:
    """A ``(min, max)`` pair inside ``[low, high]`` with ``min <= max``, or an error naming ``name``.

    Args:
        name: str. Argument name used in the message.
        value: pair of numbers.
        low: float. Smallest allowed value.
        high: float. Largest allowed value.
        hint: str. Extra advice appended to the message.

    Returns:
        tuple of two floats.

    Raises:
        InvalidConfigError: not a pair of finite numbers in order inside the bounds.

    Examples:
    >>> keras_transfer.augmentation.random_resized_crop.check_range("scale", (0.5, 1), 0.0, 1.0)
    (0.5, 1.0)
    """
    try:
        values = () if isinstance(value, (str, bytes)) else tuple(value)
    except TypeError:
        values = ()
    finite = len(values) == 2 and all(is_number(v) and math.isfinite(v) for v in values)
    if not finite or not low <= values[0] <= values[1] <= high:
        raise invalid(name, value, f"a pair (min, max) with {low} <= min <= max <= {high}", hint)
    pair = (float(values[0]), float(values[1]))
    return pair


@keras.saving.register_keras_serializable(package="keras_transfer")
class RandomResizedCrop(ShapePreservingAugmentation):
    """Inception-style random resized crop that keeps the input size (core Keras ops, any backend).

    For every image a crop area (fraction of the image) is drawn from ``scale`` and an aspect ratio
    (width / height) log-uniformly from ``ratio``; the box is placed uniformly inside the image and resized
    (bilinear) back to the input's height and width. When the drawn box would stick out of the image its
    ratio is clipped so that the area stays exact. At inference (``training`` false) the layer returns its
    input unchanged, so no random op reaches a saved or exported graph.

    Keras core has no resized crop; ``keras_cv.layers.RandomCropAndResize`` is an alternative when the
    optional ``cv`` extra is installed (``keras_transfer.augmentation.get({"random_resized_crop":
    {"implementation": "keras_cv"}})``).

    Args:
        scale: pair of float in ``(0, 1]``. Range of the crop area as a fraction of the image area.
        ratio: pair of float > 0, or None. Range of the crop's width / height; None keeps the image's own
            aspect ratio.
        seed: int or None. Seed of the layer's random generator.
        **kwargs: base layer arguments (``name``, ``dtype``).

    Raises:
        InvalidConfigError: ``scale`` or ``ratio`` out of range.

    Examples:
    >>> import numpy as np
    >>> crop = keras_transfer.augmentation.RandomResizedCrop(scale=(0.5, 1.0), seed=0)
    >>> crop(np.zeros((2, 32, 32, 3), "float32"), training=True).shape
    TensorShape([2, 32, 32, 3])
    """

    config_keys = ("scale", "ratio", "seed")

    def __init__(
        self,
        scale: Sequence[float] = (0.08, 1.0),
        ratio: Optional[Sequence[float]] = (3 / 4, 4 / 3),
        seed: Optional[int] = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.scale = check_range("scale", scale, 0.0, 1.0)
        if self.scale[0] <= 0:
            raise InvalidConfigError(f"scale must be above 0. Received: scale={scale!r}. Use e.g. (0.08, 1.0).")
        self.ratio = None if ratio is None else check_range("ratio", ratio, 1e-3, 1e3, hint="Use e.g. (3/4, 4/3).")
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_masking = False

    def crop_boxes(self, batch_size, height, width):
        """Draw one crop box per image.

        Args:
            batch_size: int or scalar tensor.
            height: int or scalar tensor. Image height in pixels.
            width: int or scalar tensor. Image width in pixels.

        Returns:
            tuple ``(top, left, crop_height, crop_width)`` of float32 tensors of shape ``(batch_size,)``.
        """
        height = ops.cast(height, "float32")
        width = ops.cast(width, "float32")
        area = keras.random.uniform(
            (batch_size,), self.scale[0], self.scale[1], seed=self.seed_generator
        ) * height * width
        if self.ratio is None:
            aspect = width / height * ops.ones((batch_size,))
        else:
            log_ratio = keras.random.uniform(
                (batch_size,), math.log(self.ratio[0]), math.log(self.ratio[1]), seed=self.seed_generator
            )
            aspect = ops.exp(log_ratio)
        crop_w = ops.sqrt(area * aspect)
        crop_h = ops.sqrt(area / aspect)
        # Clip a box that sticks out; keep its area (both sides cannot stick out since area <= H * W).
        too_wide = crop_w > width
        too_tall = crop_h > height
        crop_w, crop_h = (
            ops.where(too_wide, width, ops.where(too_tall, area / height, crop_w)),
            ops.where(too_tall, height, ops.where(too_wide, area / width, crop_h)),
        )
        top = keras.random.uniform((batch_size,), seed=self.seed_generator) * (height - crop_h)
        left = keras.random.uniform((batch_size,), seed=self.seed_generator) * (width - crop_w)
        return top, left, crop_h, crop_w

    def call(self, inputs, training=None):
        if not training:
            return inputs
        images = ops.cast(inputs, self.compute_dtype)
        shape = ops.shape(images)
        unbatched = len(images.shape) == 3
        if unbatched:
            images = ops.expand_dims(images, 0)
            shape = ops.shape(images)
        batch_size, height, width = shape[0], shape[1], shape[2]
        top, left, crop_h, crop_w = self.crop_boxes(batch_size, height, width)
        scale_x = crop_w / ops.cast(width, "float32")
        scale_y = crop_h / ops.cast(height, "float32")
        zeros = ops.zeros_like(scale_x)
        # Output pixel centre (x + 0.5) maps to input coordinate left + (x + 0.5) * scale_x - 0.5.
        transform = ops.stack(
            [scale_x, zeros, left + 0.5 * scale_x - 0.5, zeros, scale_y, top + 0.5 * scale_y - 0.5, zeros, zeros],
            axis=1,
        )
        outputs = ops.image.affine_transform(
            images, ops.cast(transform, images.dtype), interpolation="bilinear", fill_mode="nearest"
        )
        return outputs[0] if unbatched else outputs
