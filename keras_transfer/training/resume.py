"""Resumable ``fine_tune``: the run state it carries across a crash, and the callbacks that save and restore it.

``ResumableRun`` holds what ``fine_tune`` needs to continue an interrupted run: the stage and epoch to
continue at, the histories of the epochs already run, the resolved learning rates and the shuffling seed.
``EpochCheckpoint`` (last in the callback list) writes the checkpoint after every epoch; ``RestoreCheckpoint``
(first in the list) puts weights and optimizer state back when the first ``fit`` of a resumed run begins.
"""

import contextlib
import json
from typing import List, Optional

import keras

from keras_transfer.errors import InvalidConfigError
from keras_transfer.training.callback_state import callback_states, restore_callback_states
from keras_transfer.training.checkpoint import TrainingCheckpoint

__all__ = ["EpochCheckpoint", "RestoreCheckpoint", "ResumableRun"]


def _plain(logs) -> dict:
    result = {}
    for key, value in (logs or {}).items():
        try:
            result[key] = float(keras.ops.convert_to_numpy(value))
        except (TypeError, ValueError):
            continue
    return result


class ResumableRun:
    """The resume state of one ``fine_tune`` call over a ``TrainingCheckpoint`` directory.

    Args:
        checkpoint_dir: str or os.PathLike.
        settings: dict of the run's settings (epochs, unfreeze, lr, batch size, data size, model layout); a
            stored run with other settings is refused rather than silently mixed.

    Raises:
        CheckpointError: the directory is not writable or its state unreadable.
        InvalidConfigError: the stored run was made with other settings.
    """

    def __init__(self, checkpoint_dir, settings: dict):
        self.store = TrainingCheckpoint(checkpoint_dir)
        self.settings = json.loads(json.dumps(settings))
        self.state = self.store.load()
        if self.state is not None:
            self._check_settings(self.state.get("settings", {}))
        self.restore_pending = self.state is not None and not self.state.get("finished", False)
        self.completed: List[dict] = list(self.state.get("completed_stages", [])) if self.state else []
        self.rates = tuple(self.state["rates"]) if self.state and self.state.get("rates") else None
        self.shuffle_seed = self.state.get("shuffle_seed") if self.state else None
        self.stage_index = -1
        self.stage_name, self.stage_start, self.stage_end, self.stage_lr = None, 0, 0, 0.0
        self.record = {"epochs": [], "history": {}}
        self.average = None  #: the run's ExponentialMovingAverage (fine_tune(ema=...)), saved with every epoch

    def _check_settings(self, stored: dict):
        differences = [
            f"{key}={self.settings.get(key)!r} (checkpoint: {stored.get(key)!r})"
            for key in sorted(set(stored) | set(self.settings))
            if stored.get(key) != self.settings.get(key)
        ]
        if differences:
            raise InvalidConfigError(
                f"checkpoint_dir holds a run with other settings, which cannot be resumed with these. Received: "
                f"{'; '.join(differences)} in {str(self.store.directory)!r}. Call fine_tune with the interrupted "
                "run's model and settings to resume, or pass a new checkpoint_dir to start a new run."
            )

    # ------------------------------------------------------------ where to continue
    @property
    def finished(self) -> bool:
        return bool(self.state and self.state.get("finished"))

    @property
    def unfrozen_groups(self) -> int:
        """Backbone groups unfrozen when the stored state was saved."""
        return int(self.state["unfrozen_groups"])

    def rates_or(self, resolve):
        """The interrupted run's ``(head_lr, fine_tune_lr)`` (no second LR finder), else ``resolve()``'s, kept."""
        if self.rates is None:
            self.rates = tuple(resolve())
        return self.rates

    def shuffle_seed_for(self, candidate: int) -> int:
        """The interrupted run's batch-order seed, else ``candidate`` (kept for a later resume)."""
        if self.shuffle_seed is None:
            self.shuffle_seed = candidate
        return self.shuffle_seed

    def add_completed(self, history, model, index: Optional[int] = None):
        """Add the stored completed stage ``index`` (every completed stage when None) to ``history``."""
        for done in self.completed if index is None else [self.completed[index]]:
            record = keras.callbacks.History()
            record.epoch = list(done["epoch"])
            record.history = {key: list(values) for key, values in done["history"].items()}
            record.set_model(model)
            history.add_stage(done["name"], record, done["learning_rate"], done["mode"])

    def resume_epoch(self, stage_index: int) -> Optional[int]:
        """The epoch to continue stage ``stage_index`` at, or None when it starts from its beginning."""
        if not self.restore_pending or self.state.get("stage_index") != stage_index:
            return None
        return int(self.state["next_epoch"])

    def stage_is_done(self, stage_index: int) -> bool:
        return stage_index < len(self.completed)

    def begin_stage(self, stage_index: int, name: str, start: int, end: int, learning_rate: float):
        """Start (or continue) recording a stage."""
        self.stage_index, self.stage_name = stage_index, name
        self.stage_start, self.stage_end, self.stage_lr = int(start), int(end), float(learning_rate)
        if self.resume_epoch(stage_index) is not None:
            self.record = json.loads(json.dumps(self.state.get("record", {"epochs": [], "history": {}})))
        else:
            self.record = {"epochs": [], "history": {}}

    def end_stage(self, mode: str):
        """Move the current stage's record to the completed stages (saved with the next checkpoint)."""
        self.completed.append(
            {"name": self.stage_name, "epoch": list(self.record["epochs"]), "history": self.record["history"],
             "learning_rate": self.stage_lr, "mode": mode}
        )
        self.record = {"epochs": [], "history": {}}

    # ------------------------------------------------------------ saving
    def save(self, model, optimizer, *, next_epoch: int, mid_fit: bool, unfrozen_groups: int, mode: str,
             plan_callbacks=(), user_callbacks=(), at_stage_start: bool = False, finished: bool = False):
        state = {
            "settings": self.settings,
            "finished": bool(finished),
            "stage_index": self.stage_index,
            "stage": self.stage_name,
            "next_epoch": int(next_epoch),
            "mid_fit": bool(mid_fit),
            "at_stage_start": bool(at_stage_start),
            "unfrozen_groups": int(unfrozen_groups),
            "mode": mode,
            "rates": list(self.rates) if self.rates else None,
            "shuffle_seed": self.shuffle_seed,
            "completed_stages": self.completed,
            "record": self.record,
            "plan_callbacks": callback_states(plan_callbacks),
            "user_callbacks": callback_states(user_callbacks),
        }
        average = self.average if self.average is not None and self.average.started else None
        if average is None:
            self.store.save(state, model, optimizer)
        else:  # the trained weights (a finished run: the averaged ones it returns) and the average beside them
            state["average_updates"] = int(average.updates)
            with contextlib.nullcontext() if finished else average.raw_weights():
                self.store.save(state, model, optimizer, averages=average.average_weights())
        self.state = json.loads(json.dumps(state, allow_nan=True))
        self.state["folder"] = self.store.load()["folder"]

    def mark_finished(self, model, optimizer):
        """Store the final state of a completed run (a later call returns its history without training)."""
        backbone = model.backbone
        self.stage_index = len(self.completed)
        self.save(model, optimizer, next_epoch=self.state["next_epoch"] if self.state else 0, mid_fit=False,
                  unfrozen_groups=backbone.unfrozen_groups, mode=backbone.mode, at_stage_start=True, finished=True)

    def restore_final(self, model):
        """Weights of a finished run (or of finished stages) back into ``model``; nothing is left to restore.

        A run whose stages all finished before the interruption kept the trained weights and the average: the
        model gets the average, as the uninterrupted run returns it."""
        self.store.restore_weights(model, self.state)
        if not self.state.get("finished") and self.restore_average(model):
            self.average.swap_in()
        self.restore_pending = False

    def restore_average(self, model) -> bool:
        """The stored weight average back into the run's ``average`` callback; whether there was one."""
        arrays = self.store.restore_average(self.state) if self.average is not None else None
        if arrays is None:
            return False
        self.average.set_state(model, {"updates": self.state.get("average_updates", 0), "averages": arrays})
        return True

    def save_completed_stage(self, index: int, stage, learning_rate: float, stage_history, model, user_callbacks):
        """Checkpoint a stage trained in one go (on cached features) when it ends."""
        backbone = model.backbone
        self.begin_stage(index, stage.name, stage.start, stage.end, learning_rate)
        self.record = {"epochs": list(stage_history.epoch),
                       "history": {k: [float(v) for v in vs] for k, vs in stage_history.history.items()}}
        self.end_stage(backbone.mode)
        self.stage_index = index + 1
        self.save(model, None, next_epoch=stage.end, mid_fit=False, unfrozen_groups=backbone.unfrozen_groups,
                  mode=backbone.mode, user_callbacks=user_callbacks, at_stage_start=True)

    def fit_callbacks(self, callbacks, plan_callbacks, user_callbacks, policy=None) -> list:
        """``callbacks`` of one ``fit`` with the restore first and the checkpoint writer last."""
        writer = EpochCheckpoint(self, plan_callbacks, user_callbacks, policy=policy)
        writer.before_fit()
        return [RestoreCheckpoint(self)] + list(callbacks) + [writer]

    def record_epoch(self, epoch: int, logs):
        """Add one epoch's logs to the current stage's record."""
        self.record["epochs"].append(int(epoch))
        n_before = len(self.record["epochs"]) - 1
        for key, value in _plain(logs).items():
            self.record["history"].setdefault(key, [float("nan")] * n_before).append(value)
        for column in self.record["history"].values():
            column.extend([float("nan")] * (len(self.record["epochs"]) - len(column)))

    def save_epoch(self, model, epoch: int, *, stopping: bool, pending: bool, plan_callbacks, user_callbacks):
        """Checkpoint after epoch ``epoch``: the next epoch of this stage, or the next stage when it is done."""
        following, backbone = epoch + 1, model.backbone
        last_epoch = following >= self.stage_end
        stage_done = last_epoch or (stopping and not pending)
        if stage_done:
            self.end_stage(backbone.mode)
            saved_index, saved_epoch = self.stage_index + 1, self.stage_end
        else:
            saved_index, saved_epoch = self.stage_index, following
        current_index, self.stage_index = self.stage_index, saved_index
        try:
            self.save(
                model, model.optimizer, next_epoch=saved_epoch, mid_fit=not (stopping or last_epoch),
                unfrozen_groups=backbone.unfrozen_groups, mode=backbone.mode, plan_callbacks=plan_callbacks,
                user_callbacks=user_callbacks, at_stage_start=stage_done,
            )
        finally:
            self.stage_index = current_index


