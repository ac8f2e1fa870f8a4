"""The validation shift of the adaptation benchmark. Run: ``python -m benchmarks adaptation_validation``.

MNIST-5k -> MNIST-5k test images inverted, noisy and green-tinted (``benchmarks.adaptation.shift_mnist``), one
seed, every method from the same source model as ``benchmarks/adaptation.py``, then ``ClusterLabel``'s head rate
(1e-3, 3e-3, 1e-2) and its AdaBN start. Its target labels are used to choose the rule of ``adapt="auto"`` (which
label-free signals to trust, with which thresholds) and ``ClusterLabel``'s default rate before the benchmark's own
shifts are measured; those never inform a choice.
"""

__all__ = ["run", "summary"]

RATES = (1e-3, 3e-3, 1e-2)


def _cluster_variants(data, seed=0):
    import tempfile

    import keras
    import numpy as np

    import keras_transfer as kt
    from benchmarks.adaptation import BATCH, IMAGE_SIZE, SOURCE_EPOCHS, ADAPT_EPOCHS
    from keras_transfer.adaptation import AutoAdaptation, ClusterLabel

    variants = []
    for rate in RATES:
        variants.append(ClusterLabel(learning_rate=rate))
        variants[-1].name = f"cluster_label lr={rate:g}"
    variants.append(ClusterLabel(adabn=True))
    variants[-1].name = "cluster_label adabn=True"
    keras.utils.set_random_seed(seed)
    backbone = kt.backbones.get("mobilenet_v2", weights="imagenet", input_shape=(IMAGE_SIZE, IMAGE_SIZE))
    model = kt.TransferModel(backbone, kt.ClassificationHead(10, dropout=0.0))
    auto = AutoAdaptation(candidates=variants, keep_candidates=True)
    history = kt.fine_tune(model, data["source"], validation=data["validation"], head_epochs=SOURCE_EPOCHS,
                           fine_tune_epochs=0, head_lr=1e-3, batch_size=BATCH, seed=seed,
                           cache_dir=tempfile.mkdtemp(), unlabeled=data["unlabeled"], adapt=auto,
                           adapt_epochs=ADAPT_EPOCHS, verbose=0)
    tx, ty = data["test"]
    rows = {}
    for name, (weights, _) in auto.candidate_weights.items():
        for variable, value in zip(model.weights, weights):
            variable.assign(value)
        signals = history.adaptation["candidates"][name]
        rows[name] = {"target_accuracy": float(np.mean(np.argmax(model.predict(tx, batch_size=256, verbose=0), -1)
                                                       == ty)), "source_accuracy": signals["source_accuracy"]}
    return rows


def run() -> dict:
    from benchmarks.adaptation import run as run_shifts
    from benchmarks.adaptation import validation_shift

    shifts = validation_shift()
    results = run_shifts(shifts, seeds=(0,))
    results["cluster_label_variants"] = _cluster_variants(next(iter(shifts.values())))
    return results


def summary(results: dict) -> str:
    from benchmarks.adaptation import summary as shifts_summary

    text = shifts_summary(results).replace("# Adapting to a shifted target without its labels",
                                           "# Adaptation: the validation shift (for auto's rule only)", 1)
    variants = results.get("cluster_label_variants")
    if variants:
        text += ("\n## ClusterLabel variants (seed 0, same source model)\n\n| variant | target test acc | "
                 "source val acc |\n|---|---|---|\n")
        text += "".join(f"| {name} | {v['target_accuracy']:.3f} | {v['source_accuracy']:.3f} |\n"
                        for name, v in variants.items())
    return text
