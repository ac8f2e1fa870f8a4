"""`ExportedModel`: run a ``.keras`` file, a SavedModel, a ``.tflite`` or an ``.onnx`` file with its own runtime."""

import os
from typing import Optional, Tuple

import numpy as np

from keras_transfer.errors import ExportError, InvalidInputError
from keras_transfer.export.onnx import require_onnx
from keras_transfer.native_logs import quiet_native_info

__all__ = ["ExportedModel", "detect_format", "load_exported"]

FORMAT_NAMES = ("keras", "saved_model", "tflite", "onnx")


def detect_format(path) -> str:
    """The format of a model file or directory: ``"keras"``, ``"saved_model"``, ``"tflite"`` or ``"onnx"``.

    Args:
        path: str. A ``.keras`` / ``.tflite`` / ``.onnx`` file or a SavedModel directory.

    Returns:
        str: the format name.

    Raises:
        keras_transfer.errors.InvalidInputError: the path does not exist or is none of these.

    Examples:
    >>> keras_transfer.export.detect_format("/tmp/model.tflite")  # doctest: +SKIP
    'tflite'
    """
    path = str(path)
    if not os.path.exists(path):
        raise InvalidInputError(
            f"No model at this path. Received: {path!r}. Pass a .keras, .tflite or .onnx file or a SavedModel "
            "directory."
        )
    if os.path.isdir(path):
        if os.path.exists(os.path.join(path, "saved_model.pb")):
            return "saved_model"
        raise InvalidInputError(
            f"This directory is not a SavedModel (it has no saved_model.pb). Received: {path!r}. Pass the directory "
            "written by keras_transfer.export.export(..., format='saved_model')."
        )
    suffix = os.path.splitext(path)[1].lower()
    formats = {".keras": "keras", ".tflite": "tflite", ".onnx": "onnx"}
    if suffix not in formats:
        raise InvalidInputError(
            f"Unknown model file type. Received: {path!r}. Use a .keras, .tflite or .onnx file or a SavedModel "
            "directory."
        )
    return formats[suffix]


class ExportedModel:
    """A saved or exported model behind one interface: ``predict(x) -> float numpy outputs``.

    Each format runs with its own runtime: Keras (``.keras``, loaded with ``safe_mode=True``),
    ``tf.saved_model.load``, ai-edge-litert's ``Interpreter`` (``.tflite``) and onnxruntime (``.onnx``).
    Quantized integer inputs and outputs are (de)quantized with the tensor's scale and zero point, so the
    outputs are comparable across formats. Use :func:`load_exported` to build one.

    Attributes:
        path: str. The model's path.
        format: str. ``"keras"``, ``"saved_model"``, ``"tflite"`` or ``"onnx"``.
        input_shape: tuple or None. Input shape without the batch axis (``None`` entries are free); None
            when the model takes any shape (``.keras``).
        input_dtype: str or None. The input dtype (``"uint8"`` for raw images).
        output_dtype: str. Dtype of the raw output tensor (``"uint8"`` for an int8 model with integer I/O).

    Examples:
    >>> exported = keras_transfer.export.load_exported("/tmp/model.tflite")  # doctest: +SKIP
    >>> exported.predict(images).shape  # doctest: +SKIP
    (18, 3)
    """

    def __init__(self, path, format, runner, input_shape: Optional[Tuple], input_dtype: Optional[str],
                 output_dtype: str = "float32"):
        self.path = str(path)
        self.format = format
        self._runner = runner
        self.input_shape = None if input_shape is None else tuple(input_shape)
        self.input_dtype = input_dtype
        self.output_dtype = output_dtype

    def __repr__(self):
        return (f"ExportedModel(format={self.format!r}, input_shape={self.input_shape}, "
                f"input_dtype={self.input_dtype!r}, path={self.path!r})")

    def check_inputs(self, x) -> np.ndarray:
        """Check that ``x`` fits the input spec and cast it to the input dtype.

        Args:
            x: array ``(batch, ...)``.

        Returns:
            numpy array of the input dtype.

        Raises:
            keras_transfer.errors.InvalidInputError: wrong rank or a fixed dimension differs.
        """
        x = np.asarray(x)
        if self.input_shape is not None:
            expected = self.input_shape
            fits = x.ndim == len(expected) + 1 and all(e is None or e == s for e, s in zip(expected, x.shape[1:]))
            if not fits:
                shown = "x".join("?" if e is None else str(e) for e in expected)
                raise InvalidInputError(
                    f"This {self.format} model takes inputs of shape (batch, {', '.join(map(str, expected))}) "
                    f"[{shown}]. Received: input shape {x.shape}. Resize the inputs to {shown} "
                    "(keras-transfer predict/evaluate: pass --resize), or export the model again with "
                    "input_shape=... matching your data."
                )
        if self.input_dtype == "string":
            return x.astype(object)
        if self.input_dtype is not None and x.dtype != np.dtype(self.input_dtype):
            if np.dtype(self.input_dtype) == np.uint8 and x.dtype.kind == "f":
                x = np.clip(np.round(x), 0, 255)
            x = x.astype(self.input_dtype)
        return x

    def predict(self, x, batch_size: int = 32) -> np.ndarray:
        """Run the model on ``x`` in batches and return float32 outputs.

        Args:
            x: array ``(batch, ...)`` of raw inputs.
            batch_size: int. Examples per call.

        Returns:
            numpy float32 array ``(batch, outputs)``.

        Raises:
            keras_transfer.errors.InvalidInputError: ``x`` does not fit the input spec.
        """
        x = self.check_inputs(x)
        if len(x) == 0:
            raise InvalidInputError("No inputs to predict on. Received: an empty batch. Pass at least one input.")
        outputs = [np.asarray(self._runner(x[i: i + batch_size]), dtype="float32") for i in
                   range(0, len(x), batch_size)]
        return np.concatenate(outputs, axis=0)


