"""keras_transfer.export.export: every format and quantization round-trips with parity, metadata, errors."""

import json
import os

import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer.errors import ExportError, InvalidConfigError, InvalidInputError
from keras_transfer.export import export, load_exported

CASES = [
    # format, quantization, file name, max |diff| allowed, min argmax agreement
    ("saved_model", None, "saved", 1e-5, 1.0),
    ("tflite", None, "model.tflite", 1e-5, 1.0),
    ("tflite", "float16", "model_fp16.tflite", 1e-2, 1.0),
    ("tflite", "dynamic", "model_dynamic.tflite", 0.1, 0.9),
    ("tflite", "int8", "model_int8.tflite", 0.15, 0.8),
    ("onnx", None, "model.onnx", 1e-5, 1.0),
]


@pytest.fixture(scope="module")
def exports(trained, tmp_path_factory):
    """Every format / quantization exported once into one directory (the model card gathers them)."""
    model, history, (x, _), (tx, ty) = trained
    directory = tmp_path_factory.mktemp("exports")
    reports = {}
    for fmt, quantization, name, _, _ in CASES:
        reports[name] = export(
            model, directory / name, format=fmt, quantization=quantization, representative_data=x,
            parity_data=(tx, ty), class_names=["dark", "mid", "bright"], history=history, verbose=False,
        )
    return directory, reports


@pytest.mark.parametrize("fmt, quantization, name, max_diff, min_agreement", CASES)
def test_parity_of_every_format(trained, exports, fmt, quantization, name, max_diff, min_agreement):
    model, _, _, (tx, ty) = trained
    directory, reports = exports
    report = reports[name]
    assert report.format == fmt and report.quantization == quantization
    assert report.n_examples == len(tx) and report.parity_data == "parity_data with labels"
    assert report.max_abs_diff <= max_diff
    assert report.argmax_agreement >= min_agreement
    assert report.size_bytes > 0 and report.input_dtype == "uint8" and report.input_shape == (None, 28, 28, 1)
    # The report's numbers are the file's: reload it independently and compare with the Keras model.
    exported = load_exported(directory / name)
    outputs = exported.predict(tx)
    reference = model(tx).numpy()
    assert np.abs(outputs - reference).max() == pytest.approx(report.max_abs_diff, abs=1e-6)
    assert report.exported_accuracy == pytest.approx(float(np.mean(outputs.argmax(1) == ty)))
    assert report.keras_accuracy == pytest.approx(float(np.mean(reference.argmax(1) == ty)))


def test_quantized_files_are_smaller(exports):
    _, reports = exports
    float_size = reports["model.tflite"].size_bytes
    assert reports["model_fp16.tflite"].size_bytes < 0.8 * float_size
    assert reports["model_dynamic.tflite"].size_bytes < 0.6 * float_size
    assert reports["model_int8.tflite"].size_bytes < 0.6 * float_size


def test_int8_has_uint8_input_and_output_and_integer_kernels(exports):
    from ai_edge_litert.interpreter import Interpreter

    directory, reports = exports
    assert reports["model_int8.tflite"].output_dtype == "uint8"
    interpreter = Interpreter(model_path=str(directory / "model_int8.tflite"))
    (inp,), (out,) = interpreter.get_input_details(), interpreter.get_output_details()
    assert inp["dtype"] == np.uint8 and inp["quantization"] == (0.0, 0)  # raw pixels, no rescaling needed
    assert out["dtype"] == np.uint8 and out["quantization"][0] > 0  # quantized probabilities
    kernels = [t for t in interpreter.get_tensor_details() if "conv" in t["name"].lower() and len(t["shape"]) == 4]
    dtypes = {np.dtype(t["dtype"]).name for t in interpreter.get_tensor_details()}
    assert "int8" in dtypes and any(np.dtype(t["dtype"]) == np.int8 for t in kernels)


