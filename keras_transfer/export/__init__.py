"""Deployment: export to SavedModel / TFLite / ONNX with parity checks, model cards, and running exported files.

One form: ``keras_transfer.export(model, path, format=...)``. This package is callable (its module class has a
``__call__``), so the call runs :func:`keras_transfer.export.export`; ``keras_transfer.export.export`` and
``keras_transfer.export_model`` stay as aliases of that function. Formats take our names or Keras' own
(``model.export``'s): ``"saved_model"`` / ``"tf_saved_model"``, ``"tflite"`` / ``"litert"``, ``"onnx"``.

- ``export(model, path, format, quantization, representative_data, ...)`` → ``ExportReport``.
- ``load_exported(path)`` → ``ExportedModel``: runs ``.keras``, SavedModel, ``.tflite`` and ``.onnx`` files.
- ``check_parity(model, exported, x, labels)``, ``model_card(...)``, ``read_model_card(path)``.
- ``embed_metadata(path, class_names, ...)`` / ``read_metadata(path)``: TFLite metadata inside a ``.tflite``
  file (what MediaPipe's ``ImageClassifier`` reads); ``SelectiveQuantizer``: int8 with the layers of largest
  error kept in float (``export(..., quantization="int8", float_layers=n, per_channel=...)``).
- ``classification_report(...)`` and the plots used by ``keras-transfer evaluate``.

Importing this package does not import TensorFlow or Keras (nor ``keras_transfer.models``, which does):
``keras-transfer predict`` runs ``.tflite`` and ``.onnx`` files without them. Those imports stay inside the
functions that need them; every other import is at module top (``keras_transfer.data``'s readers included).

Examples:
>>> import keras_transfer as kt
>>> kt.export.export is kt.export_model, callable(kt.export)
(True, True)
>>> kt.export.canonical_format("litert")
'tflite'
"""

from keras_transfer.export.evaluation import classification_report, confusion_matrix, format_classification_report
import sys
import types

from keras_transfer.export.exporter import FORMATS, KERAS_FORMATS, canonical_format, export, resolve_input_spec
from keras_transfer.export.inputs import fit_images, load_labelled_data, read_images, read_text_lines, read_wav
from keras_transfer.export.litert import QUANTIZATIONS
from keras_transfer.export.model_card import history_summary, model_card, read_labels, read_model_card
from keras_transfer.export.parity import check_parity
from keras_transfer.export.report import ExportReport
from keras_transfer.export.runtime import ExportedModel, detect_format, load_exported
from keras_transfer.export.selective import SelectiveQuantizer
from keras_transfer.export.tflite_metadata import embed_metadata, read_metadata

# Public names. The command line's input helpers (fit_images, load_labelled_data, read_images, read_text_lines,
# read_wav), resolve_input_spec and history_summary stay importable from here too.
__all__ = [
    "FORMATS",
    "KERAS_FORMATS",
    "QUANTIZATIONS",
    "ExportReport",
    "ExportedModel",
    "SelectiveQuantizer",
    "canonical_format",
    "check_parity",
    "classification_report",
    "confusion_matrix",
    "detect_format",
    "embed_metadata",
    "export",
    "format_classification_report",
    "load_exported",
    "model_card",
    "read_labels",
    "read_metadata",
    "read_model_card",
]


class _ExportPackage(types.ModuleType):
    """The class of this package's module object: calling the package calls :func:`export`."""

    def __call__(self, model, path, format: str = "saved_model", *args, **kwargs) -> ExportReport:
        """``keras_transfer.export(model, path, format=...)``: see :func:`keras_transfer.export.export`."""
        return export(model, path, format, *args, **kwargs)


sys.modules[__name__].__class__ = _ExportPackage
