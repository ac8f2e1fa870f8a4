"""Selective int8: rank layers by quantization error with TFLite's quantization debugger, keep the worst in float.

Full int8 rounds every activation to 256 levels; in some networks (MobileNetV2: ReLU6 depthwise blocks with
wide activation ranges) a few layers carry most of the error. ``tf.lite.experimental.QuantizationDebugger``
calibrates once, runs the float and the int8 version of each layer side by side on the debug data and reports
per-layer statistics; this module ranks the layers by ``rmse / scale`` (the root-mean-square error of a layer's
int8 output in units of its quantization step, the measure TensorFlow's debugger guide uses) and requantizes the
calibrated model with the worst layers denylisted (``QuantizationDebugOptions(denylisted_nodes=...)``): they
run in float, everything else in int8. Per-channel weight scales (TFLite's default) can be switched to one scale
per tensor (``_experimental_disable_per_channel``), which drops the per-channel scale / zero-point tables (a few
per cent of the file) at some cost in accuracy.

The selective model takes the same raw input as the float model and gives float32 probabilities (the int8 ops
are inside); it is not integer-only, so it runs on CPUs and GPU delegates, not on integer-only accelerators.
"""

import io
import math
import os
import tempfile
import warnings
from typing import List, Optional, Sequence, Union

import numpy as np

from keras_transfer.errors import InvalidConfigError

__all__ = ["SelectiveQuantizer", "check_selective_options", "float_ops_in"]


def check_selective_options(quantization, float_layers, per_channel) -> None:
    """Refuse selective settings that do not fit the quantization mode, before any work.

    Args:
        quantization: the export's quantization mode.
        float_layers: None, an int (keep that many worst layers in float) or a list of tensor names.
        per_channel: bool.

    Raises:
        keras_transfer.errors.InvalidConfigError: float_layers / per_channel=False without ``"int8"``, or a
            negative count.

    Examples:
    >>> from keras_transfer.export.selective import check_selective_options
    >>> check_selective_options("int8", 4, False)
    """
    if (float_layers is not None or not per_channel) and quantization != "int8":
        raise InvalidConfigError(
            "float_layers and per_channel=False are int8 options. Received: "
            f"quantization={quantization!r}, float_layers={float_layers!r}, per_channel={per_channel!r}. Use "
            "quantization='int8'."
        )
    if isinstance(float_layers, bool) or (isinstance(float_layers, int) and float_layers < 0):
        raise InvalidConfigError(
            f"float_layers is a count of layers (≥ 0) or a list of tensor names. Received: float_layers="
            f"{float_layers!r}. Pass e.g. float_layers=4."
        )
    if float_layers is not None and not isinstance(float_layers, int) and (
            isinstance(float_layers, str) or not all(isinstance(n, str) for n in float_layers)):
        raise InvalidConfigError(
            f"float_layers must be an int or a list of tensor names (str). Received: {float_layers!r}. Take "
            "names from SelectiveQuantizer(...).layer_errors()."
        )


