"""`Warmup`: per-step linear warmup to each optimizer's base rate, then constant or cosine decay."""

import math
from typing import Dict, Optional

import keras

from keras_transfer.errors import InvalidConfigError
from keras_transfer.optimizers.learning_rates import get_learning_rates, set_learning_rates, sub_optimizers

__all__ = ["Warmup", "warmup_factor"]

_THEN = ("constant", "cosine")
_FLOOR = 1e-8


def warmup_factor(
    step: int, warmup_steps: int, total_steps: Optional[int] = None, then: str = "constant", min_factor: float = 0.0
) -> float:
    """Multiplier of the base learning rate at ``step`` (a pure function of position).

    Linear warmup: step ``s < warmup_steps`` gets ``(s + 1) / warmup_steps`` (never 0, so a rate set during
    warmup still tells its base). Afterwards ``1`` (``then="constant"``) or a half cosine from 1 down to
    ``min_factor`` at ``total_steps`` (``then="cosine"``), held there beyond.

    Args:
        step: int ≥ 0. Optimizer step (0 for the first batch).
        warmup_steps: int ≥ 0.
        total_steps: int. Steps of the whole schedule; needed for ``"cosine"``.
        then: ``"constant"`` or ``"cosine"``.
        min_factor: float in [0, 1]. Final multiplier of the cosine.

    Returns:
        float in ``(0, 1]`` (``[min_factor, 1]`` after warmup).

    Examples:
    >>> [keras_transfer.callbacks.warmup_factor(s, 4) for s in range(5)]
    [0.25, 0.5, 0.75, 1.0, 1.0]
    >>> keras_transfer.callbacks.warmup_factor(6, 2, total_steps=10, then="cosine")
    0.5
    """
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    if then == "constant":
        return 1.0
    span = max(1, int(total_steps) - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / span)
    return min_factor + (1.0 - min_factor) * 0.5 * (1.0 + math.cos(math.pi * progress))


