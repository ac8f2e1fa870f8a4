"""The one home of optimizer construction: an optimizer from a name, instance or callable, and a copy of an
optimizer at a new learning rate (used by ``fine_tune``'s stages, discriminative rates and per-task rates)."""

from typing import Optional

import keras

from keras_transfer.errors import InvalidConfigError

__all__ = ["copy_optimizer", "make_optimizer"]


def copy_optimizer(template: keras.optimizers.Optimizer, learning_rate: float,
                   name: Optional[str] = None) -> keras.optimizers.Optimizer:
    """A new optimizer of ``template``'s kind and config, at ``learning_rate`` (and renamed when ``name`` is given).

    Args:
        template: keras.optimizers.Optimizer. Its config is copied (never its state).
        learning_rate: float.
        name: str or None. The copy's name (sub-optimizers of a MultiOptimizer are named after their group).

    Returns:
        keras.optimizers.Optimizer.

    Examples:
    >>> copy = keras_transfer.optimizers.copy_optimizer(keras.optimizers.SGD(0.1, momentum=0.9), 0.01, "head")
    >>> type(copy).__name__, copy.name, round(float(copy.learning_rate), 4), copy.momentum
    ('SGD', 'head', 0.01, 0.9)
    """
    config = template.get_config()
    config["learning_rate"] = float(learning_rate)
    if name is not None:
        config["name"] = name
    return type(template).from_config(config)


def make_optimizer(optimizer, learning_rate: float) -> keras.optimizers.Optimizer:
    """A fresh optimizer of the given kind at ``learning_rate``.

    Each stage gets a new optimizer (its moment estimates belong to the weights that were trainable
    when it was built).

    Args:
        optimizer: a name (``"adam"``, ``"sgd"``, ...), a ``keras.optimizers.Optimizer`` whose config is
            copied, or a callable ``learning_rate -> Optimizer``.
        learning_rate: float.

    Returns:
        keras.optimizers.Optimizer.

    Raises:
        InvalidConfigError: an unknown name or another type.

    Examples:
    >>> round(float(keras_transfer.optimizers.make_optimizer("adam", 1e-4).learning_rate), 8)  # a float32 variable
    0.0001
    """
    if isinstance(optimizer, str):
        try:
            template = keras.optimizers.get(optimizer)
        except ValueError as error:
            raise InvalidConfigError(
                f"Unknown optimizer. Received: optimizer={optimizer!r}. Use a Keras optimizer name such as 'adam', "
                "'adamw', 'sgd', 'rmsprop', an optimizer instance, or a callable learning_rate -> optimizer."
            ) from error
    elif isinstance(optimizer, keras.optimizers.Optimizer):
        template = optimizer
    elif callable(optimizer):
        return optimizer(learning_rate)
    else:
        raise InvalidConfigError(
            f"Received: optimizer of type {type(optimizer).__name__}. Pass a name ('adam'), a "
            "keras.optimizers.Optimizer or a callable learning_rate -> optimizer."
        )
    return copy_optimizer(template, learning_rate)
