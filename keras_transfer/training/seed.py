"""`set_seed`: one call for reproducible CPU runs."""

from keras_transfer.errors import InvalidConfigError

__all__ = ["set_seed"]


def set_seed(seed: int, deterministic_ops: bool = True) -> int:
    """Seed Python, NumPy, TensorFlow and Keras, and (by default) make TensorFlow ops deterministic.

    Call it before building the model: initial weights, dropout and augmentation seeds are drawn when layers
    are created. ``fine_tune(..., seed=...)`` additionally fixes the order of training batches per epoch.
    ``deterministic_ops`` calls ``tf.config.experimental.enable_op_determinism()``, which is process-wide (ops
    without a deterministic kernel then raise, and some get slower); two CPU runs with the same seed then give
    bit-identical weights.

    Args:
        seed: int ≥ 0.
        deterministic_ops: bool. Also enable TensorFlow's deterministic ops.

    Returns:
        int: the seed.

    Raises:
        InvalidConfigError: ``seed`` is not an int ≥ 0.

    Examples:
    >>> keras_transfer.set_seed(0, deterministic_ops=False)
    0
    """
    import keras

    check_seed(seed)
    keras.utils.set_random_seed(seed)  # Python's random, NumPy, TensorFlow and Keras' global SeedGenerator
    if deterministic_ops:
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    return seed


def check_seed(seed, allow_none: bool = False):
    """Raise ``InvalidConfigError`` unless ``seed`` is an int in [0, 2**32) (or None, with ``allow_none``)."""
    if seed is None and allow_none:
        return
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        raise InvalidConfigError(
            f"seed must be an int in [0, 2**32){' or None' if allow_none else ''}. Received: seed={seed!r}. "
            "Pass e.g. seed=0."
        )
