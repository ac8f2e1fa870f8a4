"""`MultiTaskModel`: one shared backbone, several heads, partially labelled data and learned loss weights.

Also here: the per-task learning rates (``task_optimizer``: a head's own optimizer or LR multiplier, a shift
layer's multiplier, as extra sub-optimizers of a ``keras.optimizers.MultiOptimizer``) and the checks
``keras_transfer.fine_tune`` runs on multi-task data (``prepare_multi_task_data``).
"""

import math
import re
from typing import Dict, Optional

import keras
import numpy as np
import tensorflow as tf

from keras_transfer.augmentation.presets import get as get_augmentation
from keras_transfer.data import validation
from keras_transfer.errors import InvalidConfigError, InvalidInputError
from keras_transfer.heads.regression import RegressionHead
import keras_transfer.models.loss_weighting as weighting_module
from keras_transfer.models.base_transfer_model import BaseTransferModel
from keras_transfer.models.class_weights import read_dataset_labels, resolve_class_weights
from keras_transfer.models.head_loss import check_head_loss_options, head_loss
from keras_transfer.models.inputs import model_inputs
from keras_transfer.models.shift_bias import DistributionShiftBias
from keras_transfer.optimizers.factory import copy_optimizer, make_optimizer

__all__ = [
    "MultiTaskModel",
    "prepare_multi_task_data",
    "task_optimizer",
    "validate_task_labels",
]

_TASK_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def _head_kind(head) -> str:
    """``"softmax"``, ``"sigmoid"`` (multi-label), ``"regression"`` or ``"other"``."""
    if getattr(head, "num_classes", None) is not None:
        return "sigmoid" if getattr(head, "multi_label", False) else "softmax"
    return "regression" if isinstance(head, RegressionHead) else "other"


# ----------------------------------------------------------------------------------------------- label handling
def _task_terms(head, y, y_pred):
    """Labels made safe, a 0/1 mask of labelled examples and the label form, in the compiled graph.

    Missing labels: any negative value or NaN for class labels (``-1`` by convention; a dense row counts as
    missing when any entry is), NaN for regression targets (a row is missing when any target is).

    Returns:
        ``(y_safe, mask, form)`` with ``form`` in ``"sparse"``, ``"dense"``, ``"target"``.
    """
    ops = keras.ops
    y = ops.convert_to_tensor(y)
    kind = _head_kind(head)
    pred_rank = len(y_pred.shape)
    if kind == "softmax" and (len(y.shape) == pred_rank - 1 or (len(y.shape) == pred_rank and y.shape[-1] == 1)):
        if len(y.shape) == pred_rank:
            y = ops.squeeze(y, axis=-1)
        y = ops.cast(y, "float32")
        mask = ops.logical_and(y >= 0, ops.logical_not(ops.isnan(y)))
        return ops.where(mask, y, 0.0), ops.cast(mask, "float32"), "sparse"
    y = ops.cast(y, "float32")
    if len(y.shape) == pred_rank - 1:
        y = ops.expand_dims(y, -1)
    bad = ops.isnan(y)
    if kind in ("softmax", "sigmoid"):
        bad = ops.logical_or(bad, y < 0)
    if len(y.shape) > 1:
        row_bad = ops.any(ops.reshape(bad, (ops.shape(y)[0], -1)), axis=-1)
        mask = ops.logical_not(row_bad)
        mask_full = ops.reshape(mask, (-1,) + (1,) * (len(y.shape) - 1))
        y_safe = ops.where(ops.logical_and(mask_full, ops.logical_not(bad)), y, 0.0)
    else:
        mask = ops.logical_not(bad)
        y_safe = ops.where(mask, y, 0.0)
    return y_safe, ops.cast(mask, "float32"), "dense" if kind in ("softmax", "sigmoid") else "target"


def _per_example(loss, y, y_pred, form):
    """Unreduced loss, one value per example (a ``keras.losses.Loss``'s ``call`` or a plain function)."""
    ops = keras.ops
    y = ops.cast(y, "int32") if form == "sparse" else y
    values = loss.call(y, y_pred) if isinstance(loss, keras.losses.Loss) else loss(y, y_pred)
    values = ops.convert_to_tensor(values)
    while len(values.shape) > 1:
        values = ops.mean(values, axis=-1)
    return ops.cast(values, "float32")


def _default_loss(head, form):
    """The loss a task trains with when ``compile`` gets none: the head's, matched to the label form."""
    kind = _head_kind(head)
    if kind == "softmax":
        return keras.losses.SparseCategoricalCrossentropy() if form == "sparse" else keras.losses.CategoricalCrossentropy()
    if hasattr(head, "default_loss"):
        return head.default_loss()
    raise InvalidConfigError(
        f"Head {head.name!r} has no default loss. Pass one with compile(loss={{task: loss}})."
    )


class _TaskState:
    """What ``compile`` decided per task (kept out of Keras' attribute tracking)."""

    def __init__(self, losses, metrics, loss_trackers, weight_trackers, loss_arg, metrics_arg):
        self.losses, self.metrics = losses, metrics
        self.loss_trackers, self.weight_trackers = loss_trackers, weight_trackers
        self.loss_arg, self.metrics_arg = loss_arg, metrics_arg

    def all_metrics(self):
        result = []
        for task in self.metrics:
            result.append(self.loss_trackers[task])
            result.extend(self.metrics[task])
        result.extend(self.weight_trackers.values())
        return result


