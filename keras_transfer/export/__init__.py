"""Deployment: export to SavedModel / TFLite / ONNX with parity checks, model cards, and running exported files.

``keras_transfer.export`` is this subpackage; the function is ``keras_transfer.export.export`` (also
re-exported as ``keras_transfer.export_model``), so ``from keras_transfer.export import export`` reads as the
issue's ``keras_transfer.export(model, path, ...)``. A module cannot be called without patching its class,
so the package and the function keep one name each.

- ``export(model, path, format, quantization, representative_data, ...)`` → ``ExportReport``.
- ``load_exported(path)`` → ``ExportedModel``: runs ``.keras``, SavedModel, ``.tflite`` and ``.onnx`` files.
- ``check_parity(model, exported, x, labels)``, ``model_card(...)``, ``read_model_card(path)``.
- ``classification_report(...)`` and the plots used by ``keras-transfer evaluate``.
"""

from keras_transfer.export.evaluation import classification_report, confusion_matrix, format_classification_report
from keras_transfer.export.exporter import FORMATS, export, resolve_input_spec
from keras_transfer.export.inputs import fit_images, load_labelled_data, read_images, read_text_lines, read_wav
from keras_transfer.export.litert import QUANTIZATIONS
from keras_transfer.export.model_card import history_summary, model_card, read_labels, read_model_card
from keras_transfer.export.parity import check_parity
from keras_transfer.export.report import ExportReport
from keras_transfer.export.runtime import ExportedModel, detect_format, load_exported

__all__ = [
    "FORMATS",
    "QUANTIZATIONS",
    "ExportReport",
    "ExportedModel",
    "check_parity",
    "classification_report",
    "confusion_matrix",
    "detect_format",
    "export",
    "fit_images",
    "format_classification_report",
    "history_summary",
    "load_exported",
    "load_labelled_data",
    "model_card",
    "read_images",
    "read_labels",
    "read_model_card",
    "read_text_lines",
    "read_wav",
    "resolve_input_spec",
]
