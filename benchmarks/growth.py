"""Net2Net growth on MNIST-5k: a small network trained, widened and deepened, trained on, against the large
network trained from scratch. Time (and epochs) to reach the scratch network's accuracy, as ratios measured
side by side in one run.

Protocol, per architecture (an MLP and a CNN with BatchNorm) and seed:

1. train the *small* network ``TEACHER_EPOCHS`` epochs (the "teacher");
2. grow it with ``net2wider`` (noise 0.1: zero-sum, function preserved) and ``net2deeper`` into exactly the
   *large* architecture (same parameter count as the scratch network), check the function is preserved;
3. train the grown network and the large network from scratch ``EPOCHS`` epochs each (Adam 1e-3, batch 64);
4. target = the scratch network's final validation accuracy; time-to-target = wall time (training + validation
   each epoch; growth itself counted for the grown network) until validation accuracy first reaches it.

Ratios < 1 mean the grown network got there faster. ``ratio_with_teacher`` also charges the teacher's training.
Run: ``python -m benchmarks growth``.
"""

import os
import time

__all__ = ["run", "summary"]

TEACHER_EPOCHS = 4
EPOCHS = 10
BATCH = 64
SEEDS = {"mlp": (0, 1), "cnn": (0,)}  # the CNN costs ~5x the MLP per epoch on 2 CPU cores
NOISE = 0.1


def _mlp(width, deep):
    import keras

    L = keras.layers
    layers = [keras.Input((28, 28, 1)), L.Flatten(name="flatten"), L.Dense(width, activation="relu", name="hidden")]
    if deep:
        layers.append(L.Dense(width, activation="relu", name="hidden_deeper"))
    layers.append(L.Dense(10, activation="softmax", name="out"))
    return keras.Sequential(layers, name="mlp")


def _grow_mlp(model):
    from keras_transfer.growth import net2deeper, net2wider

    return net2deeper(net2wider(model, "hidden", 128, noise=NOISE), "hidden")


def _cnn(channels, deep):
    import keras

    L = keras.layers
    c1, c2 = channels
    inputs = keras.Input((28, 28, 1))
    x = L.Conv2D(c1, 3, padding="same", activation="relu", name="conv_1")(inputs)
    x = L.MaxPooling2D(name="pool_1")(x)
    x = L.Conv2D(c2, 3, padding="same", use_bias=False, name="conv_2")(x)
    x = L.BatchNormalization(name="bn_2")(x)
    x = L.ReLU(name="relu_2")(x)
    if deep:
        x = L.Conv2D(c2, 3, padding="same", use_bias=False, name="relu_2_deeper")(x)
        x = L.BatchNormalization(name="relu_2_deeper_bn")(x)
        x = L.ReLU(name="relu_2_deeper_act")(x)
    x = L.MaxPooling2D(name="pool_2")(x)
    x = L.Flatten(name="flatten")(x)
    return keras.Model(inputs, L.Dense(10, activation="softmax", name="out")(x), name="cnn")


def _grow_cnn(model):
    from keras_transfer.growth import net2deeper, net2wider

    model = net2wider(model, "conv_1", 16, noise=NOISE)
    model = net2wider(model, "conv_2", 32, noise=NOISE)
    return net2deeper(model, "relu_2")


ARCHITECTURES = {
    "mlp": {
        "small": lambda: _mlp(32, False),
        "large": lambda: _mlp(128, True),
        "grow": _grow_mlp,
        "describe": "Flatten-Dense(32)-Dense(10) → Flatten-Dense(128)-Dense(128)-Dense(10)",
    },
    "cnn": {
        "small": lambda: _cnn((8, 16), False),
        "large": lambda: _cnn((16, 32), True),
        "grow": _grow_cnn,
        "describe": "Conv(8)-pool-Conv(16)+BN-pool-Dense(10) → Conv(16)-pool-Conv(32)+BN-Conv(32)+BN-pool-Dense(10)",
    },
}


def _fit(model, data, epochs, start_seconds=0.0):
    """Train, returning per-epoch validation accuracy and cumulative wall seconds."""
    import keras

    class Clock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            elapsed.append(time.perf_counter() - self.start)

    elapsed = []
    (x, y), validation = data["train"], data["validation"]
    history = model.fit(x, y, batch_size=BATCH, epochs=epochs, validation_data=validation, callbacks=[Clock()],
                        verbose=0)
    cumulative, total = [], start_seconds
    for seconds in elapsed:
        total += seconds
        cumulative.append(round(total, 3))
    return [round(float(a), 4) for a in history.history["val_accuracy"]], cumulative


def _time_to(target, accuracies, seconds):
    for epoch, (accuracy, elapsed) in enumerate(zip(accuracies, seconds), start=1):
        if accuracy >= target:
            return epoch, elapsed
    return None, None


def _accuracy(model, x, y):
    import numpy as np

    return round(float(np.mean(np.argmax(model.predict(x, batch_size=512, verbose=0), axis=1) == y)), 4)


