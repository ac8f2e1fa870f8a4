"""Weight averaging (``ema=0.999``) and label smoothing (``label_smoothing=0.1``), each on and off, side by side.

Two tasks, both ``fine_tune`` on ImageNet MobileNetV2 (offline weights), its default recipe (head at 1e-3, then
everything but BatchNorm at 1e-4), the same seed, data and epochs for every setting:

- ``animal_mnist``: the ``keras-transfer demo`` task (Animal-MNIST, 10 classes), at a smaller budget so the whole
  benchmark fits the shared 2-core machine: ``N_PER_CLASS`` labels per class, ``IMAGE_SIZES`` px;
- ``elpv``: 2,624 real electroluminescence photos of solar cells (4 classes, imbalanced), ``N_PER_CLASS`` labels per
  class (fewer for the smallest class), images resized once to ``IMAGE_SIZES`` px.

"default" and "ema=0.999" are measured on the same run: its trained weights and its average (the average never feeds
back into training: ``tests/training/test_ema.py``); each dataset runs in its own process. Scores on each dataset's
own held-out test split (first ``N_TEST`` images): accuracy and balanced accuracy, mean ±
std over ``SEEDS`` (the seed sets the subsample, the head's initialisation and the batch order). A setting becomes a
default only if it wins on both tasks.

Run: ``python -m benchmarks ema_smoothing``.
"""

import statistics
import time

__all__ = ["run", "summary"]

SEEDS = (0, 1, 2)
DATASETS = ("animal_mnist", "elpv")
N_PER_CLASS = {"animal_mnist": 30, "elpv": 30}
IMAGE_SIZES = {"animal_mnist": 32, "elpv": 32}
N_TEST = {"animal_mnist": 500, "elpv": 300}
HEAD_EPOCHS, FINE_TUNE_EPOCHS = 2, 2
SETTINGS = ("default", "ema=0.999", "label_smoothing=0.1")
#: the runs: the ema run also gives "default" (its trained weights: the average never feeds back into training)
RUNS = {"ema=0.999": {"ema": 0.999}, "label_smoothing=0.1": {"label_smoothing": 0.1}}


def _data(name, seed):
    import numpy as np
    import tensorflow as tf

    from keras_transfer.data import load_dataset

    splits = load_dataset(name, n_per_class=N_PER_CLASS[name], seed=seed)
    (x, y), (tx, ty) = splits.train, splits.test
    tx, ty = tx[:N_TEST[name]], ty[:N_TEST[name]]
    size = IMAGE_SIZES[name]
    if x.shape[1] != size and x.shape[1] > 2 * size:  # elpv's 300 px photos: resized once, not every epoch
        def resize(images):
            resized = tf.image.resize(images, (size, size), method="area", antialias=True)
            return np.clip(np.round(resized.numpy()), 0, 255).astype("uint8")

        x, tx = resize(x), resize(tx)
    return (x, y), (tx, ty), splits.num_classes


def _scores(name, options, seed) -> dict:
    """Scores of one run; with ``ema`` also the trained (raw) weights' scores, under ``"default"``."""
    import keras
    import numpy as np
    from sklearn.metrics import balanced_accuracy_score

    import keras_transfer as kt

    class Raw(keras.callbacks.Callback):  # the trained weights after the last step (the average is swapped in later)
        def on_train_batch_end(self, batch, logs=None):
            self.weights = [np.array(keras.ops.convert_to_numpy(w), copy=True) for w in self.model.weights]

    train, (tx, ty), num_classes = _data(name, seed)
    size = IMAGE_SIZES[name]
    kt.set_seed(seed)
    backbone = kt.backbones.get("mobilenet_v2", weights="imagenet", input_shape=(size, size))
    model = kt.TransferModel(backbone, kt.ClassificationHead(num_classes))
    raw = Raw()
    kt.fine_tune(model, train, head_epochs=HEAD_EPOCHS, fine_tune_epochs=FINE_TUNE_EPOCHS, seed=seed, verbose=0,
                 callbacks=[raw], **options)

    def scores():
        predicted = np.argmax(model.predict(tx, batch_size=128, verbose=0), axis=1)
        return {"accuracy": float(np.mean(predicted == ty)),
                "balanced_accuracy": float(balanced_accuracy_score(ty, predicted))}

    result = {"train_examples": int(len(train[1]))}
    result.update({setting: scores() for setting in RUNS if RUNS[setting] is options})
    if "ema" in options:
        for variable, value in zip(model.weights, raw.weights):
            variable.assign(value)
        result["default"] = scores()
    return result


