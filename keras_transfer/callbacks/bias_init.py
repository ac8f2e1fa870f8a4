"""`BiasInitializer`: set each output's final bias from the training labels, and log biases and shifts per epoch."""

from typing import Dict, Optional

import keras
import numpy as np

from keras_transfer.errors import InvalidConfigError, InvalidInputError

__all__ = ["BiasInitializer", "prior_bias"]


def prior_bias(head, labels, epsilon: float = 1e-4) -> np.ndarray:
    """The output bias that makes a zero-kernel head predict the label prior (a pure function).

    Softmax heads: centred log class priors; sigmoid (multi-label) heads: the logit of each class's positive
    rate; regression heads: the mean target. Missing labels (``-1`` for classes, NaN) are ignored.

    Args:
        head: a ``keras_transfer.heads`` head.
        labels: array of class ids ``(N,)``, one-hot / multi-hot ``(N, C)`` or targets ``(N,)`` / ``(N, units)``.
        epsilon: float. Floor of a class prior / positive rate (an absent class gets ``log(epsilon)``).

    Returns:
        np.ndarray of shape ``(units,)``, float32.

    Raises:
        InvalidInputError: no labelled example, or labels not matching the head.

    Examples:
    >>> head = keras_transfer.ClassificationHead(1, multi_label=True)
    >>> round(float(keras_transfer.callbacks.prior_bias(head, [[1], [0], [0], [0]])[0]), 4)  # logit(0.25)
    -1.0986
    """
    y = np.asarray(labels, dtype="float64")
    units = int(getattr(head, "units", 0) or 0)
    num_classes = getattr(head, "num_classes", None)
    if y.ndim == 0 or len(y) == 0:
        raise InvalidInputError(f"BiasInitializer needs at least one label. Received: labels of shape {y.shape}.")
    flat = y.reshape(len(y), -1)
    if num_classes is not None and not getattr(head, "multi_label", False):
        if flat.shape[1] == 1:  # class ids
            ids = flat[:, 0]
            ids = ids[np.isfinite(ids) & (ids >= 0)].astype("int64")
            if ids.size and ids.max() >= num_classes:
                raise InvalidInputError(
                    f"Class id {int(ids.max())} is out of range for {num_classes} classes. Received: labels with ids "
                    f"up to {int(ids.max())}."
                )
            counts = np.bincount(ids, minlength=num_classes).astype("float64")
        else:  # one-hot / soft rows
            rows = flat[np.all(np.isfinite(flat) & (flat >= 0), axis=1)]
            if rows.shape[1] != num_classes:
                raise InvalidInputError(
                    f"Labels have {rows.shape[1]} columns but the head has {num_classes} classes. "
                    f"Received: labels of shape {y.shape}."
                )
            counts = rows.sum(axis=0)
        if counts.sum() <= 0:
            raise InvalidInputError("BiasInitializer found no labelled example (all -1 / NaN). Received: no labels.")
        log_prior = np.log(np.maximum(counts / counts.sum(), epsilon))
        return (log_prior - log_prior.mean()).astype("float32")
    rows = flat[np.all(np.isfinite(flat), axis=1)]
    if num_classes is not None:
        rows = rows[np.all(rows >= 0, axis=1)]
    if len(rows) == 0:
        raise InvalidInputError("BiasInitializer found no labelled example (all -1 / NaN). Received: no labels.")
    if units and rows.shape[1] != units:
        raise InvalidInputError(
            f"Labels have {rows.shape[1]} columns but the head has {units} outputs. Received: labels of shape {y.shape}."
        )
    if num_classes is not None:  # multi-label: logit of the positive rate
        rate = np.clip(rows.mean(axis=0), epsilon, 1 - epsilon)
        return np.log(rate / (1 - rate)).astype("float32")
    return rows.mean(axis=0).astype("float32")


def _outputs(model) -> Dict[str, keras.layers.Layer]:
    heads = getattr(model, "heads", None)
    if heads:
        return dict(heads)
    head = getattr(model, "head", None)
    if head is None:
        raise InvalidConfigError(
            "BiasInitializer needs a keras_transfer model with .head (TransferModel) or .heads (MultiTaskModel). "
            f"Received: model of type {type(model).__name__}."
        )
    return {"output": head}


def _shifts(model) -> Dict[str, keras.layers.Layer]:
    shifts = dict(getattr(model, "shifts", None) or {})
    if getattr(model, "shift", None) is not None:
        shifts["output"] = model.shift
    return shifts


