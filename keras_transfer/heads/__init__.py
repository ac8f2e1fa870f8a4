"""Heads: the small trainable networks put on top of a backbone."""

from keras_transfer.heads.classification import ClassificationHead
from keras_transfer.heads.head import Head
from keras_transfer.heads.regression import RegressionHead

__all__ = ["ClassificationHead", "Head", "RegressionHead"]
