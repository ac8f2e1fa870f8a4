"""In-model augmentation cost: train-step time with the "medium" preset ÷ without, and in-model vs tf.data placement.

Measured side by side in one process, interleaved (A, B, A, B, ...) so that machine load hits every variant
alike; each number is the median over rounds of the time of ``STEPS`` compiled training steps after a warm-up
(tracing excluded). Settings:

- ``mnist_frozen``: raw 28×28 grey images (Animal-MNIST size), MobileNetV2 at 64×64 (the demo's size) frozen:
  the head stage of the default recipe. Augmentation runs on the small raw images before the backbone's resize.
- ``mnist_full``: the same, backbone fully trainable (the fine-tune stage).
- ``rgb96_frozen``: raw 96×96 RGB photos, MobileNetV2 at 96 frozen: augmentation on full-size colour images
  with a cheap frozen backbone, the worst realistic case.

Placement: the same "medium" pipeline inside the model (runs in the train step, on the accelerator when there is
one) against ``dataset.map(augment, num_parallel_calls=AUTOTUNE)`` feeding a model without augmentation (runs on
the host's CPU threads, overlapping with the step), in images per second.
"""

import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__all__ = ["run", "summary"]

BATCH = 32
STEPS = 8
ROUNDS = 5
SETTINGS = {
    "mnist_frozen": {"raw_shape": (28, 28, 1), "size": 64, "trainable": "frozen"},
    "mnist_full": {"raw_shape": (28, 28, 1), "size": 64, "trainable": "full"},
    "rgb96_frozen": {"raw_shape": (96, 96, 3), "size": 96, "trainable": "frozen"},
}


def _model(size, trainable, augmentation):
    import keras

    import keras_transfer as kt

    # BatchNorm frozen as with pretrained weights: the timing stands for the fine-tune stage of the default recipe.
    backbone = kt.backbones.get("mobilenet_v2", weights=None, input_shape=(size, size), trainable=trainable,
                                train_bn=False)
    model = kt.TransferModel(backbone, kt.ClassificationHead(10), augmentation=augmentation)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    return model


def _dataset(raw_shape, augment=None):
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (BATCH * 4, *raw_shape)).astype("uint8")
    y = rng.integers(0, 10, BATCH * 4)
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH).repeat()
    if augment is not None:
        dataset = dataset.map(
            lambda images, labels: (augment(tf.cast(images, "float32"), training=True), labels),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    return dataset.prefetch(tf.data.AUTOTUNE)


def _timer(model, dataset):
    """A function timing ``STEPS`` compiled train steps (after a warm-up ``fit`` that traces them)."""
    model.fit(dataset, steps_per_epoch=2, epochs=1, verbose=0)
    iterator = iter(dataset)

    def measure():
        start = time.perf_counter()
        for _ in range(STEPS):
            logs = model.train_function(iterator)
        float(logs["loss"])  # wait for the last step
        return (time.perf_counter() - start) / STEPS

    return measure


def run() -> dict:
    """Run every setting; returns per-setting step times (s), ratios and throughputs (images / s)."""
    import keras

    from keras_transfer.augmentation import get

    keras.utils.set_random_seed(0)
    results = {"batch_size": BATCH, "steps_per_round": STEPS, "rounds": ROUNDS, "preset": "medium", "settings": {}}
    for name, setting in SETTINGS.items():
        raw_shape, size, trainable = setting["raw_shape"], setting["size"], setting["trainable"]
        variants = {
            "none": _timer(_model(size, trainable, None), _dataset(raw_shape)),
            "in_model": _timer(_model(size, trainable, get("medium", seed=0)), _dataset(raw_shape)),
            "tf_data_map": _timer(_model(size, trainable, None), _dataset(raw_shape, augment=get("medium", seed=0))),
        }
        times = {key: [] for key in variants}
        for _ in range(ROUNDS):
            for key, measure in variants.items():
                times[key].append(measure())
        step = {key: statistics.median(values) for key, values in times.items()}
        results["settings"][name] = {
            "raw_shape": list(raw_shape),
            "backbone": f"mobilenet_v2 @{size}, {trainable}",
            "step_s": {key: round(value, 4) for key, value in step.items()},
            "ratio_medium_in_model": round(step["in_model"] / step["none"], 3),
            "ratio_medium_tf_data_map": round(step["tf_data_map"] / step["none"], 3),
            "images_per_s": {key: round(BATCH / value, 1) for key, value in step.items()},
        }
    ratios = [s["ratio_medium_in_model"] for s in results["settings"].values()]
    results["worst_ratio_in_model"] = max(ratios)
    results["goal"] = "step time with 'medium' / without <= 1.15 on CPU"
    return results


def summary(results: dict) -> str:
    """Markdown table of the results."""
    lines = [
        "# benchmark `augmentation`",
        "",
        f"Train-step time with the `{results['preset']}` preset ÷ without (goal ≤ 1.15 on CPU), batch "
        f"{results['batch_size']}, median of {results['rounds']} interleaved rounds of {results['steps_per_round']} "
        "steps; and throughput with the same pipeline in the model vs in `tf.data.map`.",
        "",
        "| setting | raw input | backbone | step none (s) | step in-model (s) | ratio in-model | ratio tf.data map "
        "| img/s none | img/s in-model | img/s tf.data map |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, s in results["settings"].items():
        lines.append(
            f"| {name} | {'×'.join(map(str, s['raw_shape']))} | {s['backbone']} | {s['step_s']['none']:.3f} | "
            f"{s['step_s']['in_model']:.3f} | **{s['ratio_medium_in_model']:.3f}** | "
            f"{s['ratio_medium_tf_data_map']:.3f} | {s['images_per_s']['none']:.0f} | "
            f"{s['images_per_s']['in_model']:.0f} | {s['images_per_s']['tf_data_map']:.0f} |"
        )
    env = results.get("environment", {})
    lines += [
        "",
        f"Worst in-model ratio: {results['worst_ratio_in_model']:.3f}. Machine: {env.get('cpu_count', '?')} CPUs, "
        f"GPUs {env.get('gpus', [])}, TF {env.get('tensorflow', '?')}, Keras {env.get('keras', '?')}.",
    ]
    return "\n".join(lines) + "\n"
