"""Models that combine a backbone with heads."""

from keras_transfer.models.base_transfer_model import BaseTransferModel
from keras_transfer.models.loading import load_model
from keras_transfer.models.multi_task_model import MultiTaskModel
from keras_transfer.models.shift_bias import DistributionShiftBias
from keras_transfer.models.transfer_model import TransferModel

__all__ = ["BaseTransferModel", "DistributionShiftBias", "MultiTaskModel", "TransferModel", "load_model"]
