"""keras_transfer: transfer learning on Keras 3 as a product.

The public API, re-exported explicitly:

- ``keras_transfer.backbones``: ``get``, ``list_backbones``, ``Backbone``, ``BackboneSpec``, ``register``.
- ``keras_transfer.heads``: ``ClassificationHead``, ``RegressionHead``.
- ``keras_transfer.TransferModel`` and ``keras_transfer.fine_tune``.
- ``keras_transfer.Recipe``: a whole transfer run from one YAML / JSON config (``keras-transfer fit``).
- ``keras_transfer.augmentation``: in-model augmentation presets, MixUp / CutMix, SpecAugment, token masking.
- ``keras_transfer.data``: datasets (offline sets, image folders, arrays, tfds).
- ``keras_transfer.weights``: weight sources (``read_torch_checkpoint``, offline ImageNet packages).
"""

from keras_transfer import augmentation, backbones, callbacks, errors, features, heads, optimizers
from keras_transfer import data, growth, layers, testing, weights  # testing: the docs' tiny backbone
from keras_transfer.backbones import Backbone
from keras_transfer.export import export as export_model  # the package is keras_transfer.export
from keras_transfer.heads import ClassificationHead, RegressionHead
from keras_transfer.models import MultiTaskModel, TransferModel, load_model
from keras_transfer.recipe import Recipe  # keras-transfer fit: a whole run from one config file
from keras_transfer.training import FineTuneHistory, fine_tune, set_seed
from keras_transfer.training.lr_find import lr_find

__version__ = "0.1.0"

__all__ = [
    "Backbone",
    "ClassificationHead",
    "FineTuneHistory",
    "MultiTaskModel",
    "Recipe",
    "RegressionHead",
    "TransferModel",
    "augmentation",
    "backbones",
    "callbacks",
    "data",
    "errors",
    "export",
    "export_model",
    "features",
    "fine_tune",
    "growth",
    "heads",
    "layers",
    "load_model",
    "lr_find",
    "optimizers",
    "set_seed",
    "testing",
    "weights",
]
