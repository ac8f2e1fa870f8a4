"""Training loops: the staged transfer recipe.

Lazy (PEP 562): ``keras_transfer.training.options`` (and so the recipe's schema) loads without Keras; the names
below load their module on first use.
"""

import importlib
import sys
import types

_EXPORTS = {
    "FineTuneHistory": "keras_transfer.callbacks.history",
    "FineTuneOptions": "keras_transfer.training.options",
    "LRFinderResult": "keras_transfer.training.lr_find",
    "NanGuard": "keras_transfer.training.nan_guard",
    "TrainingCheckpoint": "keras_transfer.training.checkpoint",
    "epoch_shuffled_dataset": "keras_transfer.training.epoch_data",
    "fine_tune": "keras_transfer.training.fine_tune",
    "lr_find": "keras_transfer.training.lr_find",
    "make_optimizer": "keras_transfer.optimizers.factory",
    "set_seed": "keras_transfer.training.seed",
}

__all__ = sorted(_EXPORTS)
#: Functions named like the module defining them: ``keras_transfer.training.fine_tune`` is the function.
_SHADOWED = {"fine_tune", "lr_find"}


class _Package(types.ModuleType):
    """Keeps ``fine_tune`` / ``lr_find`` the functions when the import system binds their modules here."""

    def __setattr__(self, name, value):
        if name in _SHADOWED and isinstance(value, types.ModuleType):
            return  # the submodule stays reachable through sys.modules (``from ... import`` works as before)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
