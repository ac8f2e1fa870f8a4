"""`GrowOnPlateau`: widen a layer (by default the head's last hidden layer) when validation stops improving."""

import math
from typing import List, Optional, Sequence, Tuple

import keras
import numpy as np

from keras_transfer.errors import InvalidConfigError
from keras_transfer.growth.adapters import adapter_for
from keras_transfer.growth.net2net import _check_noise, net2wider
from keras_transfer.callbacks.history import FineTuneHistory

__all__ = ["GrowOnPlateau"]


class GrowOnPlateau(keras.callbacks.Callback):
    """A growth policy: when ``monitor`` has not improved for ``patience`` epochs, widen a layer by ``factor``.

    A Keras ``fit`` cannot swap the model it trains, so growth happens between fits. :meth:`fit` runs the
    whole loop: train, and on a plateau stop, widen with :func:`keras_transfer.growth.net2wider` (function
    preserved, zero-sum noise for symmetry breaking), and continue training the grown model from the next
    epoch, up to ``max_growths`` times. The grown model is compiled like the old one with a fresh
    optimizer (same hyperparameters and current learning rate; moment estimates and iteration count reset).

    Used alone as a callback in ``model.fit``, it stops training on a plateau and leaves the grown model in
    :attr:`grown_model`; continue with ``policy.grown_model.fit(...)`` (or use :meth:`fit`).

    Args:
        layer_name: str or None. The layer to widen; None takes the head's last hidden layer for a
            TransferModel, the last widenable Dense / convolution layer for Functional / Sequential models.
        factor: float > 1. New units = ``ceil(units × factor)``.
        monitor: str. Logged quantity to watch (``"val_loss"``, ``"val_accuracy"``, ...).
        mode: ``"auto"``, ``"min"`` or ``"max"``. ``"auto"`` maximises names containing "acc" or "auc".
        patience: int ≥ 1. Epochs without improvement before growing.
        min_delta: float ≥ 0. Smallest change counted as an improvement.
        max_growths: int ≥ 1. How many times to grow at most.
        noise: float ≥ 0. Passed to ``net2wider`` (0.1: copies diverge, function still preserved).
        seed: int or None. Seeds the unit copies and the noise.
        verbose: int. 1 prints a line at each growth.

    Attributes:
        grown_model: the model grown at the last plateau of the current fit, or None.
        growths: list of dicts ``{"epoch", "layer", "old_units", "new_units"}``.

    Examples:
    >>> import numpy as np
    >>> keras_transfer.testing.register_tiny_backbone()
    'tiny_cnn'
    >>> backbone = keras_transfer.backbones.get("tiny_cnn", weights=None, input_shape=(32, 32))
    >>> model = keras_transfer.TransferModel(backbone, keras_transfer.ClassificationHead(3, hidden_units=(4,)))
    >>> model.compile(optimizer="adam")
    >>> x, y = np.random.randint(0, 255, (12, 28, 28, 1), "uint8"), np.arange(12) % 3
    >>> policy = keras_transfer.growth.GrowOnPlateau(patience=1, min_delta=10.0)
    >>> model, history = policy.fit(model, x, y, validation_data=(x, y), epochs=3, verbose=0)
    >>> model.head.hidden_units, policy.growths[0]["epoch"]
    ((8,), 1)
    """

    def __init__(
        self,
        layer_name: Optional[str] = None,
        *,
        factor: float = 2.0,
        monitor: str = "val_loss",
        mode: str = "auto",
        patience: int = 2,
        min_delta: float = 0.0,
        max_growths: int = 1,
        noise: float = 0.1,
        seed: Optional[int] = None,
        verbose: int = 0,
    ):
        super().__init__()
        if layer_name is not None and (not isinstance(layer_name, str) or not layer_name):
            raise InvalidConfigError(f"layer_name must be a layer name or None. Received: layer_name={layer_name!r}.")
        if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not math.isfinite(factor) or factor <= 1:
            raise InvalidConfigError(f"factor must be a float > 1 (growth only). Received: factor={factor!r}.")
        if mode not in ("auto", "min", "max"):
            raise InvalidConfigError(f"mode must be 'auto', 'min' or 'max'. Received: mode={mode!r}.")
        for name, value in (("patience", patience), ("max_growths", max_growths)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidConfigError(f"{name} must be an int ≥ 1. Received: {name}={value!r}.")
        if isinstance(min_delta, bool) or not isinstance(min_delta, (int, float)) or min_delta < 0:
            raise InvalidConfigError(f"min_delta must be a float ≥ 0. Received: min_delta={min_delta!r}.")
        if not isinstance(monitor, str) or not monitor:
            raise InvalidConfigError(f"monitor must be a metric name. Received: monitor={monitor!r}.")
        self.layer_name = layer_name
        self.factor = float(factor)
        self.monitor = monitor
        if mode == "auto":
            mode = "max" if any(key in monitor for key in ("acc", "auc")) else "min"
        self.mode = mode
        self.patience = patience
        self.min_delta = float(min_delta)
        self.max_growths = max_growths
        self.noise = _check_noise(noise)
        self.seed = seed
        self.verbose = int(verbose)
        self.reset()

    def reset(self):
        """Forget the best value, the patience count and past growths."""
        self.best = math.inf if self.mode == "min" else -math.inf
        self.wait = 0
        self.growths: List[dict] = []
        self.grown_model = None

    def _improved(self, value: float) -> bool:
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_train_begin(self, logs=None):
        self.grown_model = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.monitor not in logs:
            raise InvalidConfigError(
                f"GrowOnPlateau watches {self.monitor!r}, which this fit does not log. Received: logs with "
                f"{sorted(logs)}. Pass validation data for 'val_*' metrics, or set monitor to a logged name."
            )
        value = float(logs[self.monitor])
        if self._improved(value):
            self.best, self.wait = value, 0
            return
        self.wait += 1
        if self.wait < self.patience or len(self.growths) >= self.max_growths:
            return
        if self.params and epoch + 1 >= self.params.get("epochs", math.inf):
            return  # nothing left to train the grown model with
        self.grown_model = self.grow(self.model, epoch)
        self.wait = 0
        self.model.stop_training = True

    def grow(self, model, epoch: int = -1):
        """Widen ``model``'s layer by ``factor`` now and record the growth. Returns the grown model."""
        adapter = adapter_for(model)
        layer_name = self.layer_name or adapter.default_layer(model)
        old_units = adapter.units(model, layer_name)
        new_units = max(old_units + 1, int(math.ceil(old_units * self.factor)))
        seed = None if self.seed is None else self.seed + len(self.growths)
        grown = net2wider(model, layer_name, new_units, noise=self.noise, seed=seed)
        self.growths.append({"epoch": int(epoch), "layer": layer_name, "old_units": old_units, "new_units": new_units})
        if self.verbose:
            print(f"\nGrowOnPlateau: epoch {epoch + 1}: {self.monitor} stalled; {layer_name}: "
                  f"{old_units} → {new_units} units")
        return grown

    def fit(
        self,
        model,
        x=None,
        y=None,
        *,
        epochs: int,
        validation_data=None,
        callbacks: Optional[Sequence[keras.callbacks.Callback]] = None,
        **fit_kwargs,
    ) -> Tuple[keras.Model, FineTuneHistory]:
        """Train ``model`` for ``epochs`` epochs in total, growing it on each plateau.

        Args:
            model: a compiled model (Functional, Sequential or TransferModel).
            x, y: training data as for ``model.fit``.
            epochs: int ≥ 1. Total epochs over all sizes.
            validation_data: as for ``model.fit``; needed to monitor ``val_*``.
            callbacks: other callbacks, passed to every ``fit``.
            **fit_kwargs: other ``model.fit`` arguments (``batch_size``, ``verbose``, ...).

        Returns:
            ``(final_model, history)``: the last (possibly grown) model and a FineTuneHistory whose
            stages are ``"initial"``, ``"grown_1"``, ... (``mode`` records the layer size).

        Raises:
            InvalidConfigError: model not compiled, ``epochs`` < 1, ``val_*`` monitored without validation
                data, or a layer that cannot be widened (checked before training).
        """
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise InvalidConfigError(f"epochs must be an int ≥ 1. Received: epochs={epochs!r}.")
        if not getattr(model, "compiled", False):
            raise InvalidConfigError(
                "GrowOnPlateau.fit needs a compiled model (grown models are compiled the same way). Received: "
                f"an uncompiled {type(model).__name__}. Call model.compile(...) first."
            )
        if self.monitor.startswith("val_") and validation_data is None and not fit_kwargs.get("validation_split"):
            raise InvalidConfigError(
                f"GrowOnPlateau watches {self.monitor!r} but no validation data was given. Received: "
                "validation_data=None. Pass validation_data=(x_val, y_val) or monitor='loss'."
            )
        for key in ("epochs", "initial_epoch"):
            if key in fit_kwargs:
                raise InvalidConfigError(f"GrowOnPlateau.fit sets {key} itself. Received: {key}={fit_kwargs[key]!r}.")
        adapter = adapter_for(model)
        layer_name = self.layer_name or adapter.default_layer(model)
        adapter.check_widen(model, layer_name)  # before any epoch is spent
        self.reset()
        history = FineTuneHistory()
        epoch, stage = 0, 0
        while epoch < epochs:
            stage_history = model.fit(
                x,
                y,
                epochs=epochs,
                initial_epoch=epoch,
                validation_data=validation_data,
                callbacks=[self] + list(callbacks or []),
                **fit_kwargs,
            )
            name = "initial" if stage == 0 else f"grown_{stage}"
            size = f"{layer_name}={adapter.units(model, layer_name)}"
            history.add_stage(name, stage_history, _learning_rate(model), size)
            epoch += len(stage_history.epoch)
            if self.grown_model is None or not stage_history.epoch:
                break
            model, stage = self.grown_model, stage + 1
            self.grown_model = None
        return model, history


def _learning_rate(model) -> float:
    try:
        return float(np.asarray(keras.ops.convert_to_numpy(model.optimizer.learning_rate)))
    except (AttributeError, TypeError, ValueError):
        return float("nan")
