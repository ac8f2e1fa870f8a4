"""`GradualUnfreezing`: when to unfreeze one more backbone layer group (the loop does the recompiling)."""

import json
from pathlib import Path
from typing import Dict, Optional

import keras

from keras_transfer.atomic import atomic_write
from keras_transfer.errors import InvalidConfigError

__all__ = ["GradualUnfreezing"]


class GradualUnfreezing(keras.callbacks.Callback):
    """A gradual-unfreezing policy: how many layer groups (from the top) train in each epoch of a stage.

    Unfreezing changes the trainable variables, which only takes effect after ``compile()``; so this callback
    decides *when* and ``keras_transfer.fine_tune(unfreeze="gradual")`` does *how*: at the end of an epoch
    after which the schedule wants more groups, the callback stops ``fit``; the loop unfreezes, recompiles with
    the optimizer state of the already-trainable variables carried over
    (``keras_transfer.optimizers.copy_optimizer_state``) and continues the epoch count.

    The schedule is a pure function of the epoch (``groups_at``), so a resumed run re-unfreezes exactly the
    groups of the epoch it resumes at. The callback also guards every epoch: if ``fit`` runs an epoch with a
    different number of trainable groups than the schedule says (a restored model that was silently frozen
    again, PyTorch Lightning's resume bug), it raises before any batch trains. With ``state_path`` the state
    is written to JSON after every epoch (``load_state`` reads it back).

    Args:
        schedule: None (one more group every ``every`` epochs, starting with 1), a list of group counts for the
            stage's epochs (the last one holds), or a dict ``{stage epoch: group count}`` (a step function;
            epochs before the first key train 1 group).
        every: int ≥ 1. Epochs between unfreezings for the default schedule.
        state_path: str or Path, or None. JSON file updated after every epoch.

    Raises:
        InvalidConfigError: a malformed schedule or ``every < 1``.

    Examples:
    >>> policy = keras_transfer.callbacks.GradualUnfreezing()
    >>> policy.bind(start_epoch=2, max_groups=3)
    >>> [policy.groups_at(e) for e in range(2, 7)]
    [1, 2, 3, 3, 3]
    """

    def __init__(self, schedule=None, every: int = 1, state_path=None):
        super().__init__()
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise InvalidConfigError(f"every must be an int ≥ 1. Received: every={every!r}.")
        if schedule is not None:
            values = list(schedule.values()) if isinstance(schedule, dict) else schedule
            keys = list(schedule.keys()) if isinstance(schedule, dict) else []
            ok = isinstance(schedule, (dict, list, tuple)) and len(values) > 0
            ok = ok and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in values)
            ok = ok and all(isinstance(k, int) and not isinstance(k, bool) and k >= 0 for k in keys)
            if not ok:
                raise InvalidConfigError(
                    "schedule must be a non-empty list of group counts per epoch ([1, 2, 4]) or a dict "
                    f"{{stage epoch: group count}} with ints ≥ 0. Received: schedule={schedule!r}."
                )
        self.schedule = schedule
        self.every = every
        self.state_path = Path(state_path) if state_path is not None else None
        self.start_epoch = 0
        self.max_groups: Optional[int] = None
        self.pending: Optional[int] = None
        self._end_epoch: Optional[int] = None

    def bind(self, start_epoch: int, max_groups: int, end_epoch: Optional[int] = None):
        """Attach the policy to a stage (called by the training loop).

        Args:
            start_epoch: int. The stage's first epoch.
            max_groups: int. Most groups to unfreeze (the backbone's group count, or the ``unfreeze`` limit).
            end_epoch: int or None. Epoch after the stage's last one.
        """
        self.start_epoch, self.max_groups, self._end_epoch = int(start_epoch), int(max_groups), end_epoch

    def groups_at(self, epoch: int) -> int:
        """Number of trainable groups during ``epoch``."""
        if self.max_groups is None:
            raise InvalidConfigError("GradualUnfreezing is not bound to a stage: call bind(start_epoch, max_groups).")
        k = max(0, int(epoch) - self.start_epoch)
        if self.schedule is None:
            n = 1 + k // self.every
        elif isinstance(self.schedule, dict):
            earlier = [key for key in self.schedule if key <= k]
            n = self.schedule[max(earlier)] if earlier else 1
        else:
            n = self.schedule[min(k, len(self.schedule) - 1)]
        return min(n, self.max_groups)

    def unfrozen_at(self, group_names) -> Dict[str, int]:
        """First epoch each group trains, for groups ordered input → output (never-unfrozen groups omitted)."""
        names = list(group_names)
        result = {}
        end = self._end_epoch if self._end_epoch is not None else self.start_epoch + 1000
        for epoch in range(self.start_epoch, end):
            n = self.groups_at(epoch)
            for name in names[len(names) - n:]:
                result.setdefault(name, epoch)
        return result

    # ------------------------------------------------------------ state
    def get_state(self, epoch: int) -> dict:
        """The resume state after ``epoch`` finished: next epoch and its group count."""
        return {
            "epoch": int(epoch) + 1,
            "unfrozen_groups": self.groups_at(epoch + 1),
            "start_epoch": self.start_epoch,
            "max_groups": self.max_groups,
        }

    @staticmethod
    def load_state(path) -> Optional[dict]:
        """Read a state written through ``state_path`` (None when there is none)."""
        path = Path(path)
        if not path.exists():
            return None
        return json.loads(path.read_text())

    # ------------------------------------------------------------ hooks
    def on_epoch_begin(self, epoch, logs=None):
        backbone = self.model.backbone
        expected = self.groups_at(epoch)
        if backbone.unfrozen_groups != expected:
            raise InvalidConfigError(
                f"Gradual unfreezing: epoch {epoch} should train the last {expected} layer groups, but the backbone "
                f"has {backbone.unfrozen_groups} trainable (mode {backbone.mode!r}). Received: a model whose trainable "
                "state does not match the schedule, e.g. a restored model frozen again. Resume through "
                "keras_transfer.fine_tune(unfreeze=...) or call backbone.set_mode(policy.groups_at(epoch)) and "
                "recompile before fit()."
            )

    def on_epoch_end(self, epoch, logs=None):
        if self.state_path is not None:
            self.state_path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_write(self.state_path) as handle:
                handle.write(json.dumps(self.get_state(epoch)))
        following = epoch + 1
        if self._end_epoch is not None and following >= self._end_epoch:
            return
        if self.groups_at(following) != self.model.backbone.unfrozen_groups:
            self.pending = self.groups_at(following)
            self.model.stop_training = True
