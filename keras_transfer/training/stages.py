"""The stages of ``fine_tune`` as objects: what to freeze, which optimizer, which callbacks, how to fit.

``fine_tune`` builds the list (``build_stages``) and ``keras_transfer.training.runner.Runner`` executes it. A stage
never touches the checkpoint or the NaN guard: the runner attaches them to every ``fit`` (``Runner.fit``).
"""

from typing import List

import keras
import numpy as np

from keras_transfer.adaptation.method import get as get_adaptation
from keras_transfer.adaptation.session import AdaptationSession
from keras_transfer.errors import InvalidConfigError, InvalidInputError
from keras_transfer.features.sequential import train_head
from keras_transfer.models.inputs import model_inputs
from keras_transfer.optimizers.factory import make_optimizer
from keras_transfer.optimizers.state import copy_optimizer_state
from keras_transfer.training.stage_plan import merge_histories

__all__ = ["AdaptationStage", "CachedHeadStage", "FineTuneStage", "GradualUnfreezingStage", "HeadStage", "Stage",
           "build_stages"]


class Stage:
    """One stage: ``epochs`` epochs from epoch ``start`` with the backbone's last ``n_groups`` groups unfrozen.

    Subclasses override the parts that differ: ``freeze``, ``optimizer``, ``callbacks``, ``fit``.

    Args:
        name: str. ``"head"`` or ``"fine_tune"`` (named in the history, the checkpoint and the LR policy).
        start: int. First epoch.
        epochs: int.
        n_groups: int. Backbone layer groups unfrozen.
    """

    policy = None  #: the gradual-unfreezing policy whose state the checkpoint keeps, or None

    def __init__(self, name: str, start: int, epochs: int, n_groups: int):
        self.name, self.start, self.epochs, self.n_groups = name, start, epochs, n_groups

    @property
    def end(self) -> int:
        return self.start + self.epochs

    def learning_rate(self, runner) -> float:
        """The head's starting rate (recorded in the history and the checkpoint)."""
        return runner.plan.stage_learning_rate(self.name)

    def freeze(self, runner):
        runner.model.backbone.set_mode(self.n_groups)

    def optimizer(self, runner):
        return runner.plan.make_optimizer(self.name, runner.plan.stage_learning_rate(self.name))

    def callbacks(self, runner) -> list:
        """The stage's own callbacks (LR policy), before the user's."""
        return runner.plan.callbacks(self.name, self.start, self.epochs, runner.data.steps_per_epoch(),
                                     runner.data.monitor)

    def compile(self, runner):
        # `trainable` changes only take effect at compile time: every stage recompiles.
        runner.model.compile(optimizer=self.optimizer(runner), loss=runner.data.loss, metrics=runner.data.metrics)

    def fit(self, runner, first: int) -> keras.callbacks.History:
        """Fit epochs ``first`` (the stage's start, or where an interrupted run stopped) to ``end``."""
        self.compile(runner)
        return runner.fit(self, first, self.end, self.callbacks(runner))

    def check(self, model, data, options) -> None:
        """Refuse, before any stage trains, what this stage could not do (default: nothing to check)."""

    def report_to(self, history) -> None:
        """Add the stage's own results to the run's ``FineTuneHistory`` once every stage ran (default: none)."""


class HeadStage(Stage):
    """Stage 1: the frozen backbone (inference mode) and the head at ``head_lr``."""

    def __init__(self, start: int, epochs: int):
        super().__init__("head", start, epochs, 0)


class FineTuneStage(Stage):
    """Stage 2: the last ``n_groups`` backbone groups unfrozen, a fresh optimizer at the lower rate(s)."""

    def __init__(self, start: int, epochs: int, n_groups: int):
        super().__init__("fine_tune", start, epochs, n_groups)


class GradualUnfreezingStage(FineTuneStage):
    """Stage 2 under gradual unfreezing: fitted segment by segment; whenever the policy unfreezes another group
    the model recompiles and the optimizer state carries over (``copy_optimizer_state``)."""

    def __init__(self, start: int, epochs: int, n_groups: int, policy):
        super().__init__(start, epochs, n_groups)
        self.policy = policy

    def fit(self, runner, first: int) -> keras.callbacks.History:
        model, backbone, policy = runner.model, runner.model.backbone, self.policy
        self.compile(runner)
        policy.bind(self.start, backbone.unfrozen_groups, self.end)
        backbone.set_mode(policy.groups_at(first))  # a resumed run: the groups its schedule gives this epoch
        self.compile(runner)
        extra = self.callbacks(runner) + [policy]
        histories, start = [], first
        while start < self.end:
            policy.pending = None
            history = runner.fit(self, start, self.end, extra)
            histories.append(history)
            start += len(history.epoch)
            if policy.pending is None:
                break  # stage done, or stopped by another callback (early stopping)
            old = model.optimizer
            backbone.set_mode(policy.pending)
            self.compile(runner)
            copy_optimizer_state(old, model.optimizer, model.trainable_variables)
        return merge_histories(histories)


