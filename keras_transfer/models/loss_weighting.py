"""How a multi-task model sums its task losses: fixed weights, learned uncertainty weights, dynamic weight averaging.

Every scheme is a Keras layer owned by ``keras_transfer.MultiTaskModel`` (so its variables train, save and
load with the model) with one method, ``combine(losses, present, training)``: the per-task losses (each the
mean over that task's *labelled* examples of the batch) and a 0/1 flag per task saying whether the batch held
any label for it. A task without labels in a batch contributes nothing, not even its regulariser.
"""

import math
from typing import Dict, Optional, Sequence

import keras

from keras_transfer.errors import InvalidConfigError

__all__ = ["DynamicWeightAveraging", "FixedWeighting", "LossWeighting", "UncertaintyWeighting", "get"]


class LossWeighting(keras.layers.Layer):
    """Base class: combines per-task losses into the training loss.

    Args:
        tasks: sequence of str or None. Task names, in the model's head order; None: set by the model.
        **kwargs: base layer arguments.
    """

    def __init__(self, tasks: Optional[Sequence[str]] = None, **kwargs):
        super().__init__(**kwargs)
        self.tasks = None if tasks is None else [str(t) for t in tasks]

    def bind(self, tasks: Sequence[str]):
        """Attach the task names (called by ``MultiTaskModel``) and create the variables.

        Raises:
            InvalidConfigError: the scheme was made for other tasks.
        """
        tasks = [str(t) for t in tasks]
        if self.tasks is not None and self.tasks != tasks:
            raise InvalidConfigError(
                f"{type(self).__name__} was made for tasks {self.tasks}, but the model's heads are {tasks}. "
                f"Received: tasks={self.tasks!r}. Make it with tasks=None (the model fills them in) or the heads' names."
            )
        self.tasks = tasks
        if not self.built:
            self.build(None)
        return self

    def build(self, input_shape=None):
        self.built = True

    def combine(self, losses: Dict[str, "keras.KerasTensor"], present: Dict[str, "keras.KerasTensor"], training=False):
        """The total loss.

        Args:
            losses: dict ``{task: scalar loss}`` (mean over the task's labelled examples, 0 when none).
            present: dict ``{task: 1.0 or 0.0}``: whether the batch held labels for the task.
            training: bool. True in ``fit``'s train step (stateful schemes update only then).

        Returns:
            scalar tensor.
        """
        weights = self.weights_tensor()
        return sum(weights[i] * losses[t] * present[t] for i, t in enumerate(self.tasks))

    def weights_tensor(self):
        """Effective weight per task as a tensor of shape ``(len(tasks),)``."""
        return keras.ops.ones((len(self.tasks),))

    def task_weights(self) -> Dict[str, float]:
        """Current effective weight per task.

        Returns:
            dict ``{task: float}``.
        """
        values = keras.ops.convert_to_numpy(self.weights_tensor())
        return {t: float(v) for t, v in zip(self.tasks, values)}

    def get_config(self):
        config = super().get_config()
        config.update(tasks=self.tasks)
        return config


@keras.saving.register_keras_serializable(package="keras_transfer")
class FixedWeighting(LossWeighting):
    """A constant weight per task: ``loss = sum_t w_t * L_t`` (tasks not named weigh 1).

    Args:
        weights: dict ``{task: float ≥ 0}`` or None (all 1).
        tasks: sequence of str or None.
        **kwargs: base layer arguments.

    Raises:
        InvalidConfigError: a negative / non-finite weight, or a name that is not a task (at ``bind``).

    Examples:
    >>> w = keras_transfer.models.loss_weighting.FixedWeighting({"digit": 2.0}).bind(["digit", "parity"])
    >>> w.task_weights()
    {'digit': 2.0, 'parity': 1.0}
    """

    def __init__(self, weights: Optional[Dict[str, float]] = None, tasks=None, **kwargs):
        super().__init__(tasks=tasks, **kwargs)
        weights = dict(weights or {})
        for task, value in weights.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise InvalidConfigError(
                    f"Loss weights must be finite floats ≥ 0. Received: loss_weighting[{task!r}]={value!r}."
                )
        self.fixed = {str(k): float(v) for k, v in weights.items()}

    def build(self, input_shape=None):
        unknown = sorted(set(self.fixed) - set(self.tasks))
        if unknown:
            raise InvalidConfigError(
                f"loss_weighting names tasks that have no head: {unknown}. Received: weights for {sorted(self.fixed)}; "
                f"the heads are {self.tasks}."
            )
        self.built = True

    def weights_tensor(self):
        return keras.ops.convert_to_tensor([self.fixed.get(t, 1.0) for t in self.tasks], "float32")

    def get_config(self):
        config = super().get_config()
        config.update(weights=dict(self.fixed))
        return config