def _keras_input_spec(model):
    """``(shape without batch, dtype)`` a Keras model takes; a keras_transfer model's from its backbone's kind."""
    kind = getattr(getattr(model, "backbone", None), "input_kind", None)
    if kind == "text":  # a batch of strings (batch,)
        return (), "string"
    if kind == "audio":  # waveforms (batch, samples)
        return (getattr(model.backbone, "num_samples", None),), "float32"
    try:
        inputs = list(model.inputs or [])
    except AttributeError:
        inputs = []
    if len(inputs) == 1:
        return tuple(inputs[0].shape[1:]), str(inputs[0].dtype)
    return None, None  # subclassed image models (TransferModel) take any image size


def _load_keras(path):
    import keras

    from keras_transfer.models.serializables import register_serializables

    register_serializables()
    model = keras.saving.load_model(path, compile=False, safe_mode=True)
    shape, dtype = _keras_input_spec(model)

    def run(x):
        return keras.ops.convert_to_numpy(model(x, training=False))

    return ExportedModel(path, "keras", run, shape, dtype), model


def _load_saved_model(path):
    import tensorflow as tf

    loaded = tf.saved_model.load(path)
    signature = loaded.signatures.get("serving_default")
    if signature is None:
        raise ExportError(f"The SavedModel has no serving_default signature. Received: {path!r}.")
    specs = signature.structured_input_signature[1]
    if len(specs) != 1:
        raise ExportError(f"Only single-input SavedModels are supported. Received: inputs {sorted(specs)} in {path!r}.")
    (name, spec), = specs.items()

    def run(x):
        outputs = signature(**{name: tf.constant(x)})
        if len(outputs) != 1:
            raise ExportError(f"Only single-output SavedModels are supported. Received: outputs {sorted(outputs)}.")
        return next(iter(outputs.values())).numpy()

    shape = tuple(None if d is None else int(d) for d in spec.shape[1:])
    run.loaded = loaded  # keep the restored object (and its variables) alive
    return ExportedModel(path, "saved_model", run, shape, spec.dtype.name)


def _load_tflite(path):
    from ai_edge_litert.interpreter import Interpreter  # the runtime's own package, loaded when used

    interpreter = Interpreter(model_path=path)
    with quiet_native_info():  # the first allocation prints "INFO: Created TensorFlow Lite XNNPACK delegate"
        interpreter.allocate_tensors()
    inp, = interpreter.get_input_details()
    out, = interpreter.get_output_details()
    in_scale, in_zero = inp["quantization"]
    out_scale, out_zero = out["quantization"]
    in_dtype = np.dtype(inp["dtype"])
    state = {"batch": None}

    def run(x):
        if state["batch"] != len(x):
            interpreter.resize_tensor_input(inp["index"], [len(x), *x.shape[1:]], strict=False)
            interpreter.allocate_tensors()
            state["batch"] = len(x)
        if in_scale and in_dtype.kind in "iu":  # quantized input: real = scale * (q - zero_point)
            info = np.iinfo(in_dtype)
            x = np.clip(np.round(x.astype("float32") / in_scale + in_zero), info.min, info.max)
        interpreter.set_tensor(inp["index"], x.astype(in_dtype))
        interpreter.invoke()
        y = interpreter.get_tensor(out["index"])
        if out_scale and np.dtype(out["dtype"]).kind in "iu":
            y = (y.astype("float32") - out_zero) * out_scale
        return y

    signature = inp.get("shape_signature", inp["shape"])
    shape = tuple(None if int(d) < 0 else int(d) for d in signature[1:])
    dtype = "float32" if (in_scale and in_dtype.kind in "iu") else in_dtype.name
    return ExportedModel(path, "tflite", run, shape, dtype, np.dtype(out["dtype"]).name)


def _load_onnx(path):
    ort = require_onnx(runtime_only=True)
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    inp, = session.get_inputs()
    types = {"tensor(uint8)": "uint8", "tensor(float)": "float32", "tensor(int8)": "int8",
             "tensor(int32)": "int32", "tensor(int64)": "int64", "tensor(string)": "string",
             "tensor(double)": "float64"}

    def run(x):
        return session.run(None, {inp.name: x})[0]

    shape = tuple(d if isinstance(d, int) else None for d in inp.shape[1:])
    return ExportedModel(path, "onnx", run, shape, types.get(inp.type))


def load_exported(path) -> ExportedModel:
    """Load a ``.keras`` file, a SavedModel directory, a ``.tflite`` or an ``.onnx`` file for inference.

    Args:
        path: str or path-like.

    Returns:
        ExportedModel.

    Raises:
        keras_transfer.errors.InvalidInputError: the path does not exist or is not a model.
        keras_transfer.errors.ExportError: the runtime for the format is not installed.

    Examples:
    >>> model = keras_transfer.export.load_exported("/tmp/model.onnx")  # doctest: +SKIP
    >>> probabilities = model.predict(images)  # doctest: +SKIP
    """
    path = str(path)
    fmt = detect_format(path)
    if fmt == "keras":
        return _load_keras(path)[0]
    return {"saved_model": _load_saved_model, "tflite": _load_tflite, "onnx": _load_onnx}[fmt](path)
