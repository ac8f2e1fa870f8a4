"""GPU benchmark: training-step and batch-1 speed of the transfer recipe under float32 and mixed precision.

Run on a machine with a GPU::

    KERAS_BACKEND=jax python benchmarks/gpu_precision.py          # or tensorflow / torch
    python benchmarks/gpu_precision.py --quick                    # CPU smoke run, tiny sizes

This file is standalone (``python -m benchmarks all`` skips it: it needs an accelerator) and uses only Keras, so it
runs on whichever Keras backend the GPU machine has. For each precision policy (``float32``, ``mixed_bfloat16``,
``mixed_float16``) and each stage of the recipe (stage 1: frozen backbone; stage 2: backbone trainable with
BatchNorm frozen, as ``keras_transfer.fine_tune`` does) it times ``train_on_batch`` steps after a warm-up and
reports the median images/second of several rounds, the ratio to float32, and whether the loss stayed finite
and fell (same seed, data and initial weights for every policy). It also times batch-1 inference. Results go to ``benchmarks/results/`` (or
``--out``) as ``gpu_precision.json`` / ``.md``.
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

POLICIES = ("float32", "mixed_bfloat16", "mixed_float16")


def _parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes for a CPU smoke run")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "results"))
    parser.add_argument("--only", choices=["mobilenet_v2", "resnet50"], help="run one backbone family only")
    parser.add_argument("--budget-s", type=float, default=330.0, help="stop starting new configs after this")
    return parser.parse_args(argv)


def _build(keras, family, size, num_classes, trainable):
    """Backbone (keras.applications, random init: speed does not depend on the weights) + dense head."""
    make = {"mobilenet_v2": keras.applications.MobileNetV2, "resnet50": keras.applications.ResNet50}[family]
    backbone = make(include_top=False, weights=None, input_shape=(size, size, 3), pooling="avg")
    backbone.trainable = trainable
    for layer in backbone.layers:  # BatchNorm stays frozen in stage 2, as in keras_transfer.fine_tune
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False
    inputs = keras.Input((size, size, 3))
    features = backbone(inputs, training=False)
    # The head's output stays float32 under mixed precision (softmax in float16 loses precision).
    outputs = keras.layers.Dense(num_classes, dtype="float32")(features)
    return keras.Model(inputs, outputs)


def _calibrate_batchnorm(keras, model, x):
    """Set every BatchNorm's moving statistics to the statistics of ``x``.

    With random weights and the default moving statistics (0 and 1) the activations shrink block by block until
    the logits are ~1e-12, which float16 flushes to zero. Real pretrained statistics keep them O(1); one
    training-mode pass with momentum 0 gives the random network the same property.
    """
    layers = [layer for layer in model.layers[1].layers if isinstance(layer, keras.layers.BatchNormalization)]
    saved = [(layer.trainable, layer.momentum) for layer in layers]
    for layer in layers:
        layer.trainable, layer.momentum = True, 0.0
    model.layers[1](x, training=True)
    for layer, (trainable, momentum) in zip(layers, saved):
        layer.trainable, layer.momentum = trainable, momentum


def _sync(value):
    """Block until the device finished: converting a result to numpy waits for it on every backend."""
    import numpy as np

    return np.asarray(value)


def _time_training(keras, np, family, policy, trainable, size, batch, steps, rounds):
    keras.mixed_precision.set_global_policy(policy)
    keras.utils.set_random_seed(0)
    model = _build(keras, family, size, 10, trainable)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-4 if trainable else 1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    rng = np.random.default_rng(0)
    # A learnable task: the label is which quadrant is brightest, so the loss can fall within a few steps.
    x = rng.uniform(-1, 1, (batch, size, size, 3)).astype("float32")
    half = size // 2
    y = rng.integers(0, 4, batch)
    for i, q in enumerate(y):
        r, c = divmod(int(q), 2)
        x[i, r * half:(r + 1) * half, c * half:(c + 1) * half] += 1.0
    _calibrate_batchnorm(keras, model, x[:32])
    compile_start = time.perf_counter()
    first_loss = float(_sync(model.train_on_batch(x, y)))
    compile_s = time.perf_counter() - compile_start
    for _ in range(2):
        _sync(model.train_on_batch(x, y))
    per_round = []
    loss = first_loss
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(steps):
            loss = model.train_on_batch(x, y)
        loss = float(_sync(loss))
        per_round.append((time.perf_counter() - start) / steps)
    step_s = statistics.median(per_round)
    keras.mixed_precision.set_global_policy("float32")
    return {
        "step_ms": round(step_s * 1e3, 3),
        "step_ms_rounds": [round(s * 1e3, 3) for s in per_round],
        "images_per_s": round(batch / step_s, 1),
        "first_call_s": round(compile_s, 2),
        "loss_first": round(first_loss, 4),
        "loss_last": round(loss, 4),
        "loss_finite_and_fell": bool(np.isfinite(loss) and loss < first_loss),
    }


def _forward_parity_and_latency(keras, np, family, size, policies, reps):
    """Batch-1 latency under each policy, same weights (logit agreement is not reported: on a random-weight
    network it measures the network's chaos, not the policy's precision; training-loss health is checked above)."""
    keras.mixed_precision.set_global_policy("float32")
    keras.utils.set_random_seed(1)
    reference_model = _build(keras, family, size, 10, False)
    x = np.random.default_rng(1).uniform(-1, 1, (16, size, size, 3)).astype("float32")
    _calibrate_batchnorm(keras, reference_model, x)
    weights = reference_model.get_weights()
    out = {}
    for policy in policies:
        keras.mixed_precision.set_global_policy(policy)
        model = _build(keras, family, size, 10, False)
        model.set_weights(weights)
        logits = np.asarray(model.predict_on_batch(x), dtype="float64")
        one = x[:1]
        for _ in range(3):
            _sync(model.predict_on_batch(one))
        times = []
        for _ in range(reps):
            start = time.perf_counter()
            _sync(model.predict_on_batch(one))
            times.append(time.perf_counter() - start)
        out[policy] = {
            "logits_finite": bool(np.all(np.isfinite(logits))),
            "batch1_latency_ms": round(statistics.median(times) * 1e3, 3),
        }
    keras.mixed_precision.set_global_policy("float32")
    return out


def _environment(keras):
    env = {
        "python": platform.python_version(),
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "machine": platform.machine(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    backend = keras.backend.backend()
    try:
        if backend == "jax":
            import jax

            env["backend_version"] = jax.__version__
            env["devices"] = [str(d) for d in jax.devices()]
            env["device_kind"] = jax.devices()[0].device_kind
        elif backend == "tensorflow":
            import tensorflow as tf

            env["backend_version"] = tf.__version__
            env["devices"] = [d.name for d in tf.config.list_physical_devices()]
        elif backend == "torch":
            import torch

            env["backend_version"] = torch.__version__
            env["devices"] = [torch.cuda.get_device_name(0)] if torch.cuda.is_available() else ["cpu"]
    except Exception as error:  # the environment record must never lose the measurements
        env["devices_error"] = repr(error)
    return env


def _summary(results):
    env = results["environment"]
    lines = [
        "# benchmark `gpu_precision`",
        "",
        f"Keras {env['keras']} on the {env['backend']} backend ({env.get('backend_version', '?')}), "
        f"device: {env.get('device_kind') or env.get('devices')}; batch {results['batch']}, "
        f"{results['size']}×{results['size']} RGB. Median of {results['rounds']} rounds × {results['steps']} "
        "steps after warm-up.",
        "",
        "| model | stage | policy | ms/step | images/s | × float32 | first call s | loss fell |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in results["training"]:
        lines.append(
            f"| {row['family']} | {row['stage']} | {row['policy']} | {row['step_ms']} | {row['images_per_s']} | "
            f"{row.get('speedup_vs_float32', float('nan')):.2f} | {row['first_call_s']} | "
            f"{row['loss_finite_and_fell']} |"
        )
    lines += ["", "| model | policy | logits finite | batch-1 ms |", "|---|---|---|---|"]
    for family, rows in results.get("inference", {}).items():
        for policy, row in rows.items():
            lines.append(
                f"| {family} | {policy} | {row['logits_finite']} | {row['batch1_latency_ms']} |"
            )
    if results.get("skipped"):
        lines += ["", "Skipped (time budget): " + ", ".join(results["skipped"])]
    return "\n".join(lines) + "\n"


def _write(out_dir, results):
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, text in (("gpu_precision.json", json.dumps(results, indent=2)), ("gpu_precision.md", _summary(results))):
        tmp = out_dir / (name + ".tmp")
        tmp.write_text(text)
        os.replace(tmp, out_dir / name)


def main(argv=None):
    args = _parse(argv)
    import keras
    import numpy as np

    if args.quick:
        size, batch, steps, rounds, reps = 32, 8, 2, 2, 3
        plan = [("mobilenet_v2", trainable) for trainable in (False, True)]
    else:
        size, batch, steps, rounds, reps = 224, 128, 20, 3, 30
        plan = [("mobilenet_v2", False), ("mobilenet_v2", True), ("resnet50", True)]
    if args.only:
        plan = [(family, trainable) for family, trainable in plan if family == args.only]
    results = {
        "size": size, "batch": batch, "steps": steps, "rounds": rounds,
        "environment": _environment(keras), "training": [], "inference": {}, "skipped": [],
    }
    began = time.perf_counter()
    for family, trainable in plan:
        stage = "2 (fine-tune, BN frozen)" if trainable else "1 (frozen backbone)"
        baseline = None
        for policy in POLICIES:
            if time.perf_counter() - began > args.budget_s:
                results["skipped"].append(f"{family}/{stage}/{policy}")
                continue
            row = {"family": family, "stage": stage, "policy": policy}
            try:
                row.update(_time_training(keras, np, family, policy, trainable, size, batch, steps, rounds))
            except Exception as error:  # one failing policy must not lose the others' numbers
                row.update({"error": repr(error)[:500], "step_ms": float("nan"), "images_per_s": 0,
                            "first_call_s": float("nan"), "loss_finite_and_fell": False})
            if policy == "float32":
                baseline = row.get("step_ms")
            if baseline and row.get("step_ms") == row.get("step_ms"):
                row["speedup_vs_float32"] = round(baseline / row["step_ms"], 3)
            results["training"].append(row)
            print(json.dumps(row), flush=True)
            _write(args.out, results)
    for family in sorted({family for family, _ in plan}):
        if time.perf_counter() - began > args.budget_s + 60:
            results["skipped"].append(f"{family}/inference")
            continue
        results["inference"][family] = _forward_parity_and_latency(keras, np, family, size, POLICIES, reps)
    results["seconds"] = round(time.perf_counter() - began, 1)
    _write(args.out, results)
    print(_summary(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
