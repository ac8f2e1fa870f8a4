"""Optimizers for transfer learning: discriminative (per layer group) learning rates and LR helpers."""

from keras_transfer.optimizers.discriminative import HEAD_GROUP, discriminative, group_learning_rates, group_optimizer
from keras_transfer.optimizers.factory import copy_optimizer, make_optimizer
from keras_transfer.optimizers.learning_rates import (
    check_learning_rate,
    get_learning_rates,
    set_learning_rates,
    sub_optimizers,
)
from keras_transfer.optimizers.state import copy_optimizer_state

__all__ = [
    "HEAD_GROUP",
    "check_learning_rate",
    "copy_optimizer",
    "copy_optimizer_state",
    "discriminative",
    "get_learning_rates",
    "group_learning_rates",
    "group_optimizer",
    "make_optimizer",
    "set_learning_rates",
    "sub_optimizers",
]
