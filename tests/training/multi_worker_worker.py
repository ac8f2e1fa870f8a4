"""A worker of the multi-worker tests: the same seeded ``fine_tune`` in every process, under
``MultiWorkerMirroredStrategy`` when ``TF_CONFIG`` is set (one process alone otherwise).

    python tests/training/multi_worker_worker.py OUT_JSON CHECKPOINT_DIR [--pause-at EPOCH READY_FILE]
                                                 [--examples N] [--epochs E] [--fine-tune-epochs F]

Writes the losses, the final weights and the seconds per epoch to OUT_JSON (the chief's also names the
replicas). With ``--pause-at`` it writes READY_FILE during that epoch's first batch and waits to be killed.
"""

import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

SEED = 7


def main(out_path, checkpoint_dir, pause_at=None, ready_file=None, examples=32, epochs=2, fine_tune_epochs=1):
    import tensorflow as tf

    from keras_transfer.training.strategy import make_strategy, tf_config, worker_checkpoint_dir

    strategy = make_strategy("multi_worker") if tf_config() is not None else None  # before other TF work
    import keras
    import numpy as np

    import keras_transfer as kt
    from keras_transfer.testing import register_tiny_backbone

    kt.set_seed(SEED, deterministic_ops=False)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (examples, 16, 16, 3), dtype=np.uint8)
    y = np.arange(examples) % 3
    name = register_tiny_backbone()
    with strategy.scope() if strategy is not None else tf.init_scope():
        # stands in for a pretrained backbone (train_bn=False): trained BatchNorm normalises per replica
        backbone = kt.backbones.get(name, weights=None, input_shape=(16, 16), train_bn=False)
        model = kt.TransferModel(backbone, kt.ClassificationHead(3, dropout=0.0))
    times = []

    class Observe(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch, self.began = epoch, time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.began)

        def on_train_batch_end(self, batch, logs=None):
            if pause_at is not None and self.epoch == pause_at and batch == 0:
                with open(ready_file, "w") as f:
                    f.write(json.dumps({"epoch": self.epoch}))
                time.sleep(600)  # killed here by the test

    history = kt.fine_tune(
        model, (x, y), head_epochs=epochs, fine_tune_epochs=fine_tune_epochs, batch_size=8, seed=SEED, head_lr=1e-2,
        checkpoint_dir=worker_checkpoint_dir(checkpoint_dir), callbacks=[Observe()], verbose=0,
    )
    with open(out_path, "w") as f:
        json.dump({
            "loss": history.history["loss"], "epoch": history.epoch,
            "weights": [keras.ops.convert_to_numpy(w).tolist() for w in model.weights],
            "replicas": strategy.num_replicas_in_sync if strategy is not None else 1,
            "seconds_per_epoch": times,
        }, f)


if __name__ == "__main__":
    args = sys.argv[1:]
    options = {}
    for flag, cast in (("--examples", int), ("--epochs", int), ("--fine-tune-epochs", int)):
        if flag in args:
            at = args.index(flag)
            options[flag[2:].replace("-", "_")] = cast(args[at + 1])
            del args[at:at + 2]
    if "--pause-at" in args:
        at = args.index("--pause-at")
        main(args[0], args[1], int(args[at + 1]), args[at + 2], **options)
    else:
        main(args[0], args[1], **options)
