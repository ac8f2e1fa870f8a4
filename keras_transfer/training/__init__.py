"""Training loops: the staged transfer recipe."""

from keras_transfer.training.fine_tune import fine_tune, make_optimizer
from keras_transfer.training.history import FineTuneHistory

__all__ = ["FineTuneHistory", "fine_tune", "make_optimizer"]
