"""`AutoLR`: ramp each backbone group's rate up after it is unfrozen, and log every rate each epoch."""

import math
from typing import Dict, Optional

import keras

from keras_transfer.errors import InvalidConfigError
from keras_transfer.optimizers.learning_rates import check_learning_rate, get_learning_rates, set_learning_rates

__all__ = ["AutoLR", "ramp_learning_rate"]


def ramp_learning_rate(epoch: int, unfrozen_at: int, start: float, target: float, ramp: float = 2.0) -> float:
    """Rate of a group ``epoch - unfrozen_at`` epochs after unfreezing: ``start × ramp**k``, capped at ``target``.

    A pure function of position; before ``unfrozen_at`` the group keeps ``start``.

    Args:
        epoch: int. Epoch index (continuing across stages).
        unfrozen_at: int. First epoch the group trained.
        start: float > 0. Rate in that first epoch.
        target: float ≥ start. Rate it aligns with.
        ramp: float ≥ 1. Growth per epoch (2: doubling).

    Returns:
        float.

    Examples:
    >>> [keras_transfer.callbacks.ramp_learning_rate(e, 3, 1e-4, 5e-4) for e in range(3, 7)]
    [0.0001, 0.0002, 0.0004, 0.0005]
    """
    k = max(0, epoch - unfrozen_at)
    return min(start * ramp**k, target) if target >= start else start


class AutoLR(keras.callbacks.Callback):
    """Per-group rate ramps after unfreezing, and per-epoch logging of every learning rate.

    For each named sub-optimizer (a layer group of a ``keras_transfer.optimizers.group_optimizer``), the rate
    follows ``ramp_learning_rate``: it starts low when the group is unfrozen and grows ``ramp``-fold per epoch
    until it reaches its ``target`` (aligned with the head, or with its discriminative share). The change is
    applied at each epoch start as a ratio to the current rate, so it composes with ``Warmup`` and with
    ``keras.callbacks.ReduceLROnPlateau``, and, being a function of the epoch, resumes correctly.

    At every epoch end the current rates go into the logs as ``learning_rate`` (single optimizer) or
    ``learning_rate_<group>`` (Keras' naming for a ``MultiOptimizer``), so ``History``, ``CSVLogger`` and
    ``TensorBoard`` (placed after this callback) record them.

    Args:
        start: dict ``{group: rate}``. Rates right after unfreezing (also the rates the optimizer is built with).
        target: dict ``{group: rate}``. Rates to ramp up to.
        unfrozen_at: dict ``{group: epoch}``. First training epoch of each group.
        ramp: float ≥ 1. Growth per epoch.

    Raises:
        InvalidConfigError: mismatched dicts, rates ≤ 0 or ``ramp < 1``.

    Examples:
    >>> auto = keras_transfer.callbacks.AutoLR(start={"top": 1e-4}, target={"top": 5e-4}, unfrozen_at={"top": 3})
    >>> auto.learning_rate("top", 5)
    0.0004
    """

    def __init__(
        self,
        start: Optional[Dict[str, float]] = None,
        target: Optional[Dict[str, float]] = None,
        unfrozen_at: Optional[Dict[str, int]] = None,
        ramp: float = 2.0,
    ):
        super().__init__()
        start, target, unfrozen_at = dict(start or {}), dict(target or {}), dict(unfrozen_at or {})
        if not (set(start) == set(target) == set(unfrozen_at)):
            raise InvalidConfigError(
                "AutoLR needs start, target and unfrozen_at for the same groups. Received: groups "
                f"{sorted(start)}, {sorted(target)} and {sorted(unfrozen_at)}."
            )
        for name in start:
            check_learning_rate(start[name], f"start[{name!r}]")
            check_learning_rate(target[name], f"target[{name!r}]")
        if isinstance(ramp, bool) or not isinstance(ramp, (int, float)) or not math.isfinite(ramp) or ramp < 1:
            raise InvalidConfigError(f"ramp must be a float ≥ 1 (2 doubles the rate per epoch). Received: ramp={ramp!r}.")
        self.start, self.target, self.unfrozen_at, self.ramp = start, target, unfrozen_at, float(ramp)

    def learning_rate(self, group: str, epoch: int) -> float:
        """The ramp's rate of ``group`` at ``epoch`` (before warmup and plateau factors)."""
        return ramp_learning_rate(epoch, self.unfrozen_at[group], self.start[group], self.target[group], self.ramp)

    def on_epoch_begin(self, epoch, logs=None):
        if not self.start:
            return
        current = get_learning_rates(self.model.optimizer)
        changes = {}
        for group in self.start:
            if group not in current or epoch <= self.unfrozen_at[group]:
                continue
            ratio = self.learning_rate(group, epoch) / self.learning_rate(group, epoch - 1)
            if ratio != 1.0:
                changes[group] = current[group] * ratio
        if changes:
            set_learning_rates(self.model.optimizer, changes)

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        rates = get_learning_rates(self.model.optimizer)
        if isinstance(self.model.optimizer, keras.optimizers.MultiOptimizer):
            for name, rate in rates.items():
                logs[f"learning_rate_{name}"] = rate
        else:
            logs["learning_rate"] = next(iter(rates.values()))