@keras.saving.register_keras_serializable(package="keras_transfer")
class UncertaintyWeighting(LossWeighting):
    """Learned weights from homoscedastic uncertainty (Kendall, Gal & Cipolla, CVPR 2018).

    One learnable log-variance ``s_t`` per task (init 0):
    ``loss = sum_t exp(-s_t) * L_t + s_t``. Minimising over ``s_t`` gives ``exp(-s_t) = 1 / L_t``: a task whose
    loss stays high (noisy labels) is down-weighted, and the ``+ s_t`` term keeps every weight from collapsing
    to 0. The effective weight reported by ``task_weights()`` is ``exp(-s_t)``. ``s_t`` is clipped to
    ``[-max_log_variance, max_log_variance]`` so a task that fits perfectly cannot blow its weight up.

    Args:
        tasks: sequence of str or None.
        max_log_variance: float > 0. Clip of the log-variances.
        **kwargs: base layer arguments.

    Examples:
    >>> w = keras_transfer.models.loss_weighting.UncertaintyWeighting().bind(["a", "b"])
    >>> w.task_weights()
    {'a': 1.0, 'b': 1.0}
    """

    def __init__(self, tasks=None, max_log_variance: float = 10.0, **kwargs):
        super().__init__(tasks=tasks, **kwargs)
        self.max_log_variance = float(max_log_variance)
        self.log_variance = None

    def build(self, input_shape=None):
        self.log_variance = self.add_weight(shape=(len(self.tasks),), initializer="zeros", name="log_variance")
        self.built = True

    def _clipped(self):
        return keras.ops.clip(self.log_variance, -self.max_log_variance, self.max_log_variance)

    def combine(self, losses, present, training=False):
        s = self._clipped()
        terms = [(keras.ops.exp(-s[i]) * losses[t] + s[i]) * present[t] for i, t in enumerate(self.tasks)]
        return sum(terms)

    def weights_tensor(self):
        return keras.ops.exp(-self._clipped())

    def get_config(self):
        config = super().get_config()
        config.update(max_log_variance=self.max_log_variance)
        return config


