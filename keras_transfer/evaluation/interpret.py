"""`interpret`: error analysis of a classifier on labelled data (top losses, most-confused pairs, Grad-CAM,
reliability diagram, report metrics), shown inline in a notebook and saved as files."""

import base64
import html
import json
import os
from typing import Optional, Sequence

import numpy as np

from keras_transfer.atomic import write_file
from keras_transfer.checks import check_int
from keras_transfer.errors import InvalidConfigError, InvalidInputError
from keras_transfer.evaluation.gradcam import grad_cam
from keras_transfer.evaluation.metrics import (
    balanced_accuracy, class_ids, expected_calibration_error, macro_f1,
)
from keras_transfer.evaluation.model_source import resolve_model
from keras_transfer.evaluation.reliability_diagram import plot_reliability_diagram
from keras_transfer.evaluation.top_losses import most_confused, plot_top_losses, top_losses
from keras_transfer.evaluation.tta import predict
from keras_transfer.export import ExportedModel
from keras_transfer.models.inputs import input_arrays, is_splits

__all__ = ["Interpretation", "interpret"]


class Interpretation:
    """The result of :func:`interpret`. In a notebook it shows itself: the metrics, the most-confused pairs,
    the top-losses grid (with Grad-CAM overlays when computed) and the reliability diagram.

    Attributes:
        images: the raw images interpreted.
        labels: int class ids.
        probabilities: float array ``(n, classes)``: the model's outputs.
        class_names: list of str.
        top_losses: list of dict (``keras_transfer.evaluation.top_losses``), worst first.
        most_confused: list of ``(true, predicted, count)``, most frequent first.
        heatmaps: float array ``(len(top_losses), H, W)``: Grad-CAM of each top-loss image's predicted class,
            or None (exported models have no gradients).
        metrics: dict: ``accuracy``, ``balanced_accuracy``, ``macro_f1``, ``ece``, ``n_examples``.
    """

    def __init__(self, images, labels, probabilities, class_names, rows, confused, heatmaps, metrics):
        self.images = images
        self.labels = labels
        self.probabilities = probabilities
        self.class_names = class_names
        self.top_losses = rows
        self.most_confused = confused
        self.heatmaps = heatmaps
        self.metrics = metrics

    def __repr__(self):
        shown = ", ".join(f"{key}={value:.4f}" for key, value in self.metrics.items() if isinstance(value, float))
        return (f"Interpretation({self.metrics['n_examples']} examples, {shown}, {len(self.top_losses)} top losses, "
                f"grad_cam={'yes' if self.heatmaps is not None else 'no'})")

    def plot_top_losses(self, path: Optional[str] = None):
        """The top-losses grid (Grad-CAM overlays when computed) as PNG bytes, or written to ``path``."""
        return plot_top_losses(self.images, self.top_losses, path, heatmaps=self.heatmaps)

    def plot_grad_cam(self, path: Optional[str] = None):
        """The top-loss images with their Grad-CAM overlay (PNG bytes, or written to ``path``).

        Raises:
            InvalidConfigError: no heatmaps were computed.
        """
        if self.heatmaps is None:
            raise InvalidConfigError(
                "No Grad-CAM heatmaps: interpret ran without them. Received: heatmaps=None. Call "
                "interpret(keras_model, data, gradcam=True) with a Keras TransferModel (not an exported file)."
            )
        return plot_top_losses(self.images, self.top_losses, path, heatmaps=self.heatmaps)

    def plot_reliability_diagram(self, path: Optional[str] = None):
        """The reliability diagram (PNG bytes, or written to ``path``)."""
        return plot_reliability_diagram(self.probabilities, self.labels, path)

    def to_dict(self) -> dict:
        """Plain-JSON form: metrics, top losses and most-confused pairs."""
        return {"metrics": self.metrics, "top_losses": self.top_losses,
                "most_confused": [{"true": t, "predicted": p, "count": c} for t, p, c in self.most_confused]}

    def save(self, output_dir) -> dict:
        """Write ``top_losses.png`` (Grad-CAM overlays included when computed), ``reliability_diagram.png`` and
        ``interpretation.json`` into ``output_dir``.

        Args:
            output_dir: str.

        Returns:
            dict: file kind -> path.
        """
        output_dir = os.fspath(output_dir)
        os.makedirs(output_dir, exist_ok=True)
        files = {
            "top_losses": self.plot_top_losses(os.path.join(output_dir, "top_losses.png")),
            "reliability_diagram": self.plot_reliability_diagram(os.path.join(output_dir, "reliability_diagram.png")),
        }
        files["interpretation"] = write_file(os.path.join(output_dir, "interpretation.json"),
                                             json.dumps(self.to_dict(), indent=2))
        return files

    def _repr_png_(self):
        return self.plot_top_losses()

    def _repr_html_(self):
        def image(data):
            return f'<img src="data:image/png;base64,{base64.b64encode(data).decode("ascii")}"/>'

        metrics = "".join(f"<tr><td>{html.escape(key)}</td><td>{value:.4f}</td></tr>" if isinstance(value, float)
                          else f"<tr><td>{html.escape(key)}</td><td>{value}</td></tr>"
                          for key, value in self.metrics.items())
        confused = "".join(f"<tr><td>{html.escape(t)}</td><td>{html.escape(p)}</td><td>{c}</td></tr>"
                           for t, p, c in self.most_confused[:10]) or "<tr><td colspan=3>none</td></tr>"
        return (f"<table><tr><th>metric</th><th>value</th></tr>{metrics}</table>"
                f"<p><b>most confused</b></p><table><tr><th>true</th><th>predicted</th><th>count</th></tr>"
                f"{confused}</table>{image(self.plot_top_losses())}{image(self.plot_reliability_diagram())}")