class RestoreCheckpoint(keras.callbacks.Callback):
    """First callback of a resumed run's first ``fit``: builds the optimizer, restores weights and its state.

    The optimizer is built for the trainable variables of the resumed epoch (the stage's unfrozen groups, after
    any gradual unfreezing), so its stored moments land on the variables they belong to.
    """

    def __init__(self, run: ResumableRun):
        super().__init__()
        self.run = run

    def on_train_begin(self, logs=None):
        run = self.run
        if not run.restore_pending:
            return
        model = self.model
        with model.distribute_strategy.scope():
            if not model.optimizer.built:
                model.optimizer.build(model.trainable_variables)
        run.store.restore_weights(model, run.state)
        run.restore_average(model)
        if not run.state.get("at_stage_start"):  # a new stage starts with a fresh optimizer, as uninterrupted
            run.store.restore_optimizer(model.optimizer, model, run.state)


class EpochCheckpoint(keras.callbacks.Callback):
    """Last callback of every ``fit`` of ``fine_tune(checkpoint_dir=...)``: saves the run after every epoch.

    It also restores the other callbacks' state for a run resumed in the middle of a ``fit`` (after their own
    ``on_train_begin`` reset it), and records each epoch's logs so the returned history covers every epoch.

    Args:
        run: ResumableRun.
        plan_callbacks: the stage's own LR callbacks (new per stage; they persist across gradual-unfreezing fits).
        user_callbacks: the user's callbacks (the same objects in every stage).
        policy: the gradual-unfreezing policy of the stage, or None.
    """

    def __init__(self, run: ResumableRun, plan_callbacks, user_callbacks, policy=None):
        super().__init__()
        self.run = run
        self.plan_callbacks = [cb for cb in plan_callbacks if cb is not policy]
        self.user_callbacks = list(user_callbacks)
        self.policy = policy

    def _restore_callbacks(self):
        state = self.run.state
        restore_callback_states(self.user_callbacks, state.get("user_callbacks"))
        if not state.get("at_stage_start"):
            restore_callback_states(self.plan_callbacks, state.get("plan_callbacks"))

    def before_fit(self):
        """Called right before ``fit``: the callbacks get the state they carried into the interrupted epoch."""
        if self.run.restore_pending:
            self._restore_callbacks()

    def on_train_begin(self, logs=None):
        run = self.run
        if run.restore_pending:
            if run.state.get("mid_fit"):  # after their own on_train_begin reset, as in the uninterrupted fit
                self._restore_callbacks()
            run.restore_pending = False  # the restore (RestoreCheckpoint, first in the list) is done

    def on_epoch_end(self, epoch, logs=None):
        self.run.record_epoch(epoch, logs)
        pending = self.policy is not None and self.policy.pending is not None
        self.run.save_epoch(self.model, epoch, stopping=bool(self.model.stop_training), pending=pending,
                            plan_callbacks=self.plan_callbacks, user_callbacks=self.user_callbacks)
