"""The steps both ``keras-transfer demo`` tasks share: fine-tune a transfer model, score it, save and report.

Imported only when a demo runs (``demo_command.run``), so it may load TensorFlow at import time.
"""

from pathlib import Path

import keras

from keras_transfer.atomic import write_json
from keras_transfer.backbones import get
from keras_transfer.heads import ClassificationHead
from keras_transfer.models import TransferModel
from keras_transfer.training import fine_tune

__all__ = ["demo_record", "print_comparison", "save_demo", "scratch_baseline", "test_accuracy", "train_transfer"]


def test_accuracy(model, x, y) -> float:
    """A compiled classifier's accuracy on ``(x, y)``, evaluated silently in batches of 128.

    Args:
        model: keras.Model. Compiled with an ``accuracy`` metric.
        x: array-like. Inputs.
        y: array-like. Integer labels.

    Returns:
        float: the accuracy.

    Examples:
    >>> from keras_transfer.cli.demo_common import test_accuracy
    >>> test_accuracy.__name__
    'test_accuracy'
    """
    return float(model.evaluate(x, y, batch_size=128, verbose=0, return_dict=True)["accuracy"])


def train_transfer(backbone, num_classes: int, train, validation, test, **fine_tune_kwargs):
    """A ``TransferModel(backbone, ClassificationHead(num_classes))`` trained by ``fine_tune``, then scored.

    Args:
        backbone: keras_transfer.Backbone. Built by the caller (after seeding).
        num_classes: int. Classes of the head.
        train: tuple. ``(x, y)`` training data.
        validation: tuple. ``(x, y)`` validation data.
        test: tuple. ``(x, y)`` held-out data scored at the end.
        **fine_tune_kwargs: dict. Other ``fine_tune`` arguments (``head_epochs``, ``verbose``, ...).

    Returns:
        tuple: ``(model, history, test_accuracy)``.

    Examples:
    >>> from keras_transfer.cli.demo_common import train_transfer
    >>> train_transfer.__name__
    'train_transfer'
    """
    model = TransferModel(backbone, ClassificationHead(num_classes))
    history = fine_tune(model, train, validation=validation, **fine_tune_kwargs)
    return model, history, test_accuracy(model, *test)


def scratch_baseline(num_classes: int, train, validation, test, image_size: int, epochs: int, seed: int,
                     verbose: int = 2) -> float:
    """The demo's baseline: MobileNetV2 without pretrained weights, every layer trained at 1e-3, then scored.

    Args:
        num_classes: int. Classes of the head.
        train: tuple. ``(x, y)`` training data.
        validation: tuple. ``(x, y)`` validation data.
        test: tuple. ``(x, y)`` held-out data.
        image_size: int. Resolution the backbone runs at.
        epochs: int. The transfer model's total epochs (same budget).
        seed: int. Seed of the weight initialisation.
        verbose: int. Keras ``fit`` verbosity.

    Returns:
        float: test accuracy.

    Examples:
    >>> from keras_transfer.cli.demo_common import scratch_baseline
    >>> accuracy = scratch_baseline(10, (x, y), (vx, vy), (tx, ty), 32, epochs=2, seed=0)  # doctest: +SKIP
    """
    keras.utils.set_random_seed(seed)
    backbone = get("mobilenet_v2", weights=None, input_shape=(image_size, image_size), trainable="full", train_bn=True)
    scratch = TransferModel(backbone, ClassificationHead(num_classes))
    scratch.compile(optimizer=keras.optimizers.Adam(1e-3))
    scratch.fit(*train, batch_size=32, epochs=epochs, validation_data=validation, verbose=verbose)
    return test_accuracy(scratch, *test)


def demo_record(dataset: str, splits, train_examples: int, test_examples: int, backbone, history, **settings) -> dict:
    """The part of ``results.json`` both demos write: data, settings, backbone and training history.

    Args:
        dataset: str. The dataset's name as recorded.
        splits: keras_transfer.data.Splits. Its ``class_names`` are recorded.
        train_examples: int. Training examples used.
        test_examples: int. Test examples scored.
        backbone: keras_transfer.Backbone. Its ``backbone_name`` and ``weights_source`` are recorded.
        history: keras_transfer.FineTuneHistory. Recorded through ``to_dict()``.
        **settings: dict. The run's settings (``n_per_class``, ``head_epochs``, ``seed``, ...), in order.

    Returns:
        dict: JSON-serialisable.

    Examples:
    >>> from types import SimpleNamespace as Fake
    >>> from keras_transfer.cli.demo_common import demo_record
    >>> record = demo_record("toy", Fake(class_names=["a", "b"]), 4, 2, Fake(backbone_name="tiny",
    ...     weights_source="none"), Fake(to_dict=dict), seed=0)
    >>> record["backbone"], record["seed"], record["train_examples"]
    ('tiny', 0, 4)
    """
    return {
        "dataset": dataset,
        "class_names": splits.class_names,
        "train_examples": int(train_examples),
        "test_examples": int(test_examples),
        **settings,
        "backbone": backbone.backbone_name,
        "weights_source": backbone.weights_source,
        "history": history.to_dict(),
    }


def save_demo(model, output_dir, results: dict) -> Path:
    """Save a demo's model as ``model.keras`` and its results as ``results.json`` (written atomically).

    Args:
        model: keras.Model. The trained transfer model.
        output_dir: str or pathlib.Path. Created if missing.
        results: dict. JSON-serialisable results.

    Returns:
        Path: the output directory.

    Examples:
    >>> import keras, tempfile
    >>> from keras_transfer.cli.demo_common import save_demo
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> folder = save_demo(model, tempfile.mkdtemp(), {"accuracy": 1.0})
    >>> sorted(path.name for path in folder.iterdir())
    ['model.keras', 'results.json']
    """
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    model.save(output_dir / "model.keras")
    write_json(output_dir / "results.json", results)
    return output_dir


def print_comparison(title: str, scores: dict, seconds: float, output_dir: Path) -> None:
    """Print a demo's verdict: each model's test accuracy, aligned, and the gain of the first over the second.

    Args:
        title: str. What was compared, e.g. ``"Animal-MNIST, 100 labels per class, 2000 test images"``.
        scores: dict. ``{label: accuracy}``, the transfer model first, the baseline second.
        seconds: float. Total run time.
        output_dir: pathlib.Path. Where ``model.keras`` and ``results.json`` were saved.

    Examples:
    >>> from pathlib import Path
    >>> from keras_transfer.cli.demo_common import print_comparison
    >>> print_comparison("Toy", {"transfer": 0.9, "from scratch": 0.5}, 12.0, Path("out"))
    <BLANKLINE>
    Toy:
      transfer:     0.900
      from scratch: 0.500
      gain: +40.0 points, total 12 s
      saved: out/model.keras and out/results.json
    """
    width = max(len(label) for label in scores) + 1
    (ours, baseline) = list(scores.values())[:2]
    lines = [f"  {label + ':':<{width}} {accuracy:.3f}" for label, accuracy in scores.items()]
    print(
        f"\n{title}:\n" + "\n".join(lines) + "\n"
        f"  gain: {100 * (ours - baseline):+.1f} points, total {seconds:.0f} s\n"
        f"  saved: {output_dir / 'model.keras'} and {output_dir / 'results.json'}"
    )
