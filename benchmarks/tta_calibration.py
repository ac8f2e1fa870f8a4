"""Test-time augmentation on / off and temperature scaling before / after, side by side in one run.

For each dataset and seed one ImageNet MobileNetV2 (offline torchvision weights) is fine-tuned with
``kt.fine_tune`` (``HEAD_EPOCHS`` head + ``FINE_TUNE_EPOCHS`` fine-tune epochs, the demo's recipe) with the
``"light"`` augmentation preset inside the model, then scored on the held-out test images:

- **TTA:** ``kt.predict(model, x)`` vs ``kt.predict(model, x, tta=TTA)`` (``TTA`` seeded views of the model's own
  ``light`` preset, blended 50 / 50 with the plain prediction): accuracy, balanced accuracy and macro-F1;
- **calibration:** ``kt.calibrate(model, validation)`` fits the temperature on the validation split; test ECE
  (15 equal-width bins, confidence = top probability), test NLL and accuracy before and after. Two rows per
  dataset: the **default recipe** (the model above), and the same model **trained on** with ``OVERFIT_EPOCHS``
  more fine-tune epochs (a second ``kt.fine_tune`` call, ``head_epochs=0``: the whole backbone unfrozen at the
  default fine-tune rate, the same training images and in-model augmentation) to make it fit its training set
  and become over-confident, the case temperature scaling is for (Guo et al., 2017). Its training accuracy is
  reported: the issue's goal (ECE ≥ 50 % lower, accuracy unchanged) is about that row where it does fit.

Datasets (sizes chosen to fit ≤ 20 min on a shared 2-core CPU):

- ``animal_mnist`` (the demo task): 100 labels / class (1,000 training images), 28×28 grey upscaled to 64×64
  inside the backbone; validation: the 1,000-image split; test: the whole 2,000-image split (the ECE estimate has
  a sampling floor that shrinks with the test size: the first run used 500 images);
- ``elpv`` (real solar-cell photos, 4 classes, imbalanced): 70 labels / class (280 training images; the rarest
  class has 74 in its training split), 300×300 grey resized to ``ELPV_SIZE`` before training; validation: the
  262-image split; test: the whole 525-image split (all elpv has).

Run: ``python -m benchmarks tta_calibration``.
"""

import statistics
import time

__all__ = ["run", "summary"]

SEEDS = (0, 1, 2)
HEAD_EPOCHS = 3
FINE_TUNE_EPOCHS = 3
TTA = 8
OVERFIT_EPOCHS = 10
PREDICT_BATCH = 250  # kt.predict runs the model eagerly per batch: large batches keep TTA affordable on a CPU
ELPV_SIZE = 96
DATASETS = {
    "animal_mnist": {"n_per_class": 100, "input_shape": (64, 64), "resize": None},
    "elpv": {"n_per_class": 70, "input_shape": (ELPV_SIZE, ELPV_SIZE), "resize": ELPV_SIZE},
}
CALIBRATION = ("ece", "ece_calibrated", "nll", "nll_calibrated", "accuracy_calibrated", "temperature",
               "train_accuracy")
METRICS = ("accuracy", "accuracy_tta", "balanced_accuracy", "balanced_accuracy_tta", "macro_f1", "macro_f1_tta",
           *CALIBRATION, *(f"overfit_{m}" for m in ("accuracy", *CALIBRATION)))


def _resize(x, size):
    import numpy as np
    import tensorflow as tf

    out = [tf.image.resize(x[i: i + 256], (size, size), method="bilinear").numpy() for i in range(0, len(x), 256)]
    return np.clip(np.round(np.concatenate(out)), 0, 255).astype("uint8")


def _data(name, seed):
    from keras_transfer.data import load_dataset

    settings = DATASETS[name]
    splits = load_dataset(name, n_per_class=settings["n_per_class"], seed=seed)
    (x, y), (vx, vy), (tx, ty) = splits.train, splits.validation, splits.test
    if settings["resize"]:
        x, vx, tx = (_resize(a, settings["resize"]) for a in (x, vx, tx))
    return (x, y), (vx, vy), (tx, ty), splits.num_classes


def _nll(probabilities, labels):
    import numpy as np

    return float(-np.mean(np.log(np.clip(probabilities[np.arange(len(labels)), labels], 1e-30, 1.0))))


