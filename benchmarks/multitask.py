"""Multi-task transfer and the distribution-shift bias on real offline data. Run: ``python -m benchmarks multitask``.

Part 1, multi-task (MNIST-5k): three tasks on the same images, digit (10 classes), parity and "has a closed loop"
(0, 4, 6, 8, 9), with the digit labelled on only ``DIGIT_LABEL_FRACTION`` of the training images (-1 elsewhere:
real multi-task data is partially labelled) and the two coarse tasks on all of them. One shared backbone
(``tiny_cnn``, 3 conv blocks, trained from scratch with BatchNorm in inference mode: a frozen backbone would give the heads nothing to share)
trained with the same epochs and batches as: a single-task digit model, a multi-task model with equal weights,
with learned uncertainty weights (Kendall et al.) and with dynamic weight averaging. Test accuracy per task.

Part 2, domain shift (MNIST-5k -> sklearn digits, 8x8 scans upscaled): ImageNet MobileNetV2 (offline weights,
frozen, 32x32) with a digit head trained on MNIST-5k, then adapted with ``TARGET_PER_CLASS`` labelled sklearn
digits per class: no adaptation, head retrained, shift bias only (head frozen: ``DistributionShiftBias`` with scale),
and shift bias + head (shift at 10x the head's rate). The backbone is frozen throughout, so its features are
computed once and the head / shift layers train on them (the same layers then run inside a ``TransferModel`` on
raw images for the reported accuracy). Test accuracy on held-out sklearn digits and on MNIST-5k.
"""

import os
import statistics
import time

__all__ = ["run", "summary"]

SEEDS = (0, 1)
DIGIT_LABEL_FRACTION = 0.1
MT_EPOCHS = 6
MT_BATCH = 64
LOOP_DIGITS = (0, 4, 6, 8, 9)
SHIFT_IMAGE_SIZE = 32
SOURCE_EPOCHS = 15
TARGET_PER_CLASS = 10
TARGET_EPOCHS = 40


# ------------------------------------------------------------------------------------------------ part 1
def _tasks(y):
    import numpy as np

    return {"digit": y, "parity": y % 2, "loop": np.isin(y, LOOP_DIGITS).astype("int64")}


def _multi_task_run(config, seed, splits):
    import keras
    import numpy as np

    import keras_transfer as kt
    from keras_transfer.testing import register_tiny_backbone

    (x, y), (tx, ty) = splits.train, splits.test
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    labels = _tasks(y)
    hidden = rng.uniform(size=len(y)) >= DIGIT_LABEL_FRACTION
    labels["digit"] = np.where(hidden, -1, labels["digit"])
    # BatchNorm stays in inference mode (the toolkit's default): with few steps from scratch, trained running
    # statistics lag the weights and test accuracy collapses.
    backbone = kt.backbones.get(register_tiny_backbone(), weights=None, input_shape=(32, 32), trainable="full",
                                train_bn=False)
    heads = {"digit": kt.ClassificationHead(10, dropout=0.0)}
    if config != "single_task":
        heads.update(parity=kt.ClassificationHead(2, dropout=0.0), loop=kt.ClassificationHead(2, dropout=0.0))
    weighting = {"single_task": None, "equal_weights": None, "uncertainty": "uncertainty", "dwa": "dwa"}[config]
    model = kt.MultiTaskModel(backbone, heads, loss_weighting=weighting)
    if config == "dwa":
        model.loss_weighting.period = int(np.ceil(len(x) / MT_BATCH))  # one epoch per window, as Liu et al.
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    train_labels = {t: labels[t] for t in heads}
    start = time.perf_counter()
    model.fit(x, train_labels, epochs=MT_EPOCHS, batch_size=MT_BATCH, verbose=0)
    seconds = time.perf_counter() - start
    predictions = model.predict(tx, batch_size=256, verbose=0)
    truth = _tasks(ty)
    accuracy = {t: float(np.mean(np.argmax(predictions[t], -1) == truth[t])) for t in heads}
    return {"accuracy": accuracy, "task_weights": model.task_weights(), "seconds": seconds}


# ------------------------------------------------------------------------------------------------ part 2
def _features(backbone, x):
    import numpy as np

    return np.concatenate([backbone(x[i:i + 256], training=False).numpy() for i in range(0, len(x), 256)])


def _target_subset(x, y, per_class, rng):
    import numpy as np

    index = np.concatenate([rng.choice(np.flatnonzero(y == c), per_class, replace=False) for c in range(10)])
    return x[index], y[index]


