"""`StagePlan`: the learning-rate and unfreezing policy of `fine_tune` (``lr="auto"``, ``unfreeze="gradual"``).

The stages (``keras_transfer.training.stages``) ask it, per stage, which optimizer to compile (single,
discriminative or per-group with ramps), which callbacks to add (warmup, ramp, plateau reduction, LR logging) and
the rate each stage records.
"""

import math
from typing import List, Optional, Tuple

import keras
import numpy as np
import tensorflow as tf

from keras_transfer.callbacks.auto_lr import AutoLR
from keras_transfer.callbacks.unfreeze import GradualUnfreezing
from keras_transfer.callbacks.warmup import Warmup
from keras_transfer.optimizers.discriminative import discriminative, group_optimizer
from keras_transfer.optimizers.factory import make_optimizer
from keras_transfer.training.lr_find import lr_find

__all__ = ["StagePlan", "default_rates", "merge_histories"]

DEFAULT_HEAD_LR = 1e-3


def default_rates(head_lr: Optional[float] = None, fine_tune_lr: Optional[float] = None) -> Tuple[float, float]:
    """``(head_lr, fine_tune_lr)`` with the defaults filled in: an unset head rate is ``DEFAULT_HEAD_LR`` and an
    unset stage-2 rate a tenth of the head's (the rates ``fine_tune`` trains with when no LR finder runs).

    Args:
        head_lr: float or None. The stage-1 rate.
        fine_tune_lr: float or None. The stage-2 rate.

    Returns:
        tuple of floats.

    Examples:
    >>> from keras_transfer.training.stage_plan import default_rates
    >>> default_rates()
    (0.001, 0.0001)
    >>> default_rates(head_lr=2e-3)
    (0.002, 0.0002)
    """
    head_lr = DEFAULT_HEAD_LR if head_lr is None else head_lr
    return head_lr, head_lr / 10 if fine_tune_lr is None else fine_tune_lr


def merge_histories(histories: List[keras.callbacks.History]) -> keras.callbacks.History:
    """Concatenate consecutive ``fit`` Histories of one stage into one (missing metrics filled with NaN)."""
    if len(histories) == 1:
        return histories[0]
    merged = keras.callbacks.History()
    merged.history, merged.epoch = {}, []
    for history in histories:
        n_before = len(merged.epoch)
        for key, values in history.history.items():
            merged.history.setdefault(key, [float("nan")] * n_before).extend(values)
        merged.epoch.extend(history.epoch)
        for column in merged.history.values():
            column.extend([float("nan")] * (len(merged.epoch) - len(column)))
    merged.params = getattr(histories[-1], "params", {})
    if getattr(histories[-1], "model", None) is not None:
        merged.set_model(histories[-1].model)
    return merged