class CachedHeadStage(HeadStage):
    """Stage 1 on cached backbone features (``cache_dir``): extract once, train the head on them, stitch it back
    (``keras_transfer.features.train_head``); checkpointed when it ends."""

    checkpoint_each_epoch = False

    def fit(self, runner, first: int) -> keras.callbacks.History:
        data, options = runner.data, runner.options
        learning_rate = runner.plan.stage_learning_rate(self.name)
        return train_head(
            runner.model, data.train_data, data.validation_data, cache_dir=options.cache_dir, epochs=self.epochs,
            optimizer=make_optimizer(options.optimizer, learning_rate), loss=data.loss, metrics=data.metrics,
            batch_size=options.batch_size, verbose=options.verbose, initial_epoch=self.start, seed=data.shuffle_seed,
            callbacks=runner.user_callbacks + runner.guards(self),
        )


class AdaptationStage(Stage):
    """The last stage with ``adapt``: a ``keras_transfer.adaptation`` method adapts the trained model to the
    unlabelled target inputs (``unlabeled``) and folds or drops its own machinery; the method's report becomes
    ``history.adaptation``. Checkpointed when it ends (a resumed run redoes an interrupted adaptation from the
    previous stage's weights), with the NaN guard and the user's callbacks on every fit it makes."""

    checkpoint_each_epoch = False

    def __init__(self, start: int, epochs: int, n_groups: int, method):
        super().__init__("adapt", start, epochs, n_groups)
        self.method, self.report, self.target = get_adaptation(method), None, None

    def check(self, model, data, options) -> None:
        """The method must suit the model, the target inputs the backbone (before any stage trains)."""
        self.method.check(model)
        target = model_inputs(model, options.unlabeled, "unlabeled")
        if not isinstance(target, np.ndarray) or len(target) == 0:
            raise InvalidInputError(
                "unlabeled must be a non-empty array or list of target inputs. Received: "
                f"{type(options.unlabeled).__name__} of length {len(target) if hasattr(target, '__len__') else '?'}. "
                "Pass e.g. x_target, an array of images shaped like the training images."
            )
        if self.method.trains and self.epochs == 0 and self.method.name in ("pseudo_label", "cluster_label", "dann"):
            raise InvalidConfigError(
                f"adapt={self.method.name!r} trains, but adapt_epochs=0. Received: adapt_epochs=0. Set adapt_epochs "
                "above 0, or use adapt='adabn' (no training)."
            )
        if data.y is None and self.method.needs_source:
            AdaptationSession(model, None, target).require_source(self.method.name)
        self.target = target

    def learning_rate(self, runner) -> float:
        return float(self.method.learning_rate or runner.plan.resolved[0])

    def fit(self, runner, first: int) -> keras.callbacks.History:
        data, options = runner.data, runner.options
        session = AdaptationSession(
            runner.model, (data.x, data.y) if data.y is not None else None, self.target,
            validation=data.validation_data if isinstance(data.validation_data, tuple) else None,
            batch_size=options.batch_size, seed=data.shuffle_seed or options.seed or 0, start=self.start,
            epochs=self.epochs, learning_rate=self.learning_rate(runner), optimizer=options.optimizer,
            callbacks=lambda: runner.user_callbacks + runner.guards(self), verbose=options.verbose,
            backbone_learning_rate=runner.plan.resolved[1])
        history, self.report = self.method.run(session)
        return history

    def report_to(self, history) -> None:
        history.adaptation = self.report


def build_stages(options, n_unfreeze: int, policy) -> List[Stage]:
    """The stages of a ``fine_tune`` call: stage 1 (on cached features with ``cache_dir``) unless
    ``head_epochs=0``, stage 2 (gradual with a policy) when it unfreezes a group and ``fine_tune_epochs > 0``."""
    stages: List[Stage] = []
    if options.head_epochs:
        head = CachedHeadStage if options.cache_dir is not None else HeadStage
        stages.append(head(0, options.head_epochs))
    if n_unfreeze > 0 and options.fine_tune_epochs:
        start = options.head_epochs
        if policy is not None:
            stages.append(GradualUnfreezingStage(start, options.fine_tune_epochs, n_unfreeze, policy))
        else:
            stages.append(FineTuneStage(start, options.fine_tune_epochs, n_unfreeze))
    if options.adapt is not None:  # last: adapts what the stages above trained
        groups, start = (stages[-1].n_groups, stages[-1].end) if stages else (0, 0)
        stages.append(AdaptationStage(start, options.adapt_epochs, groups, options.adapt))
    return stages
