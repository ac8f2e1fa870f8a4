"""Reusable Keras layers of keras_transfer."""

from keras_transfer.models.shift_bias import DistributionShiftBias

__all__ = ["DistributionShiftBias"]