def _rename_metric(metric, task, head):
    """A metric instance named ``{task}_{name}``."""
    if isinstance(metric, str) and metric in ("accuracy", "acc"):
        kind = _head_kind(head)
        if kind == "softmax":
            return keras.metrics.SparseCategoricalAccuracy(name=f"{task}_accuracy")
        if kind == "sigmoid":
            return keras.metrics.BinaryAccuracy(name=f"{task}_accuracy")
    if isinstance(metric, str) or (callable(metric) and not isinstance(metric, keras.metrics.Metric)):
        resolved = keras.metrics.get(metric)
        if isinstance(resolved, keras.metrics.Metric):
            metric = resolved
        else:
            name = metric if isinstance(metric, str) else getattr(metric, "__name__", "metric")
            return keras.metrics.MeanMetricWrapper(resolved, name=f"{task}_{name}")
    if not isinstance(metric, keras.metrics.Metric):
        raise InvalidConfigError(
            f"Metrics must be Keras metrics, names or functions. Received: {metric!r} for task {task!r}."
        )
    config = metric.get_config()
    config["name"] = f"{task}_{metric.name}"
    return type(metric).from_config(config)


# ----------------------------------------------------------------------------------------------- per-task LRs
def _lr_entries(model):
    """``(sub-optimizer name, variables, spec)`` for every part with its own rate: a float multiplier or an optimizer."""
    entries = []
    options = getattr(model, "head_optimizers", None) or {}
    heads = getattr(model, "heads", None) or {}
    for task, spec in options.items():
        head = heads[task]
        if isinstance(spec, (int, float)) and float(spec) == 1.0:
            continue
        entries.append((f"head_{task}", list(head.trainable_weights), spec))
    shifts = dict(getattr(model, "shifts", None) or {})
    if getattr(model, "shift", None) is not None:
        shifts["output"] = model.shift
    for task, layer in shifts.items():
        multiplier = float(layer.lr_multiplier) * (float(options.get(task, 1.0)) if isinstance(options.get(task), (int, float)) else 1.0)
        if multiplier != 1.0:
            entries.append((f"shift_{task}", list(layer.trainable_weights), multiplier))
    return [e for e in entries if e[1]]


def task_optimizer(model, optimizer):
    """Give each head (and shift layer) with its own optimizer or LR multiplier its own sub-optimizer.

    The base optimizer (a plain optimizer, or the ``"head"`` group of a
    ``keras_transfer.optimizers.discriminative`` MultiOptimizer, whose backbone groups are kept) sets the base
    rate ``lr``; a head with multiplier ``m`` (``MultiTaskModel(head_optimizers={task: m})``) trains at
    ``lr * m``, a head with an optimizer name at ``lr`` with that optimizer kind, a head with an optimizer
    instance with a copy of it (its own rate); a ``DistributionShiftBias`` with ``lr_multiplier=k`` trains at
    its head's rate times ``k``. Sub-optimizers are named ``head_<task>`` / ``shift_<task>``. Applied by
    ``MultiTaskModel.compile`` (and ``TransferModel.compile`` with a shift layer); idempotent.

    Args:
        model: MultiTaskModel or TransferModel (built variables: both build their heads at construction).
        optimizer: optimizer name, instance or ``MultiOptimizer``.

    Returns:
        the optimizer unchanged when nothing has its own rate, else a ``keras.optimizers.MultiOptimizer``.

    Raises:
        InvalidConfigError: a ``LearningRateSchedule`` base rate, or an unknown optimizer name.

    Examples:
    >>> name = keras_transfer.testing.register_tiny_backbone()
    >>> model = keras_transfer.MultiTaskModel(
    ...     keras_transfer.backbones.get(name, weights=None),
    ...     {"a": keras_transfer.ClassificationHead(2), "b": keras_transfer.RegressionHead()},
    ...     head_optimizers={"b": 10.0})
    >>> opt = keras_transfer.models.multi_task_model.task_optimizer(model, keras.optimizers.Adam(1e-3, name="base"))
    >>> [(o.name, round(float(o.learning_rate), 4)) for o in opt.optimizers]
    [('head_b', 0.01), ('base', 0.001)]
    """
    entries = _lr_entries(model)
    if not entries:
        return optimizer
    if isinstance(optimizer, str):
        optimizer = make_optimizer(optimizer, keras.optimizers.get(optimizer).get_config()["learning_rate"])
    names = {name for name, _, _ in entries}
    if isinstance(optimizer, keras.optimizers.MultiOptimizer):
        if names & {o.name for o in optimizer.optimizers}:
            return optimizer  # already split (a recompile after loading)
        old_map = optimizer._optimizer_map
        if not isinstance(old_map, keras.optimizers.OptimizerMap):
            raise InvalidConfigError(
                "Per-task learning rates can extend a MultiOptimizer built on an OptimizerMap only. Received: a "
                "MultiOptimizer with a callable map."
            )
        base = old_map.default_optimizer
        mapping = dict(old_map._optimizer_map)
    elif isinstance(optimizer, keras.optimizers.Optimizer):
        base, mapping = optimizer, {}
    else:
        raise InvalidConfigError(
            f"optimizer must be a name or a keras optimizer. Received: optimizer of type {type(optimizer).__name__}."
        )
    if isinstance(getattr(base, "_learning_rate", None), keras.optimizers.schedules.LearningRateSchedule):
        raise InvalidConfigError(
            "Per-task learning-rate multipliers need a float base learning rate. Received: learning_rate="
            f"{type(base._learning_rate).__name__}. Use a float rate and keras_transfer.callbacks.Warmup for schedules."
        )
    base_lr = float(keras.ops.convert_to_numpy(base.learning_rate))
    for name, variables, spec in entries:
        if isinstance(spec, (int, float)):
            sub = copy_optimizer(base, base_lr * float(spec), name)
        elif isinstance(spec, str):
            sub = copy_optimizer(make_optimizer(spec, base_lr), base_lr, name)
        else:
            sub = copy_optimizer(spec, float(keras.ops.convert_to_numpy(spec.learning_rate)), name)
        mapping["|".join(re.escape(v.path) for v in variables)] = sub
    return keras.optimizers.MultiOptimizer(
        keras.optimizers.OptimizerMap(base, mapping), name=getattr(optimizer, "name", None) or "task_optimizer"
    )


