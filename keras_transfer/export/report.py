"""`ExportReport`: what an export wrote and how closely it matches the Keras model."""

import dataclasses
from typing import Optional, Tuple

__all__ = ["ExportReport"]


@dataclasses.dataclass
class ExportReport:
    """The result of ``keras_transfer.export.export``; ``str(report)`` is a Markdown table.

    Attributes:
        path: str. The written model (file, or directory for a SavedModel).
        format: str. ``"saved_model"``, ``"tflite"`` or ``"onnx"``.
        quantization: str or None.
        size_bytes: int. File size (total of the directory for a SavedModel).
        input_shape: tuple. Input shape with the batch axis as None.
        input_dtype: str. Dtype the exported model takes (``"uint8"``: raw images).
        output_dtype: str. Dtype of its output tensor (``"uint8"`` for int8 with integer I/O).
        n_examples: int. Inputs used for the parity check.
        max_abs_diff: float. Largest |exported − Keras| over all outputs (probabilities for classifiers).
        mean_abs_diff: float.
        argmax_agreement: float or None. Fraction of inputs with the same top class.
        keras_accuracy: float or None. Accuracy of the Keras model on the labelled parity data.
        exported_accuracy: float or None. Same for the exported model.
        parity_data: str. Where the parity inputs came from.
        seconds: float. Conversion and check time.
        metadata_files: tuple of str. ``labels.txt`` / ``model_card.json`` written beside the model.
        embedded_metadata: bool. TFLite metadata (labels, input description, model card) inside the file.
        mediapipe_agreement: float or None. Top-1 agreement of MediaPipe's ``ImageClassifier`` with Keras on
            the parity inputs (None when it was not run: see ``mediapipe_note``).
        mediapipe_note: str. Why the MediaPipe check did not run, else empty.
        float_layers: tuple of str. Selective int8: the layers (output tensor names) kept in float.
        per_channel: bool. int8: per-channel (True) or per-tensor weight scales.

    Examples:
    >>> report = keras_transfer.export.export(model, "/tmp/m.tflite", format="tflite")  # doctest: +SKIP
    >>> report.argmax_agreement  # doctest: +SKIP
    1.0
    """

    path: str
    format: str
    quantization: Optional[str]
    size_bytes: int
    input_shape: Tuple
    input_dtype: str
    output_dtype: str
    n_examples: int
    max_abs_diff: float
    mean_abs_diff: float
    argmax_agreement: Optional[float]
    keras_accuracy: Optional[float] = None
    exported_accuracy: Optional[float] = None
    parity_data: str = ""
    seconds: float = 0.0
    metadata_files: Tuple[str, ...] = ()
    embedded_metadata: bool = False
    mediapipe_agreement: Optional[float] = None
    mediapipe_note: str = ""
    float_layers: Tuple[str, ...] = ()
    per_channel: bool = True

    @property
    def accuracy_drop(self) -> Optional[float]:
        """Keras accuracy minus exported accuracy (None without labels)."""
        if self.keras_accuracy is None or self.exported_accuracy is None:
            return None
        return self.keras_accuracy - self.exported_accuracy

    def to_dict(self) -> dict:
        """Plain-JSON form (used in ``model_card.json``)."""
        result = dataclasses.asdict(self)
        result["input_shape"] = list(self.input_shape)
        result["metadata_files"] = list(self.metadata_files)
        result["float_layers"] = list(self.float_layers)
        result["accuracy_drop"] = self.accuracy_drop
        return result

    def table(self) -> str:
        """The report as a two-column Markdown table."""

        def fmt(value):
            if value is None:
                return "—"
            if isinstance(value, float):
                return f"{value:.4g}"
            return str(value)

        shape = "(" + ", ".join("batch" if d is None else str(d) for d in self.input_shape) + ")"
        rows = [
            ("path", self.path),
            ("format", self.format + (f" ({self.quantization})" if self.quantization else "")
             + (f", {len(self.float_layers)} layers in float" if self.float_layers else "")
             + ("" if self.per_channel else ", per-tensor scales")),
            ("size", f"{self.size_bytes:,} bytes"),
            ("input", f"{shape} {self.input_dtype}"),
            ("output dtype", self.output_dtype),
            ("parity inputs", f"{self.n_examples} ({self.parity_data})" if self.parity_data else self.n_examples),
            ("max abs diff", fmt(self.max_abs_diff)),
            ("mean abs diff", fmt(self.mean_abs_diff)),
            ("argmax agreement", fmt(self.argmax_agreement)),
            ("Keras accuracy", fmt(self.keras_accuracy)),
            ("exported accuracy", fmt(self.exported_accuracy)),
            ("seconds", f"{self.seconds:.1f}"),
        ]
        if self.format == "tflite":
            rows.insert(-1, ("embedded metadata", "yes (labels, normalisation, model card)"
                             if self.embedded_metadata else "no"))
            rows.insert(-1, ("MediaPipe agreement", fmt(self.mediapipe_agreement) if self.mediapipe_agreement
                             is not None else (self.mediapipe_note or "—")))
        return "\n".join(["| export | |", "|---|---|"] + [f"| {key} | {fmt(value)} |" for key, value in rows])

    def __str__(self):
        return self.table()