def _one(name, seed):
    import keras
    import numpy as np

    import keras_transfer as kt
    from keras_transfer.evaluation import balanced_accuracy, expected_calibration_error, macro_f1

    train, validation, (tx, ty), num_classes = _data(name, seed)
    keras.utils.set_random_seed(seed)
    backbone = kt.backbones.get("mobilenet_v2", weights="imagenet", input_shape=DATASETS[name]["input_shape"])
    model = kt.TransferModel(backbone, kt.ClassificationHead(num_classes),
                             augmentation=kt.augmentation.get("light", seed=seed))
    start = time.perf_counter()
    kt.fine_tune(model, train, validation=validation, head_epochs=HEAD_EPOCHS, fine_tune_epochs=FINE_TUNE_EPOCHS,
                 seed=seed, verbose=0)
    train_seconds = time.perf_counter() - start
    plain = kt.predict(model, tx, batch_size=PREDICT_BATCH)
    start = time.perf_counter()
    tta = kt.predict(model, tx, tta=TTA, seed=seed, batch_size=PREDICT_BATCH)
    tta_seconds = time.perf_counter() - start
    result = {
        "accuracy": float(np.mean(plain.argmax(1) == ty)),
        "accuracy_tta": float(np.mean(tta.argmax(1) == ty)),
        "balanced_accuracy": balanced_accuracy(plain, ty),
        "balanced_accuracy_tta": balanced_accuracy(tta, ty),
        "macro_f1": macro_f1(plain, ty),
        "macro_f1_tta": macro_f1(tta, ty),
        **_calibration(model, train, validation, (tx, ty), plain),
        "train_seconds": round(train_seconds, 1),
        "tta_seconds": round(tta_seconds, 1),
        "n_train": int(len(train[1])),
        "n_validation": int(len(validation[1])),
        "n_test": int(len(ty)),
    }
    model.calibration.temperature = None  # train on without the fitted temperature (fine_tune recompiles)
    start = time.perf_counter()
    kt.fine_tune(model, train, validation=validation, head_epochs=0, fine_tune_epochs=OVERFIT_EPOCHS, seed=seed,
                 verbose=0)
    result["overfit_train_seconds"] = round(time.perf_counter() - start, 1)
    plain = kt.predict(model, tx, batch_size=PREDICT_BATCH)
    result["overfit_accuracy"] = float(np.mean(plain.argmax(1) == ty))
    result.update({f"overfit_{key}": value for key, value in
                   _calibration(model, train, validation, (tx, ty), plain).items()})
    print(name, seed, {k: round(v, 4) if isinstance(v, float) else v for k, v in result.items()}, flush=True)
    return result


def _calibration(model, train, validation, test, plain):
    """``kt.calibrate`` on the validation split; test ECE / NLL / accuracy before (``plain``) and after."""
    import numpy as np

    import keras_transfer as kt
    from keras_transfer.evaluation import expected_calibration_error

    (x, y), (tx, ty) = train, test
    train_accuracy = float(np.mean(kt.predict(model, x, batch_size=PREDICT_BATCH).argmax(1) == y))
    calibration = kt.calibrate(model, validation)
    calibrated = kt.predict(model, tx, batch_size=PREDICT_BATCH)
    return {
        "ece": expected_calibration_error(plain, ty),
        "ece_calibrated": expected_calibration_error(calibrated, ty),
        "nll": _nll(plain, ty),
        "nll_calibrated": _nll(calibrated, ty),
        "accuracy_calibrated": float(np.mean(calibrated.argmax(1) == ty)),
        "temperature": calibration.temperature,
        "train_accuracy": train_accuracy,
    }


def _stats(values):
    return {"mean": statistics.mean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0,
            "values": values}


def run():
    runs = {name: [_one(name, seed) for seed in SEEDS] for name in DATASETS}
    cells = {name: {metric: _stats([r[metric] for r in results]) for metric in METRICS}
             for name, results in runs.items()}
    for name, results in runs.items():
        cells[name]["ece_reduction"] = _stats([1 - r["ece_calibrated"] / r["ece"] for r in results])
        cells[name]["overfit_ece_reduction"] = _stats([1 - r["overfit_ece_calibrated"] / r["overfit_ece"]
                                                       for r in results])
        cells[name]["tta_gain"] = _stats([r["accuracy_tta"] - r["accuracy"] for r in results])
    sizes = {name: {key: runs[name][0][key] for key in ("n_train", "n_validation", "n_test")} for name in runs}
    return {"seeds": list(SEEDS), "head_epochs": HEAD_EPOCHS, "fine_tune_epochs": FINE_TUNE_EPOCHS, "tta": TTA,
            "overfit_epochs": OVERFIT_EPOCHS,
            "datasets": {name: dict(DATASETS[name], **sizes[name]) for name in DATASETS}, "cells": cells,
            "runs": runs}


