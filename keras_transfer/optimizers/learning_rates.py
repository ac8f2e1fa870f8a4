"""Read and set plain float learning rates on an optimizer or on every sub-optimizer of a `MultiOptimizer`."""

import math
from typing import Dict, List

import keras

from keras_transfer.errors import InvalidConfigError

__all__ = ["check_learning_rate", "get_learning_rates", "set_learning_rates", "sub_optimizers"]


def check_learning_rate(value, name: str = "lr") -> float:
    """A learning rate as a positive finite float.

    Args:
        value: the learning rate to check.
        name: str. Argument name used in the error message.

    Returns:
        float.

    Raises:
        InvalidConfigError: ``value`` is not a number, ≤ 0, NaN or infinite.

    Examples:
    >>> keras_transfer.optimizers.check_learning_rate(1e-3)
    0.001
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise InvalidConfigError(
            f"{name} must be a positive finite float. Received: {name}={value!r}. Use e.g. {name}=1e-3."
        )
    return float(value)


def sub_optimizers(optimizer) -> List[keras.optimizers.Optimizer]:
    """The optimizers that own a learning rate: the sub-optimizers of a ``MultiOptimizer``, else ``[optimizer]``.

    Args:
        optimizer: keras.optimizers.Optimizer (a ``LossScaleOptimizer`` is unwrapped).

    Returns:
        list of keras.optimizers.Optimizer.

    Examples:
    >>> [o.name for o in keras_transfer.optimizers.sub_optimizers(keras.optimizers.SGD(0.1, name="sgd"))]
    ['sgd']
    """
    optimizer = getattr(optimizer, "inner_optimizer", optimizer)
    if isinstance(optimizer, keras.optimizers.MultiOptimizer):
        return list(optimizer.optimizers)
    return [optimizer]


def _check_settable(optimizer):
    if isinstance(optimizer._learning_rate, keras.optimizers.schedules.LearningRateSchedule) or not isinstance(
        optimizer._learning_rate, keras.Variable
    ):
        raise InvalidConfigError(
            f"Optimizer {optimizer.name!r} was built with a LearningRateSchedule (or a callable) as its "
            "learning_rate. Its learning rate is computed from the step inside the compiled train step, so a callback "
            "cannot set it (Keras refuses the assignment), and warmup, plateau reduction, LR ramps and the LR finder "
            "would silently do nothing. Received: learning_rate="
            f"{type(optimizer._learning_rate).__name__}. Build the optimizer (every sub-optimizer of a MultiOptimizer) "
            "with a float learning_rate and express the schedule with keras_transfer.callbacks.Warmup(then='cosine')."
        )


def get_learning_rates(optimizer) -> Dict[str, float]:
    """Current learning rate of each (sub-)optimizer, by optimizer name.

    Args:
        optimizer: keras.optimizers.Optimizer or MultiOptimizer with float learning rates.

    Returns:
        dict ``{optimizer name: learning rate}``, in sub-optimizer order.

    Raises:
        InvalidConfigError: a (sub-)optimizer uses a ``LearningRateSchedule``.

    Examples:
    >>> keras_transfer.optimizers.get_learning_rates(keras.optimizers.SGD(0.5, name="sgd"))
    {'sgd': 0.5}
    """
    rates = {}
    for sub in sub_optimizers(optimizer):
        _check_settable(sub)
        rates[sub.name] = float(keras.ops.convert_to_numpy(sub._learning_rate))
    return rates


def set_learning_rates(optimizer, rates) -> Dict[str, float]:
    """Assign plain float learning rates.

    Args:
        optimizer: keras.optimizers.Optimizer or MultiOptimizer with float learning rates.
        rates: a float for every (sub-)optimizer, or a dict ``{optimizer name: float}`` (names not in the dict
            keep their rate).

    Returns:
        dict ``{optimizer name: learning rate}`` as stored (float32 round-trip).

    Raises:
        InvalidConfigError: a schedule-driven optimizer, a rate ≤ 0, or a name that is not a sub-optimizer.

    Examples:
    >>> sgd = keras.optimizers.SGD(0.5, name="sgd")
    >>> keras_transfer.optimizers.set_learning_rates(sgd, 0.25)
    {'sgd': 0.25}
    """
    subs = sub_optimizers(optimizer)
    names = [sub.name for sub in subs]
    if isinstance(rates, dict):
        unknown = sorted(set(rates) - set(names))
        if unknown:
            raise InvalidConfigError(
                f"Unknown sub-optimizer names {unknown}. Received: rates for {sorted(rates)}; the optimizer has {names}."
            )
    for sub in subs:
        value = rates.get(sub.name) if isinstance(rates, dict) else rates
        if value is None:
            continue
        _check_settable(sub)
        sub._learning_rate.assign(check_learning_rate(float(value), f"learning rate of {sub.name!r}"))
    return get_learning_rates(optimizer)