def _shift_run(seed, source, target, backbone, source_features):
    import keras
    import numpy as np

    import keras_transfer as kt

    (sx, sy), (s_test_x, s_test_y) = source.train, source.test
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    dim = backbone.output_dim
    train_f, test_f = source_features
    head = kt.ClassificationHead(10, dropout=0.0)
    features_model = keras.Sequential([keras.Input((dim,)), head])
    features_model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    features_model.fit(train_f, sy, epochs=SOURCE_EPOCHS, batch_size=64, verbose=0)
    source_weights = head.get_weights()

    tx, ty = target.train
    ax, ay = _target_subset(tx, ty, TARGET_PER_CLASS, rng)
    adapt_f = _features(backbone, ax)
    target_test_x, target_test_y = target.test
    results = {}
    for variant in ("no_adaptation", "head_retrained", "shift_only", "shift_and_head"):
        head.set_weights(source_weights)
        shift = kt.layers.DistributionShiftBias(scale=True, lr_multiplier=10.0 if variant == "shift_and_head" else 1.0)
        adapter = keras.Sequential([keras.Input((dim,)), shift, head])
        head.trainable = variant in ("head_retrained", "shift_and_head")
        shift.trainable = variant in ("shift_only", "shift_and_head")
        start = time.perf_counter()
        if variant != "no_adaptation":
            rate = 1e-3 if variant == "head_retrained" else None
            if variant == "shift_and_head":  # the shift at 10x the head's rate: two sub-optimizers
                optimizer = keras.optimizers.MultiOptimizer(keras.optimizers.OptimizerMap(
                    keras.optimizers.Adam(1e-3), {"|".join(v.path for v in shift.weights): keras.optimizers.Adam(1e-2)}))
            else:
                optimizer = keras.optimizers.Adam(rate or 1e-2)
            adapter.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
            adapter.fit(adapt_f, ay, epochs=TARGET_EPOCHS, batch_size=20, verbose=0)
        seconds = time.perf_counter() - start
        # The adapted layers inside an end-to-end TransferModel on raw images.
        model = kt.TransferModel(backbone, head, shift_bias={"scale": True})
        model.shift.set_weights(shift.get_weights())
        target_accuracy = float(np.mean(np.argmax(model.predict(target_test_x, batch_size=256, verbose=0), -1)
                                        == target_test_y))
        source_accuracy = float(np.mean(np.argmax(adapter(test_f).numpy(), -1) == s_test_y))
        results[variant] = {
            "target_accuracy": target_accuracy, "source_accuracy": source_accuracy, "seconds": seconds,
            "shift_norm": shift.magnitudes()["shift"], "scale_norm": shift.magnitudes()["scale"],
        }
        head.trainable = True
    return results


def run() -> dict:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras_transfer as kt
    from keras_transfer.data import load_dataset

    results = {
        "settings": {
            "seeds": list(SEEDS), "digit_label_fraction": DIGIT_LABEL_FRACTION, "multitask_epochs": MT_EPOCHS,
            "multitask_batch": MT_BATCH, "multitask_backbone": "tiny_cnn (from scratch, 32x32)",
            "loop_digits": list(LOOP_DIGITS), "shift_backbone": "mobilenet_v2 (ImageNet, offline, frozen, 32x32)",
            "source_epochs": SOURCE_EPOCHS, "target_per_class": TARGET_PER_CLASS, "target_epochs": TARGET_EPOCHS,
        },
        "multitask": {}, "shift": {},
    }
    mnist = load_dataset("mnist5k", seed=0)
    for seed in SEEDS:
        for config in ("single_task", "equal_weights", "uncertainty", "dwa"):
            result = _multi_task_run(config, seed, mnist)
            results["multitask"].setdefault(config, []).append({"seed": seed, **result})
            print(f"multitask {config} seed {seed}: {result['accuracy']}", flush=True)

    digits = load_dataset("digits", seed=0)
    backbone = kt.backbones.get("mobilenet_v2", weights="imagenet", input_shape=(SHIFT_IMAGE_SIZE, SHIFT_IMAGE_SIZE))
    source_features = (_features(backbone, mnist.train[0]), _features(backbone, mnist.test[0]))
    for seed in SEEDS:
        for variant, result in _shift_run(seed, mnist, digits, backbone, source_features).items():
            results["shift"].setdefault(variant, []).append({"seed": seed, **result})
            print(f"shift {variant} seed {seed}: {result['target_accuracy']:.4f}", flush=True)
    return results


def _mean(values):
    return statistics.mean(values) if values else float("nan")


def summary(results: dict) -> str:
    s = results["settings"]
    lines = [
        "# Multi-task transfer and the distribution-shift bias",
        "",
        f"## Multi-task on MNIST-5k ({s['multitask_backbone']}, {s['multitask_epochs']} epochs, "
        f"digit labels on {s['digit_label_fraction']:.0%} of the training images, seeds {s['seeds']})",
        "",
        "| model | digit acc | parity acc | loop acc | final task weights | train s |",
        "|---|---|---|---|---|---|",
    ]
    for config, runs in results["multitask"].items():
        acc = {t: _mean([r["accuracy"][t] for r in runs if t in r["accuracy"]]) for t in ("digit", "parity", "loop")}
        weights = runs[-1]["task_weights"]
        text = ", ".join(f"{t} {w:.2f}" for t, w in weights.items())
        cells = [f"{acc[t]:.3f}" if acc[t] == acc[t] else "-" for t in ("digit", "parity", "loop")]
        lines.append(f"| {config} | {' | '.join(cells)} | {text} | {_mean([r['seconds'] for r in runs]):.1f} |")
    lines += [
        "",
        f"## Domain shift MNIST-5k -> sklearn digits ({s['shift_backbone']}, {s['target_per_class']} labelled target "
        f"images per class, seeds {s['seeds']})",
        "",
        "| adaptation | sklearn digits acc | MNIST-5k acc | shift norm | scale norm |",
        "|---|---|---|---|---|",
    ]
    for variant, runs in results["shift"].items():
        lines.append(
            f"| {variant} | {_mean([r['target_accuracy'] for r in runs]):.3f} | "
            f"{_mean([r['source_accuracy'] for r in runs]):.3f} | {_mean([r['shift_norm'] for r in runs]):.2f} | "
            f"{_mean([r['scale_norm'] for r in runs]):.2f} |"
        )
    return "\n".join(lines) + "\n"
