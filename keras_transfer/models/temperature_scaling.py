"""`TemperatureScaling`: divide a classifier's logits by a fitted temperature, inside the model."""

import math
from typing import Optional

import keras

from keras_transfer.checks import is_number
from keras_transfer.errors import InvalidConfigError

__all__ = ["TemperatureScaling"]

# Probabilities are clipped here before the log: float32 softmax outputs underflow to 0 past a logit gap of ~87.
_MIN_PROBABILITY = 1e-30


@keras.saving.register_keras_serializable(package="keras_transfer")
class TemperatureScaling(keras.layers.Layer):
    """Softmax probabilities in, temperature-scaled softmax probabilities out: ``softmax(log(p) / T)``.

    ``log(p)`` equals the logits up to a per-example constant, which the softmax cancels, so this is exactly
    temperature scaling of the logits (Guo et al., 2017), placed after a head that ends in a softmax. ``T > 1``
    softens over-confident outputs; the arg-max (hence accuracy) never changes. The temperature is a constant of
    the layer's config, not a variable: a ``.keras`` file keeps it, and exported graphs (SavedModel, TFLite,
    ONNX) hold it as a constant. With ``temperature=None`` the layer is the identity and adds no op.
    ``keras_transfer.TransferModel`` holds one (``model.calibration``); ``keras_transfer.evaluation.calibrate``
    fits its temperature on validation data.

    Args:
        temperature: float > 0, or None (identity).
        **kwargs: base layer arguments (``name``).

    Raises:
        InvalidConfigError: a temperature that is not a finite number > 0.

    Examples:
    >>> import numpy as np
    >>> layer = keras_transfer.models.temperature_scaling.TemperatureScaling(2.0)
    >>> np.asarray(layer(np.array([[0.8, 0.2]], "float32"))).astype("float64").round(3).tolist()  # 4:1 -> 2:1
    [[0.667, 0.333]]
    """

    def __init__(self, temperature: Optional[float] = None, **kwargs):
        # float32 under a mixed-precision policy too: the model's probabilities stay float32 (as the head's are)
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.temperature = self.check_temperature(temperature)

    @staticmethod
    def check_temperature(temperature) -> Optional[float]:
        """A temperature as a float (None stays None).

        Args:
            temperature: float > 0 or None.

        Returns:
            float or None.

        Raises:
            InvalidConfigError: not a finite number > 0.
        """
        if temperature is None:
            return None
        if not is_number(temperature) or not math.isfinite(temperature) or temperature <= 0:
            raise InvalidConfigError(
                f"The temperature must be a finite number > 0 (1.0 changes nothing). Received: "
                f"temperature={temperature!r}."
            )
        return float(temperature)

    def build(self, input_shape):
        self.built = True

    def call(self, probabilities):
        if self.temperature is None:
            return probabilities
        log_p = keras.ops.log(keras.ops.clip(keras.ops.cast(probabilities, "float32"), _MIN_PROBABILITY, 1.0))
        return keras.ops.softmax(log_p / self.temperature, axis=-1)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(temperature=self.temperature)
        return config
