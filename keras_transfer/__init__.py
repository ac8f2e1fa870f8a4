"""keras_transfer: transfer learning on Keras 3 as a product.

The public API, re-exported explicitly:

- ``keras_transfer.backbones``: ``get``, ``list_backbones``, ``Backbone``, ``BackboneSpec``, ``register``.
- ``keras_transfer.heads``: ``ClassificationHead``, ``RegressionHead``.
- ``keras_transfer.TransferModel`` and ``keras_transfer.fine_tune``.
- ``keras_transfer.data``: datasets (offline sets, image folders, arrays, tfds).
- ``keras_transfer.weights``: weight sources (``read_torch_checkpoint``, offline ImageNet packages).
"""

from keras_transfer import backbones, errors, heads
from keras_transfer.backbones import Backbone
from keras_transfer.heads import ClassificationHead, RegressionHead
from keras_transfer.models import TransferModel
from keras_transfer.training import FineTuneHistory, fine_tune

__version__ = "0.1.0"

__all__ = [
    "Backbone",
    "ClassificationHead",
    "FineTuneHistory",
    "RegressionHead",
    "TransferModel",
    "backbones",
    "errors",
    "fine_tune",
    "heads",
]