class StagePlan:
    """Learning rates, LR callbacks and unfreezing for the stages of ``keras_transfer.fine_tune``.

    ``lr="fixed"``: stage 1 at ``head_lr`` (default 1e-3), stage 2 at ``fine_tune_lr`` (default
    ``head_lr / 10``), or discriminative rates below it when ``lr_factor`` is set.

    ``lr="auto"``: stage 1 at the LR finder's suggestion (``keras_transfer.lr_find``, at most 100 steps,
    about one epoch; ``head_lr`` overrides it). Stage 2 gives the head ``head_lr / 2`` (fastai's halving) and
    each backbone group its own sub-optimizer: the top group starts at ``fine_tune_lr`` (default
    ``head_lr / 10``), each group below ``lr_factor`` times lower (default 1: no spread); after unfreezing, a
    group's rate doubles every epoch until it is aligned with the head's rate (divided by ``lr_factor`` per
    group). Every stage warms up over its first 10 % of steps and halves its rates on a plateau of the
    validation loss (``keras.callbacks.ReduceLROnPlateau``, patience 1); every rate is logged per epoch.

    Args:
        model: BaseTransferModel.
        options: FineTuneOptions (checked): ``lr``, ``optimizer``, ``head_lr``, ``fine_tune_lr``, ``lr_factor``
            and ``unfreeze`` (``"gradual"`` or a ``GradualUnfreezing`` policy: ``policy``).
        ramp: float ≥ 1. Growth per epoch of a group's rate after unfreezing (auto).
        warmup_fraction: float in [0, 1). Warmup share of each stage's steps (auto; 0 disables).
    """

    def __init__(self, model, options, ramp: float = 2.0, warmup_fraction: float = 0.1):
        self.model, self.lr, self.optimizer = model, options.lr, options.optimizer
        self.head_lr = None if options.head_lr is None else float(options.head_lr)
        self.fine_tune_lr = None if options.fine_tune_lr is None else float(options.fine_tune_lr)
        self.lr_factor = options.lr_factor
        self.ramp, self.warmup_fraction = float(ramp), float(warmup_fraction)
        self.finder_result, self.resolved = None, None
        unfreeze = options.unfreeze
        if isinstance(unfreeze, GradualUnfreezing):
            self.policy, self.unfreeze = unfreeze, "all"
        elif unfreeze == "gradual":
            self.policy, self.unfreeze = GradualUnfreezing(), "all"
        else:
            self.policy, self.unfreeze = None, unfreeze

    # ------------------------------------------------------------ rates
    def resolve_rates(self, train_data, batch_size: int, loss=None, metrics=None):
        """Stage-1 and stage-2 base rates: ``(head_lr, fine_tune_lr)``; runs the LR finder under ``lr="auto"``.

        Args:
            train_data: ``(x, y)`` arrays or a batched ``tf.data.Dataset`` (others skip the finder).
            batch_size: int. Batch size for arrays.
            loss, metrics: what the stages compile with.

        Returns:
            tuple of floats.
        """
        head_lr = self.head_lr
        if head_lr is None and self.lr == "auto":
            head_lr = self._find_head_lr(train_data, batch_size, loss, metrics)
        return self.use_rates(*default_rates(head_lr, self.fine_tune_lr))

    def use_rates(self, head_lr: float, fine_tune_lr: float):
        """Set the stage-1 and stage-2 base rates (resolved here, or stored by an interrupted run)."""
        self.resolved = (head_lr, fine_tune_lr)
        return head_lr, fine_tune_lr

    def _find_head_lr(self, train_data, batch_size, loss, metrics):

        if not (isinstance(train_data, tf.data.Dataset) or isinstance(train_data, (tuple, list))):
            return None  # a PyDataset: no finder, the default rate
        steps = self.steps_per_epoch(train_data, batch_size)
        steps = 50 if steps is None else min(100, max(20, steps))
        backbone = self.model.backbone
        mode = backbone.mode
        backbone.set_mode("frozen")
        self.model.compile(optimizer=make_optimizer(self.optimizer, DEFAULT_HEAD_LR), loss=loss, metrics=metrics)
        self.finder_result = lr_find(self.model, train_data, start_lr=1e-6, end_lr=1.0, steps=steps, batch_size=batch_size)
        backbone.set_mode(mode)
        # Sweeps of a few dozen steps are noisy: keep the suggestion in the range where Adam-like optimizers train well.
        return float(np.clip(self.finder_result.suggestion, 1e-4, 1e-2))

    @staticmethod
    def steps_per_epoch(train_data, batch_size: int) -> Optional[int]:
        """Batches per epoch of ``(x, y)`` arrays or a finite dataset (None when unknown)."""
        if isinstance(train_data, tf.data.Dataset):
            n = int(train_data.cardinality())
            return n if n > 0 else None
        if isinstance(train_data, (tuple, list)):
            return math.ceil(len(train_data[0]) / batch_size)
        try:
            return len(train_data)
        except TypeError:
            return None

    def _stage2_rates(self):
        head_lr, fine_tune_lr = self.resolved
        groups = [g.name for g in self.model.backbone.layer_groups]
        factor = self.lr_factor or 1.0
        head2 = head_lr / 2
        start = {name: fine_tune_lr / factor ** (len(groups) - 1 - i) for i, name in enumerate(groups)}
        target = {name: max(start[name], head2 / factor ** (len(groups) - i)) if self.lr_factor else max(start[name], head2)
                  for i, name in enumerate(groups)}
        return head2, start, target

    def make_optimizer(self, stage: str, learning_rate: float):
        """The optimizer a stage compiles with."""
        if stage != "fine_tune":
            return make_optimizer(self.optimizer, learning_rate)
        if self.lr == "auto":
            head2, start, _ = self._stage2_rates()
            groups = [g.name for g in self.model.backbone.layer_groups]
            return group_optimizer(self.model, self.optimizer, [start[g] for g in groups], head_lr=head2)
        if self.lr_factor:
            return discriminative(self.model, self.optimizer, learning_rate, self.lr_factor)
        return make_optimizer(self.optimizer, learning_rate)

    def stage_learning_rate(self, stage: str) -> float:
        """The head's starting rate in ``stage`` (recorded in ``FineTuneHistory.stages``)."""
        head_lr, fine_tune_lr = self.resolved
        if stage != "fine_tune":
            return head_lr
        return self._stage2_rates()[0] if self.lr == "auto" else fine_tune_lr

    def callbacks(self, stage: str, epoch: int, epochs: int, steps_per_epoch: Optional[int], monitor: str):
        """The LR callbacks of a stage (empty for ``lr="fixed"``)."""
        if self.lr != "auto":
            return []
        result = []
        if stage == "fine_tune":
            _, start, target = self._stage2_rates()
            groups = [g.name for g in self.model.backbone.layer_groups]
            n = self.model.backbone.unfrozen_groups
            if self.policy is not None:
                unfrozen_at = self.policy.unfrozen_at(groups)
            else:
                unfrozen_at = {name: epoch for name in groups[len(groups) - n:]}
            result.append(AutoLR({g: start[g] for g in unfrozen_at}, {g: target[g] for g in unfrozen_at}, unfrozen_at, self.ramp))
        else:
            result.append(AutoLR())  # logs the rate
        if steps_per_epoch and self.warmup_fraction > 0:
            total = steps_per_epoch * epochs
            result.append(Warmup(steps=max(1, int(round(self.warmup_fraction * total))), total_steps=total))
        result.append(keras.callbacks.ReduceLROnPlateau(monitor=monitor, factor=0.5, patience=1, min_lr=1e-7))
        return result
