"""Models that combine a backbone with heads."""

from keras_transfer.models.transfer_model import TransferModel

__all__ = ["TransferModel"]
