"""Losses the models' ``training_loss`` hook picks (``fine_tune(label_smoothing=...)``)."""

import keras

__all__ = ["SmoothedSparseCategoricalCrossentropy"]


@keras.saving.register_keras_serializable(package="keras_transfer")
class SmoothedSparseCategoricalCrossentropy(keras.losses.Loss):
    """Categorical cross-entropy with label smoothing on integer class labels.

    Keras' ``SparseCategoricalCrossentropy`` has no ``label_smoothing`` (Keras 3.15): the labels become one-hot
    rows and go through ``keras.losses.categorical_crossentropy(..., label_smoothing=...)``, so the loss equals
    ``CategoricalCrossentropy(label_smoothing=...)`` on the one-hot labels.

    Args:
        num_classes: int. Width of the one-hot rows.
        label_smoothing: float in [0, 1). Share of the target mass spread evenly over the classes.
        **kwargs: base ``keras.losses.Loss`` arguments (``name``, ``reduction``).

    Examples:
    >>> loss = keras_transfer.models.losses.SmoothedSparseCategoricalCrossentropy(2, label_smoothing=0.2)
    >>> smoothed = keras.losses.CategoricalCrossentropy(label_smoothing=0.2)
    >>> y_pred = np.array([[0.9, 0.1], [0.3, 0.7]], "float32")
    >>> bool(np.isclose(loss(np.array([0, 1]), y_pred), smoothed(np.eye(2), y_pred)))
    True
    """

    def __init__(self, num_classes: int, label_smoothing: float = 0.0, name="sparse_categorical_crossentropy",
                 **kwargs):
        super().__init__(name=name, **kwargs)
        self.num_classes, self.label_smoothing = int(num_classes), float(label_smoothing)

    def call(self, y_true, y_pred):
        labels = keras.ops.reshape(keras.ops.cast(y_true, "int32"), (-1,))
        one_hot = keras.ops.one_hot(labels, self.num_classes, dtype=y_pred.dtype)
        return keras.losses.categorical_crossentropy(one_hot, y_pred, label_smoothing=self.label_smoothing)

    def get_config(self):
        config = super().get_config()
        config.update(num_classes=self.num_classes, label_smoothing=self.label_smoothing)
        return config
