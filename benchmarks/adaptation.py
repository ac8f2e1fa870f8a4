"""Adapting to a shifted target without its labels. Run: ``python -m benchmarks adaptation``.

Two shifts, each with an ImageNet MobileNetV2 (offline weights, 32x32 inputs) and a digit / animal head trained on
the labelled source with ``fine_tune``; then ``fine_tune(..., unlabeled=x_target, adapt=...)``'s adaptation stage
with no target label used for training or model selection. Two source models, side by side: fine-tuned
(``SOURCE_EPOCHS`` head epochs, then ``SOURCE_FINE_TUNE_EPOCHS`` stage-2 epochs with ``fine_tune``'s defaults:
every group unfrozen, rate 1e-4, BatchNorm frozen), the model a user of ``fine_tune`` has; and head only (the
backbone stays frozen), the source of the earlier runs of this benchmark:

- MNIST-5k (3,500 training images) -> sklearn digits (8x8 scans, upscaled by the backbone): the unlabelled target
  is the first 1,000 images of the digits training split, the test set its test split (359 images). The same source model and
  test split as ``benchmarks/multitask.py`` (source only 0.164; shift bias + head with 10 labelled target images
  per class 0.720).
- Animal-MNIST (2,000 training images) -> shifted Animal-MNIST, generated deterministically: inverted, blurred
  (3x3 binomial kernel, twice) and colour-tinted (RGB = grey * (1.0, 0.6, 0.3) + (0, 40, 80)). Unlabelled target:
  1,000 other Animal-MNIST training images, shifted; test: the 2,000 test images, shifted.

``auto``'s rule was chosen on two other, *validation* shifts (``benchmarks/adaptation_validation.py``: MNIST-5k ->
inverted, noisy, green-tinted MNIST; Animal-MNIST -> rotated, low-contrast Animal-MNIST), never on these two.

For every seed, one ``fine_tune(adapt=AutoAdaptation(keep_candidates=True))`` call trains the source model
(``SOURCE_EPOCHS`` head epochs on cached features, then the stage-2 epochs) and runs every method from that same source model with the
same budget (``ADAPT_EPOCHS`` passes over the unlabelled target, batch ``BATCH``); each candidate's adapted weights are then
evaluated on the target test split, as is the candidate ``auto`` kept. Target labels are read only for that
evaluation. Source-validation accuracy and the label-free target score come from the run's own report.
"""

import os
import statistics
import tempfile
import time

__all__ = ["run", "summary"]

SEEDS = (0, 1, 2)
IMAGE_SIZE = 32
SOURCE_EXAMPLES = 3500
ANIMAL_SOURCE_EXAMPLES = 2000
SOURCE_EPOCHS = 15
SOURCE_FINE_TUNE_EPOCHS = 5  # stage 2 of the fine-tuned source (0: head only)
ADAPT_EPOCHS = 3
BATCH = 64
ANIMAL_TARGET_UNLABELED = 1000
DIGITS_TARGET_UNLABELED = 1000
METHODS = ("source_only", "adabn", "shift_bias", "pseudo_label", "cluster_label", "dann")
TINT = ((1.0, 0.6, 0.3), (0.0, 40.0, 80.0))


def shift_animal(images):
    """Inverted, blurred (3x3 binomial kernel, twice) and colour-tinted RGB copies of grey uint8 images."""
    import numpy as np

    x = 255.0 - images[..., 0].astype("float64")
    for _ in range(2):
        padded = np.pad(x, ((0, 0), (1, 1), (1, 1)), mode="edge")
        x = (padded[:, :-2] + 2 * padded[:, 1:-1] + padded[:, 2:]) / 4
        x = (x[:, :, :-2] + 2 * x[:, :, 1:-1] + x[:, :, 2:]) / 4
    scale, offset = np.array(TINT[0]), np.array(TINT[1])
    return np.clip(x[..., None] * scale + offset, 0, 255).round().astype("uint8")


def shift_mnist(images):
    """The *validation* shift (for designing ``auto``'s rule, never a benchmark goal): inverted, Gaussian noise
    (sigma 40, seed 0) and a green tint (RGB = grey * (0.4, 1.0, 0.7) + (50, 0, 30)) of grey uint8 images."""
    import numpy as np

    x = 255.0 - images[..., 0].astype("float64") + np.random.default_rng(0).normal(0, 40, images.shape[:3])
    return np.clip(x[..., None] * np.array([0.4, 1.0, 0.7]) + np.array([50.0, 0.0, 30.0]), 0, 255).round().astype(
        "uint8")


