"""Write a Keras model as a LiteRT (TFLite) flatbuffer: float32, float16, dynamic-range or full int8."""

from typing import Optional

import numpy as np

from keras_transfer.errors import InvalidConfigError

__all__ = ["QUANTIZATIONS", "converter_options", "export_litert"]

QUANTIZATIONS = (None, "float16", "dynamic", "int8")


def _representative_batches(representative_data, dtype):
    """A generator function yielding one example at a time, as the TFLite calibrator wants."""
    labelled = isinstance(representative_data, tuple) and len(representative_data) == 2
    data = np.asarray(representative_data[0] if labelled else representative_data)

    def batches():
        for i in range(len(data)):
            yield [data[i: i + 1].astype(dtype)]

    return batches


def converter_options(quantization: Optional[str], representative_data=None, input_dtype: str = "uint8",
                      integer_io: bool = True) -> dict:
    """``tf.lite.TFLiteConverter`` settings for a quantization mode (passed through ``model.export``).

    - ``None``: float32 weights and activations.
    - ``"float16"``: weights stored as float16 (half the size; computed in float32 on CPU).
    - ``"dynamic"``: weights int8, activations quantized on the fly (no calibration data).
    - ``"int8"``: weights and activations int8, calibrated on ``representative_data``; integer-only ops.
      With ``integer_io`` the output is uint8 too (dequantize with the tensor's scale / zero point); a
      float input signature becomes a uint8 one.

    Args:
        quantization: one of ``QUANTIZATIONS``.
        representative_data: array of raw inputs (or ``(x, y)``); required for ``"int8"``.
        input_dtype: str. Dtype of the exported input (``"uint8"`` for raw images).
        integer_io: bool. Integer output (and input) for ``"int8"``.

    Returns:
        dict: converter attribute names to values.

    Raises:
        keras_transfer.errors.InvalidConfigError: unknown mode, or ``"int8"`` without data.

    Examples:
    >>> sorted(keras_transfer.export.litert.converter_options("dynamic"))
    ['optimizations']
    """
    import tensorflow as tf

    if quantization not in QUANTIZATIONS:
        raise InvalidConfigError(
            f"Unknown quantization. Received: quantization={quantization!r}. "
            "Use None (float32), 'float16', 'dynamic' or 'int8'."
        )
    if quantization is None:
        return {}
    options = {"optimizations": [tf.lite.Optimize.DEFAULT]}
    if quantization == "float16":
        options["target_spec"] = {"supported_types": [tf.float16]}
    elif quantization == "int8":
        if representative_data is None or len(representative_data) == 0:
            raise InvalidConfigError(
                "Full int8 quantization calibrates activation ranges on example inputs. "
                "Received: representative_data=None. Pass ~100-500 training images as "
                "representative_data=x_train[:200], or use quantization='dynamic' (no data needed)."
            )
        options["representative_dataset"] = _representative_batches(representative_data, input_dtype)
        options["target_spec"] = {"supported_ops": [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]}
        if integer_io:
            if input_dtype not in ("uint8", "int8"):
                options["inference_input_type"] = tf.uint8
            options["inference_output_type"] = tf.uint8
    return options


def export_litert(model, path, input_signature, quantization: Optional[str] = None, representative_data=None,
                  integer_io: bool = True) -> str:
    """Write ``model`` as a ``.tflite`` file through ``model.export(format="litert")``.

    Args:
        model: keras.Model. A built model.
        path: str. File to write, ending in ``.tflite``.
        input_signature: list of one ``keras.InputSpec``.
        quantization: ``None``, ``"float16"``, ``"dynamic"`` or ``"int8"`` (see ``converter_options``).
        representative_data: calibration inputs for ``"int8"``.
        integer_io: bool. uint8 output (and input) for ``"int8"``.

    Returns:
        str: ``path``.

    Raises:
        keras_transfer.errors.InvalidConfigError: see ``converter_options``.

    Examples:
    >>> spec = [keras.InputSpec(shape=(None, 28, 28, 1), dtype="uint8")]
    >>> keras_transfer.export.litert.export_litert(model, "/tmp/m.tflite", spec, "int8", x[:100])  # doctest: +SKIP
    '/tmp/m.tflite'
    """
    dtype = str(input_signature[0].dtype)
    options = converter_options(quantization, representative_data, dtype, integer_io)
    model.export(str(path), format="litert", input_signature=input_signature, verbose=False, **options)
    return str(path)
