"""Learning-rate suggestions from an LR-finder sweep: pure functions of the recorded rates and losses."""

from typing import Sequence

import numpy as np

from keras_transfer.errors import InvalidConfigError, InvalidInputError

__all__ = ["SUGGESTIONS", "suggest_lr", "suggest_minimum", "suggest_steepest", "suggest_valley"]


def _check(lrs, losses, minimum=2):
    lrs = np.asarray(lrs, dtype="float64")
    losses = np.asarray(losses, dtype="float64")
    if lrs.ndim != 1 or lrs.shape != losses.shape:
        raise InvalidInputError(
            f"lrs and losses must be 1-D and of equal length. Received: shapes {lrs.shape} and {losses.shape}."
        )
    finite = np.isfinite(losses) & np.isfinite(lrs) & (lrs > 0)
    lrs, losses = lrs[finite], losses[finite]
    if len(lrs) < minimum:
        raise InvalidInputError(
            f"An LR suggestion needs at least {minimum} finite points. Received: {len(lrs)} finite points. "
            "Run the sweep for more steps (steps=100) or over a wider range."
        )
    return lrs, losses


def suggest_valley(lrs: Sequence[float], losses: Sequence[float]) -> float:
    """fastai's "valley": a rate two thirds of the way down the longest decreasing stretch of the loss curve.

    Args:
        lrs: increasing learning rates of the sweep.
        losses: (smoothed) loss at each rate.

    Returns:
        float.

    Raises:
        InvalidInputError: fewer than 2 finite points or mismatched lengths.

    Examples:
    >>> lrs = [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0]
    >>> keras_transfer.callbacks.suggest_valley(lrs, [3.0, 2.9, 2.0, 1.2, 0.8, 0.7, 5.0])
    0.0001
    """
    lrs, losses = _check(lrs, losses)
    n = len(losses)
    longest = [1] * n  # longest strictly decreasing subsequence ending at i
    max_start = max_end = 0
    for i in range(1, n):
        for j in range(i):
            if losses[i] < losses[j] and longest[i] < longest[j] + 1:
                longest[i] = longest[j] + 1
            if longest[max_end] < longest[i]:
                max_end = i
                max_start = max_end - longest[max_end]
    sections = (max_end - max_start) / 3
    index = max_start + int(sections) + int(sections / 2)
    return float(lrs[min(max(index, 0), n - 1)])


def suggest_steepest(lrs: Sequence[float], losses: Sequence[float]) -> float:
    """The rate where the loss falls fastest against log(lr).

    Args:
        lrs: increasing learning rates.
        losses: (smoothed) losses.

    Returns:
        float.

    Examples:
    >>> keras_transfer.callbacks.suggest_steepest([1e-4, 1e-3, 1e-2, 1e-1], [1.0, 0.9, 0.3, 0.2])
    0.001
    """
    lrs, losses = _check(lrs, losses)
    slope = np.gradient(losses, np.log(lrs))
    return float(lrs[int(np.argmin(slope))])


def suggest_minimum(lrs: Sequence[float], losses: Sequence[float]) -> float:
    """One tenth of the rate with the lowest loss (fastai's "minimum / 10").

    Args:
        lrs: learning rates.
        losses: (smoothed) losses.

    Returns:
        float.

    Examples:
    >>> keras_transfer.callbacks.suggest_minimum([1e-4, 1e-3, 1e-2], [1.0, 0.5, 3.0])
    0.0001
    """
    lrs, losses = _check(lrs, losses, minimum=1)
    return float(lrs[int(np.argmin(losses))] / 10)


SUGGESTIONS = {"valley": suggest_valley, "steepest": suggest_steepest, "minimum": suggest_minimum}


def suggest_lr(lrs: Sequence[float], losses: Sequence[float], method: str = "valley") -> float:
    """Apply one of the suggestion rules by name.

    Args:
        lrs: learning rates.
        losses: losses.
        method: ``"valley"``, ``"steepest"`` or ``"minimum"``.

    Returns:
        float.

    Raises:
        InvalidInputError: too few points. ``keras_transfer.errors.InvalidConfigError``: unknown method.

    Examples:
    >>> keras_transfer.callbacks.suggest_lr([1e-4, 1e-3, 1e-2], [1.0, 0.5, 3.0], "minimum")
    0.0001
    """
    if method not in SUGGESTIONS:
        raise InvalidConfigError(
            f"Unknown LR suggestion method. Received: method={method!r}. Use one of {sorted(SUGGESTIONS)}."
        )
    return SUGGESTIONS[method](lrs, losses)
