"""`ExponentialMovingAverage`: an average of the weights over training steps, swapped in wherever the model is
judged or kept (``fine_tune(ema=0.999)``; timm's ``--model-ema``).

Keras optimizers have ``use_ema``, but the averaged weights only replace the trained ones at the very end of
``fit`` (``ema_overwrite_frequency``), so validation, best-model checkpoints and early stopping judge the raw
weights, and a new optimizer per stage restarts the average (keras-team/keras#18949). This callback keeps the
average itself, across every ``fit`` it is attached to:

- after every training batch: ``average ← w + d · (average − w)`` with ``d = min(decay, (1 + n) / (10 + n))``
  at update ``n`` (the warm-up keeps the first steps' random head from dominating a short run); frozen weights
  stay bit-exact (``average − w`` is 0);
- validation inside ``fit`` (``on_test_begin``) and every callback's ``on_epoch_end`` after this one (best-model
  checkpoints, early stopping, resume checkpoints) see the averaged weights; the next epoch trains on the raw
  ones again (``on_epoch_begin``);
- at the end of ``fit`` the model holds the averaged weights, so ``evaluate``, ``save`` and ``export`` use them;
  a following ``fit`` (the next stage) continues from the raw weights and keeps averaging.

Its state (the averages and the update count) is saved and restored with ``get_state`` / ``set_state``; the
``keras_transfer.training`` checkpoints store it beside the trained weights (``raw_weights``), so a resumed run is
exact.
"""

import contextlib
from typing import List, Optional

import keras
import numpy as np
import tensorflow as tf

from keras_transfer.checks import check_number

__all__ = ["ExponentialMovingAverage"]


def _averaged_variables(model) -> List:
    """The model's floating-point weights, in ``model.weights`` order (stable for one model construction)."""
    return [v for v in model.weights if np.dtype(keras.backend.standardize_dtype(v.dtype)).kind == "f"]


