"""`ClassificationHead`: softmax (single-label) or sigmoid (multi-label) class probabilities."""

from typing import Sequence

import keras

from keras_transfer.checks import is_int
from keras_transfer.errors import InvalidConfigError
from keras_transfer.heads.head import Head

__all__ = ["ClassificationHead"]


@keras.saving.register_keras_serializable(package="keras_transfer")
class ClassificationHead(Head):
    """Class probabilities from backbone features.

    Single-label heads end in a softmax over ``num_classes`` and train with sparse categorical
    cross-entropy on integer labels (one-hot labels work too: the loss is chosen from the label shape
    by ``fine_tune``); multi-label heads end in one sigmoid per class and train with binary
    cross-entropy on multi-hot labels.

    Args:
        num_classes: int. Number of classes (≥ 2 for single-label, ≥ 1 for multi-label).
        multi_label: bool. Independent sigmoid outputs instead of a softmax.
        hidden_units: sequence of int. Hidden Dense layers before the output.
        dropout: float. Dropout rate before each Dense layer.
        **kwargs: base layer arguments (``name``, ...).

    Examples:
    >>> import numpy as np
    >>> head = keras_transfer.heads.ClassificationHead(3, dropout=0.0)
    >>> head(np.ones((2, 8), "float32")).shape
    TensorShape([2, 3])
    """

    def __init__(
        self,
        num_classes: int,
        multi_label: bool = False,
        hidden_units: Sequence[int] = (),
        dropout: float = 0.2,
        **kwargs,
    ):
        if not is_int(num_classes):
            raise InvalidConfigError(
                f"num_classes must be an int. Received: num_classes={num_classes!r} "
                f"of type {type(num_classes).__name__}."
            )
        if not multi_label and num_classes < 2:
            raise InvalidConfigError(
                "A softmax classification head needs at least 2 classes. "
                f"Received: num_classes={num_classes}. For a yes/no task use num_classes=2, or "
                "ClassificationHead(1, multi_label=True) for a single sigmoid output."
            )
        if multi_label and num_classes < 1:
            raise InvalidConfigError(f"num_classes must be ≥ 1. Received: num_classes={num_classes}.")
        kwargs.pop("units", None)
        kwargs.pop("activation", None)
        super().__init__(
            num_classes, "sigmoid" if multi_label else "softmax", hidden_units=hidden_units, dropout=dropout, **kwargs
        )
        self.num_classes = num_classes
        self.multi_label = bool(multi_label)

    def default_loss(self):
        if self.multi_label:
            return keras.losses.BinaryCrossentropy()
        return keras.losses.SparseCategoricalCrossentropy()

    def default_metrics(self):
        if self.multi_label:
            return [keras.metrics.BinaryAccuracy(name="accuracy")]
        return [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]

    def get_config(self):
        config = super().get_config()
        config.update(num_classes=self.num_classes, multi_label=self.multi_label)
        return config
