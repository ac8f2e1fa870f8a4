"""The validation shifts of the adaptation benchmark. Run: ``python -m benchmarks adaptation_validation``.

Two shifts that are not the benchmark's, 3 seeds, every method from the same source model as
``benchmarks/adaptation.py`` (same backbone, head, sizes and budgets):

- MNIST-5k -> MNIST-5k test images inverted, noisy and green-tinted (``benchmarks.adaptation.shift_mnist``):
  unlabelled target the first 500 test images, test the other 500.
- Animal-MNIST -> Animal-MNIST training images rotated by 30 degrees and contrast-reduced (``shift_rotate``;
  grey = 0.35 * grey + 90), images the benchmark never uses: source the benchmark's 2,000 source images,
  unlabelled target 500 other training images, test 500 more.

Their target labels are used to choose the rule of ``adapt="auto"`` (which label-free signals to trust, with
which thresholds; ``keras_transfer.adaptation.auto.select``) before the benchmark's own shifts are measured;
those never inform a choice. Every candidate's label-free signals are recorded per seed, so a rule can be
replayed on them (``replay``). An earlier one-seed run also compared ClusterLabel's head rates (commit 48dc764).
"""

__all__ = ["replay", "run", "shift_rotate", "summary", "validation_shifts"]

SEEDS = (0, 1, 2)
ROTATION = 30.0
CONTRAST = (0.35, 90.0)


def shift_rotate(images):
    """Grey uint8 images rotated by ``ROTATION`` degrees (bilinear, edges filled with the border value) and
    contrast-reduced (``grey * 0.35 + 90``)."""
    import numpy as np
    from scipy import ndimage

    x = ndimage.rotate(images.astype("float64"), ROTATION, axes=(1, 2), reshape=False, order=1, mode="nearest")
    return np.clip(x * CONTRAST[0] + CONTRAST[1], 0, 255).round().astype("uint8")


def validation_shifts():
    """Both validation shifts as ``{name: {"source", "validation", "unlabeled", "test"}}``."""
    import numpy as np

    from benchmarks.adaptation import ANIMAL_SOURCE_EXAMPLES, validation_shift
    from keras_transfer.data import load_dataset

    shifts = validation_shift()
    animals = load_dataset("animal_mnist", seed=0)
    ax, ay = animals.train
    order = np.random.default_rng(0).permutation(len(ax))  # the benchmark's order: its target is [2000:3000]
    source, target, test = order[:ANIMAL_SOURCE_EXAMPLES], order[4000:4500], order[4500:5000]
    shifts["animal_mnist_to_rotated_low_contrast"] = {
        "source": (ax[source], ay[source]), "validation": animals.validation,
        "unlabeled": shift_rotate(ax[target]), "test": (shift_rotate(ax[test]), ay[test]),
    }
    return shifts


def run() -> dict:
    import json

    from benchmarks.adaptation import run as run_shifts
    from benchmarks.harness import RESULTS_DIR

    results = None
    for name, data in validation_shifts().items():
        part = run_shifts({name: data}, seeds=SEEDS, source_fine_tune_epochs=(0,))  # head-only source, as when the rule was chosen
        if results is None:
            results = part
        else:
            results["shifts"].update(part["shifts"])
        (RESULTS_DIR / "adaptation_validation.partial.json").write_text(json.dumps(results, default=float))
    results["settings"]["validation_shifts"] = (
        f"mnist5k_to_shifted_mnist: benchmarks.adaptation.shift_mnist; animal_mnist_to_rotated_low_contrast: "
        f"rotated {ROTATION:g} degrees, grey * {CONTRAST[0]} + {CONTRAST[1]:g} (500 unlabelled, 500 test)")
    return results


def replay(results: dict, rule) -> dict:
    """``{shift: [(seed, kept, target accuracy - source only's), ...]}`` for ``rule(signals) -> name`` applied
    to each seed's recorded label-free signals (``rule`` never sees a target accuracy)."""
    out = {}
    for shift, methods in results["shifts"].items():
        names = [m for m in methods if not m.startswith("_") and m != "auto"]
        for i, seed_row in enumerate(methods["source_only"]):
            signals = {m: {k: v for k, v in methods[m][i].items() if k != "target_accuracy"} for m in names}
            kept = rule(signals)
            out.setdefault(shift, []).append(
                (seed_row["seed"], kept, methods[kept][i]["target_accuracy"] - seed_row["target_accuracy"]))
    return out


def summary(results: dict) -> str:
    from benchmarks.adaptation import summary as shifts_summary

    text = shifts_summary(results).replace("# Adapting to a shifted target without its labels",
                                           "# Adaptation: the validation shifts (for auto's rule only)", 1)
    if "validation_shifts" in results["settings"]:
        text += f"\nValidation shifts: {results['settings']['validation_shifts']}.\n"
    text += ("\nThe `auto` rows above are the rule in force when this ran (the highest reverse validation among "
             "candidates within 2 source points whose target score did not fall). The current rule "
             "(`keras_transfer.adaptation.auto.select` with `AutoAdaptation`'s defaults), replayed on the same "
             "recorded label-free signals:\n\n| shift | kept per seed | points over source only per seed | mean |\n"
             "|---|---|---|---|\n")
    for shift, rows in replay(results, _current_rule).items():
        gains = [100 * gain for _, _, gain in rows]
        text += (f"| {shift} | {', '.join(kept for _, kept, _ in rows)} | "
                 f"{', '.join(f'{g:+.1f}' for g in gains)} | {sum(gains) / len(gains):+.1f} |\n")
    return text


def _current_rule(signals):
    from keras_transfer.adaptation import AutoAdaptation
    from keras_transfer.adaptation.auto import select

    auto = AutoAdaptation()
    return select(signals, auto.source_tolerance, auto.margin)
