"""`GradientReversal`: the identity forward, the gradient times ``-scale`` backward (DANN's gradient-reversal layer)."""

import keras

__all__ = ["GradientReversal"]


@keras.saving.register_keras_serializable(package="keras_transfer")
class GradientReversal(keras.layers.Layer):
    """The identity in the forward pass; in the backward pass the gradient is multiplied by ``-scale``.

    Put between a feature extractor and a domain classifier (Ganin & Lempitsky, 2015), it lets one loss train the
    classifier to tell the domains apart while pushing the features to make them indistinguishable. ``scale``
    is a non-trainable variable, so a schedule (``keras_transfer.adaptation.DANN`` ramps it from 0) can change it
    between steps without retracing. The layer exists only while adapting: ``DANN`` drops it with the domain
    classifier, so no saved or exported model holds it.

    Args:
        scale: float ≥ 0. Factor of the reversed gradient (λ in the DANN paper).
        **kwargs: base layer arguments (``name``, ...).

    Examples:
    >>> import tensorflow as tf
    >>> layer = keras_transfer.adaptation.GradientReversal(scale=0.5)
    >>> x = tf.constant([[1.0, 2.0]])
    >>> with tf.GradientTape() as tape:
    ...     tape.watch(x)
    ...     y = tf.reduce_sum(3.0 * layer(x))
    >>> layer(x).numpy().tolist(), tape.gradient(y, x).numpy().tolist()
    ([[1.0, 2.0]], [[-1.5, -1.5]])
    """

    def __init__(self, scale: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.initial_scale = float(scale)
        self.scale = self.add_weight(shape=(), initializer=keras.initializers.Constant(self.initial_scale),
                                     trainable=False, name="scale")

    def call(self, inputs):
        scale = keras.ops.cast(keras.ops.convert_to_tensor(self.scale), inputs.dtype)

        @keras.ops.custom_gradient
        def reverse(x):
            def grad(*args, upstream=None):
                if upstream is None:
                    (upstream,) = args
                return -scale * upstream

            return keras.ops.add(x, keras.ops.zeros((), x.dtype)), grad

        return reverse(inputs)

    def set_scale(self, value: float) -> None:
        """Set the reversed gradient's factor (a schedule calls this between steps)."""
        self.scale.assign(float(value))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(scale=self.initial_scale)
        return config
