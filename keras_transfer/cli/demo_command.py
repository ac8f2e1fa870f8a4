"""``keras-transfer demo``: ImageNet MobileNetV2 → Animal-MNIST at 100 labels per class, against scratch."""

import time
from pathlib import Path

__all__ = ["register", "run", "run_demo"]

DEFAULT_OUTPUT = Path(__file__).resolve().parents[2] / "saved_models" / "demo"


def run_demo(
    output_dir=DEFAULT_OUTPUT,
    n_per_class: int = 100,
    image_size: int = 64,
    head_epochs: int = 3,
    fine_tune_epochs: int = 3,
    test_size: int = 2000,
    seed: int = 0,
    verbose: int = 2,
) -> dict:
    """Train the default two-stage recipe and the same network from scratch on the same budget.

    Both models see the same ``n_per_class`` training images per class of Animal-MNIST, the same number
    of epochs and batches, and are scored on the same held-out test images. The transfer model starts from
    ImageNet MobileNetV2 weights (offline package) and runs ``fine_tune`` with its defaults (head at 1e-3,
    then everything but BatchNorm at 1e-4); the scratch model trains every layer, BatchNorm included, at 1e-3.

    Args:
        output_dir: path. Where ``model.keras`` and ``results.json`` go.
        n_per_class: int. Labelled training images per class.
        image_size: int. Resolution the backbone runs at (28×28 inputs are upscaled inside the model).
        head_epochs: int. Stage-1 epochs.
        fine_tune_epochs: int. Stage-2 epochs (the scratch model trains head_epochs + fine_tune_epochs).
        test_size: int. Test images scored (from the dataset's held-out split).
        seed: int. Seed of the subsample and of the weight initialisation.
        verbose: int. Keras ``fit`` verbosity.

    Returns:
        dict: the results written to ``results.json`` (``transfer_accuracy``, ``scratch_accuracy``,
        ``seconds`` and the settings).

    Examples:
    >>> results = keras_transfer.cli.demo_command.run_demo("/tmp/demo", n_per_class=5, image_size=32,
    ...     head_epochs=1, fine_tune_epochs=1, test_size=50, verbose=0)  # doctest: +SKIP
    """
    import keras

    from keras_transfer.backbones import get
    from keras_transfer.cli.demo_common import (
        demo_record, print_comparison, save_demo, scratch_baseline, train_transfer,
    )
    from keras_transfer.data import load_dataset

    start = time.perf_counter()
    splits = load_dataset("animal_mnist", n_per_class=n_per_class, seed=seed)
    (x, y), (vx, vy), (tx, ty) = splits.train, splits.validation, splits.test
    validation, test = (vx[:500], vy[:500]), (tx[:test_size], ty[:test_size])
    print(splits.summary())

    keras.utils.set_random_seed(seed)
    backbone = get("mobilenet_v2", weights="imagenet", input_shape=(image_size, image_size))
    print(f"backbone: mobilenet_v2, weights: {backbone.weights_source}")
    model, history, transfer_accuracy = train_transfer(
        backbone, splits.num_classes, (x, y), validation, test,
        head_epochs=head_epochs, fine_tune_epochs=fine_tune_epochs, verbose=verbose,
    )
    transfer_seconds = time.perf_counter() - start
    scratch_accuracy = scratch_baseline(
        splits.num_classes, (x, y), validation, test, image_size, head_epochs + fine_tune_epochs, seed, verbose
    )
    seconds = time.perf_counter() - start

    results = {
        "transfer_accuracy": round(transfer_accuracy, 4),
        "scratch_accuracy": round(scratch_accuracy, 4),
        "seconds": round(seconds, 1),
        "transfer_seconds": round(transfer_seconds, 1),
        **demo_record(
            "animal_mnist", splits, len(x), len(test[0]), backbone, history, n_per_class=n_per_class,
            image_size=image_size, head_epochs=head_epochs, fine_tune_epochs=fine_tune_epochs, seed=seed,
        ),
    }
    output_dir = save_demo(model, output_dir, results)
    scores = {
        "transfer (ImageNet MobileNetV2, fine_tune)": transfer_accuracy,
        "same network from scratch, same budget": scratch_accuracy,
    }
    title = f"Animal-MNIST, {n_per_class} labels per class, {len(test[0])} test images"
    print_comparison(title, scores, seconds, output_dir)
    return results


def run(args) -> int:
    # Options left unset (None) take the chosen task's own defaults.
    given = {
        key: getattr(args, key)
        for key in ("output_dir", "n_per_class", "head_epochs", "fine_tune_epochs", "test_size", "seed", "verbose")
        if getattr(args, key, None) is not None
    }
    if getattr(args, "task", "image") == "text":
        from keras_transfer.cli.text_demo import run_text_demo

        run_text_demo(**given)
        return 0
    run_demo(image_size=args.image_size, **given)
    return 0


def register(commands):
    parser = commands.add_parser(
        "demo", help="transfer vs scratch on Animal-MNIST with 100 labels per class (offline, ~4 min on 2 cores)"
    )
    parser.add_argument(
        "--task", choices=("image", "text"), default="image",
        help="image: MobileNetV2 → Animal-MNIST vs scratch; text: MiniLM → Rotten Tomatoes vs TF-IDF + LR",
    )
    parser.add_argument(
        "--output-dir", default=None,
        help=f"where model.keras and results.json go (image: {DEFAULT_OUTPUT}, text: saved_models/demo_text)",
    )
    parser.add_argument(
        "--n-per-class", type=int, default=None, help="training examples per class (image: 100, text: 500)"
    )
    parser.add_argument("--image-size", type=int, default=64, help="image task only")
    parser.add_argument("--head-epochs", type=int, default=None, help="image: 3, text: 1")
    parser.add_argument("--fine-tune-epochs", type=int, default=None, help="image: 3, text: 2")
    parser.add_argument("--test-size", type=int, default=None, help="test examples (image: 2000, text: 1000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", type=int, default=2)
    parser.set_defaults(run=run)
