"""`StagePlan`: the learning-rate and unfreezing policy of `fine_tune` (``lr="auto"``, ``unfreeze="gradual"``).

``fine_tune`` owns the data checks and the stage loop; this module decides, per stage, which optimizer to
compile (single, discriminative or per-group with ramps), which callbacks to add (warmup, ramp, plateau
reduction, LR logging) and, under gradual unfreezing, refits the stage segment by segment, recompiling and
carrying the optimizer state over whenever the policy unfreezes another group.
"""

import math
from typing import List, Optional

import keras
import numpy as np

from keras_transfer.callbacks.auto_lr import AutoLR
from keras_transfer.callbacks.unfreeze import GradualUnfreezing
from keras_transfer.callbacks.warmup import Warmup
from keras_transfer.errors import InvalidConfigError
from keras_transfer.optimizers.discriminative import discriminative, group_optimizer
from keras_transfer.optimizers.factory import make_optimizer
from keras_transfer.optimizers.learning_rates import check_learning_rate
from keras_transfer.optimizers.state import copy_optimizer_state
from keras_transfer.training.lr_find import lr_find

__all__ = ["LR_POLICIES", "StagePlan", "merge_histories"]

LR_POLICIES = ("auto", "fixed")
DEFAULT_HEAD_LR = 1e-3


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
        model: TransferModel.
        lr: ``"auto"`` or ``"fixed"``.
        optimizer: optimizer name, instance or ``lr -> Optimizer`` callable.
        head_lr: float or None.
        fine_tune_lr: float or None.
        lr_factor: float > 1 or None. Per-group division of the backbone's rates (discriminative LRs).
        unfreeze: ``"gradual"``, a ``GradualUnfreezing`` policy, or anything ``fine_tune`` accepts.
        ramp: float ≥ 1. Growth per epoch of a group's rate after unfreezing (auto).
        warmup_fraction: float in [0, 1). Warmup share of each stage's steps (auto; 0 disables).

    Raises:
        InvalidConfigError: unknown ``lr`` policy or unfreeze policy, bad rates or factor.
    """

    def __init__(
        self,
        model,
        lr="fixed",
        optimizer="adam",
        head_lr: Optional[float] = None,
        fine_tune_lr: Optional[float] = None,
        lr_factor: Optional[float] = None,
        unfreeze="all",
        ramp: float = 2.0,
        warmup_fraction: float = 0.1,
    ):
        if lr not in LR_POLICIES:
            raise InvalidConfigError(
                f"Unknown learning-rate policy. Received: lr={lr!r}. Use 'auto' (LR finder, per-group ramps, warmup, "
                "plateau reduction) or 'fixed' (head_lr, then fine_tune_lr)."
            )
        if lr_factor is not None and (
            isinstance(lr_factor, bool) or not isinstance(lr_factor, (int, float)) or not lr_factor > 1
        ):
            raise InvalidConfigError(
                f"lr_factor must be a float > 1 (each backbone group trains lr_factor times slower than the one "
                f"above) or None. Received: lr_factor={lr_factor!r}. Use 2.6 (ULMFiT)."
            )
        self.model, self.lr, self.optimizer = model, lr, optimizer
        self.head_lr = None if head_lr is None else check_learning_rate(head_lr, "head_lr")
        self.fine_tune_lr = None if fine_tune_lr is None else check_learning_rate(fine_tune_lr, "fine_tune_lr")
        self.lr_factor = None if lr_factor is None else float(lr_factor)
        self.ramp, self.warmup_fraction = float(ramp), float(warmup_fraction)
        self.finder_result = None
        if isinstance(unfreeze, GradualUnfreezing):
            self.policy, self.unfreeze = unfreeze, "all"
        elif unfreeze == "gradual":
            self.policy, self.unfreeze = GradualUnfreezing(), "all"
        elif isinstance(unfreeze, str) and unfreeze not in ("all", "none", "full", "frozen") and not unfreeze.startswith("last:"):
            raise InvalidConfigError(
                f"Unknown unfreeze policy. Received: unfreeze={unfreeze!r}. Use 'all', 'none', 'gradual', an int N "
                "(last N layer groups), 'last:N' or a keras_transfer.callbacks.GradualUnfreezing(...) policy."
            )
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
        head_lr = DEFAULT_HEAD_LR if head_lr is None else head_lr
        fine_tune_lr = self.fine_tune_lr if self.fine_tune_lr is not None else head_lr / 10
        self.resolved = (head_lr, fine_tune_lr)
        return head_lr, fine_tune_lr

    def _find_head_lr(self, train_data, batch_size, loss, metrics):
        import tensorflow as tf


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
        # Sweeps of a few dozen steps are noisy: keep the suggestion in the range where Adam-like heads train.
        return float(np.clip(self.finder_result.suggestion, 1e-4, 1e-2))

    @staticmethod
    def steps_per_epoch(train_data, batch_size: int) -> Optional[int]:
        """Batches per epoch of ``(x, y)`` arrays or a finite dataset (None when unknown)."""
        import tensorflow as tf

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

    # ------------------------------------------------------------ fitting
    def fit_stage(self, stage: str, epoch: int, epochs: int, fit, loss=None, metrics=None, steps_per_epoch=None,
                  monitor="loss", resume_epoch: Optional[int] = None):
        """Fit one stage; under gradual unfreezing, segment by segment with recompiles in between.

        Args:
            stage: ``"head"`` or ``"fine_tune"``.
            epoch: int. First epoch of the stage.
            epochs: int. Epochs of the stage.
            fit: callable ``(initial_epoch, end_epoch, extra_callbacks) -> History`` running ``model.fit``.
            loss, metrics: what the stage compiles with (for recompiles).
            steps_per_epoch: int or None. For the warmup length.
            monitor: str. Metric for plateau reduction.
            resume_epoch: int or None. Continue an interrupted stage at this epoch (``fine_tune(checkpoint_dir=...)``):
                the LR callbacks still count from the stage's first epoch, and gradual unfreezing starts with the
                groups its schedule gives this epoch.

        Returns:
            keras.callbacks.History of the whole stage.
        """
        model, backbone = self.model, self.model.backbone
        first = epoch if resume_epoch is None else int(resume_epoch)
        if stage != "fine_tune" or self.policy is None:
            return fit(first, epoch + epochs, self.callbacks(stage, epoch, epochs, steps_per_epoch, monitor))
        policy, end = self.policy, epoch + epochs
        policy.bind(epoch, backbone.unfrozen_groups, end)
        backbone.set_mode(policy.groups_at(first))
        model.compile(optimizer=self.make_optimizer(stage, self.stage_learning_rate(stage)), loss=loss, metrics=metrics)
        extra = self.callbacks(stage, epoch, epochs, steps_per_epoch, monitor) + [policy]
        histories, start = [], first
        while start < end:
            policy.pending = None
            history = fit(start, end, extra)
            histories.append(history)
            start += len(history.epoch)
            if policy.pending is None:
                break  # stage done, or stopped by another callback (early stopping)
            old = model.optimizer
            backbone.set_mode(policy.pending)
            model.compile(optimizer=self.make_optimizer(stage, self.stage_learning_rate(stage)), loss=loss, metrics=metrics)
            copy_optimizer_state(old, model.optimizer, model.trainable_variables)
        return merge_histories(histories)