def _data(model, data, class_names):
    """``(x, y, class names)`` from ``(x, y)``, a Splits (its test split) or a labelled dataset."""
    names = class_names
    if is_splits(data):
        names = names if names is not None else data.class_names
        data = data.test
    if isinstance(model, ExportedModel):
        if not (isinstance(data, tuple) and len(data) == 2):
            raise InvalidInputError(
                f"An exported model is interpreted on (x, y) arrays. Received: data of type {type(data).__name__}."
            )
        x, y = np.asarray(data[0]), np.asarray(data[1])
    else:
        x, y = input_arrays(model, data)
    if y is None:
        raise InvalidInputError("interpret needs labels. Received: inputs without labels. Pass (x, y).")
    return x, y, names


def interpret(model, data, *, k: int = 16, gradcam: Optional[bool] = None, class_names: Optional[Sequence[str]] = None,
              tta: int = 0, layer: Optional[str] = None, batch_size: int = 32) -> Interpretation:
    """Error analysis of a classifier: its worst predictions, most-confused class pairs, Grad-CAM on the worst
    images and the calibration picture, as an object that displays inline in a notebook.

    Args:
        model: a Keras ``TransferModel`` (live or reloaded), an ``ExportedModel`` or a model path (see
            ``keras_transfer.predict``).
        data: labelled ``(x, y)`` raw images, a ``Splits`` (its test split and class names) or a labelled dataset.
        k: int. Number of top losses.
        gradcam: bool or None. Grad-CAM heatmaps of the top-loss images' predicted classes, at the last backbone
            layer group (``keras_transfer.evaluation.grad_cam``); None: when the model allows it (a Keras
            ``TransferModel`` on an image backbone).
        class_names: names in id order, or None (a Splits' names, else ids).
        tta: int. Test-time augmented views for the probabilities (``keras_transfer.predict``).
        layer: str or None. Grad-CAM layer group or inner layer name.
        batch_size: int.

    Returns:
        Interpretation.

    Raises:
        InvalidConfigError: ``gradcam=True`` for a model without gradients (an exported file).
        InvalidInputError: data without labels.

    Examples:
    >>> import numpy as np
    >>> name = keras_transfer.testing.register_tiny_backbone()
    >>> backbone = keras_transfer.backbones.get(name, weights=None, input_shape=(32, 32))
    >>> model = keras_transfer.TransferModel(backbone, keras_transfer.ClassificationHead(2))
    >>> x, y = np.random.default_rng(0).integers(0, 255, (6, 32, 32, 1)).astype("uint8"), np.arange(6) % 2
    >>> result = keras_transfer.interpret(model, (x, y), k=4)
    >>> len(result.top_losses), result.heatmaps.shape
    (4, (4, 32, 32))
    """
    check_int("k", k, minimum=1, expected="a positive int")
    model = resolve_model(model)
    x, y, names = _data(model, data, class_names)
    probabilities = predict(model, x, tta=tta, batch_size=batch_size).astype("float64")
    labels = class_ids(y, len(probabilities))
    if names is None:
        names = [str(i) for i in range(probabilities.shape[1])]
    names = [str(name) for name in names]
    rows = top_losses(probabilities, labels, k, names)
    heatmaps = None
    explainable = not isinstance(model, ExportedModel) and getattr(model, "backbone", None) is not None
    if gradcam and not explainable:
        raise InvalidConfigError(
            "Grad-CAM needs the Keras model's gradients. Received: gradcam=True with "
            f"{'an exported ' + model.format + ' model' if isinstance(model, ExportedModel) else type(model).__name__}"
            ". Pass the .keras file or the TransferModel, or gradcam=False."
        )
    if gradcam or (gradcam is None and explainable and getattr(model.backbone, "input_kind", None) == "image"):
        index = np.array([row["index"] for row in rows])
        heatmaps = grad_cam(model, x[index], probabilities[index].argmax(axis=1), layer=layer,
                            batch_size=batch_size)
    metrics = {
        "n_examples": int(len(labels)),
        "accuracy": float(np.mean(probabilities.argmax(axis=1) == labels)),
        "balanced_accuracy": balanced_accuracy(probabilities, labels),
        "macro_f1": macro_f1(probabilities, labels),
        "ece": expected_calibration_error(probabilities, labels),
    }
    return Interpretation(x, labels, probabilities, names, rows, most_confused(probabilities, labels, names),
                          heatmaps, metrics)
