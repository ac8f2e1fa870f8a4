"""`calibrate`: fit a softmax temperature on validation data and put it into the model (temperature scaling)."""

import dataclasses
import math

import numpy as np

from keras_transfer.errors import InvalidConfigError, InvalidInputError
from keras_transfer.evaluation.metrics import class_ids, expected_calibration_error
from keras_transfer.models.inputs import input_arrays, is_splits
from keras_transfer.models.temperature_scaling import TemperatureScaling

__all__ = ["CalibrationResult", "calibrate", "fit_temperature", "scale_probabilities"]

_LOG_T_RANGE = (math.log(0.05), math.log(20.0))  # the temperatures searched
_MIN_PROBABILITY = 1e-30


def scale_probabilities(probabilities, temperature: float) -> np.ndarray:
    """``softmax(log(p) / T)`` in NumPy: what ``TemperatureScaling`` computes inside a model.

    Args:
        probabilities: float array ``(n, classes)``.
        temperature: float > 0.

    Returns:
        float64 array ``(n, classes)``.

    Examples:
    >>> keras_transfer.evaluation.calibration.scale_probabilities([[0.8, 0.2]], 2.0).round(3).tolist()
    [[0.667, 0.333]]
    """
    temperature = TemperatureScaling.check_temperature(temperature)
    logits = np.log(np.clip(np.asarray(probabilities, dtype="float64"), _MIN_PROBABILITY, 1.0)) / temperature
    logits -= logits.max(axis=-1, keepdims=True)
    exp = np.exp(logits)
    return exp / exp.sum(axis=-1, keepdims=True)


def _nll(probabilities, labels, temperature) -> float:
    scaled = scale_probabilities(probabilities, temperature)
    return float(-np.mean(np.log(np.clip(scaled[np.arange(len(labels)), labels], _MIN_PROBABILITY, 1.0))))


def fit_temperature(probabilities, labels) -> float:
    """The temperature that minimises the negative log-likelihood of ``labels`` (golden-section search on
    ``log T`` over [0.05, 20]; the NLL is convex in ``1 / T``).

    Args:
        probabilities: float array ``(n, classes)`` of uncalibrated softmax outputs.
        labels: int class ids ``(n,)`` or one-hot ``(n, classes)``.

    Returns:
        float: the temperature (> 1: the model was over-confident).

    Examples:
    >>> import numpy as np
    >>> p = np.array([[0.99, 0.01]] * 8 + [[0.01, 0.99]] * 2)  # confident, but 80 % right
    >>> round(keras_transfer.evaluation.fit_temperature(p, [0] * 10), 2)
    3.31
    """
    probabilities = np.asarray(probabilities, dtype="float64")
    labels = class_ids(labels, len(probabilities))
    low, high = _LOG_T_RANGE
    ratio = (math.sqrt(5) - 1) / 2
    a, b = high - ratio * (high - low), low + ratio * (high - low)
    fa, fb = _nll(probabilities, labels, math.exp(a)), _nll(probabilities, labels, math.exp(b))
    for _ in range(60):  # the bracket shrinks by 0.618 per step: 60 steps reach ~1e-12 in log T
        if fa < fb:
            high, b, fb = b, a, fa
            a = high - ratio * (high - low)
            fa = _nll(probabilities, labels, math.exp(a))
        else:
            low, a, fa = a, b, fb
            b = low + ratio * (high - low)
            fb = _nll(probabilities, labels, math.exp(b))
    return float(math.exp((low + high) / 2))


@dataclasses.dataclass
class CalibrationResult:
    """What ``calibrate`` fitted and how much it helped on the validation data it was fitted on.

    Attributes:
        temperature: float. The fitted temperature, now in ``model.calibration``.
        nll_before: float. Validation negative log-likelihood before.
        nll_after: float. The same after.
        ece_before: float. Validation expected calibration error before (15 bins).
        ece_after: float. The same after.
        n_examples: int. Validation examples used.
    """

    temperature: float
    nll_before: float
    nll_after: float
    ece_before: float
    ece_after: float
    n_examples: int

    def __str__(self):
        return (f"temperature {self.temperature:.3f} on {self.n_examples} validation examples: NLL "
                f"{self.nll_before:.4f} -> {self.nll_after:.4f}, ECE {self.ece_before:.4f} -> {self.ece_after:.4f}")


