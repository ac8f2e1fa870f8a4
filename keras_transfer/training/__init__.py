"""Training loops: the staged transfer recipe."""

from keras_transfer.training.fine_tune import fine_tune, make_optimizer
from keras_transfer.training.history import FineTuneHistory
from keras_transfer.training.lr_find import LRFinderResult, lr_find

__all__ = ["FineTuneHistory", "LRFinderResult", "fine_tune", "lr_find", "make_optimizer"]
