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

Selective int8 (``keras_transfer.export.SelectiveQuantizer``): TFLite's quantization debugger ranks the int8
model's layers by ``rmse / scale`` on 64 calibration images, and the calibrated model is requantized with the
n worst layers kept in float ("worst"), or the n worst among the layers reading ≤ 10,000 weights ("small": a
float layer stores its weights in 4 bytes instead of 1, and MobileNetV2's worst layer is a 320×1280 1×1
convolution worth 0.1 of the float file), with per-channel and with per-tensor weight scales (the curve:
size ÷ float32, test accuracy, batch-1 latency; ``SELECTIVE_CONFIGS``). The configuration reported as "chosen" is picked on 500
validation images (never the test images): the smallest file whose validation accuracy is within 1 point of the
Keras model's, else the most accurate. MediaPipe: the model is also exported with an RGB input (the grey test
images repeated to 3 channels; MediaPipe's ImageClassifier takes RGB models only), float32 and the chosen
selective int8, with metadata embedded, and MediaPipe's ``ImageClassifier`` classifies the 2,000 test images
(top-1 agreement with Keras, goal ≥ 0.99 for float32; an int8 file can agree with Keras no better than LiteRT
running the same file, so its MediaPipe-vs-LiteRT agreement is reported too).
"""

import os
import statistics
import time
from pathlib import Path

import numpy as np

OUTPUT = Path(__file__).resolve().parents[1] / "saved_models" / "benchmarks" / "export"
VARIANTS = (("float32", None), ("float16", "float16"), ("dynamic", "dynamic"), ("int8", "int8"))
SMALL_LAYER_WEIGHTS = 10_000  # "small" layers read at most this many weights (float costs 3 bytes more each)
#: (per_channel, which layers, how many) kept in float: the worst by error, or the worst among small layers.
SELECTIVE_CONFIGS = ((True, "worst", 0), (True, "worst", 1), (True, "worst", 2), (True, "worst", 4),
                     (True, "small", 2), (True, "small", 4), (True, "small", 8),
                     (False, "worst", 0), (False, "small", 2), (False, "small", 4), (False, "small", 8))
KERAS_LATENCY_REPEATS = 30  # Keras calls take ~0.3-0.6 s each: the median of 30 (TFLite files: 100)
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
        "keras_predict_ms": _median_ms(lambda b: model.predict(b, verbose=0), one, KERAS_LATENCY_REPEATS, 3),
        "keras_eager_call_ms": _median_ms(lambda b: model(b, training=False), one, KERAS_LATENCY_REPEATS, 3),
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
    results["selective"] = _selective_curve(model, splits, representative, output, float_report)
    results["mediapipe"] = _mediapipe_rows(model, splits, representative, output, results["selective"]["chosen_row"])
    results["goals_met"] = {
        "int8_size_ratio<=0.30": results["int8_size_ratio"] <= 0.30,
        "int8_latency_ratio<=0.5": results["int8_latency_ratio_vs_keras_predict"] <= 0.5,
        "int8_accuracy_drop<=1pt": results["int8_accuracy_drop_points"] <= 1.0,
        "selective_size<=0.35": results["selective"]["chosen_row"]["size_ratio"] <= 0.35,
        "selective_drop<=1pt": results["selective"]["chosen_row"]["accuracy_drop_points"] <= 1.0,
        "mediapipe_float32_agreement>=0.99": results["mediapipe"]["float32"]["mediapipe_agreement"] >= 0.99,
    }
    return results


def _selective_curve(model, splits, representative, output, float_report) -> dict:
    """Selective int8 over SELECTIVE_CONFIGS; the chosen one picked on validation."""
    import keras

    from keras_transfer.export import SelectiveQuantizer, load_exported
    from keras_transfer.export.parity import keras_outputs

    (tx, ty), (vx, vy) = splits.test, (splits.validation[0][:500], splits.validation[1][:500])
    start = time.perf_counter()
    quantizer = SelectiveQuantizer(model, [keras.InputSpec(shape=(None,) + tx.shape[1:], dtype=str(tx.dtype))],
                                   representative)
    ranking = quantizer.layer_errors()
    debugger_seconds = time.perf_counter() - start
    keras_test, keras_validation = keras_outputs(model, tx), keras_outputs(model, vx)
    keras_validation_accuracy = float(np.mean(keras_validation.argmax(1) == vy))
    rows = []
    for per_channel, which, count in SELECTIVE_CONFIGS:
        names = quantizer.worst_layers(count, SMALL_LAYER_WEIGHTS if which == "small" else None)
        path = output / f"model_int8_{which}{count}_{'per_channel' if per_channel else 'per_tensor'}.tflite"
        quantizer.write(path, names, per_channel)
        exported = load_exported(path)
        test, validation = exported.predict(tx), exported.predict(vx)
        rows.append({
                "float_layers": count, "which": which if count else "none", "per_channel": per_channel,
                "float_layer_names": names,
                "size_bytes": path.stat().st_size, "size_ratio": path.stat().st_size / float_report.size_bytes,
                "test_accuracy": float(np.mean(test.argmax(1) == ty)),
                "validation_accuracy": float(np.mean(validation.argmax(1) == vy)),
                "argmax_agreement": float(np.mean(test.argmax(1) == keras_test.argmax(1))),
                "latency_ms": round(_median_ms(exported.predict, tx[:1]), 3),
            })
    for row in rows:
        row["accuracy_drop_points"] = 100 * (float_report.keras_accuracy - row["test_accuracy"])
    within = [r for r in rows if r["validation_accuracy"] >= keras_validation_accuracy - 0.01]
    chosen = min(within, key=lambda r: r["size_bytes"]) if within else max(rows, key=lambda r: r["validation_accuracy"])
    chosen["float_layer_names_for_export"] = chosen["float_layer_names"]
    return {
        "debugger_seconds": round(debugger_seconds, 1),
        "worst_layers": [{key: row[key] for key in ("tensor_name", "op_name", "rmse_per_scale", "weights")}
                         for row in ranking[:16]],
        "keras_validation_accuracy": keras_validation_accuracy,
        "rows": rows,
        "chosen": {"float_layers": chosen["float_layer_names"] or None, "per_channel": chosen["per_channel"]},
        "chosen_row": chosen,
        "chosen_by": "smallest file within 1 point of Keras on 500 validation images"
        if within else "no configuration within 1 point on validation: the most accurate one",
    }


def _mediapipe_rows(model, splits, representative, output, chosen_row) -> dict:
    """RGB exports with embedded metadata run by MediaPipe's ImageClassifier: float32 (through ``export``) and
    the chosen selective int8 configuration (layers re-ranked on the RGB-input model)."""
    import keras

    from keras_transfer.export import SelectiveQuantizer, embed_metadata, export, load_exported, read_metadata
    from keras_transfer.export.mediapipe_check import mediapipe_image_top1
    from keras_transfer.export.parity import keras_outputs

    def rgb(a):
        return np.repeat(a, 3, axis=-1) if a.shape[-1] == 1 else a

    (tx, ty) = splits.test
    x_rgb = rgb(tx)
    keras_top1 = keras_outputs(model, x_rgb).argmax(1)
    float_path = output / "model_rgb_float32.tflite"
    export(model, float_path, "tflite", parity_data=(x_rgb, ty), class_names=splits.class_names, verbose=False)
    selective_path = output / "model_rgb_selective_int8.tflite"
    quantizer = SelectiveQuantizer(model, [keras.InputSpec(shape=(None,) + x_rgb.shape[1:], dtype="uint8")],
                                   rgb(representative))
    names = quantizer.worst_layers(chosen_row["float_layers"],
                                   SMALL_LAYER_WEIGHTS if chosen_row["which"] == "small" else None)
    quantizer.write(selective_path, names, chosen_row["per_channel"])
    embed_metadata(selective_path, splits.class_names, name=model.name, description="selective int8 benchmark export")
    rows = {}
    for name, path in (("float32", float_path), ("selective_int8", selective_path)):
        litert_top1 = load_exported(path).predict(x_rgb).argmax(1)
        mediapipe_top1 = mediapipe_image_top1(path, x_rgb)
        metadata = read_metadata(path)
        rows[name] = {"mediapipe_agreement": float(np.mean(mediapipe_top1 == keras_top1)),
                      "mediapipe_vs_litert": float(np.mean(mediapipe_top1 == litert_top1)),
                      "argmax_agreement": float(np.mean(litert_top1 == keras_top1)),
                      "exported_accuracy": float(np.mean(litert_top1 == ty)),
                      "mediapipe_accuracy": float(np.mean(mediapipe_top1 == ty)),
                      "size_bytes": path.stat().st_size, "labels_embedded": metadata["labels"] == splits.class_names,
                      "normalization": metadata["inputs"][0]["normalization"]}
    return rows


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
        "selective_goal": "MobileNetV2: size <= 0.35 x float32 with <= 1 point test accuracy drop",
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
    lines += _selective_summary(results)
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


def _which(row) -> str:
    return {"worst": "worst", "small": f"worst with ≤ {SMALL_LAYER_WEIGHTS:,} weights", "none": "none"}[row["which"]]


def _selective_summary(results: dict) -> list:
    selective = results.get("selective")
    if not selective:
        return []
    chosen = selective["chosen_row"]
    lines = ["", f"Selective int8 (layers ranked by the quantization debugger in {selective['debugger_seconds']:.0f} s; "
             f"chosen: {chosen['float_layers']} layers in float ({_which(chosen)}), "
             f"{'per-channel' if chosen['per_channel'] else 'per-tensor'} scales — {selective['chosen_by']}):", "",
             "| layers in float (which) | weight scales | size ÷ float32 | test accuracy | drop (points) "
             "| argmax agreement | latency (ms) |", "|---|---|---|---|---|---|---|"]
    for row in selective["rows"]:
        mark = " **(chosen)**" if row is chosen or row == chosen else ""
        lines.append(
            f"| {row['float_layers']} ({_which(row)}){mark} | {'per-channel' if row['per_channel'] else 'per-tensor'} "
            f"| {row['size_ratio']:.3f} | {row['test_accuracy']:.4f} | {row['accuracy_drop_points']:+.2f} "
            f"| {row['argmax_agreement']:.4f} | {row['latency_ms']:.2f} |")
    worst = ", ".join(f"`{w['op_name']}` {w['rmse_per_scale']:.2f} ({w['weights']:,} weights)"
                      for w in selective["worst_layers"][:5])
    lines += ["", f"Worst layers (op, rmse / scale, weights read): {worst}."]
    mediapipe = results.get("mediapipe")
    if mediapipe:
        lines += ["", "MediaPipe `ImageClassifier` on the RGB exports with embedded metadata (the test images):", "",
                  "| RGB export | size (bytes) | labels embedded | MediaPipe top-1 = Keras (≥ 0.99) "
                  "| MediaPipe top-1 = LiteRT, same file | LiteRT top-1 = Keras | MediaPipe accuracy |",
                  "|---|---|---|---|---|---|---|"]
        for name, row in mediapipe.items():
            lines.append(f"| {name} | {row['size_bytes']:,} | {row['labels_embedded']} "
                         f"| {row['mediapipe_agreement']:.4f} | {row['mediapipe_vs_litert']:.4f} "
                         f"| {row['argmax_agreement']:.4f} | {row['mediapipe_accuracy']:.4f} |")
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
        f"{results['test_examples']} test images. Batch-1 latency: median of 100 calls (Keras: "
        f"{KERAS_LATENCY_REPEATS})"
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
    lines += ["", "| model | selective int8 (chosen on validation) | size ÷ float TFLite (≤ 0.35) | accuracy drop, "
              "points (≤ 1) | MediaPipe top-1 = Keras, float32 (≥ 0.99) / selective int8 |", "|---|---|---|---|---|"]
    for name, model in results["models"].items():
        met, row = model["goals_met"], model["selective"]["chosen_row"]
        mark = {True: "met", False: "missed"}
        agreement = " / ".join(f"{r['mediapipe_agreement']:.4f}" for r in model["mediapipe"].values())
        lines.append(
            f"| {titles.get(name, name)} | {row['float_layers']} layers in float ({_which(row)}), "
            f"{'per-channel' if row['per_channel'] else 'per-tensor'} | {row['size_ratio']:.3f} "
            f"({mark[met['selective_size<=0.35']]}) | {row['accuracy_drop_points']:+.2f} "
            f"({mark[met['selective_drop<=1pt']]}) | {agreement} ({mark[met['mediapipe_float32_agreement>=0.99']]}) |")
    for name, model in results["models"].items():
        lines += [""] + _model_summary(titles.get(name, name), model)
    return "\n".join(lines) + "\n"
