"""Export benchmark: int8 TFLite against float TFLite and Keras on real fine-tuned models.

Two ImageNet backbones, measured side by side in one run with the same data, recipe, seed and calibration rule:
MobileNetV2 (offline torchvision weights) and EfficientNet-Lite0 (offline weights; the Lite variant is built for
integer quantization: ReLU6, no squeeze-excite, unscaled stem and head). Each is fine-tuned on Animal-MNIST at
64×64 (both accept any size ≥ 32; 64 is a multiple of their stride 32) with 100 labels per class (``fine_tune``:
2 head epochs, 1 fine-tune epoch), then exported to TFLite float32 / float16 / dynamic-range / int8 (uint8 I/O,
calibrated on 200 training images, never test images). Reported per model:

- size of each file and the int8 ÷ float32 ratio (goal ≤ 0.30);
- batch-1 latency (median of 100 calls after warm-up) of the int8 file in ai-edge-litert's Interpreter ÷
  Keras ``model.predict`` on one image (goal ≤ 0.5), with eager ``model(x)`` and float TFLite for context;
- accuracy of each file on the 2,000 held-out test images against the Keras model's (goal: int8 drop ≤ 1 point),
  with max |diff| and argmax agreement from the export's own parity check.
"""

import os
import statistics
import time
from pathlib import Path

import numpy as np

OUTPUT = Path(__file__).resolve().parents[1] / "saved_models" / "benchmarks" / "export"
VARIANTS = (("float32", None), ("float16", "float16"), ("dynamic", "dynamic"), ("int8", "int8"))
BACKBONES = (("mobilenet_v2", "MobileNetV2"), ("efficientnet_lite0", "EfficientNet-Lite0"))


def size_breakdown(path) -> dict:
    """Bytes of a ``.tflite`` file by kind: constant tensors per dtype, quantization scales and zero points
    (TFLite stores one float32 scale and one int64 zero point per channel of every per-channel tensor),
    tensor names, and the rest (graph, signatures, metadata)."""
    from tensorflow.lite.python import schema_py_generated as schema

    types = {value: name.lower() for name, value in vars(schema.TensorType).items() if not name.startswith("_")}
    data = Path(path).read_bytes()
    model = schema.Model.GetRootAsModel(data, 0)
    parts = {}
    for s in range(model.SubgraphsLength()):
        graph = model.Subgraphs(s)
        for t in range(graph.TensorsLength()):
            tensor = graph.Tensors(t)
            buffer = model.Buffers(tensor.Buffer())
            key = f"constants_{types[tensor.Type()]}"
            parts[key] = parts.get(key, 0) + (buffer.DataLength() if buffer is not None else 0)
            parts["tensor_names"] = parts.get("tensor_names", 0) + len(tensor.Name() or b"")
            quantization = tensor.Quantization()
            if quantization is not None:
                parts["quant_scales"] = parts.get("quant_scales", 0) + 4 * quantization.ScaleLength()
                parts["quant_zero_points"] = parts.get("quant_zero_points", 0) + 8 * quantization.ZeroPointLength()
    parts = {key: value for key, value in parts.items() if value}
    parts["other"] = len(data) - sum(parts.values())
    return parts


def _median_ms(fn, x, repeats=100, warmup=10):
    for _ in range(warmup):
        fn(x)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def _run_backbone(backbone_name: str, splits, image_size: int, seed: int) -> dict:
    import keras

    import keras_transfer as kt
    from keras_transfer.export import export, load_exported

    (x, y), validation, (tx, ty) = splits.train, splits.validation, splits.test
    keras.utils.clear_session()
    keras.utils.set_random_seed(seed)
    backbone = kt.backbones.get(backbone_name, weights="imagenet", input_shape=(image_size, image_size))
    model = kt.TransferModel(backbone, kt.ClassificationHead(splits.num_classes))
    start = time.perf_counter()
    history = kt.fine_tune(model, (x, y), validation=(validation[0][:500], validation[1][:500]), head_epochs=2,
                           fine_tune_epochs=1, verbose=0)
    train_seconds = time.perf_counter() - start

    output = OUTPUT / backbone_name
    output.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    representative = x[rng.choice(len(x), 200, replace=False)]  # training images only
    reports, exported = {}, {}
    for name, quantization in VARIANTS:
        path = output / f"model_{name}.tflite"
        reports[name] = export(model, path, "tflite", quantization, representative_data=representative,
                               parity_data=(tx, ty), class_names=splits.class_names, history=history, verbose=False)
        exported[name] = load_exported(path)

    one = tx[:1]
    latency = {
        "keras_predict_ms": _median_ms(lambda b: model.predict(b, verbose=0), one),
        "keras_eager_call_ms": _median_ms(lambda b: model(b, training=False), one),
    }
    for name, _ in VARIANTS:
        latency[f"tflite_{name}_ms"] = _median_ms(exported[name].predict, one)

    float_report, int8_report = reports["float32"], reports["int8"]
    results = {
        "backbone": backbone_name,
        "weights_source": backbone.weights_source,
        "train_seconds": round(train_seconds, 1),
        "keras_accuracy": float_report.keras_accuracy,
        "int8_accuracy": int8_report.exported_accuracy,
        "variants": {name: report.to_dict() for name, report in reports.items()},
        "latency_batch1": {key: round(value, 3) for key, value in latency.items()},
        "int8_size_ratio": int8_report.size_bytes / float_report.size_bytes,
        "int8_latency_ratio_vs_keras_predict": latency["tflite_int8_ms"] / latency["keras_predict_ms"],
        "int8_accuracy_drop_points": 100 * (int8_report.keras_accuracy - int8_report.exported_accuracy),
        "size_breakdown_bytes": {name: size_breakdown(output / f"model_{name}.tflite") for name in ("float32", "int8")},
    }
    results["goals_met"] = {
        "int8_size_ratio<=0.30": results["int8_size_ratio"] <= 0.30,
        "int8_latency_ratio<=0.5": results["int8_latency_ratio_vs_keras_predict"] <= 0.5,
        "int8_accuracy_drop<=1pt": results["int8_accuracy_drop_points"] <= 1.0,
    }
    return results