def _check_model(model):
    calibration = getattr(model, "calibration", None)
    if not isinstance(calibration, TemperatureScaling):
        raise InvalidConfigError(
            "calibrate needs a keras_transfer.TransferModel (it holds the temperature layer, model.calibration). "
            f"Received: a model of type {type(model).__name__}. Multi-task models and plain Keras models are not "
            "supported; for a saved model load it with keras_transfer.load_model first."
        )
    head = getattr(model, "head", None)
    if getattr(head, "num_classes", None) is None or getattr(head, "multi_label", True):
        raise InvalidConfigError(
            "Temperature scaling needs a single-label classification head (softmax). Received: a head of type "
            f"{type(head).__name__}{' (multi_label=True)' if getattr(head, 'multi_label', False) else ''}."
        )
    return calibration


def calibrate(model, validation, *, batch_size: int = 64, bins: int = 15) -> CalibrationResult:
    """Fit a temperature on validation data and put it into the model (temperature scaling).

    The model's softmax outputs on ``validation`` (without any earlier temperature) give the temperature that
    minimises their negative log-likelihood; it is set on ``model.calibration`` (a
    ``keras_transfer.models.TemperatureScaling`` layer), so ``predict``, ``evaluate``, ``model.save`` (``.keras``)
    and ``keras_transfer.export`` (SavedModel, TFLite, ONNX) all give calibrated probabilities. Predicted classes
    never change. Calibrate on held-out data (not the training set) after training; train again and the
    temperature stays, so calibrate again.

    Args:
        model: keras_transfer.TransferModel with a single-label classification head.
        validation: ``(x, y)`` arrays, a labelled ``tf.data.Dataset`` / PyDataset, or a ``Splits`` (its
            validation split).
        batch_size: int. Prediction batch size.
        bins: int. Bins of the expected calibration error reported.

    Returns:
        CalibrationResult: the temperature and the validation NLL / ECE before and after.

    Raises:
        InvalidConfigError: the model has no temperature layer or no softmax head.
        InvalidInputError: the validation data has no labels.

    Examples:
    >>> import numpy as np
    >>> name = keras_transfer.testing.register_tiny_backbone()
    >>> backbone = keras_transfer.backbones.get(name, weights=None, input_shape=(32, 32), train_bn=False)
    >>> model = keras_transfer.TransferModel(backbone, keras_transfer.ClassificationHead(2))
    >>> x, y = np.random.default_rng(0).integers(0, 255, (16, 32, 32, 1)).astype("uint8"), np.arange(16) % 2
    >>> result = keras_transfer.calibrate(model, (x, y))
    >>> model.calibration.temperature == result.temperature
    True
    """
    calibration = _check_model(model)
    if is_splits(validation):
        if validation.validation is None:
            raise InvalidInputError(
                "calibrate fits the temperature on validation data. Received: a Splits without a validation "
                "split. Pass (x, y) arrays of held-out data."
            )
        validation = validation.validation
    x, y = input_arrays(model, validation)
    if y is None:
        raise InvalidInputError(
            "calibrate needs labelled validation data. Received: inputs without labels. Pass (x, y)."
        )
    previous = calibration.temperature
    _set_temperature(model, None)  # fit on the raw outputs
    try:
        probabilities = np.asarray(model.predict(x, batch_size=batch_size, verbose=0), dtype="float64")
    except Exception:
        _set_temperature(model, previous)
        raise
    labels = class_ids(y, len(probabilities))
    temperature = fit_temperature(probabilities, labels)
    _set_temperature(model, temperature)
    scaled = scale_probabilities(probabilities, temperature)
    return CalibrationResult(
        temperature=temperature,
        nll_before=_nll(probabilities, labels, 1.0),
        nll_after=_nll(probabilities, labels, temperature),
        ece_before=expected_calibration_error(probabilities, labels, bins),
        ece_after=expected_calibration_error(scaled, labels, bins),
        n_examples=len(labels),
    )


def _set_temperature(model, temperature) -> None:
    """Set the model's temperature and drop its traced predict / test / train functions (they hold the old
    constant)."""
    model.calibration.temperature = TemperatureScaling.check_temperature(temperature)
    for name in ("predict_function", "test_function", "train_function"):
        if hasattr(model, name):
            setattr(model, name, None)
