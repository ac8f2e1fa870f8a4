"""`lr_find`: run the LR range test on a compiled model and put every weight and optimizer variable back."""

import dataclasses
from pathlib import Path
from typing import Dict, List

import keras
import numpy as np
import tensorflow as tf

from keras_transfer.callbacks.lr_finder import LRFinder
from keras_transfer.callbacks.lr_suggestions import SUGGESTIONS, suggest_lr
from keras_transfer.errors import InvalidConfigError, InvalidInputError

__all__ = ["LRFinderResult", "lr_find", "finder_dataset"]


@dataclasses.dataclass
class LRFinderResult:
    """What an LR sweep recorded, and the suggested rate.

    Args:
        lrs: list of float. Swept rates (of the fastest sub-optimizer for a ``MultiOptimizer``).
        losses: list of float. Each batch's loss.
        smoothed_losses: list of float. Bias-corrected exponential moving average of ``losses``.
        method: str. Suggestion rule used for ``suggestion`` (``"valley"``, ``"steepest"``, ``"minimum"``).
        stopped_early: bool. The loss diverged before the last step.
    """

    lrs: List[float]
    losses: List[float]
    smoothed_losses: List[float]
    method: str = "valley"
    stopped_early: bool = False

    def _trimmed(self):
        # As fastai: drop the first tenth (noisy warm start of the EMA) and the last few (divergence) points.
        n = len(self.lrs)
        start = n // 10
        end = n - min(5, max(0, (n - start) // 5))
        if end - start < 2:
            start, end = 0, n
        return self.lrs[start:end], self.smoothed_losses[start:end]

    @property
    def suggestions(self) -> Dict[str, float]:
        """Every rule's suggestion: ``{"valley": ..., "steepest": ..., "minimum": ...}``."""
        lrs, losses = self._trimmed()
        return {name: suggest_lr(lrs, losses, name) for name in SUGGESTIONS}

    @property
    def suggestion(self) -> float:
        """The suggested learning rate by ``method``."""
        lrs, losses = self._trimmed()
        return suggest_lr(lrs, losses, self.method)

    def plot(self, path) -> Path:
        """Plot loss against learning rate (log scale) with the suggestions marked; write a PNG.

        Args:
            path: str or Path of the PNG file.

        Returns:
            Path of the written file.

        Raises:
            ImportError: matplotlib is not installed (``pip install keras-transfer[plot]``).
        """
        try:  # a standalone Figure, not pyplot: a notebook's inline backend is left alone
            from matplotlib.figure import Figure
        except ImportError as error:  # pragma: no cover - depends on the environment
            raise ImportError(
                "LRFinderResult.plot needs matplotlib. Received: no module 'matplotlib'. "
                "Install it with pip install 'keras-transfer[plot]'."
            ) from error
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        figure = Figure(figsize=(6, 4), dpi=100)
        axes = figure.subplots()
        axes.plot(self.lrs, self.losses, color="0.75", linewidth=1, label="batch loss")
        axes.plot(self.lrs, self.smoothed_losses, color="C0", linewidth=2, label="smoothed loss")
        for (name, rate), color in zip(self.suggestions.items(), ("C3", "C2", "C1")):
            axes.axvline(rate, color=color, linestyle="--", linewidth=1, label=f"{name}: {rate:.2e}")
        axes.set_xscale("log")
        axes.set_xlabel("learning rate")
        axes.set_ylabel("loss")
        finite = [v for v in self.smoothed_losses if np.isfinite(v)]
        if finite:
            axes.set_ylim(min(finite) * 0.9, min(max(finite), 4 * min(finite)) * 1.1)
        axes.legend(fontsize=8)
        figure.tight_layout()
        figure.savefig(path, format="png")
        return path

    def to_dict(self) -> dict:
        """Plain-JSON form (rates, losses, suggestions)."""
        return {
            "lrs": list(self.lrs),
            "losses": list(self.losses),
            "smoothed_losses": list(self.smoothed_losses),
            "method": self.method,
            "suggestion": self.suggestion,
            "suggestions": self.suggestions,
            "stopped_early": self.stopped_early,
        }


def finder_dataset(data, batch_size: int = 32, seed: int = 0):
    """An endless ``tf.data.Dataset`` of equal-size batches for the sweep.

    Args:
        data: ``(x, y)`` arrays or a batched ``tf.data.Dataset`` of ``(x, y)``.
        batch_size: int. Batch size for arrays.
        seed: int. Shuffle seed for arrays.

    Returns:
        tf.data.Dataset, repeated forever.
    """
    if isinstance(data, tf.data.Dataset):
        return data.repeat()
    if isinstance(data, (tuple, list)) and len(data) == 2:
        x, y = np.asarray(data[0]), np.asarray(data[1])
        if len(x) == 0 or len(x) != len(y):
            raise InvalidInputError(
                f"lr_find needs a non-empty (x, y) pair of equal length. Received: {len(x)} inputs, {len(y)} targets."
            )
        batch_size = min(int(batch_size), len(x))
        dataset = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
        return dataset.repeat().batch(batch_size, drop_remainder=True).prefetch(2)
    raise InvalidInputError(
        "lr_find data must be an (x, y) tuple of arrays or a batched tf.data.Dataset of (x, y). "
        f"Received: {type(data).__name__}."
    )


def lr_find(
    model, data, start_lr: float = 1e-7, end_lr: float = 10.0, steps: int = 100, *, batch_size: int = 32,
    method: str = "valley", stop_factor: float = 4.0, smoothing: float = 0.98, verbose=0,
) -> LRFinderResult:
    """Sweep the learning rate exponentially over ``steps`` batches, then restore the model exactly.

    The model trains for up to ``steps`` batches with its compiled optimizer and loss while the rate rises
    from ``start_lr`` to ``end_lr`` (every sub-optimizer of a ``MultiOptimizer`` keeps its ratio to the
    fastest one); the sweep stops when the smoothed loss exceeds ``stop_factor`` × its best. Afterwards every
    model variable (weights, BatchNorm statistics, RNG state) and every optimizer variable (step counters,
    moments, learning rates) is set back bit for bit; an optimizer that was not built yet is built first, so
    it is restored to its fresh state.

    Args:
        model: a compiled keras.Model (``keras_transfer.TransferModel`` after ``compile``).
        data: ``(x, y)`` arrays or a batched ``tf.data.Dataset`` of ``(x, y)`` (repeated as needed).
        start_lr: float > 0. First rate.
        end_lr: float > start_lr. Last rate.
        steps: int ≥ 2. Batches of the sweep (at most).
        batch_size: int. Batch size for arrays.
        method: ``"valley"``, ``"steepest"`` or ``"minimum"``: the rule behind ``result.suggestion``.
        stop_factor: float > 1. Divergence threshold.
        smoothing: float in [0, 1). EMA coefficient of the smoothed loss.
        verbose: passed to ``fit``.

    Returns:
        LRFinderResult: ``.lrs``, ``.losses``, ``.smoothed_losses``, ``.suggestion``, ``.suggestions``,
        ``.plot(path)``.

    Raises:
        InvalidConfigError: an uncompiled model, bad sweep arguments, an unknown method, or an optimizer built
            with a ``LearningRateSchedule``.
        InvalidInputError: unusable data.

    Examples:
    >>> import numpy as np
    >>> name = keras_transfer.testing.register_tiny_backbone()
    >>> model = keras_transfer.TransferModel(keras_transfer.backbones.get(name, weights=None),
    ...                                      keras_transfer.ClassificationHead(2))
    >>> model.compile(optimizer="adam")
    >>> x, y = np.random.randint(0, 255, (64, 32, 32, 3), "uint8"), np.arange(64) % 2
    >>> result = keras_transfer.lr_find(model, (x, y), steps=20)
    >>> len(result.lrs) <= 20
    True
    """
    if method not in SUGGESTIONS:
        raise InvalidConfigError(f"Unknown LR suggestion method. Received: method={method!r}. Use one of {sorted(SUGGESTIONS)}.")
    finder = LRFinder(start_lr, end_lr, steps, stop_factor=stop_factor, smoothing=smoothing)
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not getattr(model, "compiled", False):
        raise InvalidConfigError(
            "lr_find needs a compiled model: it sweeps the rate of the model's own optimizer and loss. "
            f"Received: an uncompiled {type(model).__name__}. Call model.compile(optimizer='adam') first."
        )
    dataset = finder_dataset(data, batch_size)
    if not model.built:
        model(next(iter(dataset))[0])
    if not optimizer.built:
        optimizer.build(model.trainable_variables)
    saved_model = [keras.ops.convert_to_numpy(v).copy() for v in model.variables]
    saved_optimizer = [keras.ops.convert_to_numpy(v).copy() for v in optimizer.variables]
    try:
        model.fit(dataset, epochs=steps, steps_per_epoch=1, callbacks=[finder], verbose=verbose, shuffle=False)
    finally:
        for variable, value in zip(model.variables, saved_model):
            variable.assign(value)
        for variable, value in zip(optimizer.variables, saved_optimizer):
            variable.assign(value)
        model.stop_training = False
    if not finder.lrs:
        raise InvalidInputError("The LR sweep recorded no batch. Received: data with no batches.")
    return LRFinderResult(lrs=list(finder.lrs), losses=list(finder.losses),
                          smoothed_losses=list(finder.smoothed_losses), method=method,
                          stopped_early=finder.stopped_early)
