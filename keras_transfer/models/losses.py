"""Losses the models' ``training_loss`` hook picks (``fine_tune(label_smoothing=..., class_weight=..., loss=...)``)."""

import keras

__all__ = ["ClassWeightedLoss", "SmoothedSparseCategoricalCrossentropy"]


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


@keras.saving.register_keras_serializable(package="keras_transfer")
class ClassWeightedLoss(keras.losses.Loss):
    """A per-example classification loss, weighted per example by its target's class weight.

    The weight of an example is ``target · class_weights``: the class weight of an integer label, and for one-hot,
    smoothed or MixUp / CutMix soft rows the weights mixed in the target's proportions (a row ``0.7 a + 0.3 b``
    weighs ``0.7 w_a + 0.3 w_b``), so the weights stay right after label mixing, unlike Keras' ``fit(class_weight=)``
    which needs integer labels and one output. Integer labels become one-hot rows before ``loss`` when
    ``one_hot`` (categorical losses: label smoothing, focal); otherwise ``loss`` gets the labels as given.

    Args:
        loss: a ``keras.losses.Loss`` (its unreduced ``call`` is used) or a function ``(y_true, y_pred) ->
            per-example values``.
        num_classes: int. Number of classes (width of the prediction rows).
        class_weights: list of ``num_classes`` floats, or None (no weighting).
        one_hot: bool. Turn integer labels into one-hot rows before ``loss``.
        **kwargs: base ``keras.losses.Loss`` arguments (``name``, ``reduction``).

    Examples:
    >>> loss = keras_transfer.models.losses.ClassWeightedLoss(
    ...     keras.losses.CategoricalCrossentropy(), 2, class_weights=[1.0, 3.0], one_hot=True)
    >>> y_pred = np.array([[0.9, 0.1], [0.3, 0.7]], "float32")
    >>> plain = keras.losses.categorical_crossentropy(np.eye(2), y_pred)
    >>> bool(np.isclose(loss(np.array([0, 1]), y_pred), (plain[0] + 3 * plain[1]) / 2))
    True
    >>> bool(np.isclose(loss(np.array([[0.5, 0.5]]), y_pred[:1]),   # a mixed target weighs 0.5·1 + 0.5·3
    ...                 2.0 * keras.losses.categorical_crossentropy(np.array([[0.5, 0.5]]), y_pred[:1])[0]))
    True
    """

    def __init__(self, loss, num_classes: int, class_weights=None, one_hot: bool = False, name=None, **kwargs):
        if isinstance(loss, (dict, str)):  # a saved config, or a Keras loss name
            loss = keras.losses.get(loss)
        super().__init__(name=name or f"weighted_{getattr(loss, 'name', getattr(loss, '__name__', 'loss'))}",
                         **kwargs)
        self.loss, self.num_classes, self.one_hot = loss, int(num_classes), bool(one_hot)
        self.class_weights = None if class_weights is None else [float(w) for w in class_weights]

    def _targets(self, y_true, y_pred):
        """``(targets for the loss, target rows for the weights or None for integer labels, integer labels)``."""
        ops = keras.ops
        dense = len(y_true.shape) == len(y_pred.shape) and y_true.shape[-1] == self.num_classes != 1
        if dense:
            rows = ops.cast(y_true, y_pred.dtype)
            return rows, rows, None
        labels = ops.reshape(ops.cast(y_true, "int32"), (-1,))
        if self.one_hot:
            rows = ops.one_hot(labels, self.num_classes, dtype=y_pred.dtype)
            return rows, rows, labels
        return y_true, None, labels

    def call(self, y_true, y_pred):
        ops = keras.ops
        y_true = ops.convert_to_tensor(y_true)
        targets, rows, labels = self._targets(y_true, y_pred)
        loss = self.loss
        values = loss.call(targets, y_pred) if isinstance(loss, keras.losses.Loss) else loss(targets, y_pred)
        values = ops.convert_to_tensor(values)
        while len(values.shape) > 1:
            values = ops.mean(values, axis=-1)
        if self.class_weights is None:
            return values
        weights = ops.convert_to_tensor(self.class_weights, dtype=values.dtype)
        if rows is not None:
            example_weights = ops.sum(ops.cast(rows, values.dtype) * weights, axis=-1)
        else:
            example_weights = ops.take(weights, ops.clip(labels, 0, self.num_classes - 1))
        return values * example_weights

    def get_config(self):
        config = super().get_config()
        config.update(loss=keras.losses.serialize(self.loss), num_classes=self.num_classes,
                      class_weights=self.class_weights, one_hot=self.one_hot)
        return config