def test_augmentation_is_absent_from_the_exported_graph(trained, exports):
    import tensorflow as tf

    model, _, _, (tx, _) = trained
    directory, _ = exports
    assert model.augmentation is not None
    loaded = tf.saved_model.load(str(directory / "saved"))
    graph = loaded.signatures["serving_default"].graph.as_graph_def()
    ops = {node.op for node in graph.node} | {node.op for f in graph.library.function for node in f.node_def}
    assert "Conv2D" in ops and "ResizeBilinear" in ops  # preprocessing and network are in the graph
    assert not [op for op in ops if "Random" in op or "Stateless" in op]
    exported = load_exported(directory / "saved")
    np.testing.assert_array_equal(exported.predict(tx), exported.predict(tx))  # deterministic


def test_metadata_beside_the_model(exports):
    directory, reports = exports
    assert (directory / "labels.txt").read_text() == "dark\nmid\nbright\n"
    assert (directory / "saved" / "labels.txt").exists() and (directory / "saved" / "model_card.json").exists()
    card = json.loads((directory / "model_card.json").read_text())
    assert card["backbone"]["name"] == "tiny_cnn" and card["backbone"]["weights_source"] == "random initialisation"
    assert card["input"] == {"shape": [None, 28, 28, 1], "dtype": "uint8",
                             "description": "raw images, values 0-255, (batch, height, width, channels)"}
    assert card["preprocessing"]["inside_model"] and "bilinear resize to 32x32" in card["preprocessing"]["steps"]
    augmentation = dict(card["augmentation"])
    # the config (what test-time augmentation rebuilds) is recorded too
    assert augmentation.pop("config")["class_name"] == "Sequential"
    assert augmentation == {"layers": ["RandomFlip", "RandomRotation"], "in_exported_graph": False}
    assert card["class_names"] == ["dark", "mid", "bright"]
    assert card["training_recipe"]["epochs"] == 5 and card["training_recipe"]["optimizer"]["class"] == "Adam"
    assert len(card["history"]["history"]["loss"]) == 5 and "loss" in card["metrics"]["best"]
    # every file exported into the directory keeps its own report
    assert set(card["exports"]) == {name for _, _, name, _, _ in CASES} - {"saved"}
    assert card["exports"]["model_int8.tflite"]["size_bytes"] == reports["model_int8.tflite"].size_bytes
    assert reports["model.onnx"].metadata_files == (str(directory / "labels.txt"), str(directory / "model_card.json"))


def test_report_prints_as_a_table(trained, tmp_path, capsys):
    model, _, _, _ = trained
    report = export(model, tmp_path / "m.onnx", "onnx", input_shape=(20, 20, 3), verbose=True)
    printed = capsys.readouterr().out
    assert printed.strip() == report.table() and "| argmax agreement | 1 |" in printed
    assert report.input_shape == (None, 20, 20, 3) and report.n_examples == 16
    assert report.parity_data.startswith("random inputs") and report.keras_accuracy is None


@pytest.mark.parametrize("kwargs, match", [
    (dict(format="tflite_int8"), "Unknown export format"),
    (dict(format="litert", quantization="int4"), "Unknown quantization"),  # Keras' name for tflite: accepted
    (dict(format="tflite", quantization="int4"), "Unknown quantization"),
    (dict(format="tflite", quantization="int8"), "representative_data=None"),
    (dict(format="saved_model", quantization="float16"), "TFLite conversion option"),
])
def test_bad_options_raise_before_any_work(trained, tmp_path, kwargs, match):
    model = trained[0]
    path = tmp_path / ("m.tflite" if kwargs["format"] != "saved_model" else "m")
    with pytest.raises(InvalidConfigError, match=match):
        export(model, path, verbose=False, **kwargs)
    assert os.listdir(tmp_path) == []


def test_path_suffix_must_fit_the_format(trained, tmp_path):
    with pytest.raises(InvalidConfigError, match=r"ending in \.tflite"):
        export(trained[0], tmp_path / "model.bin", format="tflite", verbose=False)
    with pytest.raises(InvalidConfigError, match="SavedModel is a directory"):
        export(trained[0], tmp_path / "model.onnx", format="saved_model", verbose=False)