def validation_shift():
    """MNIST-5k -> shifted MNIST-5k test images (``shift_mnist``): unlabelled target the first 500, test the
    other 500. Used only to choose ``AutoAdaptation``'s rule (``benchmarks/adaptation_validation.py``)."""
    from keras_transfer.data import load_dataset

    mnist = load_dataset("mnist5k", seed=0)
    tx, ty = mnist.test
    return {"mnist5k_to_shifted_mnist": {
        "source": (mnist.train[0][:SOURCE_EXAMPLES], mnist.train[1][:SOURCE_EXAMPLES]),
        "validation": mnist.validation, "unlabeled": shift_mnist(tx[:500]), "test": (shift_mnist(tx[500:]), ty[500:]),
    }}


def _shifts():
    import numpy as np

    from keras_transfer.data import load_dataset

    mnist, digits = load_dataset("mnist5k", seed=0), load_dataset("digits", seed=0)
    animals = load_dataset("animal_mnist", seed=0)
    ax, ay = animals.train
    rng = np.random.default_rng(0)
    order = rng.permutation(len(ax))
    source = order[:ANIMAL_SOURCE_EXAMPLES]
    target = order[ANIMAL_SOURCE_EXAMPLES:ANIMAL_SOURCE_EXAMPLES + ANIMAL_TARGET_UNLABELED]
    return {
        "mnist5k_to_digits": {
            "source": (mnist.train[0][:SOURCE_EXAMPLES], mnist.train[1][:SOURCE_EXAMPLES]),
            "validation": mnist.validation, "unlabeled": digits.train[0][:DIGITS_TARGET_UNLABELED],
            "test": digits.test,
        },
        "animal_mnist_to_shifted": {
            "source": (ax[source], ay[source]), "validation": animals.validation,
            "unlabeled": shift_animal(ax[target]), "test": (shift_animal(animals.test[0]), animals.test[1]),
        },
    }


def _accuracy(model, x, y):
    import numpy as np

    return float(np.mean(np.argmax(model.predict(x, batch_size=256, verbose=0), -1) == y))


def _run(data, seed, cache_dir, fine_tune_epochs=0):
    import keras

    import keras_transfer as kt
    from keras_transfer.adaptation import AutoAdaptation

    keras.utils.set_random_seed(seed)
    backbone = kt.backbones.get("mobilenet_v2", weights="imagenet", input_shape=(IMAGE_SIZE, IMAGE_SIZE))
    model = kt.TransferModel(backbone, kt.ClassificationHead(10, dropout=0.0))
    auto = AutoAdaptation(keep_candidates=True)
    start = time.perf_counter()
    history = kt.fine_tune(model, data["source"], validation=data["validation"], head_epochs=SOURCE_EPOCHS,
                           fine_tune_epochs=fine_tune_epochs, head_lr=1e-3, batch_size=BATCH, seed=seed, cache_dir=cache_dir,
                           unlabeled=data["unlabeled"], adapt=auto, adapt_epochs=ADAPT_EPOCHS, verbose=0)
    seconds = time.perf_counter() - start
    report = history.adaptation
    tx, ty = data["test"]
    results = {}
    for name, (weights, mode) in auto.candidate_weights.items():
        for variable, value in zip(model.weights, weights):
            variable.assign(value)
        signals = report["candidates"][name]
        results[name] = {"target_accuracy": _accuracy(model, tx, ty), "source_accuracy": signals["source_accuracy"],
                         "target_score": signals["target_score"], "target_entropy": signals["target_entropy"],
                         "reverse_accuracy": signals["reverse_accuracy"], "seconds": signals.get("seconds")}
    selected = report["selected"]
    results["auto"] = {**results[selected], "selected": selected}
    return results, seconds