class BiasInitializer(keras.callbacks.Callback):
    """At train begin, set every output's final bias from the training labels; log biases and shifts per epoch.

    With the heads' near-zero final kernels (the default of ``keras_transfer.heads``), a model whose output
    biases are set to the label prior starts at the loss of predicting the prior (the prior's entropy for
    classification) instead of at ``log(num_classes)`` or worse: no early epochs are spent learning class
    frequencies, and rare classes are not over-predicted. Per output: centred log class priors (softmax),
    logit of the positive rate (sigmoid / multi-label), mean target (regression); missing labels (-1 / NaN) are
    ignored. With ``once=True`` (default) the biases are set at the first ``fit`` only, so the second stage of
    ``keras_transfer.fine_tune`` keeps what the first learned.

    Every epoch it adds to the logs (so to ``History`` and to a ``TensorBoard`` callback placed after it):
    ``{task}_bias_norm`` (L2 norm of the output bias) and, with shift layers, ``{task}_shift_norm`` (and
    ``{task}_scale_norm``, the norm of ``scale - 1``). The task of a single-head ``TransferModel`` is
    ``"output"``.

    Args:
        labels: the training labels: an array for a ``TransferModel``, a dict ``{task: array}`` for a
            ``MultiTaskModel`` (tasks left out keep their bias).
        once: bool. Set the biases at the first ``on_train_begin`` only.
        log: bool. Log bias and shift magnitudes every epoch.
        epsilon: float. Floor of priors / positive rates.

    Raises:
        InvalidConfigError: labels for tasks the model has no head for, or an array for a multi-head model.

    Examples:
    >>> import numpy as np
    >>> name = keras_transfer.testing.register_tiny_backbone()
    >>> model = keras_transfer.TransferModel(keras_transfer.backbones.get(name, weights=None),
    ...                                      keras_transfer.ClassificationHead(2, dropout=0.0))
    >>> model.compile(optimizer="adam")
    >>> x, y = np.zeros((10, 32, 32, 3), "uint8"), np.array([0] * 9 + [1])
    >>> init = keras_transfer.callbacks.BiasInitializer(y)
    >>> history = model.fit(x, y, epochs=1, verbose=0, callbacks=[init])
    >>> "output_bias_norm" in history.history
    True
    """

    def __init__(self, labels, once: bool = True, log: bool = True, epsilon: float = 1e-4):
        super().__init__()
        self.labels = labels
        self.once = bool(once)
        self.log = bool(log)
        self.epsilon = float(epsilon)
        self.initial_biases: Optional[Dict[str, np.ndarray]] = None

    def _label_dict(self, outputs):
        if isinstance(self.labels, dict):
            unknown = sorted(set(self.labels) - set(outputs))
            if unknown:
                raise InvalidConfigError(
                    f"BiasInitializer got labels for tasks the model has no head for: {unknown}. Received: keys "
                    f"{sorted(self.labels)}; heads: {sorted(outputs)}."
                )
            return dict(self.labels)
        if len(outputs) != 1:
            raise InvalidConfigError(
                f"The model has {len(outputs)} heads ({sorted(outputs)}): give BiasInitializer a dict {{task: labels}}. "
                f"Received: labels of type {type(self.labels).__name__}."
            )
        return {next(iter(outputs)): self.labels}

    def on_train_begin(self, logs=None):
        if self.once and self.initial_biases is not None:
            return
        outputs = _outputs(self.model)
        biases = {}
        for task, labels in self._label_dict(outputs).items():
            head = outputs[task]
            layer = getattr(head, "output_layer", None)
            dim = getattr(getattr(self.model, "backbone", None), "output_dim", None)
            if layer is not None and not head.built and dim is not None:
                head.build((None, dim))  # a subclassed model builds its head at its first step only
            if layer is None or getattr(layer, "bias", None) is None:
                raise InvalidConfigError(
                    f"Head {task!r} has no output bias to set. Received: {type(head).__name__}. Use a "
                    "keras_transfer.heads head (its output layer has a bias)."
                )
            bias = prior_bias(head, labels, self.epsilon)
            if tuple(layer.bias.shape) != bias.shape:
                raise InvalidInputError(
                    f"Head {task!r} has {layer.bias.shape[0]} outputs but its labels give {bias.shape[0]} bias values. "
                    f"Received: labels of shape {np.shape(labels)}."
                )
            layer.bias.assign(bias)
            biases[task] = bias
        self.initial_biases = biases

    def on_epoch_end(self, epoch, logs=None):
        if not self.log or logs is None:
            return
        for task, head in _outputs(self.model).items():
            layer = getattr(head, "output_layer", None)
            if layer is not None and getattr(layer, "bias", None) is not None:
                logs[f"{task}_bias_norm"] = float(np.linalg.norm(keras.ops.convert_to_numpy(layer.bias)))
        for task, shift in _shifts(self.model).items():
            for key, value in shift.magnitudes().items():
                logs[f"{task}_{key}_norm"] = value
