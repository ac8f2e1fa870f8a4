"""Training from random weights: BatchNorm trained (``train_bn="auto"`` with ``weights=None``) vs BatchNorm frozen.

``kt.backbones.get(name, weights=None, trainable="full")`` once kept BatchNorm in inference mode, the right rule for
pretrained weights. With random weights the running statistics then stay at their initial values (mean 0, variance
1) and nothing normalises the activations. This benchmark measures, side by side in one run, both settings on two
real offline datasets and two backbones, over several seeds (mean ± std of test accuracy):

- datasets: sklearn ``digits`` (8×8 scans, 1,797 images) and ``mnist5k`` (28×28 digits), ``N_TRAIN`` training
  images each, the rest of a fixed split for testing;
- backbones: ``mobilenet_v2`` (torchvision layout: BatchNorm momentum 0.9) at 32×32, and the test suite's
  ``tiny_cnn`` (3 Conv-BN blocks, Keras' BatchNorm momentum 0.99) at 32×32;
- the same recipe for every cell: Adam 1e-3, ``EPOCHS`` epochs, batch 32, ``model.fit`` on raw uint8 images.

Run: ``python -m benchmarks train_bn``.
"""

import statistics

__all__ = ["run", "summary"]

SEEDS = (0, 1, 2)
EPOCHS = 6
N_TRAIN = 1200
N_TEST = 500
BACKBONES = ("mobilenet_v2", "tiny_cnn")
DATASETS = ("digits", "mnist5k")
SETTINGS = ("auto", False)


def _data(name):
    import numpy as np

    from keras_transfer.data import load_dataset

    splits = load_dataset(name, validation_size=0.0, test_size=0.3, seed=0)
    (x, y), (tx, ty) = splits.train, splits.test
    rng = np.random.default_rng(0)
    train, test = rng.permutation(len(x))[:N_TRAIN], rng.permutation(len(tx))[:N_TEST]
    return (x[train], y[train]), (tx[test], ty[test]), splits.num_classes


def _accuracy(backbone_name, train_bn, seed, train, test, num_classes):
    import keras

    import keras_transfer as kt
    from keras_transfer.testing import register_tiny_backbone

    if backbone_name == "tiny_cnn":
        backbone_name = register_tiny_backbone()
    keras.utils.set_random_seed(seed)
    backbone = kt.backbones.get(backbone_name, weights=None, input_shape=(32, 32), trainable="full",
                                train_bn=train_bn)
    model = kt.TransferModel(backbone, kt.ClassificationHead(num_classes, dropout=0.0))
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(*train, epochs=EPOCHS, batch_size=32, verbose=0)
    return float(model.evaluate(*test, verbose=0)[1])


def run():
    results = {"seeds": list(SEEDS), "epochs": EPOCHS, "n_train": N_TRAIN, "n_test": N_TEST, "cells": {}}
    for dataset in DATASETS:
        train, test, num_classes = _data(dataset)
        for backbone_name in BACKBONES:
            for setting in SETTINGS:
                scores = [_accuracy(backbone_name, setting, seed, train, test, num_classes) for seed in SEEDS]
                key = f"{dataset}/{backbone_name}/train_bn={setting}"
                results["cells"][key] = {
                    "accuracies": scores, "mean": statistics.mean(scores), "std": statistics.stdev(scores),
                }
                print(key, results["cells"][key], flush=True)
    return results


def summary(results):
    lines = [
        "# benchmark `train_bn`: random weights, BatchNorm trained (auto) vs frozen",
        "",
        f"Test accuracy, mean ± std over seeds {results['seeds']}; {results['n_train']} training images, "
        f"{results['epochs']} epochs, Adam 1e-3, 32×32.",
        "",
        "| dataset | backbone | train_bn='auto' (trains) | train_bn=False (frozen) |",
        "|---|---|---|---|",
    ]
    cells = results["cells"]
    for dataset in DATASETS:
        for backbone_name in BACKBONES:
            row = [f"{cells[f'{dataset}/{backbone_name}/train_bn={s}']['mean']:.3f} ± "
                   f"{cells[f'{dataset}/{backbone_name}/train_bn={s}']['std']:.3f}" for s in SETTINGS]
            lines.append(f"| {dataset} | {backbone_name} | {row[0]} | {row[1]} |")
    return "\n".join(lines) + "\n"
