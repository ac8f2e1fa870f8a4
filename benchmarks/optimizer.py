"""Step time of the discriminative ``MultiOptimizer`` against plain Adam, side by side in one run.

MobileNetV2 (random weights) at 64x64, fully unfrozen (BatchNorm frozen), batch 32, one compiled train step
per call; the two optimizers alternate in short rounds (so load changes hit both alike) and the median of the
per-round ratios is reported (goal ≤ 1.05).
Run: ``python -m benchmarks optimizer``.
"""

import os
import statistics
import time

__all__ = ["run", "summary"]

ROUNDS = 12
STEPS = 5
BATCH = 32


def _model(optimizer_kind):
    import keras

    import keras_transfer as kt

    keras.utils.set_random_seed(0)
    backbone = kt.backbones.get("mobilenet_v2", weights=None, input_shape=(64, 64), trainable="full", train_bn=False)
    model = kt.TransferModel(backbone, kt.ClassificationHead(10))
    if optimizer_kind == "adam":
        optimizer = keras.optimizers.Adam(1e-4)
    else:
        optimizer = kt.optimizers.discriminative(model, "adam", lr=1e-3, factor=2.6)
    model.compile(optimizer=optimizer)
    return model


def run() -> dict:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (BATCH, 28, 28, 1), dtype="uint8")
    y = rng.integers(0, 10, BATCH)
    models = {kind: _model(kind) for kind in ("adam", "discriminative")}
    for model in models.values():  # trace and warm up
        for _ in range(3):
            model.train_on_batch(x, y)
    times = {kind: [] for kind in models}
    for _ in range(ROUNDS):
        for kind, model in models.items():
            start = time.perf_counter()
            for _ in range(STEPS):
                model.train_on_batch(x, y)
            times[kind].append((time.perf_counter() - start) / STEPS)
    adam, disc = statistics.median(times["adam"]), statistics.median(times["discriminative"])
    ratios = [d / a for a, d in zip(times["adam"], times["discriminative"])]
    return {
        "adam_step_ms": 1000 * adam,
        "discriminative_step_ms": 1000 * disc,
        "ratio": statistics.median(ratios),
        "ratio_of_medians": disc / adam,
        "goal": 1.05,
        "sub_optimizers": len(models["discriminative"].optimizer.optimizers),
        "rounds": ROUNDS,
        "steps_per_round": STEPS,
        "batch_size": BATCH,
        "times_ms": {k: [1000 * t for t in v] for k, v in times.items()},
    }


def summary(results) -> str:
    return (
        "# Discriminative optimizer step time (MobileNetV2 64x64, fully unfrozen, batch 32, CPU)\n\n"
        "| optimizer | step (ms, median) |\n|---|---|\n"
        f"| Adam | {results['adam_step_ms']:.1f} |\n"
        f"| discriminative ({results['sub_optimizers']} Adam sub-optimizers) | {results['discriminative_step_ms']:.1f} |\n"
        f"| ratio, median of per-round ratios (goal ≤ {results['goal']}) | {results['ratio']:.3f} |\n"
    )