@keras.saving.register_keras_serializable(package="keras_transfer")
class DynamicWeightAveraging(LossWeighting):
    """Dynamic weight averaging (Liu, Johns & Davison, CVPR 2019): weights from each task's rate of descent.

    ``w_t = K * softmax(r / T)_t`` with ``r_t = L_t(window n-1) / L_t(window n-2)``: a task whose loss falls
    slowly gets more weight. Liu et al. average over epochs; here the windows are ``period`` training steps
    (set it to the steps per epoch for their scheme), so the weights update inside the compiled train step with
    no callback. Until two windows have passed every weight is 1. Evaluation never updates the state.

    Args:
        tasks: sequence of str or None.
        temperature: float > 0. ``T``: higher is closer to equal weights (paper: 2).
        period: int ≥ 1. Training steps per averaging window.
        **kwargs: base layer arguments.

    Examples:
    >>> w = keras_transfer.models.loss_weighting.DynamicWeightAveraging(period=10).bind(["a", "b"])
    >>> w.task_weights()
    {'a': 1.0, 'b': 1.0}
    """

    def __init__(self, tasks=None, temperature: float = 2.0, period: int = 50, **kwargs):
        super().__init__(tasks=tasks, **kwargs)
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not temperature > 0:
            raise InvalidConfigError(f"temperature must be a float > 0. Received: temperature={temperature!r}.")
        if isinstance(period, bool) or not isinstance(period, int) or period < 1:
            raise InvalidConfigError(f"period must be an int ≥ 1 (training steps). Received: period={period!r}.")
        self.temperature = float(temperature)
        self.period = int(period)

    def build(self, input_shape=None):
        k = len(self.tasks)

        def state(name, shape=(k,)):
            return self.add_weight(shape=shape, initializer="zeros", name=name, trainable=False)

        self.window_sum, self.window_count = state("window_sum"), state("window_count")
        self.previous, self.before_previous = state("previous"), state("before_previous")
        self.step = state("step", ())
        self.built = True

    def weights_tensor(self):
        ops = keras.ops
        previous, before = ops.convert_to_tensor(self.previous), ops.convert_to_tensor(self.before_previous)
        known = ops.logical_and(previous > 0, before > 0)
        ratio = ops.where(known, previous / ops.where(known, before, 1.0), 1.0)
        return len(self.tasks) * ops.softmax(ratio / self.temperature)

    def combine(self, losses, present, training=False):
        ops = keras.ops
        weights = ops.stop_gradient(self.weights_tensor())
        total = sum(weights[i] * losses[t] * present[t] for i, t in enumerate(self.tasks))
        if training:
            loss_vec = ops.stack([ops.stop_gradient(ops.cast(losses[t], "float32")) for t in self.tasks])
            present_vec = ops.stack([ops.cast(present[t], "float32") for t in self.tasks])
            sums = ops.convert_to_tensor(self.window_sum) + loss_vec * present_vec
            counts = ops.convert_to_tensor(self.window_count) + present_vec
            step = ops.convert_to_tensor(self.step) + 1.0
            roll = step >= self.period
            previous = ops.convert_to_tensor(self.previous)
            mean = ops.where(counts > 0, sums / ops.maximum(counts, 1.0), previous)
            new_before = ops.where(roll, previous, ops.convert_to_tensor(self.before_previous))
            new_previous = ops.where(roll, mean, previous)
            self.before_previous.assign(new_before)
            self.previous.assign(new_previous)
            self.window_sum.assign(ops.where(roll, ops.zeros_like(sums), sums))
            self.window_count.assign(ops.where(roll, ops.zeros_like(counts), counts))
            self.step.assign(ops.where(roll, 0.0, step))
        return total

    def get_config(self):
        config = super().get_config()
        config.update(temperature=self.temperature, period=self.period)
        return config


SCHEMES = {"uncertainty": UncertaintyWeighting, "dwa": DynamicWeightAveraging}


def get(loss_weighting, tasks: Sequence[str]) -> LossWeighting:
    """The loss-weighting layer for ``MultiTaskModel(loss_weighting=...)``, bound to ``tasks``.

    Args:
        loss_weighting: None (every task weighs 1), a dict ``{task: weight}``, ``"uncertainty"`` (Kendall et al.),
            ``"dwa"`` (dynamic weight averaging) or a ``LossWeighting`` instance.
        tasks: sequence of str. The heads' names.

    Returns:
        LossWeighting.

    Raises:
        InvalidConfigError: an unknown name or type, or weights for tasks without a head.

    Examples:
    >>> keras_transfer.models.loss_weighting.get("uncertainty", ["a", "b"]).task_weights()
    {'a': 1.0, 'b': 1.0}
    """
    if loss_weighting is None or isinstance(loss_weighting, dict):
        return FixedWeighting(loss_weighting).bind(tasks)
    if isinstance(loss_weighting, str):
        key = loss_weighting.lower().strip()
        if key not in SCHEMES:
            raise InvalidConfigError(
                f"Unknown loss weighting. Received: loss_weighting={loss_weighting!r}. Use None (equal weights), a dict "
                f"{{task: weight}}, {' or '.join(repr(k) for k in SCHEMES)}, or a LossWeighting instance."
            )
        return SCHEMES[key]().bind(tasks)
    if isinstance(loss_weighting, LossWeighting):
        return loss_weighting.bind(tasks)
    raise InvalidConfigError(
        f"loss_weighting must be None, a dict, a scheme name or a LossWeighting. Received: loss_weighting of type "
        f"{type(loss_weighting).__name__}."
    )