def run(shifts=None, seeds=SEEDS, source_fine_tune_epochs=(SOURCE_FINE_TUNE_EPOCHS, 0)) -> dict:
    """Every method on every shift and seed, for each source model (``source_fine_tune_epochs``: its stage-2
    epochs, 0 for a head-only source). ``results["shifts"]`` holds the first source's runs, ``results["sources"]``
    all of them."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    results = {
        "settings": {
            "seeds": list(seeds), "backbone": f"mobilenet_v2 (ImageNet, offline, "
            f"{IMAGE_SIZE}x{IMAGE_SIZE})", "head": "ClassificationHead(10, dropout=0)",
            "source_fine_tune_epochs": list(source_fine_tune_epochs),
            "source_examples": {"mnist5k": SOURCE_EXAMPLES, "animal_mnist": ANIMAL_SOURCE_EXAMPLES},
            "source_epochs": SOURCE_EPOCHS, "adapt_epochs": ADAPT_EPOCHS,
            "batch_size": BATCH, "target_unlabeled": {"digits": DIGITS_TARGET_UNLABELED,
                                                      "animal_mnist": ANIMAL_TARGET_UNLABELED}, "animal_tint": TINT,
            "methods": "defaults of keras_transfer.adaptation (AdaBN(refit_head=True: source statistics, head "
                       "refitted 10 epochs, then target statistics); ShiftBiasAlignment(coral=1); "
                       "PseudoLabel(threshold=0.95, light/strong presets, distribution alignment 0.9, last "
                       "backbone group trains, every group after the fine-tuned source; backbone groups at the "
                       "stage-2 rate 1e-4); ClusterLabel(target_weight=1, rounds=2, head rate 3e-3: head only); "
                       "DANN(scale=1, likewise); AutoAdaptation() over all five)",
        },
        "sources": [],
    }
    shifts = shifts or _shifts()
    for epochs in source_fine_tune_epochs:
        source = {"fine_tune_epochs": epochs, "shifts": {}}
        results["sources"].append(source)
        for shift, data in shifts.items():
            cache_dir = tempfile.mkdtemp(prefix=f"adaptation-{shift}-")
            for seed in seeds:
                seed_results, seconds = _run(data, seed, cache_dir, epochs)
                for method, values in seed_results.items():
                    source["shifts"].setdefault(shift, {}).setdefault(method, []).append({"seed": seed, **values})
                print(f"source stage 2 {epochs} epochs, {shift} seed {seed} ({seconds:.0f} s): " + ", ".join(
                    f"{m} {v['target_accuracy']:.3f}" for m, v in seed_results.items()), flush=True)
                source["shifts"][shift].setdefault("_seconds", []).append(seconds)
    results["shifts"] = results["sources"][0]["shifts"]
    return results


def _stats(values):
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.3f} ± {std:.3f}"


def summary(results: dict) -> str:
    s = results["settings"]
    lines = [
        "# Adapting to a shifted target without its labels",
        "",
        f"{s['backbone']}, {s['head']}; source labelled images: {s['source_examples']}, {s['source_epochs']} head "
        f"epochs (then the stage-2 epochs named in each section); unlabelled target images: {s.get('target_unlabeled', s.get('animal_target_unlabeled'))}; "
        f"adaptation: {s['adapt_epochs']} passes over the unlabelled target at batch {s['batch_size']}; seeds {s['seeds']} "
        "(mean ± std). No target label is used for training or selection; target accuracy is on the target "
        "test split. Methods: " + s["methods"] + ".",
        "",
    ]
    sources = results.get("sources") or [{"fine_tune_epochs": 0, "shifts": results["shifts"]}]
    for source, shift, methods in [(src, k, v) for src in sources for k, v in src["shifts"].items()]:
        base = statistics.mean(r["target_accuracy"] for r in methods["source_only"])
        kind = (f"fine-tuned source ({source['fine_tune_epochs']} stage-2 epochs, every group unfrozen)"
                if source["fine_tune_epochs"] else "head-only source (frozen backbone)")
        lines += [f"## {shift}, {kind}", "", "| method | target test acc | vs source only (points) | source val acc | "
                  "target score (label-free) | reverse validation (label-free) |", "|---|---|---|---|---|---|"]
        for method, runs in methods.items():
            if method.startswith("_"):
                continue
            mean = statistics.mean(r["target_accuracy"] for r in runs)
            picked = f" (kept: {', '.join(r['selected'] for r in runs)})" if method == "auto" else ""
            lines.append(f"| {method}{picked} | {_stats([r['target_accuracy'] for r in runs])} | "
                         f"{100 * (mean - base):+.1f} | {_stats([r['source_accuracy'] for r in runs])} | "
                         f"{_stats([r['target_score'] for r in runs])} | "
                         f"{_stats([r['reverse_accuracy'] for r in runs])} |")
        lines += ["", f"Seconds per seed (source training + every method): "
                  f"{statistics.mean(methods['_seconds']):.0f}.", ""]
    return "\n".join(lines) + "\n"
