"""Carry optimizer state (moments, step counts, learning rates) over to a new optimizer after a recompile."""

import keras

__all__ = ["copy_optimizer_state"]


def copy_optimizer_state(source, target, trainable_variables=None) -> int:
    """Copy every optimizer variable of ``source`` that ``target`` also has, matched by variable path.

    Unfreezing more layers means recompiling with a new optimizer (Keras builds an optimizer once, for the
    variables trainable at that time). The moment estimates of variables that were already trainable, the step
    counters and the current learning rates are copied across, so only the newly trainable variables start
    fresh. Slot variables are named after the model variable they follow (``adam/block3_conv_kernel_momentum``),
    and sub-optimizers of a ``MultiOptimizer`` after their layer group, so paths identify them.

    Args:
        source: keras.optimizers.Optimizer. The old optimizer (built).
        target: keras.optimizers.Optimizer of the same kind. Built here on ``trainable_variables`` when needed.
        trainable_variables: list of variables to build ``target`` on (the model's new trainable variables).

    Returns:
        int: number of variables copied.

    Examples:
    >>> a, b = keras.optimizers.Adam(0.1, name="adam"), keras.optimizers.Adam(0.1, name="adam")
    >>> v = keras.Variable([1.0], name="v")
    >>> a.apply([keras.ops.ones(1)], [v])
    >>> keras_transfer.optimizers.copy_optimizer_state(a, b, [v])
    4
    """
    if not target.built:
        if trainable_variables is None:
            raise ValueError("target optimizer is not built: pass trainable_variables to build it on.")
        target.build(trainable_variables)
    if not getattr(source, "built", False):
        return 0
    by_path = {v.path: v for v in source.variables}
    copied = 0
    for variable in target.variables:
        old = by_path.get(variable.path)
        if old is not None and tuple(old.shape) == tuple(variable.shape):
            variable.assign(keras.ops.convert_to_numpy(old))
            copied += 1
    return copied
