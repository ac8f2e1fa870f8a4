"""`DistributionShiftBias`: a learnable per-feature shift (and scale) between a backbone's features and a head."""

import math

import keras

from keras_transfer.errors import InvalidConfigError

__all__ = ["DistributionShiftBias", "PullToward"]


@keras.saving.register_keras_serializable(package="keras_transfer")
class PullToward(keras.regularizers.Regularizer):
    """L2 penalty pulling a weight toward a constant: ``l2 * sum((w - target) ** 2)``.

    Args:
        l2: float ≥ 0. Strength.
        target: float. The value the weight is pulled toward (0 for a shift, 1 for a scale).

    Examples:
    >>> import numpy as np
    >>> float(keras_transfer.models.shift_bias.PullToward(0.5, target=1.0)(np.array([1.0, 3.0])))
    2.0
    """

    def __init__(self, l2: float = 0.0, target: float = 0.0):
        self.l2 = float(l2)
        self.target = float(target)

    def __call__(self, x):
        return self.l2 * keras.ops.sum(keras.ops.square(x - self.target))

    def get_config(self):
        return {"l2": self.l2, "target": self.target}


@keras.saving.register_keras_serializable(package="keras_transfer")
class DistributionShiftBias(keras.layers.Layer):
    """A learnable correction of the feature distribution: ``y = x * scale + shift``, per feature.

    The source article's "learnable distribution-shift bias": when the target data's features are offset
    from the source data the head was trained on (another camera, scanner, hand-writing style), a per-feature
    shift (init 0) and optional scale (init 1) put between the backbone and a head learn the correction. It
    starts as the identity, so adding it to a trained model changes nothing until it trains. It should train
    faster than the backbone's source-trained weights: ``lr_multiplier`` is read by
    ``keras_transfer.MultiTaskModel`` / ``keras_transfer.TransferModel`` when they compile (its variables get
    their own sub-optimizer at the head's rate times ``lr_multiplier``; with
    ``keras_transfer.optimizers.discriminative`` the head's rate is already above every backbone group's).
    An optional L2 term pulls it back toward the identity.

    Args:
        scale: bool. Learn a per-feature scale as well as the shift.
        l2: float ≥ 0. Strength of the pull toward the identity (``l2 * (|shift|² + |scale - 1|²)``).
        lr_multiplier: float > 0. Learning-rate multiplier of this layer relative to the head's rate.
        **kwargs: base layer arguments (``name``, ...).

    Examples:
    >>> import numpy as np
    >>> layer = keras_transfer.models.DistributionShiftBias(scale=True)
    >>> layer(np.ones((2, 4), "float32")).numpy().tolist()  # the identity at initialisation
    [[1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0]]
    """

    def __init__(self, scale: bool = False, l2: float = 0.0, lr_multiplier: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(l2, bool) or not isinstance(l2, (int, float)) or not math.isfinite(l2) or l2 < 0:
            raise InvalidConfigError(f"l2 must be a float ≥ 0. Received: l2={l2!r}. Use e.g. l2=1e-3 or 0 (off).")
        if (
            isinstance(lr_multiplier, bool)
            or not isinstance(lr_multiplier, (int, float))
            or not math.isfinite(lr_multiplier)
            or lr_multiplier <= 0
        ):
            raise InvalidConfigError(
                f"lr_multiplier must be a positive float. Received: lr_multiplier={lr_multiplier!r}. "
                "Use e.g. 10.0 to train the shift ten times faster than the head."
            )
        self.use_scale = bool(scale)
        self.l2 = float(l2)
        self.lr_multiplier = float(lr_multiplier)
        self.shift = None
        self.scale = None

    def build(self, input_shape):
        dim = input_shape[-1]
        if dim is None:
            raise InvalidConfigError(
                f"DistributionShiftBias needs a known feature size. Received: input_shape={tuple(input_shape)}."
            )
        self.shift = self.add_weight(
            shape=(dim,), initializer="zeros", name="shift",
            regularizer=PullToward(self.l2, 0.0) if self.l2 else None,
        )
        if self.use_scale:
            self.scale = self.add_weight(
                shape=(dim,), initializer="ones", name="scale",
                regularizer=PullToward(self.l2, 1.0) if self.l2 else None,
            )
        self.built = True

    def call(self, features):
        x = features
        if self.scale is not None:
            x = x * keras.ops.cast(self.scale, x.dtype)
        return x + keras.ops.cast(self.shift, x.dtype)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def magnitudes(self) -> dict:
        """Size of the correction: L2 norm of the shift and, with a scale, of ``scale - 1``.

        Returns:
            dict ``{"shift": float}`` (plus ``"scale"``); zeros before the layer is built.
        """
        import numpy as np

        result = {"shift": 0.0}
        if self.shift is not None:
            result["shift"] = float(np.linalg.norm(keras.ops.convert_to_numpy(self.shift)))
        if self.use_scale:
            result["scale"] = 0.0
            if self.scale is not None:
                result["scale"] = float(np.linalg.norm(keras.ops.convert_to_numpy(self.scale) - 1.0))
        return result

    def get_config(self):
        config = super().get_config()
        config.update(scale=self.use_scale, l2=self.l2, lr_multiplier=self.lr_multiplier)
        return config