def test_unwritable_directory_leaves_nothing(trained, tmp_path):
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("a file where a directory should be")
    with pytest.raises(ExportError, match="not a writable directory") as info:
        export(trained[0], blocker / "model.tflite", format="tflite", verbose=False)
    assert isinstance(info.value, OSError) and "Received: path=" in str(info.value)
    assert sorted(os.listdir(tmp_path)) == ["not_a_dir"]


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes to read-only directories")
def test_read_only_directory_leaves_nothing(trained, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        with pytest.raises(ExportError, match="not a writable directory"):
            export(trained[0], locked / "model.tflite", format="tflite", verbose=False)
        assert os.listdir(locked) == []
    finally:
        locked.chmod(0o755)


def test_failed_conversion_leaves_no_partial_file(tmp_path):
    import keras

    import tensorflow as tf

    class Broken(keras.layers.Layer):  # works eagerly, fails when the exporter traces it
        def call(self, x):
            if not tf.executing_eagerly():
                raise RuntimeError("cannot be traced")
            return keras.ops.cast(x, "float32")

        def compute_output_shape(self, input_shape):
            return input_shape

    inputs = keras.Input((4, 4, 1), dtype="uint8")
    model = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(Broken()(inputs))))
    with pytest.raises(Exception, match="cannot be traced"):
        export(model, tmp_path / "model.tflite", format="tflite", verbose=False)
    assert os.listdir(tmp_path) == []


def test_data_of_the_wrong_shape_and_class_names_are_checked(trained, tmp_path):
    model, _, _, (tx, ty) = trained
    with pytest.raises(InvalidInputError, match="does not match the exported input shape"):
        export(model, tmp_path / "m.tflite", "tflite", parity_data=(tx, ty), input_shape=(32, 32, 1), verbose=False)
    with pytest.raises(InvalidConfigError, match="3 classes but 2 class names"):
        export(model, tmp_path / "m.tflite", "tflite", class_names=["a", "b"], verbose=False)
    with pytest.raises(InvalidInputError, match="1 or 3 channels"):
        export(model, tmp_path / "m.tflite", "tflite", input_shape=(28, 28), verbose=False)
    assert os.listdir(tmp_path) == []


def test_top_level_alias():
    assert kt.export_model is export and kt.export.export is export


def test_one_call_form_with_keras_format_names(trained, tmp_path):
    """``kt.export(model, path, format=...)`` calls the function; Keras' names map to ours in the report."""
    model, _, _, (tx, _) = trained
    lite = kt.export(model, tmp_path / "m.tflite", format="litert", parity_data=tx[:4], verbose=False)
    saved = kt.export(model, tmp_path / "saved", "tf_saved_model", parity_data=tx[:4], metadata=False, verbose=False)
    assert (lite.format, saved.format) == ("tflite", "saved_model")
    assert lite.argmax_agreement == 1.0 and load_exported(tmp_path / "saved").predict(tx[:2]).shape[0] == 2
    assert kt.export.canonical_format("onnx") == "onnx" and kt.export.KERAS_FORMATS["litert"] == "tflite"


def test_an_existing_export_is_replaced_whole(tmp_path):
    from keras_transfer.export.exporter import _move_into_place

    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "stale.pb").write_text("old")
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "saved_model.pb").write_text("new")
    _move_into_place(str(tmp_path / "new"), str(tmp_path / "old"))
    assert sorted(os.listdir(tmp_path)) == ["old"] and os.listdir(tmp_path / "old") == ["saved_model.pb"]


def test_an_unbuilt_model_is_built_and_exported(tmp_path):
    from keras_transfer.testing import register_tiny_backbone

    backbone = kt.backbones.get(register_tiny_backbone(), weights=None, input_shape=(32, 32))
    model = kt.TransferModel(backbone, kt.ClassificationHead(3))
    assert not model.built
    x = np.random.default_rng(0).integers(0, 256, (4, 28, 28, 1)).astype("uint8")
    report = export(model, tmp_path / "fresh.tflite", format="tflite", parity_data=x, verbose=False)
    assert report.max_abs_diff < 1e-5 and report.argmax_agreement == 1.0
