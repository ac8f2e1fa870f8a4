"""The metadata written beside an exported model: ``labels.txt`` and ``model_card.json``."""

import json
import math
import os
import time
from typing import Optional, Sequence

from keras_transfer.atomic import write_file
from keras_transfer.errors import InvalidConfigError, InvalidInputError

__all__ = [
    "class_names_of", "history_summary", "load_history_file", "model_card", "read_labels", "read_model_card",
    "write_metadata",
]

_PREPROCESSING = {
    "tf": "x / 127.5 - 1 (values in [-1, 1])",
    "torch": "x / 255, then ImageNet mean (0.485, 0.456, 0.406) / std (0.229, 0.224, 0.225)",
    "caffe": "RGB -> BGR, minus ImageNet BGR mean (103.939, 116.779, 123.68)",
    "lite": "(x - 127) / 128",
}


def _clean(value):
    """JSON-safe: NaN / inf become None, numpy scalars become Python numbers."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def class_names_of(model, class_names: Optional[Sequence[str]] = None):
    """Class names for a classifier: the given ones (checked against the head), else ``"0".."n-1"``; None
    for models without a classification head.

    Args:
        model: keras.Model.
        class_names: sequence of str or None.

    Returns:
        list of str or None.

    Raises:
        keras_transfer.errors.InvalidConfigError: the number of names differs from the head's classes.
    """
    n = getattr(getattr(model, "head", None), "num_classes", None)
    if class_names is None:
        return None if n is None else [str(i) for i in range(n)]
    names = [str(c) for c in class_names]
    if n is not None and len(names) != n:
        raise InvalidConfigError(
            f"The model has {n} classes but {len(names)} class names were given. Received: class_names={names!r}. "
            f"Pass exactly {n} names, in class-id order."
        )
    return names


def history_summary(history) -> Optional[dict]:
    """Per-epoch metrics, the best and final value of each, and the training stages of a History.

    Args:
        history: ``keras.callbacks.History`` / ``keras_transfer.FineTuneHistory``, a dict of metric lists,
            ``FineTuneHistory.to_dict()`` output, or None.

    Returns:
        dict or None: ``epochs``, ``history`` (metric -> per-epoch list), ``final``, ``best`` and, for
        ``fine_tune`` histories, ``stages`` (name, epochs, learning rate, backbone mode).

    Examples:
    >>> keras_transfer.export.history_summary({"loss": [1.0, 0.5]})["best"]
    {'loss': 0.5}
    """
    if history is None:
        return None
    stages = getattr(history, "stages", None)
    if isinstance(history, dict) and isinstance(history.get("history"), dict):  # FineTuneHistory.to_dict()
        stages = history.get("stages")
        history = history["history"]
    metrics = history if isinstance(history, dict) else getattr(history, "history", None)
    if not metrics:
        return None
    metrics = {key: [float(v) for v in values] for key, values in metrics.items() if isinstance(values, (list, tuple))}
    best, final = {}, {}
    for key, values in metrics.items():
        finite = [v for v in values if math.isfinite(v)]
        if not finite:
            continue
        lower_is_better = "loss" in key or "error" in key or key.endswith("mae") or key.endswith("mse")
        best[key] = min(finite) if lower_is_better else max(finite)
        final[key] = finite[-1]
    summary = {
        "epochs": len(next(iter(metrics.values()), [])),
        "history": metrics,
        "final": final,
        "best": best,
    }
    if stages:
        summary["stages"] = [dict(stage) for stage in stages]
    return _clean(summary)


def _describe_layer(layer):
    if layer is None:
        return None
    inner = getattr(layer, "layers", None)
    if inner:
        return [type(sub).__name__ for sub in inner]
    return [type(layer).__name__]


def model_card(model, *, input_shape, input_dtype: str = "uint8", class_names=None, history=None) -> dict:
    """The model card: backbone, weights source, input spec, preprocessing, head, training recipe, history.

    Args:
        model: keras.Model (a ``TransferModel`` gives the richest card).
        input_shape: tuple. Raw input shape with the batch axis (None).
        input_dtype: str. Raw input dtype.
        class_names: list of str or None.
        history: a History, ``FineTuneHistory``, dict or None (``model.history`` is used when None).

    Returns:
        dict: JSON-ready card (``exports`` is filled in by ``write_metadata``).

    Examples:
    >>> card = keras_transfer.export.model_card(model, input_shape=(None, 28, 28, 1))  # doctest: +SKIP
    >>> card["backbone"]["name"]  # doctest: +SKIP
    'mobilenet_v2'
    """
    import keras  # TensorFlow: see the package docstring
    import tensorflow as tf

    card = {
        "name": model.name,
        "model_class": type(model).__name__,
        "parameters": int(model.count_params()),
        "input": {
            "shape": list(input_shape),
            "dtype": input_dtype,
            "description": "raw images, values 0-255, (batch, height, width, channels)" if len(input_shape) == 4
            else "raw inputs",
        },
        "class_names": class_names,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__},
    }
    card.update(_backbone_sections(getattr(model, "backbone", None)))
    head = getattr(model, "head", None)
    if head is not None:
        card["head"] = _head_section(head)
    augmentation = getattr(model, "augmentation", None)
    card["augmentation"] = {"layers": _describe_layer(augmentation), "in_exported_graph": False}
    if isinstance(augmentation, keras.layers.Layer):  # keras_transfer.predict(exported, x, tta=8) rebuilds it
        card["augmentation"]["config"] = keras.saving.serialize_keras_object(augmentation)
    temperature = getattr(getattr(model, "calibration", None), "temperature", None)
    if temperature is not None:  # keras_transfer.calibrate: in the exported graph
        card["calibration"] = {"temperature": temperature, "in_exported_graph": True}
    summary = history_summary(history if history is not None else getattr(model, "history", None))
    if summary is not None:
        card["metrics"] = {"final": summary["final"], "best": summary["best"]}
    card["training_recipe"] = _training_recipe(model, summary)
    card["history"] = summary
    return _clean(card)


def _backbone_sections(backbone) -> dict:
    """The card's ``backbone`` and ``preprocessing`` entries for a keras_transfer Backbone, else none."""
    if backbone is None or not hasattr(backbone, "spec"):
        return {}
    described = {
        "name": backbone.backbone_name,
        "family": backbone.spec.family,
        "weights_source": backbone.weights_source,
        "working_resolution": list(backbone.image_shape),
        "pooling": backbone.pooling,
        "mode": backbone.mode,
        "train_bn": backbone.train_bn,
        "output_dim": backbone.output_dim,
    }
    steps = [
        "cast to float32",
        "grey (1 channel) repeated to 3 channels",
        f"bilinear resize to {backbone.image_shape[0]}x{backbone.image_shape[1]}",
        _PREPROCESSING.get(backbone.spec.preprocessing, backbone.spec.preprocessing),
    ]
    return {"backbone": described, "preprocessing": {"inside_model": True, "steps": steps}}