def summary(results):
    def cell(name, metric, digits=3):
        value = results["cells"][name][metric]
        return f"{value['mean']:.{digits}f} ± {value['std']:.{digits}f}"

    lines = [
        "# benchmark `tta_calibration`: test-time augmentation and temperature scaling",
        "",
        f"ImageNet MobileNetV2 + `kt.fine_tune` ({results['head_epochs']} head + {results['fine_tune_epochs']} "
        f"fine-tune epochs, `light` augmentation in the model); mean ± std over seeds {results['seeds']}. "
        f"TTA: `kt.predict(model, x, tta={results['tta']})` (seeded views of the model's own preset, blended 50/50 "
        "with the plain prediction). Calibration: `kt.calibrate(model, validation)`; ECE with 15 bins on the test "
        "split.",
        "",
        "| dataset (train / val / test, input) | accuracy | accuracy, TTA | balanced acc. | balanced acc., TTA "
        "| macro-F1 | macro-F1, TTA |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, settings in results["datasets"].items():
        size = "×".join(str(s) for s in settings["input_shape"])
        label = f"{name} ({settings['n_train']} / {settings['n_validation']} / {settings['n_test']}, {size})"
        lines.append(f"| {label} | {cell(name, 'accuracy')} | {cell(name, 'accuracy_tta')} | "
                     f"{cell(name, 'balanced_accuracy')} | {cell(name, 'balanced_accuracy_tta')} | "
                     f"{cell(name, 'macro_f1')} | {cell(name, 'macro_f1_tta')} |")
    lines += [
        "",
        "| dataset, model | training accuracy | ECE | ECE, calibrated | ECE reduction | NLL | NLL, calibrated "
        "| temperature | test accuracy → calibrated |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name in results["datasets"]:
        for prefix, label in (("", f"default recipe ({results['head_epochs']} + {results['fine_tune_epochs']} "
                                   "epochs)"),
                              ("overfit_", f"trained on (+{results['overfit_epochs']} fine-tune epochs)")):
            reduction = results["cells"][name][f"{prefix}ece_reduction"]
            lines.append(
                f"| {name}, {label} | {cell(name, prefix + 'train_accuracy')} | {cell(name, prefix + 'ece', 4)} | "
                f"{cell(name, prefix + 'ece_calibrated', 4)} | {100 * reduction['mean']:.0f} ± "
                f"{100 * reduction['std']:.0f} % | {cell(name, prefix + 'nll')} | "
                f"{cell(name, prefix + 'nll_calibrated')} | {cell(name, prefix + 'temperature', 2)} | "
                f"{cell(name, prefix + 'accuracy')} → {cell(name, prefix + 'accuracy_calibrated')} |")
    lines += ["", "The goal (≥ 50 % lower ECE, accuracy unchanged) is about an over-confident model, one that fits "
              "its training set (training accuracy ≥ 0.95 here) with a fitted temperature > 1:"]
    for name in results["datasets"]:
        cells = results["cells"][name]
        fits = cells["overfit_train_accuracy"]["mean"] >= 0.95 and cells["overfit_temperature"]["mean"] > 1
        reduction = cells["overfit_ece_reduction"]
        per_seed = ", ".join(f"{100 * v:.0f}" for v in reduction["values"])
        verdict = (f"{'met' if reduction['mean'] >= 0.5 else 'missed'} on the mean ({100 * reduction['mean']:.0f} ± "
                   f"{100 * reduction['std']:.0f} % lower ECE; per seed {per_seed} %)" if fits else
                   "not that case: the model trained on does not fit its training set (training accuracy "
                   f"{cells['overfit_train_accuracy']['mean']:.3f}), so the row does not test the goal")
        lines.append(f"- {name}, trained on: {verdict}.")
    if "benchmark_seconds" in results:
        lines += ["", f"Wall time: {results['benchmark_seconds']:.0f} s (2 CPU cores shared with other jobs)."]
    return "\n".join(lines) + "\n"
