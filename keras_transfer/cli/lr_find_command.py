"""``keras-transfer lr-find``: run the LR range test for a backbone's head on a dataset and plot it."""

import json
from pathlib import Path

__all__ = ["register", "run", "run_lr_find"]


def run_lr_find(
    backbone: str = "mobilenet_v2",
    dataset: str = "animal_mnist",
    n_per_class: int = 100,
    image_size: int = 64,
    weights="imagenet",
    stage: str = "head",
    steps: int = 100,
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    batch_size: int = 32,
    plot=None,
    output=None,
    seed: int = 0,
) -> dict:
    """Sweep the learning rate of a fresh transfer model on an offline dataset.

    Args:
        backbone: str. Registry name.
        dataset: str. ``keras_transfer.data.load_dataset`` name.
        n_per_class: int. Training images per class.
        image_size: int. Backbone resolution.
        weights: ``"imagenet"`` or None.
        stage: ``"head"`` (frozen backbone) or ``"fine_tune"`` (everything but BatchNorm trainable).
        steps, start_lr, end_lr, batch_size: the sweep (``keras_transfer.lr_find``).
        plot: path of a PNG to write, or None.
        output: path of a JSON file with the sweep, or None.
        seed: int.

    Returns:
        dict: ``LRFinderResult.to_dict()``.

    Examples:
    >>> keras_transfer.cli.lr_find_command.run_lr_find(n_per_class=10, image_size=32, steps=20)  # doctest: +SKIP
    """
    import keras

    import keras_transfer as kt
    from keras_transfer.data import load_dataset

    splits = load_dataset(dataset, n_per_class=n_per_class, seed=seed)
    keras.utils.set_random_seed(seed)
    model = kt.TransferModel(
        kt.backbones.get(backbone, weights=weights, input_shape=(image_size, image_size),
                         trainable="frozen" if stage == "head" else "full"),
        kt.ClassificationHead(splits.num_classes),
    )
    model.compile(optimizer="adam")
    result = kt.lr_find(model, splits.train, start_lr=start_lr, end_lr=end_lr, steps=steps, batch_size=batch_size)
    summary = result.to_dict()
    print(f"LR sweep over {len(result.lrs)} steps ({'stopped at divergence' if result.stopped_early else 'full range'}):")
    for name, rate in result.suggestions.items():
        print(f"  {name:9s} {rate:.3g}")
    print(f"suggestion (valley): {result.suggestion:.3g}")
    if plot:
        print(f"plot: {result.plot(plot)}")
    if output:
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        Path(output).write_text(json.dumps(summary, indent=2))
        print(f"sweep: {output}")
    return summary


def run(args) -> int:
    run_lr_find(
        backbone=args.backbone, dataset=args.dataset, n_per_class=args.n_per_class, image_size=args.image_size,
        weights=None if args.weights == "none" else args.weights, stage=args.stage, steps=args.steps,
        start_lr=args.start_lr, end_lr=args.end_lr, batch_size=args.batch_size, plot=args.plot, output=args.output,
        seed=args.seed,
    )
    return 0


def register(commands):
    parser = commands.add_parser("lr-find", help="LR range test: sweep the learning rate, suggest one, plot it")
    parser.add_argument("--backbone", default="mobilenet_v2")
    parser.add_argument("--dataset", default="animal_mnist", help="offline dataset (animal_mnist, mnist5k, digits)")
    parser.add_argument("--n-per-class", type=int, default=100)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--weights", default="imagenet", help="'imagenet' or 'none'")
    parser.add_argument("--stage", choices=("head", "fine_tune"), default="head")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--start-lr", type=float, default=1e-7)
    parser.add_argument("--end-lr", type=float, default=10.0)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--plot", default=None, help="PNG file to write")
    parser.add_argument("--output", default=None, help="JSON file with the sweep")
    parser.add_argument("--seed", type=int, default=0)
    parser.set_defaults(run=run)
