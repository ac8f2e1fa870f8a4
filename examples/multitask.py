"""Multi-task transfer on MNIST-5k: one backbone, three heads, partially labelled digits, learned loss weights.

Digit (10 classes, labelled on 20 % of the images, -1 elsewhere), parity and "has a closed loop" share one
ImageNet MobileNetV2 backbone (offline weights). Each head has a shift-bias layer before it, BiasInitializer sets
every output bias from the label priors, the loss weights are learned (Kendall et al.), and the digit head
trains at twice the base rate. ``fine_tune`` trains the heads, then fine-tunes the backbone.

Run: ``python examples/multitask.py`` (a few minutes on a laptop CPU).
"""

import numpy as np

import keras_transfer as kt
from keras_transfer.data import load_dataset


def main(n_epochs: int = 2, image_size: int = 48):
    splits = load_dataset("mnist5k", seed=0)
    (x, y), (vx, vy), (tx, ty) = splits.train, splits.validation, splits.test

    def tasks(digits, labelled_fraction=1.0, seed=0):
        labels = {"digit": digits, "parity": digits % 2, "loop": np.isin(digits, (0, 4, 6, 8, 9)).astype("int64")}
        hidden = np.random.default_rng(seed).uniform(size=len(digits)) >= labelled_fraction
        labels["digit"] = np.where(hidden, -1, digits)  # missing labels: -1 (NaN for regression targets)
        return labels

    train_labels = tasks(y, labelled_fraction=0.2)
    backbone = kt.backbones.get("mobilenet_v2", weights="imagenet", input_shape=(image_size, image_size))
    model = kt.MultiTaskModel(
        backbone,
        {"digit": kt.ClassificationHead(10), "parity": kt.ClassificationHead(2), "loop": kt.ClassificationHead(2)},
        loss_weighting="uncertainty",
        shift_bias={"scale": True, "lr_multiplier": 10.0},
        head_optimizers={"digit": 2.0},
    )
    history = kt.fine_tune(
        model, (x, train_labels), validation=(vx, tasks(vy)),
        head_epochs=n_epochs, fine_tune_epochs=n_epochs, unfreeze=2, lr_factor=2.6,
        callbacks=[kt.callbacks.BiasInitializer(train_labels)],
    )
    predictions = model.predict(tx, verbose=0)
    truth = tasks(ty)
    for task in model.tasks:
        accuracy = np.mean(np.argmax(predictions[task], -1) == truth[task])
        print(f"{task:>7}: test accuracy {accuracy:.3f}, loss weight {model.task_weights()[task]:.2f}")
    print("epochs:", history.epoch, "stages:", [stage["name"] for stage in history.stages])
    model.save("multitask.keras")


if __name__ == "__main__":
    main()
