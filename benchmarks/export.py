"""Export benchmark: int8 TFLite against float TFLite and Keras on a real fine-tuned model.

ImageNet MobileNetV2 (offline torchvision weights) fine-tuned on Animal-MNIST at 64×64 with 100 labels per
class (``fine_tune``: 2 head epochs, 1 fine-tune epoch), then exported to TFLite float32 / float16 /
dynamic-range / int8 (uint8 I/O, calibrated on 200 training images). Reported, side by side in one run:

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


def run(n_per_class: int = 100, image_size: int = 64, seed: int = 0) -> dict:
    import keras

    import keras_transfer as kt
    from keras_transfer.data import load_dataset
    from keras_transfer.export import export, load_exported

    splits = load_dataset("animal_mnist", n_per_class=n_per_class, seed=seed)
    (x, y), validation, (tx, ty) = splits.train, splits.validation, splits.test
    keras.utils.set_random_seed(seed)
    backbone = kt.backbones.get("mobilenet_v2", weights="imagenet", input_shape=(image_size, image_size))
    model = kt.TransferModel(backbone, kt.ClassificationHead(splits.num_classes))
    start = time.perf_counter()
    history = kt.fine_tune(model, (x, y), validation=(validation[0][:500], validation[1][:500]), head_epochs=2,
                           fine_tune_epochs=1, verbose=0)
    train_seconds = time.perf_counter() - start

    OUTPUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    representative = x[rng.choice(len(x), 200, replace=False)]
    reports, exported = {}, {}
    for name, quantization in VARIANTS:
        path = OUTPUT / f"model_{name}.tflite"
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
        "dataset": "animal_mnist",
        "n_per_class": n_per_class,
        "image_size": image_size,
        "backbone": "mobilenet_v2",
        "weights_source": backbone.weights_source,
        "train_seconds": round(train_seconds, 1),
        "test_examples": int(len(tx)),
        "keras_accuracy": float_report.keras_accuracy,
        "variants": {name: report.to_dict() for name, report in reports.items()},
        "latency_batch1": {key: round(value, 3) for key, value in latency.items()},
        "int8_size_ratio": int8_report.size_bytes / float_report.size_bytes,
        "int8_latency_ratio_vs_keras_predict": latency["tflite_int8_ms"] / latency["keras_predict_ms"],
        "int8_accuracy_drop_points": 100 * (int8_report.keras_accuracy - int8_report.exported_accuracy),
        "tflite_threads": os.cpu_count(),
        "size_breakdown_bytes": {name: size_breakdown(OUTPUT / f"model_{name}.tflite") for name in ("float32", "int8")},
    }
    results["goals_met"] = {
        "int8_size_ratio<=0.30": results["int8_size_ratio"] <= 0.30,
        "int8_latency_ratio<=0.5": results["int8_latency_ratio_vs_keras_predict"] <= 0.5,
        "int8_accuracy_drop<=1pt": results["int8_accuracy_drop_points"] <= 1.0,
    }
    return results


def summary(results: dict) -> str:
    lines = [
        "# benchmark `export`",
        "",
        f"MobileNetV2 ({results['weights_source']}) fine-tuned on Animal-MNIST, {results['n_per_class']} labels per "
        f"class, {results['image_size']}×{results['image_size']}; Keras test accuracy "
        f"{results['keras_accuracy']:.4f} on {results['test_examples']} images. Batch-1 latency: median of 100 calls.",
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
        "",
        "| goal | value | met |",
        "|---|---|---|",
        f"| int8 size ÷ float TFLite ≤ 0.30 | {results['int8_size_ratio']:.3f} "
        f"| {results['goals_met']['int8_size_ratio<=0.30']} |",
        f"| int8 batch-1 latency ÷ Keras predict ≤ 0.5 | {results['int8_latency_ratio_vs_keras_predict']:.3f} "
        f"| {results['goals_met']['int8_latency_ratio<=0.5']} |",
        f"| int8 accuracy drop ≤ 1 point | {results['int8_accuracy_drop_points']:+.2f} "
        f"| {results['goals_met']['int8_accuracy_drop<=1pt']} |",
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
    return "\n".join(lines) + "\n"
