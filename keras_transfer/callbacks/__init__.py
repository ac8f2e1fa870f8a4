"""Training-control callbacks: the staged History, warmup, LR finder, automatic per-group rate ramps, gradual unfreezing,
weight averaging (EMA)."""

from keras_transfer.callbacks.auto_lr import AutoLR, ramp_learning_rate
from keras_transfer.callbacks.ema import ExponentialMovingAverage
from keras_transfer.callbacks.history import FineTuneHistory
from keras_transfer.callbacks.lr_finder import LRFinder, sweep_learning_rate
from keras_transfer.callbacks.lr_suggestions import suggest_lr, suggest_minimum, suggest_steepest, suggest_valley
from keras_transfer.callbacks.unfreeze import GradualUnfreezing
from keras_transfer.callbacks.warmup import Warmup, warmup_factor

__all__ = [
    "AutoLR",
    "ExponentialMovingAverage",
    "FineTuneHistory",
    "GradualUnfreezing",
    "LRFinder",
    "Warmup",
    "ramp_learning_rate",
    "suggest_lr",
    "suggest_minimum",
    "suggest_steepest",
    "suggest_valley",
    "sweep_learning_rate",
    "warmup_factor",
]

from keras_transfer.callbacks.bias_init import BiasInitializer, prior_bias  # noqa: E402

__all__ += ["BiasInitializer", "prior_bias"]