class SelectiveQuantizer:
    """Calibrate a Keras model once, rank its layers by int8 error, and write int8 files with chosen layers in float.

    Args:
        model: keras.Model. Built.
        input_signature: list of one ``keras.InputSpec`` (the raw input the file takes).
        representative_data: array of raw calibration inputs (training images, 100-500).
        debug_data: array of inputs the per-layer errors are measured on; default: the first 64
            representative inputs.

    Examples:
    >>> quantizer = SelectiveQuantizer(model, [keras.InputSpec((None, 64, 64, 3), "uint8")], x_train[:200])  # doctest: +SKIP
    >>> [row["tensor_name"] for row in quantizer.layer_errors()[:2]]  # doctest: +SKIP
    ['model/.../depthwise', ...]
    >>> info = quantizer.write("model_sel.tflite", float_layers=4, per_channel=True)  # doctest: +SKIP
    """

    def __init__(self, model, input_signature, representative_data, debug_data=None):
        import tensorflow as tf

        from keras_transfer.export.litert import _representative_batches
        from keras_transfer.export.saved_model import export_saved_model

        dtype = str(input_signature[0].dtype)
        representative = np.asarray(representative_data)
        debug = representative[:64] if debug_data is None else np.asarray(debug_data)
        with tempfile.TemporaryDirectory() as directory:
            saved = os.path.join(directory, "saved_model")
            export_saved_model(model, saved, input_signature)
            converter = tf.lite.TFLiteConverter.from_saved_model(saved)
            converter.experimental_enable_resource_variables = True
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.representative_dataset = _representative_batches(representative, dtype)
            options = tf.lite.experimental.QuantizationDebugOptions(model_debug_metrics=None)
            with warnings.catch_warnings():  # the debugger runs tf.lite.Interpreter, which warns it is deprecated
                warnings.simplefilter("ignore", UserWarning)
                self._debugger = tf.lite.experimental.QuantizationDebugger(
                    converter=converter, debug_dataset=_representative_batches(debug, dtype), debug_options=options)
        self._ranking = None

    def layer_errors(self) -> List[dict]:
        """Per-layer statistics of the int8 model, worst first.

        Returns:
            list of dict: ``tensor_name`` (what ``float_layers`` takes), ``op_name``, ``rmse_per_scale``
            (sort key), ``mean_squared_error``, ``max_abs_error``, ``scale``, ``num_elements`` (activation
            elements) and ``weights`` (constant elements the op reads: 3 bytes more each when kept in float).
        """
        if self._ranking is None:
            import csv

            weights = _weights_by_output(self._debugger.quant_model)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                self._debugger.run()
            dump = io.StringIO()
            self._debugger.layer_statistics_dump(dump)
            dump.seek(0)
            rows = []
            for row in csv.DictReader(dump):
                scale = float(row["scale"]) or 1.0
                mse = float(row["mean_squared_error"])
                rows.append({"tensor_name": row["tensor_name"], "op_name": row["op_name"],
                             "rmse_per_scale": math.sqrt(max(mse, 0.0)) / scale, "mean_squared_error": mse,
                             "max_abs_error": float(row["max_abs_error"]), "scale": scale,
                             "num_elements": int(float(row["num_elements"])),
                             "weights": weights.get(row["tensor_name"], 0)})
            self._ranking = sorted(rows, key=lambda r: -r["rmse_per_scale"])
        return self._ranking

    def worst_layers(self, count: int, max_weights: Optional[int] = None) -> List[str]:
        """The ``count`` layers of largest error, optionally only among those reading ≤ ``max_weights`` weights.

        Keeping a layer in float stores its weights in float32 (4 bytes instead of 1): a large 1x1 convolution
        can cost more than the whole size budget, a depthwise convolution or an add almost nothing.

        Args:
            count: int.
            max_weights: int or None. Skip layers with more constant elements than this.

        Returns:
            list of str: tensor names for ``float_layers``.
        """
        rows = [r for r in self.layer_errors() if max_weights is None or r["weights"] <= max_weights]
        return [row["tensor_name"] for row in rows[:count]]

    def float_layer_names(self, float_layers: Union[int, Sequence[str], None]) -> List[str]:
        """The tensor names kept in float: the ``float_layers`` worst (an int) or the names given.

        Args:
            float_layers: int, list of str or None (none).

        Returns:
            list of str.

        Raises:
            keras_transfer.errors.InvalidConfigError: a name that is not a quantized layer's output.
        """
        if not float_layers:
            return []
        ranking = self.layer_errors()
        if isinstance(float_layers, int):
            return [row["tensor_name"] for row in ranking[:float_layers]]
        known = {row["tensor_name"] for row in ranking}
        unknown = [name for name in float_layers if name not in known]
        if unknown:
            raise InvalidConfigError(
                f"Unknown layers for float_layers. Received: {unknown[:3]}. Use tensor names from layer_errors(), "
                f"e.g. {[row['tensor_name'] for row in ranking[:2]]}, or an int (the n worst layers)."
            )
        return list(float_layers)

    def convert(self, float_layers: Union[int, Sequence[str], None] = None, per_channel: bool = True) -> bytes:
        """The int8 model with the chosen layers in float.

        Args:
            float_layers: int (that many worst layers in float), list of tensor names, or None (none).
            per_channel: bool. Per-channel weight scales (True, TFLite's default) or one per tensor.

        Returns:
            bytes: the ``.tflite`` flatbuffer.
        """
        import tensorflow as tf

        names = self.float_layer_names(float_layers)
        self._debugger.converter._experimental_disable_per_channel = not per_channel  # read by the requantization
        if names != (self._debugger.options.denylisted_nodes or []):
            with warnings.catch_warnings():  # the options setter rebuilds the debug model's tf.lite.Interpreter
                warnings.simplefilter("ignore", UserWarning)
                self._debugger.options = tf.lite.experimental.QuantizationDebugOptions(
                    model_debug_metrics=None, denylisted_nodes=names or None)
        return self._debugger.get_nondebug_quantized_model()

    def write(self, path, float_layers: Union[int, Sequence[str], None] = None, per_channel: bool = True) -> dict:
        """Write :meth:`convert`'s model to ``path``.

        Args:
            path: str. A ``.tflite`` file.
            float_layers: see :meth:`convert`.
            per_channel: bool.

        Returns:
            dict: ``float_layers`` (the tensor names kept in float) and ``per_channel``.
        """
        from keras_transfer.atomic import write_file

        data = self.convert(float_layers, per_channel)
        write_file(os.fspath(path), data)
        return {"float_layers": self.float_layer_names(float_layers), "per_channel": bool(per_channel)}


def _weights_by_output(model_bytes: bytes) -> dict:
    """Output tensor name -> number of constant elements (weights, biases) its operator reads."""
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.Model.GetRootAsModel(model_bytes, 0)
    graph = model.Subgraphs(0)
    result = {}
    for o in range(graph.OperatorsLength()):
        op = graph.Operators(o)
        constants = 0
        for i in range(op.InputsLength()):
            index = op.Inputs(i)
            if index < 0:
                continue
            tensor = graph.Tensors(index)
            buffer = model.Buffers(tensor.Buffer())
            if buffer is not None and buffer.DataLength() > 0:
                constants += int(np.prod(tensor.ShapeAsNumpy())) if tensor.ShapeLength() else 1
        for i in range(op.OutputsLength()):
            result[graph.Tensors(op.Outputs(i)).Name().decode("utf-8")] = constants
    return result


def float_ops_in(path) -> Optional[List[str]]:
    """The output tensor names of a ``.tflite`` file's operators that run in float (float32 output).

    Args:
        path: str.

    Returns:
        list of str.
    """
    from tensorflow.lite.python import schema_py_generated as schema

    with open(os.fspath(path), "rb") as handle:
        model = schema.Model.GetRootAsModel(handle.read(), 0)
    graph = model.Subgraphs(0)
    names = []
    for o in range(graph.OperatorsLength()):
        op = graph.Operators(o)
        for i in range(op.OutputsLength()):
            tensor = graph.Tensors(op.Outputs(i))
            if tensor.Type() == schema.TensorType.FLOAT32:
                names.append(tensor.Name().decode("utf-8"))
    return names
