"""`Runner`: executes the stages of ``fine_tune`` on prepared data, with the run's guards and checkpoints attached.

How a new capability plugs in, without touching this loop:

- **a stage** (``keras_transfer.training.stages``): a ``Stage`` subclass overriding ``freeze``, ``optimizer``,
  ``callbacks`` or ``fit``, added to the list by ``build_stages`` (e.g. ``CachedHeadStage``: stage 1 on cached
  features; ``GradualUnfreezingStage``: refits segment by segment);
- **a callback**: a ``keras.callbacks.Callback`` the stage returns from ``callbacks`` (the LR policy's warmup and
  plateau reduction) or the runner attaches to every ``fit`` (``guards``: the NaN guard; the checkpoint's
  ``ResumableRun.fit_callbacks``: restore first, write last), each keeping its state behind its own methods;
- **a model hook** (``keras_transfer.models.BaseTransferModel``): anything that depends on the model's kind (data
  conversion, labels, loss, checkpoint settings, supported options); the runner never asks which model it has;
- **a loss**: chosen by the model's ``training_loss`` hook from the labels and the options (``label_smoothing``,
  ``loss``, ``class_weight``).

Each is driven by one field of ``keras_transfer.training.options.FineTuneOptions`` (its default, check and help).
"""

import math
import random
from typing import List, Optional

import keras
import tensorflow as tf

from keras_transfer.augmentation.mixing import mixing_fit_arguments
from keras_transfer.optimizers.factory import make_optimizer
from keras_transfer.training.epoch_data import epoch_shuffled_dataset
from keras_transfer.callbacks.ema import ExponentialMovingAverage
from keras_transfer.callbacks.history import FineTuneHistory
from keras_transfer.training.nan_guard import NanGuard
from keras_transfer.training.stage_plan import StagePlan

__all__ = ["Runner", "TrainingData"]


def _sample_inputs(x):
    """A small batch of inputs from ``fit``'s ``x`` (arrays, a dataset or a PyDataset), to build a model."""
    if isinstance(x, tf.data.Dataset):
        batch = next(iter(x.take(1)))
        return batch[0] if isinstance(batch, (tuple, list)) else batch
    if isinstance(x, keras.utils.PyDataset):
        batch = x[0]
        return batch[0] if isinstance(batch, (tuple, list)) else batch
    if isinstance(x, dict):
        return {key: value[:2] for key, value in x.items()}
    return x[:2]


class TrainingData:
    """The checked ``fit`` arguments of a run: inputs, labels, validation data, loss and metrics.

    Built in steps, in the order ``fine_tune`` has always taken them (``from_train``, then ``add_validation``
    once the checkpoint accepted the run), so seeds and errors come in the same order.
    """

    def __init__(self, model, train, options):
        self.model, self.batch_size, self.given_train = model, options.batch_size, train
        self.x, self.y, self.fit_batch, self.labels = model.fit_data(train, "train", options.batch_size)
        self.validation_data, self.loss, self.metrics, self.shuffle_seed = None, None, None, None

    def n_examples(self) -> Optional[int]:
        y = self.y
        if isinstance(y, dict):
            return len(next(iter(y.values())))
        return len(y) if y is not None else None

    def add_validation(self, validation, options):
        """Validation data, the model's loss for these labels, and MixUp / CutMix (a dataset transform)."""
        if validation is not None:
            vx, vy, _, _ = self.model.fit_data(validation, "validation", self.batch_size)
            self.validation_data = vx if vy is None else (vx, vy)
        mixing = options.mixup is not None or options.cutmix is not None
        self.loss, self.metrics = self.model.training_loss(
            self.given_train, self.labels, options.label_smoothing, loss=options.loss,
            class_weight=options.class_weight, soft_targets=mixing)
        if mixing:
            self.x, self.validation_data, mixed_loss, mixed_metrics = mixing_fit_arguments(
                self.model, self.x, self.y, self.validation_data, mixup=options.mixup, cutmix=options.cutmix,
                batch_size=self.batch_size, cache_dir=options.cache_dir,
            )
            if self.loss is None:  # no loss option: the soft-target loss MixUp / CutMix need
                self.loss, self.metrics = mixed_loss, mixed_metrics
            self.y, self.fit_batch = None, None

    @property
    def train_data(self):
        return self.x if self.y is None else (self.x, self.y)

    @property
    def monitor(self) -> str:
        return "val_loss" if self.validation_data is not None else "loss"

    def steps_per_epoch(self):
        return StagePlan.steps_per_epoch(self.train_data, self.batch_size)

    def epoch_batches(self) -> bool:
        """Whether each epoch's batch order comes from ``(shuffle_seed, epoch)`` (arrays with a seed)."""
        return self.shuffle_seed is not None and self.y is not None and self.fit_batch is not None

    def choose_shuffle_seed(self, seed, resume) -> None:
        """Batch order per epoch from (seed, epoch) for arrays, so a resumed run sees the uninterrupted run's."""
        if resume is not None:
            self.shuffle_seed = resume.shuffle_seed_for(
                seed if seed is not None else random.SystemRandom().randrange(2**31 - 1))
        elif seed is not None:
            self.shuffle_seed = seed

    def fit(self, model, start, end, callbacks, verbose):
        if self.epoch_batches():
            labels = self.labels if not isinstance(self.labels, dict) else next(iter(self.labels.values()))
            return model.fit(
                epoch_shuffled_dataset(self.x, self.y, self.batch_size, self.shuffle_seed, start, end),
                steps_per_epoch=math.ceil(len(labels) / self.batch_size), epochs=end, initial_epoch=start,
                validation_data=self.validation_data, shuffle=False, callbacks=callbacks, verbose=verbose,
            )
        return model.fit(self.x, self.y, batch_size=self.fit_batch, epochs=end, initial_epoch=start,
                         validation_data=self.validation_data, callbacks=callbacks, verbose=verbose)

    def sample_inputs(self):
        return _sample_inputs(self.x)