# ----------------------------------------------------------------------------------------------- data checks
def _task_labels(head, arr, name):
    """One task's labels checked and cleaned: ``(clean, labelled)`` (missing: -1 class ids, NaN rows)."""
    kind = _head_kind(head)
    values = arr.astype("float64")
    if np.isinf(values).any():
        raise InvalidInputError(
            f"{name} contains inf. Received: {int(np.isinf(values).sum())} infinite value(s). Mark missing labels "
            "with NaN (targets) or -1 (classes)."
        )
    flat = values.reshape(len(values), -1)
    if kind in ("softmax", "sigmoid"):
        sparse = kind == "softmax" and flat.shape[1] == 1
        labelled = ~np.any(np.isnan(flat) | (flat < 0), axis=1)
        if sparse and np.any((flat[:, 0] < 0) & (flat[:, 0] != -1)):
            raise InvalidInputError(
                f"{name}: the only negative class id allowed is -1 (missing label). Received: "
                f"{sorted(set(flat[flat[:, 0] < 0, 0].tolist()))[:5]}."
            )
        if labelled.any():
            validation.validate_labels(
                arr[labelled], n=int(labelled.sum()), num_classes=head.num_classes,
                multi_label=kind == "sigmoid", what=name,
            )
        if sparse:
            clean = np.where(labelled, np.nan_to_num(flat[:, 0], nan=-1), -1).astype("int32")
        else:
            clean = np.where(labelled[:, None], flat, np.nan).astype("float32").reshape(arr.shape)
    else:
        labelled = ~np.any(np.isnan(flat), axis=1)
        clean = values.astype("float32")
    return clean, labelled


def validate_task_labels(model, y, *, n: int, what: str = "y", require_labels: bool = True) -> Dict[str, np.ndarray]:
    """Check a ``{task: labels}`` dict against the model's heads; missing labels are ``-1`` (classes) / NaN (targets).

    Args:
        model: MultiTaskModel.
        y: dict ``{task: array}``, one entry per head.
        n: int. Number of examples.
        what: str. Name used in messages.
        require_labels: bool. Refuse a task without a single label (training data).

    Returns:
        dict of numpy arrays: class ids as int32 with ``-1`` for missing, dense / regression labels as float32
        with NaN rows for missing.

    Raises:
        InvalidInputError: not a dict, keys not matching the heads, a length mismatch, class ids out of range,
            infinite targets, or (``require_labels``) a task with no label at all.

    Examples:
    >>> import numpy as np
    >>> name = keras_transfer.testing.register_tiny_backbone()
    >>> model = keras_transfer.MultiTaskModel(keras_transfer.backbones.get(name, weights=None),
    ...     {"a": keras_transfer.ClassificationHead(2), "b": keras_transfer.RegressionHead()})
    >>> y = keras_transfer.models.multi_task_model.validate_task_labels(
    ...     model, {"a": [0, -1, 1], "b": [0.5, 1.0, np.nan]}, n=3)
    >>> y["a"].tolist()
    [0, -1, 1]
    """
    tasks = list(model.heads)
    if not isinstance(y, dict):
        raise InvalidInputError(
            f"A MultiTaskModel takes its labels as a dict {{task: labels}} with one entry per head ({tasks}). "
            f"Received: {what} of type {type(y).__name__}. Use -1 (class labels) or NaN (regression targets) for "
            "examples a task has no label for."
        )
    missing, unexpected = [t for t in tasks if t not in y], sorted(str(k) for k in y if k not in model.heads)
    if missing or unexpected:
        raise InvalidInputError(
            f"{what}'s keys must match the heads {tasks}. Received: keys {sorted(map(str, y))}"
            + (f"; missing {missing}" if missing else "")
            + (f"; no head for {unexpected}" if unexpected else "")
            + ". Give every task an array (all -1 / NaN for a task without labels) and drop keys without a head."
        )
    result = {}
    for task in tasks:
        head, name = model.heads[task], f"{what}[{task!r}]"
        arr = np.asarray(y[task])
        if arr.ndim == 0 or len(arr) != n:
            raise InvalidInputError(
                f"{name} must hold one label per example. Received: {n} examples and "
                f"{'a scalar' if arr.ndim == 0 else len(arr)} labels. Pad unlabelled examples with -1 / NaN."
            )
        if arr.dtype.kind not in "biuf":
            raise InvalidInputError(f"{name} must be numeric. Received: dtype={arr.dtype}.")
        clean, labelled = _task_labels(head, arr, name)
        if require_labels and not labelled.any():
            raise InvalidInputError(
                f"Task {task!r} has no label in {what}. Received: all {n} entries of {name} missing (-1 / NaN). "
                "Give it labels or build the model without that head."
            )
        result[task] = clean
    return result


