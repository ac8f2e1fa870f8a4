"""keras_transfer: transfer learning on Keras 3 as a product.

The public API, re-exported explicitly:

- ``keras_transfer.backbones``: ``get``, ``list_backbones``, ``Backbone``, ``BackboneSpec``, ``register``.
- ``keras_transfer.export(model, path, format=...)``: SavedModel / TFLite / ONNX with a parity check.
- ``keras_transfer.ClassificationHead`` and ``keras_transfer.RegressionHead`` (``keras_transfer.heads``).
- ``keras_transfer.TransferModel`` and ``keras_transfer.fine_tune``.
- ``keras_transfer.Recipe``: a whole transfer run from one YAML / JSON config (``keras-transfer fit``).
- ``keras_transfer.augmentation``: in-model augmentation presets, MixUp / CutMix, SpecAugment, token masking.
- ``keras_transfer.data``: datasets (offline sets, image folders, arrays, tfds).
- ``keras_transfer.weights``: weight sources (``read_torch_checkpoint``, offline ImageNet packages).

Importing the package is cheap: every name is loaded on first use (PEP 562 ``__getattr__`` over the explicit
tables below), so ``import keras_transfer`` and the ``keras-transfer`` command line start without TensorFlow.
One exception: when ``keras`` is already imported (TensorFlow is loaded anyway), ``import keras_transfer``
registers the toolkit's Keras-serialisable classes at once, so ``keras.saving.load_model("model.keras")``
finds them without any ``kt`` name being touched first.

Examples:
>>> import keras_transfer as kt
>>> kt.__version__
'0.1.0'
>>> kt.TransferModel.__name__
'TransferModel'
"""

import importlib
import sys
from typing import TYPE_CHECKING

__version__ = "0.1.0"

# The public names: what the README and the notebooks in examples/ use. ``Backbone`` (``kt.backbones.Backbone``),
# ``export_model`` (the alias of ``kt.export(...)``), ``heads`` (its classes are here), ``layers`` and
# ``testing`` (the docstrings' tiny backbone) still resolve; ``dir(keras_transfer)`` lists them.
__all__ = [
    "ClassificationHead",
    "FineTuneHistory",
    "MultiTaskModel",
    "Recipe",
    "RegressionHead",
    "TransferModel",
    "adaptation",
    "augmentation",
    "backbones",
    "calibrate",
    "callbacks",
    "data",
    "errors",
    "evaluation",
    "export",
    "features",
    "fine_tune",
    "growth",
    "interpret",
    "load_model",
    "lr_find",
    "optimizers",
    "predict",
    "rank_backbones",
    "recipe",
    "set_seed",
    "tune",
    "weights",
]

# Public name -> (module, attribute): ``kt.NAME`` is ``getattr(import_module(module), attribute)``.
_ATTRIBUTES = {
    "Backbone": ("keras_transfer.backbones", "Backbone"),
    "ClassificationHead": ("keras_transfer.heads", "ClassificationHead"),
    "FineTuneHistory": ("keras_transfer.training", "FineTuneHistory"),
    "MultiTaskModel": ("keras_transfer.models", "MultiTaskModel"),
    "Recipe": ("keras_transfer.recipe", "Recipe"),  # keras-transfer fit: a whole run from one config file
    "RegressionHead": ("keras_transfer.heads", "RegressionHead"),
    "TransferModel": ("keras_transfer.models", "TransferModel"),
    "calibrate": ("keras_transfer.evaluation", "calibrate"),  # temperature scaling, kept in .keras and exports
    "export_model": ("keras_transfer.export", "export"),  # alias: kt.export(...) calls the same function
    "fine_tune": ("keras_transfer.training", "fine_tune"),
    "interpret": ("keras_transfer.evaluation", "interpret"),  # top losses, most confused, Grad-CAM
    "load_model": ("keras_transfer.models", "load_model"),
    "lr_find": ("keras_transfer.training.lr_find", "lr_find"),
    "predict": ("keras_transfer.evaluation", "predict"),  # with test-time augmentation (tta=8)
    "rank_backbones": ("keras_transfer.selection", "rank_backbones"),  # keras-transfer rank: LogME / probe / k-NN
    "set_seed": ("keras_transfer.training", "set_seed"),
    "tune": ("keras_transfer.tuning", "tune"),  # keras-transfer tune: KerasTuner over a whole recipe
}

# Sub-packages reachable as attributes: the public ones, plus those the eager package used to load.
_SUBMODULES = (
    "augmentation", "backbones", "callbacks", "data", "errors", "export", "features", "growth", "optimizers",
    "evaluation", "recipe", "weights",
    "heads", "layers", "testing",  # testing: the docs' tiny backbone
    "cli", "models", "training",
    "selection", "tuning", "adaptation", "serving",
)

if TYPE_CHECKING:  # the real imports, for type checkers and IDEs only
    from keras_transfer import augmentation, backbones, callbacks, data, errors, export, features, growth, heads
    from keras_transfer import layers, optimizers, recipe, testing, weights
    from keras_transfer.backbones import Backbone
    from keras_transfer.evaluation import calibrate, interpret, predict
    from keras_transfer.export import export as export_model
    from keras_transfer.heads import ClassificationHead, RegressionHead
    from keras_transfer.models import MultiTaskModel, TransferModel, load_model
    from keras_transfer.recipe import Recipe
    from keras_transfer.training import FineTuneHistory, fine_tune, set_seed
    from keras_transfer.training.lr_find import lr_find


def __getattr__(name: str):
    """Import a public name on first use (PEP 562) and keep it in the package namespace."""
    if name in _ATTRIBUTES:
        module, attribute = _ATTRIBUTES[name]
        value = getattr(importlib.import_module(module), attribute)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(
            f"module {__name__!r} has no attribute {name!r}; its public names are listed in "
            f"keras_transfer.__all__. Received: {name!r}."
        )
    globals()[name] = value
    return value


def __dir__():
    """The module's names plus every lazily imported public name."""
    return sorted(set(globals()) | set(__all__) | set(_SUBMODULES))


if "keras" in sys.modules:  # Keras (hence TensorFlow) is loaded already: register what a .keras file may name
    from keras_transfer.models.serializables import register_serializables

    register_serializables()