def _head_section(head) -> dict:
    return {
        "class": type(head).__name__,
        "units": getattr(head, "units", None),
        "num_classes": getattr(head, "num_classes", None),
        "multi_label": getattr(head, "multi_label", None),
        "activation": getattr(head, "activation", None),
        "hidden_units": list(getattr(head, "hidden_units", ())),
        "dropout": getattr(head, "dropout", None),
    }


def _training_recipe(model, summary: Optional[dict]) -> dict:
    """Optimizer (class, learning rate), loss, epochs and stages of a compiled / trained model."""
    recipe = {}
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None:
        config = optimizer.get_config()
        recipe["optimizer"] = {"class": type(optimizer).__name__, "learning_rate": config.get("learning_rate")}
    loss = getattr(model, "loss", None)
    if loss is not None:
        recipe["loss"] = getattr(loss, "name", None) or str(loss)
    if summary is not None:
        recipe["epochs"] = summary["epochs"]
        if "stages" in summary:
            recipe["stages"] = summary["stages"]
    return recipe


def _beside(path, name: str) -> str:
    """The path of ``name`` belonging to a model path: inside a SavedModel directory, else beside the file."""
    path = str(path)
    directory = path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))
    return os.path.join(directory, name)


def read_model_card(path) -> Optional[dict]:
    """The ``model_card.json`` that belongs to a model path (inside a SavedModel directory, else beside the
    file), or None.

    Args:
        path: str. Model file or SavedModel directory.

    Returns:
        dict or None.
    """
    card_path = _beside(path, "model_card.json")
    if not os.path.exists(card_path):
        return None
    with open(card_path, encoding="utf-8") as handle:
        return json.load(handle)