def prepare_multi_task_data(model, data, what: str, batch_size: int):
    """``fine_tune``'s data preparation for a MultiTaskModel: ``(x, y, batch_size, labels)`` as ``fit`` arguments.

    Args:
        model: MultiTaskModel.
        data: ``(x, {task: y})`` arrays, a batched ``tf.data.Dataset`` of ``(x, {task: y})`` or a PyDataset.
        what: ``"train"``, ``"validation"`` or ``"evaluate"`` (only ``"train"`` requires labels for every task).
        batch_size: int.

    Returns:
        tuple ``(x, y, batch_size, y)``, or ``(dataset, None, None, None)``.

    Raises:
        InvalidInputError: bad images, labels not matching the heads, lengths, ranges.
    """
    if isinstance(data, tf.data.Dataset):
        spec = data.element_spec
        if not (isinstance(spec, tuple) and len(spec) >= 2 and isinstance(spec[1], dict)):
            raise InvalidInputError(
                f"{what}: a MultiTaskModel needs a dataset of (x, {{task: y}}) batches. Received: element_spec={spec}."
            )
        if set(spec[1]) != set(model.heads):
            raise InvalidInputError(
                f"{what}: the dataset's label keys must match the heads {list(model.heads)}. Received: {sorted(spec[1])}."
            )
        return data, None, None, None
    if isinstance(data, keras.utils.PyDataset):
        return model_inputs(model, data, what), None, None, None
    if isinstance(data, (tuple, list)) and len(data) == 2:
        x, y = data
        x_name, y_name = ("x_val", "y_val") if what == "validation" else ("x", "y")
        x = model_inputs(model, x, x_name)
        y = validate_task_labels(model, y, n=len(x), what=y_name, require_labels=what == "train")
        return x, y, batch_size, y
    raise InvalidInputError(
        f"{what} must be an (x, {{task: y}}) tuple, a tf.data.Dataset of (x, {{task: y}}) batches or a "
        f"keras.utils.PyDataset. Received: {type(data).__name__}."
    )


def _check_heads(heads):
    """Refuse anything but a non-empty ``{identifier: distinct Keras layer}`` dict."""
    if not isinstance(heads, dict) or not heads:
        raise InvalidConfigError(
            "heads must be a non-empty dict {task: head}. Received: "
            f"{type(heads).__name__}{'' if not isinstance(heads, dict) else ' (empty)'}. E.g. "
            "{'digit': ClassificationHead(10), 'parity': ClassificationHead(2)}."
        )
    seen = set()
    for task, head in heads.items():
        if not isinstance(task, str) or not _TASK_NAME.match(task):
            raise InvalidConfigError(
                f"Task names must be identifiers (a letter, then letters, digits or '_'): they name outputs, "
                f"metrics and optimizers. Received: {task!r}."
            )
        if not isinstance(head, keras.layers.Layer):
            raise InvalidConfigError(
                f"Each head must be a Keras layer such as keras_transfer.heads.ClassificationHead(n). Received: "
                f"heads[{task!r}] of type {type(head).__name__}."
            )
        if id(head) in seen:
            raise InvalidConfigError(
                f"A head object is used for two tasks (heads[{task!r}]). Received: the same layer twice. Give each "
                "task its own head instance."
            )
        seen.add(id(head))


def _check_head_optimizers(head_optimizers, heads) -> dict:
    """``{task: multiplier | optimizer}`` checked (a serialized optimizer deserialized)."""
    head_optimizers = dict(head_optimizers or {})
    unknown = sorted(set(head_optimizers) - set(heads))
    if unknown:
        raise InvalidConfigError(
            f"head_optimizers names tasks without a head: {unknown}. Received: keys {sorted(head_optimizers)}; "
            f"heads: {list(heads)}."
        )
    for task, spec in head_optimizers.items():
        if isinstance(spec, dict):  # a serialized optimizer (from_config)
            spec = head_optimizers[task] = keras.optimizers.deserialize(spec)
        number = isinstance(spec, (int, float)) and not isinstance(spec, bool)
        if number and not (math.isfinite(spec) and spec > 0):
            raise InvalidConfigError(
                f"An LR multiplier must be a positive float. Received: head_optimizers[{task!r}]={spec!r}."
            )
        if not number and not isinstance(spec, (str, keras.optimizers.Optimizer)):
            raise InvalidConfigError(
                f"head_optimizers values are LR multipliers (float), optimizer names or optimizer instances. "
                f"Received: head_optimizers[{task!r}] of type {type(spec).__name__}."
            )
        if isinstance(spec, keras.optimizers.MultiOptimizer):
            raise InvalidConfigError(f"A head's optimizer cannot be a MultiOptimizer. Received: head_optimizers[{task!r}].")
    return head_optimizers


