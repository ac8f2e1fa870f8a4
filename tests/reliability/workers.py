"""Subprocess workers for the reliability tests (each needs a fresh TensorFlow: devices, determinism, SIGKILL).

    python tests/reliability/workers.py train CHECKPOINT_DIR OUT_JSON [CHECKPOINT_DIR OUT_JSON ...]
    python tests/reliability/workers.py train CHECKPOINT_DIR OUT_JSON --pause-at EPOCH READY_FILE
    python tests/reliability/workers.py distributed OUT_JSON

``train`` runs a seeded ``fine_tune`` with ``lr="auto"`` and gradual unfreezing (LR finder, warmup, plateau
reduction, per-group ramps, a recompile) and writes the final weights and the history as JSON; several pairs
run one after the other in one process. With ``--pause-at`` it writes READY_FILE in the middle of that epoch and
waits to be killed.
"""

import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

SEED = 7


def _data(n=24, size=16, channels=3, classes=3):
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (n, size, size, channels), dtype=np.uint8)
    y = np.arange(n) % classes
    return x, y


def _tiny_model(classes=3, dropout=0.2):
    import keras_transfer as kt
    from keras_transfer.testing import register_tiny_backbone

    name = register_tiny_backbone()
    # stands in for a pretrained backbone: BatchNorm follows the pretrained rule (frozen). Trained BatchNorm
    # under MirroredStrategy normalises with per-replica batch statistics, which one device cannot match.
    backbone = kt.backbones.get(name, weights=None, input_shape=(16, 16), train_bn=False)
    return kt.TransferModel(backbone, kt.ClassificationHead(classes, dropout=dropout))


def _weights(model):
    import keras

    return [keras.ops.convert_to_numpy(w).tolist() for w in model.weights]


def train(checkpoint_dir, out_path, pause_at=None, ready_file=None):
    import keras

    import keras_transfer as kt

    kt.set_seed(SEED)  # initial weights, dropout seeds; deterministic ops
    model = _tiny_model()
    x, y = _data(n=16)
    groups_seen = {}

    class Observe(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch
            groups_seen[epoch] = self.model.backbone.unfrozen_groups

        def on_train_batch_end(self, batch, logs=None):
            if pause_at is not None and self.epoch == pause_at and batch == 0:
                with open(ready_file, "w") as f:  # mid-epoch: one of its two batches already applied
                    f.write(json.dumps({"epoch": self.epoch, "unfrozen_groups": self.model.backbone.unfrozen_groups}))
                time.sleep(600)  # killed here by the test

    # Stage 2 (epochs 1-3) unfreezes 1 group, then all 3 (a recompile carrying the optimizer state over).
    history = kt.fine_tune(
        model, (x, y), head_epochs=1, fine_tune_epochs=3,
        unfreeze=kt.callbacks.GradualUnfreezing(schedule=[1, 3]),
        lr="auto", batch_size=8, seed=SEED, checkpoint_dir=checkpoint_dir, callbacks=[Observe()], verbose=0,
    )
    with open(out_path, "w") as f:
        json.dump({
            "weights": _weights(model), "history": history.history, "epoch": history.epoch,
            "stages": history.stages, "groups_seen": groups_seen, "mode": model.backbone.mode,
        }, f)


def distributed(out_path):
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import numpy as np

    import keras_transfer as kt

    x, y = _data(n=32)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    result = {"replicas": strategy.num_replicas_in_sync}

    def transfer(scope):
        kt.set_seed(SEED, deterministic_ops=False)
        with scope:
            model = _tiny_model(dropout=0.0)
        history = kt.fine_tune(model, (x, y), head_epochs=2, fine_tune_epochs=1, batch_size=8, seed=SEED,
                               head_lr=1e-2, verbose=0)
        return history.history["loss"]

    def multi_task(scope):
        kt.set_seed(SEED, deterministic_ops=False)
        from keras_transfer.testing import register_tiny_backbone

        with scope:
            backbone = kt.backbones.get(register_tiny_backbone(), weights=None, input_shape=(16, 16))
            model = kt.MultiTaskModel(backbone, {"digit": kt.ClassificationHead(3, dropout=0.0),
                                                 "parity": kt.ClassificationHead(2, dropout=0.0)})
        labels = {"digit": y, "parity": np.where(np.arange(len(y)) % 4 == 0, -1, y % 2)}  # some missing
        history = kt.fine_tune(model, (x, labels), head_epochs=2, fine_tune_epochs=0, batch_size=8, seed=SEED,
                               head_lr=1e-2, verbose=0)
        return history.history["loss"]

    def features(scope, cache_dir):
        kt.set_seed(SEED, deterministic_ops=False)
        from keras_transfer.testing import register_tiny_backbone

        with scope:
            backbone = kt.backbones.get(register_tiny_backbone(), weights=None, input_shape=(16, 16))
            cache = kt.features.extract(backbone, (x, y), cache_dir)
        return np.asarray(cache.load()[0]).tolist()

    import contextlib
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        for label, scope in (("one", contextlib.nullcontext), ("mirrored", strategy.scope)):
            for name, job in (("transfer", lambda: transfer(scope())),
                              ("multitask", lambda: multi_task(scope())),
                              ("features", lambda: features(scope(), os.path.join(tmp, "f_" + label)))):
                began = time.perf_counter()
                result[f"{name}_{label}"] = job()
                result[f"seconds_{name}_{label}"] = round(time.perf_counter() - began, 1)
    with open(out_path, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    if command == "train":
        pause = args.index("--pause-at") if "--pause-at" in args else None
        if pause is None:
            for checkpoint_dir, out in zip(args[::2], args[1::2]):
                train(checkpoint_dir, out)
        else:
            train(args[0], args[1], int(args[pause + 1]), args[pause + 2])
    elif command == "distributed":
        distributed(args[0])
    else:
        raise SystemExit(f"unknown command {command!r}")