class Runner:
    """Runs ``stages`` in order on ``data`` and returns one merged ``FineTuneHistory``.

    Args:
        model: BaseTransferModel.
        data: TrainingData.
        plan: StagePlan (the learning-rate policy).
        options: FineTuneOptions.
        resume: ResumableRun or None (``checkpoint_dir``).
    """

    def __init__(self, model, data: TrainingData, plan: StagePlan, options, resume=None):
        self.model, self.data, self.plan, self.options, self.resume = model, data, plan, options, resume
        self.user_callbacks = list(options.callbacks or [])
        #: the weight average (``ema``): first in every fit, so later callbacks' ``on_epoch_end`` see it
        self.average = ExponentialMovingAverage(options.ema) if getattr(options, "ema", None) else None
        if resume is not None:
            resume.average = self.average

    def guards(self, stage) -> List[keras.callbacks.Callback]:
        """Callbacks every fit of ``stage`` gets after the user's: the NaN guard."""
        if not self.options.nan_guard:
            return []
        return [NanGuard(stage=stage.name, checkpoint_dir=self.options.checkpoint_dir)]

    def fit(self, stage, start: int, end: int, extra) -> keras.callbacks.History:
        """One ``model.fit`` of ``stage``: its callbacks, the user's, the guards, and the checkpoint around them."""
        callbacks = ([self.average] if self.average is not None else []) + list(extra) + self.user_callbacks
        callbacks += self.guards(stage)
        if self.resume is not None:
            callbacks = self.resume.fit_callbacks(callbacks, extra, self.user_callbacks, policy=stage.policy)
        return self.data.fit(self.model, start, end, callbacks, self.options.verbose)

    def _build(self):
        self.model(self.data.sample_inputs(), training=False)  # variables must exist before weights are restored

    def run(self, stages) -> FineTuneHistory:
        history, resume, backbone = FineTuneHistory(), self.resume, self.model.backbone
        if resume is not None and resume.finished:  # a finished run: its weights and history, no training
            resume.add_completed(history, self.model)
            backbone.set_mode(resume.unfrozen_groups)
            last = self.plan.resolved[1 if stages[-1].name == "fine_tune" else 0]
            self.model.compile(optimizer=make_optimizer(self.options.optimizer, last), loss=self.data.loss,
                               metrics=self.data.metrics)
            self._build()
            resume.restore_final(self.model)
            return history
        for index, stage in enumerate(stages):
            if resume is not None and resume.stage_is_done(index):  # finished before the interruption
                resume.add_completed(history, self.model, index)
                continue
            stage.freeze(self)
            resume_epoch = resume.resume_epoch(index) if resume is not None else None
            if resume_epoch is not None:
                self._build()
            self._run_stage(history, index, stage, resume_epoch)
        for stage in stages:
            stage.report_to(history)  # a stage's own results (the adaptation report)
        if resume is not None:
            if resume.restore_pending:  # every stage had finished before the interruption: only weights missing
                backbone.set_mode(resume.unfrozen_groups)
                self._build()
                resume.restore_final(self.model)
            resume.mark_finished(self.model, getattr(self.model, "optimizer", None))
        return history

    def _run_stage(self, history, index, stage, resume_epoch):
        resume, backbone = self.resume, self.model.backbone
        if not getattr(stage, "checkpoint_each_epoch", True):  # checkpointed when the stage ends
            if resume_epoch is not None:
                resume.restore_final(self.model)
            stage_history = stage.fit(self, stage.start)
            history.add_stage(stage.name, stage_history, stage.learning_rate(self), backbone.mode)
            if resume is not None:
                resume.save_completed_stage(index, stage, stage.learning_rate(self), stage_history, self.model,
                                            self.user_callbacks)
            return
        if resume is not None:
            resume.begin_stage(index, stage.name, stage.start, stage.end, stage.learning_rate(self))
        stage_history = stage.fit(self, stage.start if resume_epoch is None else int(resume_epoch))
        if resume is not None and resume.stage_is_done(index):  # the whole stage, before and after an interruption
            resume.add_completed(history, self.model, index)
        else:
            history.add_stage(stage.name, stage_history, stage.learning_rate(self), backbone.mode)
