"""`LRFinder`: the exponential learning-rate sweep (Smith's LR range test) as a Keras callback."""

import math
from typing import List

import keras

from keras_transfer.errors import InvalidConfigError
from keras_transfer.optimizers.learning_rates import check_learning_rate, get_learning_rates, set_learning_rates

__all__ = ["LRFinder", "sweep_learning_rate"]


def sweep_learning_rate(step: int, start_lr: float, end_lr: float, steps: int) -> float:
    """Rate at ``step`` of an exponential sweep from ``start_lr`` (step 0) to ``end_lr`` (step ``steps - 1``).

    Args:
        step: int ≥ 0.
        start_lr: float > 0.
        end_lr: float > start_lr.
        steps: int ≥ 2.

    Returns:
        float.

    Examples:
    >>> [round(keras_transfer.callbacks.sweep_learning_rate(s, 1e-3, 1e-1, 3), 6) for s in range(3)]
    [0.001, 0.01, 0.1]
    """
    return start_lr * (end_lr / start_lr) ** (step / (steps - 1))


class LRFinder(keras.callbacks.Callback):
    """Raise the learning rate exponentially every batch and record the loss; stop once it diverges.

    With a ``MultiOptimizer`` the sub-optimizer with the highest rate follows the sweep and the others keep
    their ratio to it (so discriminative spreads are swept as a whole). Losses are recorded per batch (the
    running mean Keras reports is turned back into the batch's own loss, assuming equal batch sizes) and
    smoothed with an exponential moving average; the sweep stops when the smoothed loss exceeds
    ``stop_factor`` × its best, becomes NaN, or after ``steps`` batches. The callback does not restore
    anything: ``keras_transfer.lr_find`` wraps it and restores weights and optimizer state.

    Args:
        start_lr: float > 0. First rate.
        end_lr: float > start_lr. Last rate.
        steps: int ≥ 2. Batches of the sweep.
        stop_factor: float > 1. Divergence threshold relative to the best smoothed loss.
        smoothing: float in [0, 1). EMA coefficient of the smoothed loss (0: no smoothing).

    Attributes:
        lrs: list of float, the swept rate at each recorded batch.
        losses: list of float, each batch's loss.
        smoothed_losses: list of float.
        stopped_early: bool, True when the loss diverged before ``steps`` batches.

    Raises:
        InvalidConfigError: bad arguments or an optimizer with a ``LearningRateSchedule``.

    Examples:
    >>> finder = keras_transfer.callbacks.LRFinder(start_lr=1e-6, end_lr=1.0, steps=50)
    >>> # model.fit(x, y, epochs=50, steps_per_epoch=1, callbacks=[finder]); finder.lrs, finder.losses
    """

    def __init__(self, start_lr=1e-7, end_lr=10.0, steps: int = 100, stop_factor: float = 4.0, smoothing=0.98):
        super().__init__()
        start_lr = check_learning_rate(start_lr, "start_lr")
        end_lr = check_learning_rate(end_lr, "end_lr")
        if end_lr <= start_lr:
            raise InvalidConfigError(
                f"end_lr must be above start_lr. Received: start_lr={start_lr}, end_lr={end_lr}. Try 1e-7 and 10."
            )
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 2:
            raise InvalidConfigError(f"steps must be an int ≥ 2. Received: steps={steps!r}. Use e.g. steps=100.")
        if not float(stop_factor) > 1:
            raise InvalidConfigError(f"stop_factor must be > 1. Received: stop_factor={stop_factor!r}.")
        if not 0.0 <= float(smoothing) < 1.0:
            raise InvalidConfigError(f"smoothing must be in [0, 1). Received: smoothing={smoothing!r}.")
        self.start_lr, self.end_lr, self.steps = start_lr, end_lr, steps
        self.stop_factor, self.smoothing = float(stop_factor), float(smoothing)
        self.lrs: List[float] = []
        self.losses: List[float] = []
        self.smoothed_losses: List[float] = []
        self.stopped_early = False

    def on_train_begin(self, logs=None):
        bases = get_learning_rates(self.model.optimizer)
        top = max(bases.values())
        self._ratios = {name: rate / top for name, rate in bases.items()}
        self.lrs, self.losses, self.smoothed_losses = [], [], []
        self.stopped_early = False
        self._average, self._best, self._previous_mean = 0.0, math.inf, 0.0

    def on_train_batch_begin(self, batch, logs=None):
        rate = sweep_learning_rate(len(self.lrs), self.start_lr, self.end_lr, self.steps)
        set_learning_rates(self.model.optimizer, {name: rate * r for name, r in self._ratios.items()})
        self._rate = rate

    def on_train_batch_end(self, batch, logs=None):
        mean = float((logs or {}).get("loss", math.nan))
        # Keras reports the running mean over the epoch: recover this batch's own loss.
        loss = mean if batch == 0 else (batch + 1) * mean - batch * self._previous_mean
        self._previous_mean = mean
        step = len(self.lrs)
        self._average = self.smoothing * self._average + (1 - self.smoothing) * loss
        smoothed = self._average / (1 - self.smoothing ** (step + 1))
        self.lrs.append(self._rate)
        self.losses.append(loss)
        self.smoothed_losses.append(smoothed)
        diverged = not math.isfinite(smoothed) or (step > 0 and smoothed > self.stop_factor * self._best)
        self._best = min(self._best, smoothed) if math.isfinite(smoothed) else self._best
        if diverged:
            self.stopped_early = True
        if diverged or len(self.lrs) >= self.steps:
            self.model.stop_training = True