class Warmup(keras.callbacks.Callback):
    """Warm every learning rate up from ~0 to its base each step, then hold it or decay it along a cosine.

    Works on a single optimizer or on every sub-optimizer of a ``keras.optimizers.MultiOptimizer`` (e.g.
    ``keras_transfer.optimizers.discriminative``), setting plain float rates before each batch: the base of
    each sub-optimizer is the rate it had when the callback first saw it. It composes with other callbacks
    that change rates multiplicatively between batches (``keras.callbacks.ReduceLROnPlateau``,
    ``keras_transfer.callbacks.AutoLR``): a change it did not make rescales that sub-optimizer's base.

    The position is the optimizer's own step counter (``optimizer.iterations``), which ``.keras`` files,
    ``save_weights`` and ``keras.callbacks.BackupAndRestore`` store with the optimizer; when a restored
    optimizer is first seen mid-schedule, its base is recovered as ``rate / warmup_factor(step - 1)``, so a
    resumed run continues the same curve. A fresh optimizer (a new training stage) restarts the warmup.

    Args:
        steps: int > 0. Warmup steps. Exactly one of ``steps`` / ``fraction``.
        fraction: float in (0, 1]. Warmup length as a fraction of the run's steps.
        then: ``"constant"`` or ``"cosine"`` (decay to ``min_factor`` × base at the end of the run).
        min_factor: float in [0, 1]. Final multiplier of the cosine.
        total_steps: int or None. Steps of the whole run; None takes ``steps × epochs`` from ``fit``.

    Raises:
        InvalidConfigError: bad arguments, a warmup longer than the training run, or an optimizer built
            with a ``LearningRateSchedule``.

    Examples:
    >>> warmup = keras_transfer.callbacks.Warmup(fraction=0.1, then="cosine")
    >>> # model.fit(x, y, epochs=5, callbacks=[warmup])
    """

    def __init__(
        self,
        steps: Optional[int] = None,
        fraction: Optional[float] = None,
        then: str = "constant",
        min_factor: float = 0.0,
        total_steps: Optional[int] = None,
    ):
        super().__init__()
        if (steps is None) == (fraction is None):
            raise InvalidConfigError(
                f"Warmup needs exactly one of steps= or fraction=. Received: steps={steps!r}, fraction={fraction!r}."
            )
        if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int) or steps < 1):
            raise InvalidConfigError(f"steps must be an int ≥ 1. Received: steps={steps!r}.")
        if fraction is not None and (
            isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 < fraction <= 1
        ):
            raise InvalidConfigError(f"fraction must be in (0, 1]. Received: fraction={fraction!r}.")
        if then not in _THEN:
            raise InvalidConfigError(f"Unknown then={then!r}. Received: then={then!r}. Use 'constant' or 'cosine'.")
        if not 0.0 <= float(min_factor) <= 1.0:
            raise InvalidConfigError(f"min_factor must be in [0, 1]. Received: min_factor={min_factor!r}.")
        if total_steps is not None and (isinstance(total_steps, bool) or not isinstance(total_steps, int) or total_steps < 1):
            raise InvalidConfigError(f"total_steps must be an int ≥ 1. Received: total_steps={total_steps!r}.")
        self.steps = steps
        self.fraction = fraction
        self.then = then
        self.min_factor = float(min_factor)
        self.total_steps = total_steps
        self._bases: Dict[str, float] = {}
        self._last: Dict[str, float] = {}
        self._seen: Dict[str, int] = {}
        self._run_steps: Optional[int] = None
        self._first_epoch: Optional[int] = None

    # ------------------------------------------------------------ schedule
    @property
    def warmup_steps(self) -> int:
        """Warmup length in steps (known once training started when given as a fraction)."""
        if self.steps is not None:
            return self.steps
        total = self._total()
        if total is None:
            raise InvalidConfigError("Warmup(fraction=...) knows its length only once fit() has started.")
        return max(1, int(round(self.fraction * total)))

    def _total(self) -> Optional[int]:
        return self.total_steps if self.total_steps is not None else self._run_steps

    def factor(self, step: int) -> float:
        """The multiplier of the base rates at optimizer step ``step``."""
        return warmup_factor(step, self.warmup_steps, self._total(), self.then, self.min_factor)

    @property
    def base_learning_rates(self) -> Dict[str, float]:
        """Base rate of each sub-optimizer, by name (after any multiplicative changes by other callbacks)."""
        return dict(self._bases)

    # ------------------------------------------------------------ hooks
    def on_train_begin(self, logs=None):
        get_learning_rates(self.model.optimizer)  # fail early on a schedule
        self._first_epoch = None
        self._run_steps = None

    def on_epoch_begin(self, epoch, logs=None):
        if self._first_epoch is not None:
            return
        self._first_epoch = epoch
        params = self.params or {}
        steps, epochs = params.get("steps"), params.get("epochs")
        if steps and epochs:
            # Counted on the optimizer's step: a run resumed mid-way keeps the length of the original run.
            done = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
            self._run_steps = done + int(steps) * max(1, int(epochs) - epoch)
        total = self._total()
        if self.steps is not None and total is not None and self.steps > total:
            raise InvalidConfigError(
                f"The warmup is longer than the training run: {self.steps} warmup steps for {total} steps. "
                f"Received: steps={self.steps}. Use fewer steps or Warmup(fraction=...)."
            )
        if self.then == "cosine" and total is None:
            raise InvalidConfigError(
                "Warmup(then='cosine') needs the run length. Received: total_steps=None and fit() did not report "
                "steps per epoch (a dataset of unknown size). Pass total_steps=..."
            )

    def on_train_batch_begin(self, batch, logs=None):
        optimizer = self.model.optimizer
        step = int(keras.ops.convert_to_numpy(optimizer.iterations))
        current = get_learning_rates(optimizer)
        subs = {sub.name: sub for sub in sub_optimizers(optimizer)}
        for name, rate in current.items():
            sub = subs[name]
            if self._seen.get(name) != id(sub):
                self._adopt(name, sub, rate, step)
            elif rate != self._last[name]:
                # Someone else (plateau reduction, a ramp) changed the rate multiplicatively: move the base along.
                self._bases[name] *= rate / self._last[name]
        factor = max(self.factor(step), _FLOOR)  # a finished cosine keeps a tiny positive rate
        stored = set_learning_rates(optimizer, {name: self._bases[name] * factor for name in current})
        self._last.update(stored)

    def _adopt(self, name, sub, rate, step):
        sub_steps = int(keras.ops.convert_to_numpy(sub.iterations))
        if step == 0 or (sub_steps == 0 and name not in self._last):
            self._bases[name] = rate  # a fresh optimizer (new stage): its rate is the base
        elif name in self._last and rate == self._last[name]:
            pass  # the same rate carried over by a recompile (copy_optimizer_state): keep the base
        elif sub_steps == 0:
            self._bases[name] = rate  # a group unfrozen mid-run joins with its own base
        else:
            self._bases[name] = rate / max(self.factor(step - 1), _FLOOR)  # restored mid-schedule
        self._seen[name] = id(sub)
        self._last[name] = rate

    def get_config(self):
        return {
            "steps": self.steps,
            "fraction": self.fraction,
            "then": self.then,
            "min_factor": self.min_factor,
            "total_steps": self.total_steps,
        }
