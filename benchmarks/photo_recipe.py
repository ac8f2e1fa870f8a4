"""The photo recipe against the Keras guide recipe and the plain defaults, on real photos (elpv), 3 seeds.

Data: ``load_dataset("elpv")`` (2,624 real 300×300 grey electroluminescence photos of solar cells, 4 defect
classes, CC-BY-NC-SA: read from its wheel, never stored here), ``N_PER_CLASS`` training photos per class from the
training split, scored on a fixed part of the test split. Every recipe uses the same ImageNet MobileNetV2
(offline torchvision weights), working size ``SIZE`` and ``HEAD_EPOCHS`` + ``FINE_TUNE_EPOCHS`` epochs (not the
photo recipe's native 224 and 5 + 5: the CPU budget of a machine shared by many jobs), batch 32, head rate 1e-3;
``N_TEST`` test photos:

- ``guide``: the Keras transfer-learning guide written by hand: BatchNorm frozen, fine-tune at 1e-5, no
  augmentation;
- ``default``: ``fine_tune``'s defaults (fine-tune at head rate / 10 = 1e-4, BatchNorm frozen), no augmentation;
- ``photo``: what ``keras_transfer.recipe.photo.photo_recipe`` chooses for these photos (random resized crop +
  flip, its batch size and stage lengths), fine-tune at 1e-4.

The foolbox ImageNet photos (20 photos of 20 classes, one each) cannot train a classifier, so they check the
backbones (tests/backbones/test_efficientnet_lite_photos.py), not the recipe.

Run: ``python -m benchmarks photo_recipe``.
"""

import statistics
import time

__all__ = ["run", "summary"]

SEEDS = (0, 1, 2)
N_PER_CLASS = 25
N_TEST = 300  # the first 300 photos of the (shuffled, stratified) test split
WORKERS = 9  # cells run in parallel processes (one seed of one recipe each)
SIZE = 128
HEAD_EPOCHS = 3
FINE_TUNE_EPOCHS = 3
BACKBONE = "mobilenet_v2"
RECIPES = ("guide", "default", "photo")


def _settings(name, train_x):
    from keras_transfer.recipe.photo import photo_recipe

    base = dict(head_lr=1e-3, batch_size=32, head_epochs=HEAD_EPOCHS, fine_tune_epochs=FINE_TUNE_EPOCHS)
    if name == "guide":
        return dict(base, fine_tune_lr=1e-5), None
    if name == "default":
        return dict(base, fine_tune_lr=1e-4), None
    decided = photo_recipe(train_x, BACKBONE)
    assert decided.is_photo, decided.reason
    return dict(base, fine_tune_lr=1e-4, batch_size=decided.batch_size), decided.augmentation


def _accuracy(name, seed, train, test, num_classes):
    import keras_transfer as kt

    options, augmentation = _settings(name, train[0])
    kt.set_seed(seed)
    backbone = kt.backbones.get(BACKBONE, input_shape=(SIZE, SIZE))  # ImageNet weights, BatchNorm frozen
    aug = kt.augmentation.get(augmentation, seed=seed) if augmentation else None
    model = kt.TransferModel(backbone, kt.ClassificationHead(num_classes), augmentation=aug)
    kt.fine_tune(model, train, seed=seed, verbose=0, **options)
    return float(model.evaluate(*test, verbose=0, return_dict=True)["accuracy"])


def _cell(name, seed):
    """One (recipe, seed) cell, run in its own process: prints its test accuracy as JSON."""
    import json

    from keras_transfer.data import load_dataset

    splits = load_dataset("elpv", n_per_class=N_PER_CLASS, seed=0)
    start = time.perf_counter()
    test = (splits.test[0][:N_TEST], splits.test[1][:N_TEST])
    accuracy = _accuracy(name, seed, splits.train, test, splits.num_classes)
    print("RESULT " + json.dumps({"accuracy": accuracy, "seconds": time.perf_counter() - start}), flush=True)


def _run_cells(cells):
    import json
    import os
    import subprocess
    import sys

    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    results, pending = {}, list(cells)
    running = []
    while pending or running:
        while pending and len(running) < WORKERS:
            name, seed = pending.pop(0)
            code = f"from benchmarks.photo_recipe import _cell; _cell({name!r}, {seed})"
            running.append(((name, seed), subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                                                           stderr=subprocess.DEVNULL, text=True, env=env, cwd=root)))
        (key, process), running = running[0], running[1:]
        out, _ = process.communicate()
        lines = [line for line in out.splitlines() if line.startswith("RESULT ")]
        if process.returncode != 0 or not lines:
            raise RuntimeError(f"cell {key} failed (exit {process.returncode})")
        results[key] = json.loads(lines[-1][len("RESULT "):])
        print(key, results[key], flush=True)
    return results


def run():
    from keras_transfer.data import load_dataset

    splits = load_dataset("elpv", n_per_class=N_PER_CLASS, seed=0)
    results = {"dataset": "elpv", "n_train": len(splits.train[1]), "n_test": min(N_TEST, len(splits.test[1])),
               "size": SIZE, "epochs": [HEAD_EPOCHS, FINE_TUNE_EPOCHS], "seeds": list(SEEDS),
               "backbone": BACKBONE, "parallel_workers": WORKERS, "cells": {}}
    cells = _run_cells([(name, seed) for seed in SEEDS for name in RECIPES])
    for name in RECIPES:
        scores = [cells[(name, seed)]["accuracy"] for seed in SEEDS]
        results["cells"][name] = {"accuracies": scores, "mean": statistics.mean(scores),
                                  "std": statistics.stdev(scores),
                                  "seconds_per_run": round(statistics.mean(cells[(name, s)]["seconds"]
                                                                           for s in SEEDS), 1)}
    return results


def summary(results):
    labels = {"guide": "Keras guide (BatchNorm frozen, fine-tune 1e-5, no augmentation)",
              "default": "fine_tune defaults (fine-tune 1e-4, no augmentation)",
              "photo": "photo recipe (random resized crop + flip, fine-tune 1e-4)"}
    lines = [
        "# benchmark `photo_recipe`: photo recipe vs the Keras guide recipe on real photos (elpv)",
        "",
        f"ImageNet {results['backbone']} at {results['size']}×{results['size']}, {results['n_train']} training "
        f"photos ({N_PER_CLASS} per class), {results['epochs'][0]} + {results['epochs'][1]} epochs, batch 32; "
        f"test accuracy on {results['n_test']} test photos, mean ± std over seeds {results['seeds']}.",
        "",
        "| recipe | test accuracy | per seed | s / run (9 runs in parallel) |",
        "|---|---|---|---|",
    ]
    for name in RECIPES:
        cell = results["cells"][name]
        lines.append(f"| {labels[name]} | {cell['mean']:.3f} ± {cell['std']:.3f} | "
                     f"{', '.join(f'{a:.3f}' for a in cell['accuracies'])} | {cell['seconds_per_run']} |")
    return "\n".join(lines) + "\n"
