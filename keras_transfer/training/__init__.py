"""Training loops: the staged transfer recipe."""

from keras_transfer.training.checkpoint import TrainingCheckpoint
from keras_transfer.training.epoch_data import epoch_shuffled_dataset
from keras_transfer.training.fine_tune import fine_tune, make_optimizer
from keras_transfer.training.history import FineTuneHistory
from keras_transfer.training.lr_find import LRFinderResult, lr_find
from keras_transfer.training.nan_guard import NanGuard
from keras_transfer.training.seed import set_seed

__all__ = [
    "FineTuneHistory",
    "LRFinderResult",
    "NanGuard",
    "TrainingCheckpoint",
    "epoch_shuffled_dataset",
    "fine_tune",
    "lr_find",
    "make_optimizer",
    "set_seed",
]