def load_history_file(path) -> dict:
    """A training History stored as JSON: ``FineTuneHistory.to_dict()``, a plain ``{metric: [values]}``
    dict, or a results file holding either under ``"history"`` (``keras-transfer demo``'s ``results.json``).

    Args:
        path: str.

    Returns:
        dict: accepted by :func:`history_summary`.

    Raises:
        keras_transfer.errors.InvalidInputError: the file is not such JSON.
    """
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError) as error:
        raise InvalidInputError(f"Cannot read the history JSON. Received: {str(path)!r} ({error}).") from error
    if not isinstance(data, dict):
        raise InvalidInputError(f"A history JSON is an object. Received: {type(data).__name__} in {str(path)!r}.")
    inner = data.get("history")
    if isinstance(inner, dict) and isinstance(inner.get("history"), dict):
        return inner
    return data


def read_labels(path) -> Optional[list]:
    """The class names in the ``labels.txt`` that belongs to a model path (inside a SavedModel directory,
    else beside the file), or None.

    Args:
        path: str. Model file or SavedModel directory.

    Returns:
        list of str or None.
    """
    labels_path = _beside(path, "labels.txt")
    if not os.path.exists(labels_path):
        return None
    with open(labels_path, encoding="utf-8") as handle:
        return [line.rstrip("\n") for line in handle if line.strip()]


def write_metadata(directory, card: dict, artifact: str, report: dict, class_names=None):
    """Write ``labels.txt`` (classifiers) and ``model_card.json`` in ``directory``.

    One card describes one model and every file exported from it into the directory: the card's
    ``exports`` maps each artifact's name to its export report, so ``model.tflite`` and
    ``model_int8.tflite`` written side by side both keep their parity numbers. A card that describes a
    different model (other name, parameters or backbone) is replaced.

    Args:
        directory: str. Where the files go (a SavedModel directory, or the directory of a file).
        card: dict. From :func:`model_card`.
        artifact: str. Name of the exported file or directory.
        report: dict. ``ExportReport.to_dict()``.
        class_names: list of str or None.

    Returns:
        tuple of str: the paths written.
    """
    written = []
    if class_names is not None:
        labels_path = os.path.join(directory, "labels.txt")
        write_file(labels_path, "".join(f"{name}\n" for name in class_names))
        written.append(labels_path)
    card_path = os.path.join(directory, "model_card.json")
    card = dict(card)
    exports = {}
    if os.path.exists(card_path):
        try:
            with open(card_path, encoding="utf-8") as handle:
                previous = json.load(handle)
            same = all(previous.get(k) == card.get(k) for k in ("name", "parameters", "backbone", "class_names"))
            exports = dict(previous.get("exports", {})) if same else {}
        except (OSError, ValueError):
            exports = {}
    exports[artifact] = _clean(report)
    card["exports"] = exports
    write_file(card_path, json.dumps(card, indent=2))
    written.append(card_path)
    return tuple(written)