class ExponentialMovingAverage(keras.callbacks.Callback):
    """Exponential moving average of a model's weights, swapped in for validation and at the end of ``fit``.

    Put it first in the callback list, so the callbacks after it see the averaged weights in ``on_epoch_end``.

    Args:
        decay: float in (0, 1). The average's decay (0.999 for runs of thousands of steps, 0.99 for hundreds).
        warmup: bool. Use ``min(decay, (1 + n) / (10 + n))`` at update ``n`` instead of ``decay``.

    Examples:
    >>> import numpy as np
    >>> name = keras_transfer.testing.register_tiny_backbone()
    >>> backbone = keras_transfer.backbones.get(name, weights=None, input_shape=(32, 32))
    >>> model = keras_transfer.TransferModel(backbone, keras_transfer.ClassificationHead(2))
    >>> model.compile("adam")
    >>> ema = keras_transfer.callbacks.ExponentialMovingAverage(0.9)
    >>> x, y = np.random.randint(0, 255, (8, 28, 28, 1), "uint8"), np.arange(8) % 2
    >>> _ = model.fit(x, y, batch_size=4, epochs=1, callbacks=[ema], verbose=0)
    >>> ema.updates, ema.averaged   # two steps averaged; the model holds the average
    (2, True)
    """

    def __init__(self, decay: float = 0.999, warmup: bool = True):
        super().__init__()
        self.decay = check_number("decay", decay, minimum=0, maximum=1, min_inclusive=False, max_inclusive=False,
                                  hint="Use e.g. decay=0.999.")
        self.warmup = bool(warmup)
        self.updates = 0
        self._variables: Optional[List] = None
        self._averages: Optional[List[tf.Variable]] = None
        self._raw: Optional[List[np.ndarray]] = None  # the trained weights while the averages are swapped in
        self._update = None
        self._in_fit = self._pending_track = False

    # ------------------------------------------------------------------ the average
    def current_decay(self) -> float:
        """The decay the next update uses."""
        if not self.warmup:
            return self.decay
        return min(self.decay, (1.0 + self.updates) / (10.0 + self.updates))

    @property
    def averaged(self) -> bool:
        """Whether the model holds the averaged weights now (the raw ones are kept aside)."""
        return self._raw is not None

    def _track(self, model):
        """Average every floating-point weight of ``model``; a weight seen for the first time (a head built by the
        first training step, a layer added since) starts its average at its current value."""
        variables = _averaged_variables(model)
        if self._variables is not None and len(variables) == len(self._variables) and all(
                a is b for a, b in zip(variables, self._variables)):
            return
        known = {id(v): a for v, a in zip(self._variables or [], self._averages or [])}
        self._averages = [known[id(v)] if id(v) in known else
                          tf.Variable(np.array(keras.ops.convert_to_numpy(v), copy=True), trainable=False)
                          for v in variables]
        self._variables, self._update = variables, None

    def _update_fn(self):
        if self._update is None:
            averages, variables = self._averages, self._variables

            @tf.function
            def update(decay):
                for average, variable in zip(averages, variables):
                    value = tf.cast(tf.convert_to_tensor(variable), average.dtype)
                    average.assign(value + decay * (average - value))

            self._update = update
        return self._update

    def update(self):
        """Fold the model's current weights into the average (called after every training batch)."""
        if self._variables is None:
            self._track(self.model)
        self._update_fn()(tf.constant(self.current_decay(), "float32"))
        self.updates += 1

    def average_weights(self) -> List[np.ndarray]:
        """The averaged weights, in the order of the model's floating-point ``weights``."""
        return [a.numpy() for a in self._averages or []]

    # ------------------------------------------------------------------ swapping
    def swap_in(self):
        """Put the averaged weights into the model, keeping the raw ones aside (no-op if already in)."""
        if self._raw is not None or self._averages is None:
            return
        self._raw = [np.array(keras.ops.convert_to_numpy(v), copy=True) for v in self._variables]
        for variable, average in zip(self._variables, self._averages):
            variable.assign(average)

    def swap_out(self):
        """Put the raw (trained) weights back (no-op if they are in)."""
        if self._raw is None:
            return
        for variable, value in zip(self._variables, self._raw):
            variable.assign(value)
        self._raw = None

    @contextlib.contextmanager
    def raw_weights(self):
        """The model holds the raw weights inside the block, and what it held before after it."""
        was_averaged = self.averaged
        self.swap_out()
        try:
            yield
        finally:
            if was_averaged:
                self.swap_in()

    # ------------------------------------------------------------------ callback hooks
    def on_train_begin(self, logs=None):
        self._in_fit = self._pending_track = True  # weights a model builds in its first step exist only after it
        self.swap_out()
        self._track(self.model)

    def on_epoch_begin(self, epoch, logs=None):
        self.swap_out()

    def on_train_batch_end(self, batch, logs=None):
        if self._pending_track:
            self._pending_track = False
            self._track(self.model)
        self.update()

    def on_test_begin(self, logs=None):
        if self._in_fit:  # fit's validation: judge the average
            self.swap_in()

    def on_epoch_end(self, epoch, logs=None):
        self.swap_in()

    def on_train_end(self, logs=None):
        self._in_fit = False
        self.swap_in()

    # ------------------------------------------------------------------ checkpoint state
    @property
    def started(self) -> bool:
        """Whether the average exists (the first ``fit`` began)."""
        return self._averages is not None

    def get_state(self) -> dict:
        """``{"updates": int, "averages": [arrays]}``: what a checkpoint stores."""
        return {"updates": int(self.updates), "averages": self.average_weights()}

    def set_state(self, model, state: dict):
        """Restore ``get_state``'s output onto ``model`` (built, same construction): the averages and count;
        the model's weights are left as they are (the checkpoint restores the raw ones)."""
        self.set_model(model)
        self._variables = self._averages = self._raw = None
        self._track(model)
        for average, array in zip(self._averages, state["averages"]):
            average.assign(array)
        self.updates = int(state["updates"])