def run(n_per_class: int = 100, image_size: int = 64, seed: int = 0) -> dict:
    from keras_transfer.data import load_dataset

    splits = load_dataset("animal_mnist", n_per_class=n_per_class, seed=seed)
    models = {name: _run_backbone(name, splits, image_size, seed) for name, _ in BACKBONES}
    return {
        "dataset": "animal_mnist",
        "n_per_class": n_per_class,
        "image_size": image_size,
        "seed": seed,
        "calibration": f"200 training images (numpy seed {seed}), never test images",
        "test_examples": int(len(splits.test[0])),
        "tflite_threads": os.cpu_count(),
        "models": models,
        "goals_met": {name: result["goals_met"] for name, result in models.items()},
    }


def _model_summary(title: str, results: dict) -> list:
    lines = [
        f"## {title}",
        "",
        f"{results['weights_source']}; trained in {results['train_seconds']:.0f} s; Keras test accuracy "
        f"{results['keras_accuracy']:.4f}.",
        "",
        "| TFLite | size (bytes) | ÷ float32 | accuracy | max abs diff | argmax agreement | latency (ms) |",
        "|---|---|---|---|---|---|---|",
    ]
    float_size = results["variants"]["float32"]["size_bytes"]
    for name, report in results["variants"].items():
        lines.append(
            f"| {name} | {report['size_bytes']:,} | {report['size_bytes'] / float_size:.3f} "
            f"| {report['exported_accuracy']:.4f} | {report['max_abs_diff']:.3g} | {report['argmax_agreement']:.4f} "
            f"| {results['latency_batch1'][f'tflite_{name}_ms']:.2f} |"
        )
    latency = results["latency_batch1"]
    lines += [
        f"| Keras `predict` | | | {results['keras_accuracy']:.4f} | | | {latency['keras_predict_ms']:.2f} |",
        f"| Keras eager `model(x)` | | | | | | {latency['keras_eager_call_ms']:.2f} |",
    ]
    breakdown = results.get("size_breakdown_bytes")
    if breakdown:
        float_bytes = results["variants"]["float32"]["size_bytes"]
        lines += ["", "Where the bytes are (÷ the float32 file's size):", "",
                  "| part | float32 | int8 |", "|---|---|---|"]
        for part in sorted(set(breakdown["float32"]) | set(breakdown["int8"])):
            cells = [f"{breakdown[name][part]:,} ({breakdown[name][part] / float_bytes:.3f})"
                     if part in breakdown[name] else "" for name in ("float32", "int8")]
            lines.append(f"| {part} | {cells[0]} | {cells[1]} |")
    return lines


def summary(results: dict) -> str:
    titles = dict(BACKBONES)
    seconds = results.get("benchmark_seconds")
    lines = [
        "# benchmark `export`",
        "",
        f"{' and '.join(titles[name] for name in results['models'])} fine-tuned on Animal-MNIST with the same "
        f"recipe and seed, {results['n_per_class']} labels per class, {results['image_size']}×"
        f"{results['image_size']}; int8 calibrated on {results['calibration']}; accuracy on "
        f"{results['test_examples']} test images. Batch-1 latency: median of 100 calls"
        + (f". Whole run: {seconds:.0f} s." if seconds is not None else "."),
        "",
        "| model | int8 size ÷ float TFLite (≤ 0.30) | int8 latency ÷ Keras predict (≤ 0.5) "
        "| Keras accuracy | int8 accuracy | int8 drop, points (≤ 1) |",
        "|---|---|---|---|---|---|",
    ]
    for name, model in results["models"].items():
        met = model["goals_met"]
        mark = {True: "met", False: "missed"}
        lines.append(
            f"| {titles.get(name, name)} | {model['int8_size_ratio']:.3f} ({mark[met['int8_size_ratio<=0.30']]}) "
            f"| {model['int8_latency_ratio_vs_keras_predict']:.3f} ({mark[met['int8_latency_ratio<=0.5']]}) "
            f"| {model['keras_accuracy']:.4f} | {model['int8_accuracy']:.4f} "
            f"| {model['int8_accuracy_drop_points']:+.2f} ({mark[met['int8_accuracy_drop<=1pt']]}) |"
        )
    for name, model in results["models"].items():
        lines += [""] + _model_summary(titles.get(name, name), model)
    return "\n".join(lines) + "\n"