def _one(name, seed, data):
    import keras
    import numpy as np

    arch = ARCHITECTURES[name]
    x_test, y_test = data["test"]
    keras.utils.set_random_seed(seed)
    small = arch["small"]()
    small.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    teacher_acc, teacher_seconds = _fit(small, data, TEACHER_EPOCHS)

    start = time.perf_counter()
    grown = arch["grow"](small)
    growth_seconds = time.perf_counter() - start
    probe = x_test[:500]
    preserved = float(np.max(np.abs(grown.predict(probe, verbose=0) - small.predict(probe, verbose=0))))
    after_growth = _accuracy(grown, x_test, y_test)

    keras.utils.set_random_seed(seed + 100)
    large = arch["large"]()
    large.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    if large.count_params() != grown.count_params():
        raise AssertionError(f"grown {grown.count_params()} != large {large.count_params()} parameters")
    scratch_acc, scratch_seconds = _fit(large, data, EPOCHS)
    grown_acc, grown_seconds = _fit(grown, data, EPOCHS, start_seconds=growth_seconds)

    target = scratch_acc[-1]
    scratch_epoch, scratch_time = _time_to(target, scratch_acc, scratch_seconds)
    grown_epoch, grown_time = _time_to(target, grown_acc, grown_seconds)
    teacher_time = teacher_seconds[-1]
    return {
        "seed": seed,
        "params_small": int(small.count_params()),
        "params_large": int(large.count_params()),
        "teacher_val_accuracy": teacher_acc[-1],
        "teacher_test_accuracy": _accuracy(small, x_test, y_test),
        "teacher_seconds": teacher_time,
        "growth_seconds": round(growth_seconds, 3),
        "max_abs_output_change_at_growth": preserved,
        "test_accuracy_right_after_growth": after_growth,
        "target_val_accuracy": target,
        "scratch_val_accuracy": scratch_acc,
        "grown_val_accuracy": grown_acc,
        "scratch_epochs_to_target": scratch_epoch,
        "scratch_seconds_to_target": scratch_time,
        "grown_epochs_to_target": grown_epoch,
        "grown_seconds_to_target": grown_time,
        "ratio": None if grown_time is None else round(grown_time / scratch_time, 3),
        "ratio_with_teacher": None if grown_time is None else round((grown_time + teacher_time) / scratch_time, 3),
        "scratch_test_accuracy": _accuracy(large, x_test, y_test),
        "grown_test_accuracy": _accuracy(grown, x_test, y_test),
    }


def run() -> dict:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import numpy as np

    from keras_transfer.data import load_dataset

    splits = load_dataset("mnist5k", validation_size=0.2, test_size=0.2, seed=0)

    def scaled(pair):
        return pair[0].astype("float32") / 255.0, np.asarray(pair[1])

    data = {"train": scaled(splits.train), "validation": scaled(splits.validation), "test": scaled(splits.test)}
    results = {
        "dataset": "mnist5k",
        "train_examples": int(len(data["train"][0])),
        "validation_examples": int(len(data["validation"][0])),
        "test_examples": int(len(data["test"][0])),
        "teacher_epochs": TEACHER_EPOCHS,
        "epochs": EPOCHS,
        "batch_size": BATCH,
        "noise": NOISE,
        "runs": {},
    }
    for name in ARCHITECTURES:
        runs = [_one(name, seed, data) for seed in SEEDS[name]]
        ratios = [r["ratio"] for r in runs if r["ratio"] is not None]
        results["runs"][name] = runs
        results[f"{name}_median_ratio"] = float(np.median(ratios)) if ratios else None
        results[f"{name}_median_ratio_with_teacher"] = (
            float(np.median([r["ratio_with_teacher"] for r in runs if r["ratio_with_teacher"] is not None]))
            if ratios else None
        )
        results[f"{name}_reached_target"] = f"{len(ratios)}/{len(runs)}"
    return results


def summary(results) -> str:
    lines = [
        "# benchmark `growth`: Net2Net widen + deepen vs training the large network from scratch",
        "",
        f"MNIST-5k ({results['train_examples']} train / {results['validation_examples']} validation / "
        f"{results['test_examples']} test), Adam 1e-3, batch {results['batch_size']}; teacher trained "
        f"{results['teacher_epochs']} epochs, then grown and scratch networks {results['epochs']} epochs each; "
        f"net2wider noise {results['noise']} (zero-sum). Target = scratch network's final validation accuracy.",
        "",
        "| arch | seed | params small → large | teacher val acc | max abs Δ at growth | test acc after growth "
        "| target | scratch: epochs / s to target | grown: epochs / s to target | ratio | ratio incl. teacher "
        "| final test acc scratch / grown |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, runs in results["runs"].items():
        for r in runs:
            grown = (
                "not reached" if r["grown_epochs_to_target"] is None
                else f"{r['grown_epochs_to_target']} / {r['grown_seconds_to_target']:.1f}"
            )
            lines.append(
                f"| {name} | {r['seed']} | {r['params_small']:,} → {r['params_large']:,} "
                f"| {r['teacher_val_accuracy']:.4f} | {r['max_abs_output_change_at_growth']:.1e} "
                f"| {r['test_accuracy_right_after_growth']:.4f} | {r['target_val_accuracy']:.4f} "
                f"| {r['scratch_epochs_to_target']} / {r['scratch_seconds_to_target']:.1f} "
                f"| {grown} | {r['ratio']} | {r['ratio_with_teacher']} "
                f"| {r['scratch_test_accuracy']:.4f} / {r['grown_test_accuracy']:.4f} |"
            )
    lines.append("")
    for name, arch in ARCHITECTURES.items():
        lines.append(
            f"- **{name}** ({arch['describe']}): median time ratio grown / scratch "
            f"{results[f'{name}_median_ratio']}, including the teacher's training "
            f"{results[f'{name}_median_ratio_with_teacher']}; "
            f"target reached in {results[f'{name}_reached_target']} runs."
        )
    lines.append("")
    lines.append(f"Total benchmark time: {results.get('benchmark_seconds', 'n/a')} s. Ratio < 1: the grown network "
                 "reached the scratch network's accuracy sooner; 'not reached' / None: it did not within the epochs "
                 "run. Times include per-epoch validation and the first epoch's tracing for both.")
    return "\n".join(lines) + "\n"
