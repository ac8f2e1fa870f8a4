"""`SpecAugment`: time and frequency masking of spectrograms (Park et al., 2019), in training only."""

from typing import Optional, Union

import keras
from keras import ops

from keras_transfer.augmentation.shape_preserving import ShapePreservingAugmentation
from keras_transfer.checks import check_fraction, check_int, is_number
from keras_transfer.errors import InvalidConfigError, InvalidInputError

__all__ = ["SpecAugment"]


def _count(name, value):
    return check_int(name, value, minimum=0)


@keras.saving.register_keras_serializable(package="keras_transfer")
class SpecAugment(ShapePreservingAugmentation):
    """Random time and frequency masks on spectrograms; the identity at inference.

    Place it after a spectrogram / MFCC front end (e.g. after ``keras.layers.MelSpectrogram`` or the audio
    backbone's front end), never on raw waveforms. Inputs are ``(batch, time, freq)`` or
    ``(batch, time, freq, channels)``. In training each example gets ``num_time_masks`` masks of
    ``0..time_mask_param`` consecutive frames (capped at ``max_time_ratio`` of the frames) and
    ``num_freq_masks`` masks of ``0..freq_mask_param`` consecutive bins, at uniform positions; masked cells are
    set to ``mask_value`` (a number, or ``"mean"``: each example's mean).

    Args:
        freq_mask_param: int >= 0. Widest frequency mask (F).
        time_mask_param: int >= 0. Widest time mask (T).
        num_freq_masks: int >= 0. Frequency masks per example.
        num_time_masks: int >= 0. Time masks per example.
        max_time_ratio: float in (0, 1]. Cap of one time mask as a fraction of the frames (p).
        mask_value: float or ``"mean"``.
        seed: int or None.
        **kwargs: base layer arguments.

    Raises:
        InvalidConfigError: negative or non-integer mask sizes, a ratio outside (0, 1], a bad mask value.
        InvalidInputError: (when called) inputs that are not rank 3 or 4.

    Examples:
    >>> import numpy as np
    >>> layer = keras_transfer.augmentation.SpecAugment(freq_mask_param=8, time_mask_param=10, seed=0)
    >>> spectrograms = np.ones((2, 50, 40), "float32")
    >>> bool(np.all(np.asarray(layer(spectrograms)) == 1))  # inference: unchanged
    True
    >>> float(np.min(layer(spectrograms, training=True)))
    0.0
    """

    config_keys = ("freq_mask_param", "time_mask_param", "num_freq_masks", "num_time_masks", "max_time_ratio",
                   "mask_value", "seed")

    def __init__(
        self,
        freq_mask_param: int = 10,
        time_mask_param: int = 20,
        num_freq_masks: int = 2,
        num_time_masks: int = 2,
        max_time_ratio: float = 1.0,
        mask_value: Union[float, str] = 0.0,
        seed: Optional[int] = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.freq_mask_param = _count("freq_mask_param", freq_mask_param)
        self.time_mask_param = _count("time_mask_param", time_mask_param)
        self.num_freq_masks = _count("num_freq_masks", num_freq_masks)
        self.num_time_masks = _count("num_time_masks", num_time_masks)
        self.max_time_ratio = check_fraction("max_time_ratio", max_time_ratio, allow_zero=False,
                                             expected="in (0, 1]")
        if mask_value != "mean" and not is_number(mask_value):
            raise InvalidConfigError(f"mask_value must be a number or 'mean'. Received: mask_value={mask_value!r}.")
        self.mask_value = mask_value
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        if len(input_shape) not in (3, 4):
            raise InvalidInputError(
                "SpecAugment takes spectrograms (batch, time, freq) or (batch, time, freq, channels). "
                f"Received: inputs of shape {tuple(input_shape)}. Put it after the spectrogram front end, not on "
                "raw waveforms or images."
            )
        self.built = True

    def _masks(self, batch_size, length, count, widest):
        """Bool ``(batch, length)``: True where one of ``count`` random stripes of width ``0..widest`` covers."""
        length_f = ops.cast(length, "float32")
        widths = ops.floor(keras.random.uniform((batch_size, count), 0.0, 1.0, seed=self.seed_generator) * (widest + 1))
        widths = ops.minimum(widths, length_f)
        starts = ops.floor(keras.random.uniform((batch_size, count), seed=self.seed_generator) * (length_f - widths + 1))
        positions = ops.cast(ops.arange(length), "float32")[None, None, :]
        covered = (positions >= starts[..., None]) & (positions < (starts + widths)[..., None])
        return ops.any(covered, axis=1)

    def call(self, inputs, training=None):
        if not training or (self.num_freq_masks == 0 and self.num_time_masks == 0):
            return inputs
        x = inputs
        shape = ops.shape(x)
        batch_size, frames, bins = shape[0], shape[1], shape[2]
        masked = ops.zeros((batch_size, frames, bins), "bool")
        if self.num_time_masks and self.time_mask_param:
            widest = ops.minimum(
                float(self.time_mask_param), ops.floor(self.max_time_ratio * ops.cast(frames, "float32"))
            )
            time = self._masks(batch_size, frames, self.num_time_masks, widest)
            masked = masked | time[:, :, None]
        if self.num_freq_masks and self.freq_mask_param:
            freq = self._masks(batch_size, bins, self.num_freq_masks, self.freq_mask_param)
            masked = masked | freq[:, None, :]
        if len(x.shape) == 4:
            masked = masked[..., None]
        if self.mask_value == "mean":
            axes = tuple(range(1, len(x.shape)))
            fill = ops.mean(x, axis=axes, keepdims=True)
        else:
            fill = ops.cast(self.mask_value, x.dtype)
        return ops.where(masked, ops.cast(fill, x.dtype), x)