def _replica_context_with_peers():
    """The tf.distribute replica context when this step runs on one of several replicas, else None."""
    if keras.backend.backend() != "tensorflow":
        return None
    import tensorflow as tf

    if not tf.distribute.has_strategy():
        return None
    replica = tf.distribute.get_replica_context()
    if replica is None or replica.num_replicas_in_sync <= 1:
        return None
    return replica


# ----------------------------------------------------------------------------------------------- the model
@keras.saving.register_keras_serializable(package="keras_transfer")
class MultiTaskModel(BaseTransferModel):
    """One backbone shared by several heads, with dict outputs ``{task: prediction}``.

    Each head brings its loss and metrics, so ``compile(optimizer=...)`` alone is enough; ``fit(x, {task: y})``
    and ``keras_transfer.fine_tune`` train it. Real multi-task data is partially labelled: a missing label
    (``-1`` for class labels, NaN for regression targets) contributes no loss and no metric. Each task's loss is
    the mean over its labelled examples in the batch (0 when the batch has none: never NaN), and the total is
    combined by ``loss_weighting``. Logged per task: ``{task}_loss``, the head's metrics as ``{task}_<metric>``
    and, for learned weightings, ``{task}_weight``.

    Args:
        backbone: Backbone, or a registry name (built with ImageNet weights, frozen).
        heads: dict ``{task: Head}``; task names are identifiers (letters, digits, ``_``).
        loss_weighting: None (every task weighs 1), dict ``{task: weight}``, ``"uncertainty"`` (Kendall et al.
            2018: learned log-variances), ``"dwa"`` (dynamic weight averaging) or a
            ``keras_transfer.models.loss_weighting.LossWeighting``.
        shift_bias: bool or dict. Put a ``keras_transfer.models.DistributionShiftBias`` before every head (a dict
            gives its arguments, e.g. ``{"scale": True, "l2": 1e-3, "lr_multiplier": 10.0}``).
        head_optimizers: dict ``{task: float | optimizer}``: a learning-rate multiplier (relative to the
            optimizer given to ``compile``), an optimizer name (same rate, other kind) or an optimizer instance
            (its own rate) per task. See ``task_optimizer``.
        augmentation: a Keras layer, preset name or op config applied to raw inputs in training, or None.
        **kwargs: base ``keras.Model`` arguments.

    Raises:
        InvalidConfigError: no heads, bad task names, a head used twice, unknown options.

    Examples:
    >>> import numpy as np
    >>> name = keras_transfer.testing.register_tiny_backbone()
    >>> model = keras_transfer.MultiTaskModel(
    ...     keras_transfer.backbones.get(name, weights=None, input_shape=(32, 32)),
    ...     {"digit": keras_transfer.ClassificationHead(10), "size": keras_transfer.RegressionHead()},
    ...     loss_weighting="uncertainty")
    >>> model.compile(optimizer="adam")
    >>> x = np.zeros((4, 28, 28, 1), "uint8")
    >>> y = {"digit": np.array([1, -1, 3, 4]), "size": np.array([0.5, 1.0, np.nan, 2.0], "float32")}
    >>> model.fit(x, y, epochs=1, verbose=0).history["digit_loss"][0] > 0
    True
    >>> sorted(model.task_weights())
    ['digit', 'size']
    """

    def __init__(
        self,
        backbone,
        heads: Dict[str, keras.layers.Layer],
        loss_weighting=None,
        shift_bias=False,
        head_optimizers: Optional[dict] = None,
        augmentation=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        backbone = self._backbone_of(backbone)
        _check_heads(heads)
        head_optimizers = _check_head_optimizers(head_optimizers, heads)
        if isinstance(augmentation, (str, list, dict)):
            augmentation = get_augmentation(augmentation)
        if augmentation is not None and not isinstance(augmentation, keras.layers.Layer):
            raise InvalidConfigError(
                "augmentation must be a Keras layer, a preset name or None. "
                f"Received: augmentation of type {type(augmentation).__name__}."
            )
        if shift_bias not in (True, False, None) and not isinstance(shift_bias, dict):
            raise InvalidConfigError(
                f"shift_bias must be a bool or a dict of DistributionShiftBias arguments. Received: {shift_bias!r}."
            )

        self.backbone = backbone
        self.augmentation = augmentation
        self.heads = dict(heads)
        self.shift_bias = dict(shift_bias) if isinstance(shift_bias, dict) else bool(shift_bias)
        shift_args = shift_bias if isinstance(shift_bias, dict) else {}
        self.shifts = (
            {task: DistributionShiftBias(**shift_args, name=f"shift_{task}") for task in heads} if shift_bias else {}
        )
        self.loss_weighting = weighting_module.get(loss_weighting, list(heads))
        self._options = _Options(head_optimizers)
        dim = (None, backbone.output_dim)
        for task, head in self.heads.items():  # build now: variables exist for per-task optimizers and loading
            if task in self.shifts:
                self.shifts[task].build(dim)
            if not head.built:
                head.build(dim)
        self._task_state = None

    # ------------------------------------------------------------------ training hooks (fine_tune)
    #: Feature caching, MixUp / CutMix and label smoothing work on one head's labels (each head brings its loss).
    unsupported_options = ("cache_dir", "mixup", "cutmix", "label_smoothing")
    unsupported_reason = "feature caching and MixUp / CutMix work on one head's labels"

    def fit_data(self, data, what: str, batch_size=None):
        """``{task: y}`` labels (-1 / NaN missing), checked per head: see ``prepare_multi_task_data``."""
        return prepare_multi_task_data(self, data, what, batch_size)

    def _task_option(self, value, name: str) -> dict:
        """``{task: value}`` for a loss option: a dict per task (tasks left out: None), or one value for all."""
        if isinstance(value, dict) and set(value) <= set(self.heads) and value:
            return {task: value.get(task) for task in self.heads}
        if isinstance(value, dict) or (value is not None and not isinstance(value, str)):
            raise InvalidConfigError(
                f"{name} on a MultiTaskModel is 'auto' / 'focal' (every classification task) or a dict "
                f"{{task: value}} naming tasks among {self.tasks}. Received: {name}={value!r}."
            )
        return {task: value for task in self.heads}

    def check_fine_tune_options(self, options) -> None:
        """``loss`` and ``class_weight`` per task: one name for every classification task, or ``{task: ...}``."""
        super().check_fine_tune_options(options)
        loss, class_weight = getattr(options, "loss", None), getattr(options, "class_weight", None)
        losses = self._task_option(loss, "loss") if loss is not None else {}
        weights = self._task_option(class_weight, "class_weight") if class_weight is not None else {}
        for task, head in self.heads.items():
            task_loss, task_weight = losses.get(task), weights.get(task)
            if isinstance(loss, str) and _head_kind(head) == "regression":
                task_loss = None  # "focal" for every classification task
            if class_weight == "auto" and _head_kind(head) != "softmax":
                task_weight = None  # "auto" for every single-label task
            check_head_loss_options(head, f"task {task!r}", loss=task_loss, class_weight=task_weight)

    def training_loss(self, data, labels, label_smoothing=None, loss=None, class_weight=None, soft_targets=False):
        """``({task: loss}, None)`` for the tasks ``loss`` / ``class_weight`` concern (per task, missing labels
        not counted by ``"auto"``), ``(None, None)`` when neither is set: every head's own loss."""
        if loss is None and class_weight is None:
            return None, None
        losses = self._task_option(loss, "loss") if loss is not None else {}
        weights = self._task_option(class_weight, "class_weight") if class_weight is not None else {}
        chosen = {}
        for task, head in self.heads.items():
            kind = _head_kind(head)
            task_loss = None if isinstance(loss, str) and kind == "regression" else losses.get(task)
            spec = weights.get(task) if kind == "softmax" else None
            task_weights = resolve_class_weights(
                spec, head.num_classes, None if labels is None else labels[task],
                lambda task=task: read_dataset_labels(data, task), what=f"class_weight[{task!r}]",
            ) if spec is not None else None
            if task_loss is None and task_weights is None:
                continue
            chosen[task] = head_loss(head, False, loss=task_loss, class_weights=task_weights, multi_task=True)
        return (chosen or None), None

    @property
    def num_classes(self) -> dict:
        """``{task: number of classes or None}``."""
        return {name: getattr(head, "num_classes", None) for name, head in self.heads.items()}

    # ------------------------------------------------------------------ forward
    @property
    def tasks(self):
        """Task names, in head order."""
        return list(self.heads)

    @property
    def head_optimizers(self) -> dict:
        """``{task: multiplier | optimizer}`` given at construction."""
        return dict(self._options.head_optimizers)

    def call(self, inputs, training=None):
        x = inputs
        if self.augmentation is not None and training:
            x = self.augmentation(keras.ops.cast(x, "float32"), training=True)
        features = self.backbone(x, training=training)
        outputs = {}
        for task, head in self.heads.items():
            f = self.shifts[task](features) if task in self.shifts else features
            outputs[task] = head(f, training=training)
        return outputs

    # ------------------------------------------------------------------ compile / losses / metrics
    def compile(self, optimizer="adam", loss=None, metrics=None, **kwargs):
        """``keras.Model.compile`` with every head's loss and metrics as defaults.

        Args:
            optimizer: optimizer name, instance or MultiOptimizer; heads / shift layers with their own rate get
                their own sub-optimizer (``task_optimizer``).
            loss: None, or dict ``{task: loss}`` overriding some heads' default losses (per-example losses:
                a ``keras.losses.Loss`` or a function ``(y_true, y_pred) -> per-example values``).
            metrics: None, or dict ``{task: [metrics]}`` replacing some heads' default metrics.
            **kwargs: passed to ``keras.Model.compile`` (not ``loss_weights``: use ``loss_weighting``).

        Raises:
            InvalidConfigError: ``loss_weights``, or loss / metric dicts naming unknown tasks.
        """
        if kwargs.pop("loss_weights", None) is not None:
            raise InvalidConfigError(
                "MultiTaskModel weighs its task losses with loss_weighting. Received: compile(loss_weights=...). Pass "
                "MultiTaskModel(..., loss_weighting={task: weight}) (or 'uncertainty' / 'dwa') instead."
            )
        for arg_name, arg in (("loss", loss), ("metrics", metrics)):
            if arg is not None and not isinstance(arg, dict):
                raise InvalidConfigError(
                    f"{arg_name} must be None or a dict {{task: ...}} for a MultiTaskModel. Received: {arg!r}."
                )
            unknown = sorted(set(arg or {}) - set(self.heads))
            if unknown:
                raise InvalidConfigError(
                    f"{arg_name} names tasks without a head: {unknown}. The heads are {self.tasks}."
                )
        losses, task_metrics, trackers, weight_trackers = {}, {}, {}, {}
        for task, head in self.heads.items():
            given = (loss or {}).get(task)
            losses[task] = keras.losses.get(given) if isinstance(given, (str, dict)) else given
            if losses[task] is None and _head_kind(head) not in ("softmax",):
                losses[task] = _default_loss(head, "target")
            chosen = (metrics or {}).get(task)
            if chosen is None:
                chosen = head.default_metrics() if hasattr(head, "default_metrics") else []
            task_metrics[task] = [_rename_metric(m, task, head) for m in chosen]
            trackers[task] = keras.metrics.Mean(name=f"{task}_loss")
            if not isinstance(self.loss_weighting, weighting_module.FixedWeighting):
                weight_trackers[task] = keras.metrics.Mean(name=f"{task}_weight")
        optimizer = task_optimizer(self, optimizer)
        super().compile(optimizer=optimizer, loss=None, metrics=None, **kwargs)
        self._task_state = _TaskState(losses, task_metrics, trackers, weight_trackers, loss, metrics)

    def get_compile_config(self):
        config = super().get_compile_config()
        if config is not None and self._task_state is not None:
            config["loss"] = keras.saving.serialize_keras_object(self._task_state.loss_arg)
            config["metrics"] = keras.saving.serialize_keras_object(self._task_state.metrics_arg)
        return config

    def compile_from_config(self, config):
        """Recompile a loaded model with its saved optimizer, losses and metrics (``.keras`` files)."""
        config = keras.saving.deserialize_keras_object(config)
        config.pop("loss_weights", None)
        self.compile(**config)
        if getattr(self, "optimizer", None) is not None and self.built:
            self.optimizer.build(self.trainable_variables)

    @property
    def metrics(self):
        metrics = list(super().metrics)
        if self.compiled and self._task_state is not None:
            start = 1 if metrics and metrics[0] is self._loss_tracker else 0
            metrics[start:start] = self._task_state.all_metrics()
        return metrics

    def _check_targets(self, y):
        if not isinstance(y, dict):
            raise InvalidInputError(
                f"A MultiTaskModel takes its labels as a dict {{task: labels}} with one entry per head ({self.tasks}). "
                f"Received: y of type {type(y).__name__}."
            )
        if set(y) != set(self.heads):
            raise InvalidInputError(
                f"The label dict's keys must match the heads {self.tasks}. Received: keys {sorted(map(str, y))}. "
                "Give every task an array (-1 / NaN where a label is missing)."
            )

    def _task_weight_vector(self, sample_weight, task):
        if sample_weight is None:
            return None
        if isinstance(sample_weight, dict):
            sample_weight = sample_weight.get(task)
            if sample_weight is None:
                return None
        weight = keras.ops.cast(keras.ops.convert_to_tensor(sample_weight), "float32")
        return keras.ops.reshape(weight, (-1,))

    def _task_loss_terms(self, y, y_pred, sample_weight=None):
        ops = keras.ops
        self._check_targets(y)
        state = self._task_state
        losses, present, counts = {}, {}, {}
        for task, head in self.heads.items():
            pred = y_pred[task]
            y_safe, mask, form = _task_terms(head, y[task], pred)
            loss = state.losses[task] if state is not None else None
            if loss is None:
                loss = _default_loss(head, form)
            values = _per_example(loss, y_safe, pred, form)
            weight = mask
            extra = self._task_weight_vector(sample_weight, task)
            if extra is not None:
                weight = weight * extra
            denominator = ops.sum(weight)
            has_labels = denominator > 0
            losses[task] = ops.where(has_labels, ops.sum(values * weight) / ops.where(has_labels, denominator, 1.0), 0.0)
            present[task], counts[task] = ops.cast(has_labels, "float32"), denominator
        return losses, present, counts

    def task_losses(self, y, y_pred, sample_weight=None) -> Dict[str, "keras.KerasTensor"]:
        """Each task's loss: the mean over its labelled examples (0 when it has none), before weighting.

        Args:
            y: dict ``{task: labels}`` (-1 / NaN for missing labels).
            y_pred: dict ``{task: predictions}`` (``model(x)``).
            sample_weight: None, an array of per-example weights, or a dict ``{task: weights}``.

        Returns:
            dict ``{task: scalar tensor}``.

        Raises:
            InvalidInputError: ``y`` is not a dict with one entry per head.
        """
        return self._task_loss_terms(y, y_pred, sample_weight)[0]

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """Masked per-task losses combined by ``loss_weighting``, plus regularisation losses.

        Under a ``tf.distribute`` strategy with several replicas each task's loss is the mean over the labelled
        examples of the whole global batch (label counts are summed across replicas), so training matches one
        device whatever the number of labels each replica happens to get.
        """
        losses, present, counts = self._task_loss_terms(y, y_pred, sample_weight)
        state = self._task_state
        if state is not None:
            for task in self.tasks:
                state.loss_trackers[task].update_state(losses[task], sample_weight=counts[task])
        replica = _replica_context_with_peers()
        if replica is not None:
            total = self._combine_across_replicas(replica, losses, counts, training)
        else:
            total = self.loss_weighting.combine(losses, present, training=bool(training))
        if state is not None and state.weight_trackers:
            weights = self.loss_weighting.weights_tensor()
            for i, task in enumerate(self.tasks):
                state.weight_trackers[task].update_state(weights[i])
        for extra_loss in self.losses:
            total = total + self._aggregate_additional_loss(extra_loss)
        return total

    def _combine_across_replicas(self, replica, losses, counts, training):
        """This replica's share of the combined loss: the replicas' shares sum to the one-device loss, and their
        gradients (summed by the strategy) to its gradient."""
        ops = keras.ops
        n = replica.num_replicas_in_sync
        global_losses, global_present = {}, {}
        for task in self.tasks:
            local_sum = losses[task] * counts[task]
            global_sum = replica.all_reduce("sum", ops.stop_gradient(local_sum))
            global_count = replica.all_reduce("sum", counts[task])
            has_labels = global_count > 0
            safe = ops.where(has_labels, global_count, 1.0)
            share = local_sum / safe
            # value: the global masked mean; gradient: n x this replica's share (the total is divided by n below)
            global_losses[task] = ops.where(has_labels, global_sum / safe, 0.0) + n * (share - ops.stop_gradient(share))
            global_present[task] = ops.cast(has_labels, "float32")
        return self.loss_weighting.combine(global_losses, global_present, training=bool(training)) / n

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        """Each head's metrics on its labelled examples only."""
        state = self._task_state
        if state is not None:
            for task, head in self.heads.items():
                pred = y_pred[task]
                y_safe, mask, form = _task_terms(head, y[task], pred)
                extra = self._task_weight_vector(sample_weight, task)
                weight = mask if extra is None else mask * extra
                y_metric = y_safe
                if form == "dense" and _head_kind(head) == "softmax":
                    y_metric = keras.ops.argmax(y_safe, axis=-1)
                for metric in state.metrics[task]:
                    if isinstance(metric, keras.metrics.SparseCategoricalAccuracy) or form != "dense":
                        metric.update_state(y_metric, pred, sample_weight=weight)
                    else:
                        metric.update_state(y_safe, pred, sample_weight=weight)
        return self.get_metrics_result()

    def task_weights(self) -> Dict[str, float]:
        """Current effective loss weight per task (fixed, ``exp(-s)`` for uncertainty, DWA's weights).

        Returns:
            dict ``{task: float}``.
        """
        return self.loss_weighting.task_weights()

    # ------------------------------------------------------------------ saving
    def get_config(self):
        config = super().get_config()
        options = {}
        for task, spec in self._options.head_optimizers.items():
            options[task] = keras.optimizers.serialize(spec) if isinstance(spec, keras.optimizers.Optimizer) else spec
        config.update(
            backbone=keras.saving.serialize_keras_object(self.backbone),
            heads={task: keras.saving.serialize_keras_object(head) for task, head in self.heads.items()},
            loss_weighting=keras.saving.serialize_keras_object(self.loss_weighting),
            shift_bias=self.shift_bias,
            head_optimizers=options,
            augmentation=(
                keras.saving.serialize_keras_object(self.augmentation) if self.augmentation is not None else None
            ),
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        backbone = keras.saving.deserialize_keras_object(config.pop("backbone"))
        heads = {task: keras.saving.deserialize_keras_object(h) for task, h in config.pop("heads").items()}
        weighting = config.pop("loss_weighting", None)
        if isinstance(weighting, dict) and "class_name" in weighting:
            weighting = keras.saving.deserialize_keras_object(weighting)
        augmentation = config.pop("augmentation", None)
        if augmentation is not None:
            augmentation = keras.saving.deserialize_keras_object(augmentation)
        return cls(backbone=backbone, heads=heads, loss_weighting=weighting, augmentation=augmentation, **config)


class _Options:
    """Per-task optimizer options (kept out of Keras' attribute tracking)."""

    def __init__(self, head_optimizers):
        self.head_optimizers = head_optimizers
