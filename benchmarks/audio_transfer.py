"""Audio transfer on synthetic signals: pretrain ``audio_cnn`` on tones, transfer to chirps vs noise.

Source task: 4 pitches (``synthetic_audio("tones")``), trained from scratch. Target task: rising sweep /
falling sweep / band noise (``synthetic_audio("chirps")``) with few clips per class. Three models with the
same target budget, scored on the same held-out clips: the transferred backbone through ``fine_tune`` (head,
then unfreeze), the same recipe on a randomly initialised backbone, and the network trained from scratch
(BatchNorm included) for the same number of epochs.
"""

import tempfile
import time

__all__ = ["run", "summary"]


def _accuracy(model, x, y):
    import numpy as np

    probabilities = model.predict(x, batch_size=64, verbose=0)
    return float(np.mean(np.argmax(probabilities, axis=1) == y))


def run(source_per_class: int = 40, target_per_class: int = 5, epochs: int = 6, source_epochs: int = 15,
        seed: int = 0) -> dict:
    import os

    import keras

    import keras_transfer as kt
    from keras_transfer.data import synthetic_audio

    start = time.perf_counter()
    source = synthetic_audio("tones", n_per_class=source_per_class, duration=0.5, test_size=0.25, seed=seed)
    target = synthetic_audio("chirps", n_per_class=target_per_class, duration=0.5, test_size=0, seed=seed + 1)
    held_out = synthetic_audio("chirps", n_per_class=40, duration=0.5, test_size=0, seed=seed + 2)
    (tx, ty), (ex, ey) = target.train, held_out.train

    keras.utils.set_random_seed(seed)
    pretrained = kt.backbones.get("audio_cnn", weights=None, trainable="full", train_bn=True)
    source_model = kt.TransferModel(pretrained, kt.ClassificationHead(source.num_classes))
    kt.fine_tune(source_model, source.train, head_epochs=0, fine_tune_epochs=source_epochs, fine_tune_lr=3e-3,
                 train_bn=True, batch_size=16, verbose=0)
    source_accuracy = _accuracy(source_model, *source.test)
    weights = os.path.join(tempfile.mkdtemp(), "tones.weights.h5")
    pretrained.network.save_weights(weights)

    results = {"source_accuracy": round(source_accuracy, 4)}
    for name, backbone_weights in (("transfer", weights), ("random_backbone", None)):
        keras.utils.set_random_seed(seed)
        backbone = kt.backbones.get("audio_cnn", weights=backbone_weights)
        model = kt.TransferModel(backbone, kt.ClassificationHead(target.num_classes))
        kt.fine_tune(model, (tx, ty), head_epochs=epochs // 2, fine_tune_epochs=epochs - epochs // 2,
                     head_lr=3e-3, batch_size=8, verbose=0)
        results[f"{name}_accuracy"] = round(_accuracy(model, ex, ey), 4)
    keras.utils.set_random_seed(seed)
    scratch = kt.TransferModel(kt.backbones.get("audio_cnn", weights=None, trainable="full", train_bn=True),
                               kt.ClassificationHead(target.num_classes))
    scratch.compile(optimizer=keras.optimizers.Adam(3e-3))
    scratch.fit(tx, ty, batch_size=8, epochs=epochs, verbose=0)
    results["scratch_accuracy"] = round(_accuracy(scratch, ex, ey), 4)
    results.update(
        source_train=int(len(source.train[1])), target_train=int(len(ty)), target_test=int(len(ey)),
        epochs=epochs, source_epochs=source_epochs, seed=seed, seconds=round(time.perf_counter() - start, 1),
    )
    return results


def summary(results: dict) -> str:
    return "\n".join([
        "# Audio transfer on synthetic signals (tones → chirps / noise)",
        "",
        f"Source: {results['source_train']} tone clips, {results['source_epochs']} epochs, held-out accuracy "
        f"{results['source_accuracy']:.3f}. "
        f"Target: {results['target_train']} training clips, {results['target_test']} test clips, "
        f"{results['epochs']} epochs each.",
        "",
        "| target model | accuracy |",
        "|---|---|",
        f"| audio_cnn pretrained on tones, fine_tune | {results['transfer_accuracy']:.3f} |",
        f"| random audio_cnn, same fine_tune recipe | {results['random_backbone_accuracy']:.3f} |",
        f"| scratch (all layers, BatchNorm training) | {results['scratch_accuracy']:.3f} |",
        "",
        f"Total {results['seconds']:.0f} s (`python -m benchmarks audio_transfer`).",
    ])
