"""`RegressionHead`: linear outputs for real-valued targets."""

from typing import Sequence

import keras

from keras_transfer.checks import check_int
from keras_transfer.heads.head import Head

__all__ = ["RegressionHead"]


@keras.saving.register_keras_serializable(package="keras_transfer")
class RegressionHead(Head):
    """Real-valued outputs from backbone features, trained with mean squared error.

    Args:
        units: int. Number of targets.
        hidden_units: sequence of int. Hidden Dense layers before the output.
        dropout: float. Dropout rate before each Dense layer.
        **kwargs: base layer arguments.

    Examples:
    >>> import numpy as np
    >>> head = keras_transfer.heads.RegressionHead(units=2)
    >>> head(np.ones((4, 8), "float32")).shape
    TensorShape([4, 2])
    """

    def __init__(self, units: int = 1, hidden_units: Sequence[int] = (), dropout: float = 0.0, **kwargs):
        check_int("units", units, minimum=1, expected="a positive int")
        kwargs.pop("activation", None)
        super().__init__(units, None, hidden_units=hidden_units, dropout=dropout, **kwargs)

    def default_loss(self):
        return keras.losses.MeanSquaredError()

    def default_metrics(self):
        return [keras.metrics.MeanAbsoluteError(name="mae")]

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units)
        return config
