"""`NanGuard`: stop a diverging run at the first non-finite loss and put the last good weights back."""

import math

import keras

from keras_transfer.errors import TrainingDivergedError
from keras_transfer.optimizers.learning_rates import get_learning_rates

__all__ = ["NanGuard"]


class NanGuard(keras.callbacks.Callback):
    """Stop training when the loss becomes NaN or infinite, restore the last good weights and raise.

    Keras' ``TerminateOnNaN`` only stops, leaving NaN weights in the model. This guard keeps a copy of the
    weights at the start of training and after every finished epoch (whose loss was finite); at the first batch
    with a non-finite loss it puts that copy back and raises ``TrainingDivergedError`` naming the stage, epoch,
    batch and learning rate. ``fine_tune(nan_guard=True)`` (the default) adds it last but one, before the
    checkpoint writer, so a diverged epoch is never checkpointed.

    Args:
        stage: str. Stage name for the message.
        checkpoint_dir: str or None. Named in the message (the last good checkpoint stays there).

    Examples:
    >>> guard = keras_transfer.training.NanGuard(stage="head")
    >>> guard.stage
    'head'
    """

    def __init__(self, stage: str = "training", checkpoint_dir=None):
        super().__init__()
        self.stage = stage
        self.checkpoint_dir = checkpoint_dir
        self._good = None
        self._good_epoch = None
        self._epoch = 0

    def _keep(self, epoch):
        self._good = [keras.ops.convert_to_numpy(v).copy() for v in self.model.weights]
        self._good_epoch = epoch

    def on_train_begin(self, logs=None):
        self._keep(None)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None:
            return
        value = float(keras.ops.convert_to_numpy(loss))
        if math.isfinite(value):
            return
        self._diverged(value, f"epoch {self._epoch}, batch {batch}")

    def on_epoch_end(self, epoch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self._diverged(float(loss), f"end of epoch {epoch}")
        self._keep(epoch)

    def _diverged(self, value, where):
        self.model.stop_training = True
        for variable, array in zip(self.model.weights, self._good):
            variable.assign(array)
        try:
            rates = get_learning_rates(self.model.optimizer)
            rate_text = ", ".join(f"{name}={rate:.3g}" for name, rate in rates.items())
        except Exception:  # a schedule or an exotic optimizer: no rate to show
            rate_text = "unknown"
        kept = (
            f"the weights from the end of epoch {self._good_epoch} were restored"
            if self._good_epoch is not None
            else "the weights from before this training call were restored"
        )
        if self.checkpoint_dir is not None:
            kept += f" and the last good checkpoint in {str(self.checkpoint_dir)!r} is kept"
        raise TrainingDivergedError(
            f"Training diverged in stage {self.stage!r} at {where}: the loss became {value}. Received: "
            f"learning rate(s) {rate_text}. The learning rate is most likely too high: lower it (e.g. 10x: "
            "head_lr / fine_tune_lr, or lr='auto' to pick one with the LR finder), and check the inputs for "
            f"extreme values. {kept[0].upper() + kept[1:]}."
        )
