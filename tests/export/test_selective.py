"""Selective int8: the quantization debugger ranks layers; the named / worst layers stay in float."""

import keras
import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer.errors import InvalidConfigError
from keras_transfer.export.selective import SelectiveQuantizer, float_ops_in


@pytest.fixture(scope="module")
def quantized(tmp_path_factory):
    from keras_transfer.testing import register_tiny_backbone

    keras.utils.set_random_seed(5)
    backbone = kt.backbones.get(register_tiny_backbone(), weights=None, input_shape=(32, 32), train_bn=False)
    model = kt.TransferModel(backbone, kt.ClassificationHead(3, dropout=0.0))
    x = np.random.default_rng(0).integers(0, 256, (24, 28, 28, 1), dtype="uint8")
    model(x[:1])
    quantizer = SelectiveQuantizer(model, [keras.InputSpec(shape=(None, 28, 28, 1), dtype="uint8")], x)
    return model, x, quantizer, tmp_path_factory.mktemp("selective")


def test_layers_ranked_worst_first(quantized):
    _, _, quantizer, _ = quantized
    ranking = quantizer.layer_errors()
    errors = [row["rmse_per_scale"] for row in ranking]
    assert len(ranking) >= 5 and errors == sorted(errors, reverse=True)
    assert {"CONV_2D", "FULLY_CONNECTED"} <= {row["op_name"] for row in ranking}


def test_named_layers_stay_in_float_and_the_rest_in_int8(quantized):
    model, x, quantizer, directory = quantized
    plain = quantizer.write(directory / "plain.tflite", 0)
    assert plain == {"float_layers": [], "per_channel": True}
    conv = [row["tensor_name"] for row in quantizer.layer_errors() if row["op_name"] == "CONV_2D"][:2]
    info = quantizer.write(directory / "named.tflite", conv)
    assert info["float_layers"] == conv
    in_float, plain_float = float_ops_in(directory / "named.tflite"), float_ops_in(directory / "plain.tflite")
    assert set(conv) <= set(in_float) and not set(conv) & set(plain_float)
    worst = quantizer.write(directory / "worst.tflite", 3)["float_layers"]
    assert worst == [row["tensor_name"] for row in quantizer.layer_errors()[:3]]
    reference = model.predict(x, verbose=0)
    for name in ("plain", "named", "worst"):
        outputs = kt.export.load_exported(directory / f"{name}.tflite").predict(x)
        assert outputs.shape == reference.shape and np.abs(outputs - reference).max() < 0.1


def test_per_tensor_scales_drop_the_per_channel_tables(quantized):
    _, _, quantizer, directory = quantized
    from tensorflow.lite.python import schema_py_generated as schema

    def max_scales(path):
        model = schema.Model.GetRootAsModel(path.read_bytes(), 0)
        graph = model.Subgraphs(0)
        return max(graph.Tensors(t).Quantization().ScaleLength() for t in range(graph.TensorsLength())
                   if graph.Tensors(t).Quantization() is not None)

    quantizer.write(directory / "per_channel.tflite", 0, per_channel=True)
    quantizer.write(directory / "per_tensor.tflite", 0, per_channel=False)
    assert max_scales(directory / "per_channel.tflite") >= 8 and max_scales(directory / "per_tensor.tflite") == 1
    assert (directory / "per_tensor.tflite").stat().st_size < (directory / "per_channel.tflite").stat().st_size


def test_export_takes_float_layers_and_reports_them(quantized, tmp_path):
    model, x, _, _ = quantized
    report = kt.export(model, tmp_path / "s.tflite", "tflite", "int8", representative_data=x, parity_data=x,
                       float_layers=2, per_channel=False, verbose=False)
    assert len(report.float_layers) == 2 and not report.per_channel and report.output_dtype == "float32"
    assert set(report.float_layers) <= set(float_ops_in(tmp_path / "s.tflite"))
    assert "2 layers in float, per-tensor scales" in report.table() and report.embedded_metadata


@pytest.mark.parametrize("kwargs, match", [
    ({"quantization": "dynamic", "float_layers": 2}, "int8 options"),
    ({"quantization": None, "per_channel": False}, "int8 options"),
    ({"quantization": "int8", "float_layers": -1}, "count of layers"),
    ({"quantization": "int8", "float_layers": "conv"}, "list of tensor names"),
])
def test_bad_options_refused_before_work(quantized, tmp_path, kwargs, match):
    model, x, _, _ = quantized
    with pytest.raises(InvalidConfigError, match=match):
        kt.export(model, tmp_path / "bad.tflite", "tflite", representative_data=x, parity_data=x, verbose=False,
                  **kwargs)
    assert not (tmp_path / "bad.tflite").exists()


def test_unknown_layer_name_refused(quantized):
    _, _, quantizer, _ = quantized
    with pytest.raises(InvalidConfigError, match="Unknown layers for float_layers"):
        quantizer.convert(["no/such/tensor"])
