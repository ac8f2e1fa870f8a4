"""Transfer recipes on Animal-MNIST (100 labels per class) from ImageNet MobileNetV2: accuracy and wall time.

Three recipes, 3 seeds each, same data, epochs and batches: fixed two-stage LRs (head 1e-3, then everything
but BatchNorm at 1e-4), ``lr="auto"`` (LR finder, per-group ramp, warmup, plateau reduction), and
``lr="auto"`` + discriminative rates (factor 2.6) + gradual unfreezing. Run: ``python -m benchmarks recipes``.
"""

import os
import statistics
import time

__all__ = ["RECIPES", "run", "summary"]

N_PER_CLASS = 100
IMAGE_SIZE = 64
HEAD_EPOCHS = 2
FINE_TUNE_EPOCHS = 2
SEEDS = (0, 1, 2)
TEST_SIZE = 1000
RECIPES = {
    "fixed": {"lr": "fixed"},
    "auto": {"lr": "auto"},
    "auto_discriminative_gradual": {"lr": "auto", "lr_factor": 2.6, "unfreeze": "gradual"},
}


def _run_one(recipe, seed, splits):
    import keras

    import keras_transfer as kt

    (x, y), (vx, vy), (tx, ty) = splits.train, splits.validation, splits.test
    keras.utils.set_random_seed(seed)
    backbone = kt.backbones.get("mobilenet_v2", weights="imagenet", input_shape=(IMAGE_SIZE, IMAGE_SIZE))
    model = kt.TransferModel(backbone, kt.ClassificationHead(splits.num_classes))
    start = time.perf_counter()
    history = kt.fine_tune(
        model, (x, y), validation=(vx[:200], vy[:200]), head_epochs=HEAD_EPOCHS, fine_tune_epochs=FINE_TUNE_EPOCHS,
        verbose=0, **RECIPES[recipe],
    )
    seconds = time.perf_counter() - start
    accuracy = float(model.evaluate(tx[:TEST_SIZE], ty[:TEST_SIZE], batch_size=128, verbose=0, return_dict=True)["accuracy"])
    return {"accuracy": accuracy, "seconds": seconds, "stages": history.stages}


def run() -> dict:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from keras_transfer.data import load_dataset

    results = {"settings": {"n_per_class": N_PER_CLASS, "image_size": IMAGE_SIZE, "head_epochs": HEAD_EPOCHS,
                            "fine_tune_epochs": FINE_TUNE_EPOCHS, "seeds": list(SEEDS), "test_size": TEST_SIZE,
                            "backbone": "mobilenet_v2 (ImageNet, offline torchvision weights)",
                            "dataset": "animal_mnist"}, "recipes": {}}
    for seed in SEEDS:
        splits = load_dataset("animal_mnist", n_per_class=N_PER_CLASS, seed=seed)
        for recipe in RECIPES:
            run_result = _run_one(recipe, seed, splits)
            results["recipes"].setdefault(recipe, []).append({"seed": seed, **run_result})
            print(f"{recipe} seed {seed}: accuracy {run_result['accuracy']:.4f}, {run_result['seconds']:.0f} s", flush=True)
    for recipe, runs in results["recipes"].items():
        accuracies = [r["accuracy"] for r in runs]
        results[f"{recipe}_accuracy_mean"] = statistics.mean(accuracies)
        results[f"{recipe}_accuracy_std"] = statistics.stdev(accuracies) if len(accuracies) > 1 else 0.0
        results[f"{recipe}_seconds_mean"] = statistics.mean(r["seconds"] for r in runs)
    return results


def summary(results) -> str:
    s = results["settings"]
    lines = [
        f"# Recipes: Animal-MNIST, {s['n_per_class']} labels/class, ImageNet MobileNetV2 at {s['image_size']}x"
        f"{s['image_size']}, {s['head_epochs']}+{s['fine_tune_epochs']} epochs, {len(s['seeds'])} seeds, "
        f"{s['test_size']} test images",
        "",
        "| recipe | test accuracy (mean ± std) | wall time per run (s) |",
        "|---|---|---|",
    ]
    for recipe in RECIPES:
        if f"{recipe}_accuracy_mean" in results:
            lines.append(
                f"| `{recipe}` | {results[f'{recipe}_accuracy_mean']:.3f} ± {results[f'{recipe}_accuracy_std']:.3f} "
                f"| {results[f'{recipe}_seconds_mean']:.0f} |"
            )
    return "\n".join(lines) + "\n"
