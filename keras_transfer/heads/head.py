"""`Head`: the base of the small trainable networks put on a backbone's features."""

from typing import Sequence

import keras

from keras_transfer.checks import check_fraction
from keras_transfer.errors import InvalidConfigError

__all__ = ["Head"]


class Head(keras.layers.Layer):
    """Base class for heads: optional hidden Dense layers with dropout, then an output Dense layer.

    Subclasses set the output units and activation and say which loss and metrics fit them, so a model
    built with a head compiles with ``model.compile(optimizer=...)`` alone.

    Args:
        units: int. Output units.
        activation: str or None. Output activation.
        hidden_units: sequence of int. Sizes of hidden Dense layers before the output.
        dropout: float in [0, 1). Dropout before each Dense layer.
        hidden_activation: str. Activation of the hidden layers.
        kernel_initializer: initializer of the output layer's kernel. ``"near_zero"`` (default): normal with
            stddev 1e-3, so outputs start at the output bias (as BiT starts fine-tuning from a zero head) and
            ``keras_transfer.callbacks.BiasInitializer`` can set the initial loss to the label prior's entropy,
            while a small gradient still reaches the backbone from the first step; or any Keras initializer.
        **kwargs: base ``keras.layers.Layer`` arguments.
    """

    def __init__(
        self,
        units: int,
        activation=None,
        hidden_units: Sequence[int] = (),
        dropout: float = 0.0,
        hidden_activation: str = "relu",
        kernel_initializer="near_zero",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if isinstance(hidden_units, int):
            hidden_units = (hidden_units,)
        hidden_units = tuple(int(u) for u in hidden_units)
        if any(u < 1 for u in hidden_units):
            raise InvalidConfigError(
                f"hidden_units must be positive integers. Received: hidden_units={hidden_units!r}."
            )
        check_fraction("dropout", dropout, allow_one=False, expected="in [0, 1)")
        self.units = int(units)
        self.activation = activation
        self.hidden_units = hidden_units
        self.dropout = float(dropout)
        self.hidden_activation = hidden_activation
        self.hidden_layers = [
            keras.layers.Dense(u, activation=hidden_activation, name=f"hidden_{i}") for i, u in enumerate(hidden_units)
        ]
        self.dropout_layers = [keras.layers.Dropout(self.dropout) for _ in range(len(hidden_units) + 1)]
        # The output stays float32 under mixed precision: softmax / sigmoid in float16 lose precision.
        self.kernel_initializer = kernel_initializer
        initializer = (
            keras.initializers.RandomNormal(stddev=1e-3)
            if kernel_initializer == "near_zero"
            else keras.initializers.get(kernel_initializer)
        )
        self.output_layer = keras.layers.Dense(
            self.units, activation=activation, dtype="float32", name="output", kernel_initializer=initializer
        )

    def build(self, input_shape):
        shape = tuple(input_shape)
        for layer in self.hidden_layers:
            layer.build(shape)
            shape = shape[:-1] + (layer.units,)
        self.output_layer.build(shape)
        self.built = True

    def call(self, features, training=None):
        x = features
        for dropout, dense in zip(self.dropout_layers, self.hidden_layers):
            x = dense(dropout(x, training=training) if self.dropout else x)
        if self.dropout:
            x = self.dropout_layers[-1](x, training=training)
        return self.output_layer(x)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def default_loss(self):
        """The loss this head is trained with when ``compile`` gets none."""
        raise TypeError(
            f"{type(self).__name__} has no default loss. Pass one to compile(loss=...) or override default_loss()."
        )

    def default_metrics(self):
        """The metrics reported when ``compile`` gets none."""
        return []

    def get_config(self):
        config = super().get_config()
        config.update(hidden_units=list(self.hidden_units), dropout=self.dropout)
        if self.kernel_initializer != "near_zero":
            config.update(kernel_initializer=keras.initializers.serialize(keras.initializers.get(self.kernel_initializer)))
        return config
