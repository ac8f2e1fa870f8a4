"""Judging and explaining a trained classifier: test-time augmentation, temperature calibration, report metrics
(ECE, macro-F1, balanced accuracy) and error analysis (top losses, most-confused pairs, Grad-CAM).

- ``predict(model, x, tta=8)``: probabilities averaged over seeded views of the model's own augmentation,
  blended with the plain prediction; Keras models, reloaded ``.keras`` files and exported files.
- ``calibrate(model, validation)``: fits a softmax temperature and sets it on the model's
  ``keras_transfer.models.TemperatureScaling`` layer (kept by ``.keras`` files and every export).
- ``expected_calibration_error``, ``reliability_bins``, ``plot_reliability_diagram``, ``macro_f1``,
  ``balanced_accuracy``.
- ``interpret(model, data)``: top losses, most-confused pairs, Grad-CAM (``grad_cam``) through the nested
  backbone, shown inline in a notebook; ``keras-transfer evaluate --top-losses 16 --gradcam`` writes the same.
"""

from keras_transfer.evaluation.calibration import CalibrationResult, calibrate, fit_temperature, scale_probabilities
from keras_transfer.evaluation.gradcam import grad_cam, gradcam_target
from keras_transfer.evaluation.interpret import Interpretation, interpret
from keras_transfer.evaluation.metrics import (
    balanced_accuracy, expected_calibration_error, macro_f1, reliability_bins,
)
from keras_transfer.evaluation.model_source import resolve_model
from keras_transfer.evaluation.reliability_diagram import plot_reliability_diagram
from keras_transfer.evaluation.top_losses import most_confused, plot_top_losses, top_losses
from keras_transfer.evaluation.tta import DEFAULT_TTA_AUGMENTATION, augmentation_of, predict, tta_views

__all__ = [
    "DEFAULT_TTA_AUGMENTATION",
    "CalibrationResult",
    "Interpretation",
    "augmentation_of",
    "balanced_accuracy",
    "calibrate",
    "expected_calibration_error",
    "fit_temperature",
    "grad_cam",
    "gradcam_target",
    "interpret",
    "macro_f1",
    "most_confused",
    "plot_reliability_diagram",
    "plot_top_losses",
    "predict",
    "reliability_bins",
    "resolve_model",
    "scale_probabilities",
    "top_losses",
    "tta_views",
]