def _dataset_runs(name) -> dict:
    """Every run of one dataset: ``{setting: [scores per seed]}`` (one process per dataset)."""
    runs = {setting: [] for setting in SETTINGS}
    for seed in SEEDS:
        for options in RUNS.values():
            start = time.perf_counter()
            result = _scores(name, options, seed)
            for setting in SETTINGS:
                if setting in result:
                    runs[setting].append(result[setting])
            runs["train_examples"] = result["train_examples"]
            print(name, seed, result, f"{time.perf_counter() - start:.0f} s", flush=True)
    return runs


def _mean_std(values):
    return {"values": values, "mean": statistics.mean(values), "std": statistics.stdev(values)}


def run():
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    results = {"seeds": list(SEEDS), "n_per_class": N_PER_CLASS, "image_sizes": IMAGE_SIZES, "n_test": N_TEST,
               "head_epochs": HEAD_EPOCHS, "fine_tune_epochs": FINE_TUNE_EPOCHS, "cells": {}, "wins_on_both": {}}
    with ProcessPoolExecutor(len(DATASETS), mp_context=multiprocessing.get_context("spawn")) as pool:
        all_runs = dict(zip(DATASETS, pool.map(_dataset_runs, DATASETS)))
    for name, runs in all_runs.items():
        results["cells"][name] = {
            setting: {metric: _mean_std([s[metric] for s in runs[setting]]) for metric in ("accuracy",
                                                                                           "balanced_accuracy")}
            for setting in SETTINGS}
        results["cells"][name]["train_examples"] = runs["train_examples"]
    for setting in SETTINGS[1:]:
        results["wins_on_both"][setting] = all(
            results["cells"][name][setting]["accuracy"]["mean"] > results["cells"][name]["default"]["accuracy"]["mean"]
            for name in DATASETS)
    return results


def summary(results):
    lines = [
        "# benchmark `ema_smoothing`: weight averaging and label smoothing on / off",
        "",
        f"ImageNet MobileNetV2, `fine_tune` {results['head_epochs']} head + {results['fine_tune_epochs']} fine-tune "
        f"epochs; mean ± std over seeds {results['seeds']}. Animal-MNIST (the demo task, smaller budget): "
        f"{results['n_per_class']['animal_mnist']} labels/class at {results['image_sizes']['animal_mnist']} px, "
        f"{results['n_test']['animal_mnist']} test images; elpv: {results['n_per_class']['elpv']} labels/class "
        f"(fewer in the smallest class) at {results['image_sizes']['elpv']} px, {results['n_test']['elpv']} test "
        "images.",
        "",
        "| setting | Animal-MNIST accuracy | elpv accuracy | elpv balanced accuracy | wins on both |",
        "|---|---|---|---|---|",
    ]
    cells = results["cells"]
    for setting in SETTINGS:
        def cell(name, metric):
            value = cells[name][setting][metric]
            return f"{value['mean']:.3f} ± {value['std']:.3f}"

        wins = results["wins_on_both"].get(setting)
        lines.append(f"| {setting} | {cell('animal_mnist', 'accuracy')} | {cell('elpv', 'accuracy')} | "
                     f"{cell('elpv', 'balanced_accuracy')} | {'—' if wins is None else ('yes' if wins else 'no')} |")
    lines += ["", "A setting would become `fine_tune`'s default only if it wins (mean accuracy) on both tasks. Wall "
              f"time: {results.get('benchmark_seconds', '?')} s."]
    return "\n".join(lines) + "\n"
