"""`register_serializables`: make every Keras-serialisable class of the toolkit known before a ``.keras`` load.

``import keras_transfer`` is lazy (nothing is imported until used), and Keras finds a saved model's custom
classes (``keras_transfer>TransferModel``, heads, backbones, augmentation layers) only once the modules that
define them have run their ``@keras.saving.register_keras_serializable`` decorators. Every toolkit code path
that loads a ``.keras`` file calls this first.
"""

import importlib

__all__ = ["SERIALIZABLE_MODULES", "register_serializables"]

SERIALIZABLE_MODULES = (
    "keras_transfer.augmentation",
    "keras_transfer.backbones",
    "keras_transfer.heads",
    "keras_transfer.models",
    "keras_transfer.models.temperature_scaling",  # TemperatureScaling: keras_transfer.calibrate's layer
)


def register_serializables() -> tuple:
    """Import every toolkit module that registers Keras-serialisable classes.

    Call it before ``keras.saving.load_model`` on a file saved from toolkit models, in a process that may
    not have used those classes yet (``keras_transfer.load_model`` does it for you).

    Returns:
        tuple of str: the modules imported (``SERIALIZABLE_MODULES``).

    Examples:
    >>> from keras_transfer.models.serializables import register_serializables
    >>> "keras_transfer.heads" in register_serializables()
    True
    >>> keras.saving.get_registered_object("keras_transfer>ClassificationHead").__name__
    'ClassificationHead'
    """
    for name in SERIALIZABLE_MODULES:
        importlib.import_module(name)
    return SERIALIZABLE_MODULES
