"""`KerasCVRandomResizedCrop`: the optional keras-cv random resized crop, keeping the input size."""

from typing import Optional, Sequence

import keras

from keras_transfer.augmentation.random_resized_crop import check_range
from keras_transfer.augmentation.shape_preserving import ShapePreservingAugmentation
from keras_transfer.errors import InvalidConfigError

__all__ = ["KerasCVRandomResizedCrop"]


def _import_keras_cv():
    try:
        import keras_cv
    except ImportError as error:
        raise InvalidConfigError(
            "random_resized_crop with implementation='keras_cv' needs the optional keras-cv package. "
            "Received: implementation='keras_cv' but keras_cv is not installed. "
            "Run `pip install keras-transfer[cv]`, or use implementation='core' (the same transform, built in)."
        ) from error
    return keras_cv


@keras.saving.register_keras_serializable(package="keras_transfer")
class KerasCVRandomResizedCrop(ShapePreservingAugmentation):
    """``keras_cv.layers.RandomCropAndResize`` sized to its input, active in training only.

    keras-cv (frozen upstream at 0.9) needs the output size up front; this wrapper builds it at the input's
    height and width, so it is a drop-in alternative to the core ``RandomResizedCrop``. Needs the ``cv`` extra.

    Args:
        scale: pair of float in ``(0, 1]``. Crop area range as a fraction of the image.
        ratio: pair of float > 0. Range of the crop's aspect ratio.
        seed: int or None.
        **kwargs: base layer arguments.

    Raises:
        InvalidConfigError: keras-cv is not installed, or a range is invalid.

    Examples:
    >>> config = {"random_resized_crop": {"implementation": "keras_cv"}}  # needs the cv extra (keras-cv)
    >>> crop = keras_transfer.augmentation.get(config)  # doctest: +SKIP
    """

    config_keys = ("scale", "ratio", "seed")

    def __init__(
        self,
        scale: Sequence[float] = (0.08, 1.0),
        ratio: Sequence[float] = (3 / 4, 4 / 3),
        seed: Optional[int] = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self._keras_cv = _import_keras_cv()
        self.scale = check_range("scale", scale, 1e-6, 1.0)
        self.ratio = check_range("ratio", ratio, 1e-3, 1e3)
        self.seed = seed
        self.crop = None

    def build(self, input_shape):
        self.crop = self._keras_cv.layers.RandomCropAndResize(
            target_size=(int(input_shape[1]), int(input_shape[2])),
            crop_area_factor=self.scale,
            aspect_ratio_factor=self.ratio,
            seed=self.seed,
        )
        self.built = True

    def call(self, inputs, training=None):
        if not training:
            return inputs
        return self.crop(inputs, training=True)
