"""Long-tailed Animal-MNIST: the default loss vs ``class_weight="auto"`` vs ``loss="focal"`` vs both, side by side.

The training split keeps ``HEAD`` images of the first class down to ``TAIL`` of the last, geometrically
(``round(HEAD * (TAIL / HEAD) ** (c / 9))`` for class ``c``: 100, 77, 60, 46, 36, 28, 22, 17, 13, 10), from the
same seeded subsample for every setting; the test images (the first ``N_TEST`` of the dataset's own stratified
held-out split, about 100 per class) are the same for every cell; no validation data (the run keeps its last
epoch). Every cell runs ``fine_tune`` on ImageNet MobileNetV2 (offline weights) at ``IMAGE_SIZE`` px with the same
seed, epochs and rates; only the loss option differs. Scores: balanced accuracy (mean per-class recall) and
macro-F1 on the test images, mean ± std over ``SEEDS`` (the seed sets the
subsample, the head's initialisation and the batch order).

Run: ``python -m benchmarks imbalance``.
"""

import statistics
import time

__all__ = ["run", "summary"]

SEEDS = (0, 1, 2)
HEAD, TAIL = 100, 10
IMAGE_SIZE = 32
HEAD_EPOCHS, FINE_TUNE_EPOCHS = 3, 3
N_TEST = 1000
SETTINGS = {
    "default": {},
    'class_weight="auto"': {"class_weight": "auto"},
    'loss="focal"': {"loss": "focal"},
    # Keras' focal loss with a class-balanced per-class alpha (tests/models/test_class_weights.py)
    'loss="focal", class_weight="auto"': {"loss": "focal", "class_weight": "auto"},
}


def long_tail_counts(num_classes: int = 10):
    """Training images per class: HEAD for the first class down to TAIL for the last, geometric."""
    return [round(HEAD * (TAIL / HEAD) ** (c / (num_classes - 1))) for c in range(num_classes)]


def _data(seed):
    import numpy as np

    from keras_transfer.data import load_dataset

    splits = load_dataset("animal_mnist", n_per_class=HEAD, seed=seed)
    (x, y), (vx, vy), (tx, ty) = splits.train, splits.validation, splits.test
    rng = np.random.default_rng(seed)
    keep = np.concatenate([rng.permutation(np.flatnonzero(y == c))[:n]
                           for c, n in enumerate(long_tail_counts(splits.num_classes))])
    return (x[keep], y[keep]), (tx[:N_TEST], ty[:N_TEST]), splits.num_classes


def _scores(options, seed):
    import numpy as np
    from sklearn.metrics import balanced_accuracy_score, f1_score

    import keras_transfer as kt

    train, (tx, ty), num_classes = _data(seed)
    kt.set_seed(seed)
    backbone = kt.backbones.get("mobilenet_v2", weights="imagenet", input_shape=(IMAGE_SIZE, IMAGE_SIZE))
    model = kt.TransferModel(backbone, kt.ClassificationHead(num_classes))
    kt.fine_tune(model, train, head_epochs=HEAD_EPOCHS, fine_tune_epochs=FINE_TUNE_EPOCHS,
                 seed=seed, verbose=0, **options)
    predicted = np.argmax(model.predict(tx, batch_size=128, verbose=0), axis=1)
    return {"balanced_accuracy": float(balanced_accuracy_score(ty, predicted)),
            "macro_f1": float(f1_score(ty, predicted, average="macro")),
            "accuracy": float(np.mean(predicted == ty))}


def _mean_std(values):
    return {"values": values, "mean": statistics.mean(values), "std": statistics.stdev(values)}


def run():
    results = {"seeds": list(SEEDS), "train_counts": long_tail_counts(), "image_size": IMAGE_SIZE,
               "head_epochs": HEAD_EPOCHS, "fine_tune_epochs": FINE_TUNE_EPOCHS, "n_test": N_TEST, "cells": {}}
    runs = {name: [] for name in SETTINGS}
    for seed in SEEDS:  # every setting per seed, so a stopped run still compares like with like
        for name, options in SETTINGS.items():
            start = time.perf_counter()
            runs[name].append(_scores(options, seed))
            print(name, seed, runs[name][-1], f"{time.perf_counter() - start:.0f} s", flush=True)
    for name, scores in runs.items():
        results["cells"][name] = {metric: _mean_std([s[metric] for s in scores]) for metric in scores[0]}
    default = results["cells"]["default"]["balanced_accuracy"]["mean"]
    results["gain_over_default"] = {
        name: results["cells"][name]["balanced_accuracy"]["mean"] - default for name in SETTINGS if name != "default"}
    return results


def summary(results):
    counts = results["train_counts"]
    lines = [
        "# benchmark `imbalance`: long-tailed Animal-MNIST, default loss vs class weights vs focal loss",
        "",
        f"Training images per class {counts} ({sum(counts)} in all, geometric {counts[0]} → {counts[-1]}); "
        f"{results['n_test']} test images (about 100 per class); ImageNet MobileNetV2 at {results['image_size']} px, "
        f"`fine_tune` {results['head_epochs']} head + {results['fine_tune_epochs']} fine-tune epochs; mean ± std "
        f"over seeds {results['seeds']}.",
        "",
        "| setting | balanced accuracy | macro-F1 | accuracy | Δ balanced accuracy vs default |",
        "|---|---|---|---|---|",
    ]
    for name, cell in results["cells"].items():
        gain = results["gain_over_default"].get(name)
        lines.append(
            f"| {name} | {cell['balanced_accuracy']['mean']:.3f} ± {cell['balanced_accuracy']['std']:.3f} | "
            f"{cell['macro_f1']['mean']:.3f} ± {cell['macro_f1']['std']:.3f} | "
            f"{cell['accuracy']['mean']:.3f} ± {cell['accuracy']['std']:.3f} | "
            f"{'—' if gain is None else f'{100 * gain:+.1f} points'} |")
    lines += ["", f"Goal: ≥ +3 points of balanced accuracy over the default. Wall time: "
              f"{results.get('benchmark_seconds', '?')} s."]
    return "\n".join(lines) + "\n"
