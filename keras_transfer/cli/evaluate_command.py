"""``keras-transfer evaluate``: accuracy (with and without test-time augmentation), per-class precision / recall /
F1, macro-F1, balanced accuracy, expected calibration error, confusion-matrix / reliability-diagram / training-curve
PNGs and error analysis (top losses, most-confused pairs, Grad-CAM) of any model format on labelled data."""

import json
import os

from keras_transfer.atomic import atomic_write

__all__ = ["register", "run", "evaluate_model"]


def _default_output_dir(model_path):
    base = os.path.abspath(model_path).rstrip("/")
    return os.path.splitext(base)[0] + "_evaluation"


def evaluate_model(model_path, data, split: str = "test", limit=None, output_dir=None, labels=None,
                   history=None, resize: bool = False, batch_size: int = 64, seed: int = 0, tta: int = 0,
                   top_losses: int = 0, gradcam: bool = False) -> dict:
    """Evaluate a model file on labelled data and write the report and figures.

    Args:
        model_path: str. ``.keras``, SavedModel directory, ``.tflite`` or ``.onnx``.
        data: str. Dataset name, ``.npz`` (``x``, ``y``) or image folder (see ``load_labelled_data``).
        split: str. Split of a dataset name.
        limit: int or None. First ``limit`` examples only.
        output_dir: str or None. Default: ``<model>_evaluation`` beside the model.
        labels: list of str or None. Default: the model's ``labels.txt``, else the data's class names.
        history: dict / History or None. Default: the history in the model's ``model_card.json``.
        resize: bool. Resize images to the model's input size.
        batch_size: int.
        seed: int. Split seed of a dataset name.
        tta: int. Also score with this many test-time augmented views (``keras_transfer.predict``); 0: no.
        top_losses: int. Write a grid of the N worst predictions (``top_losses.png``) and list them and the
            most-confused class pairs in the report; 0: no.
        gradcam: bool. Grad-CAM overlays on the top-loss grid (16 images unless ``top_losses``); ``.keras``
            models only (exported files have no gradients).

    Returns:
        dict: the classification report (with ``ece``, ``macro_f1``, ``balanced_accuracy``, and ``accuracy_tta``
        with ``tta``) plus ``files`` (paths written) and ``model``.

    Raises:
        keras_transfer.errors.InvalidInputError: unlabelled data, or data that does not fit the model.
        keras_transfer.errors.InvalidConfigError: ``gradcam`` for an exported (non-``.keras``) model.

    Examples:
    >>> report = keras_transfer.cli.evaluate_command.evaluate_model("model.tflite", "animal_mnist")  # doctest: +SKIP
    """
    from keras_transfer.errors import InvalidInputError
    from keras_transfer.export import (
        classification_report, fit_images, history_summary, load_exported, load_labelled_data, read_labels,
        read_model_card,
    )
    from keras_transfer.export.plots import plot_confusion_matrix, plot_training_curves

    from keras_transfer.errors import InvalidConfigError

    if gradcam and not str(model_path).endswith(".keras"):  # before any work
        raise InvalidConfigError(
            "--gradcam needs gradients, which only the .keras model has. Received: "
            f"{str(model_path)!r}. Evaluate the .keras file, or drop --gradcam."
        )
    folder = os.path.isdir(str(data))  # a folder is read at the model's input size: the model first
    x, y, data_names = (None, (), None) if folder else load_labelled_data(data, split, limit, seed=seed)
    if y is None:
        raise InvalidInputError(f"Evaluation needs labels. Received: data {data!r} without y. Add a 'y' array.")
    model = load_exported(model_path)
    if folder:
        x, y, data_names = _folder_data(data, model, limit, batch_size)
    x = fit_images(x, model.input_shape, resize)
    outputs = model.predict(x, batch_size)
    names = labels or read_labels(model_path) or data_names
    if names is not None and len(names) != outputs.shape[-1]:
        names = None
    report = classification_report(y, outputs, names)
    output_dir = output_dir or _default_output_dir(model_path)
    os.makedirs(output_dir, exist_ok=True)
    files = {"confusion_matrix": plot_confusion_matrix(
        report["confusion_matrix"], report["class_names"], os.path.join(output_dir, "confusion_matrix.png"))}
    files.update(_calibration_and_errors(report, model_path, model, x, y, outputs, output_dir, tta=tta,
                                         top_losses=top_losses, gradcam=gradcam, batch_size=batch_size))
    if history is None:
        card = read_model_card(model_path) or {}
        summary = card.get("history")
    else:
        summary = history_summary(history)
    if summary and summary.get("history"):
        files["training_curves"] = plot_training_curves(
            summary["history"], os.path.join(output_dir, "training_curves.png"), summary.get("stages"))
    report.update(model=str(model_path), format=model.format, data=str(data), split=split, files=files)
    report_path = os.path.join(output_dir, "evaluation.json")
    with atomic_write(report_path) as handle:
        json.dump(report, handle, indent=2)
    files["report"] = report_path
    return report


def _calibration_and_errors(report, model_path, model, x, y, outputs, output_dir, *, tta, top_losses, gradcam,
                            batch_size) -> dict:
    """Add ECE, macro-F1, balanced accuracy, TTA accuracy and error analysis to ``report``; return the files."""
    import numpy as np

    from keras_transfer.evaluation import (
        balanced_accuracy, expected_calibration_error, interpret, macro_f1, plot_reliability_diagram, predict,
        resolve_model,
    )
    from keras_transfer.evaluation.metrics import class_ids

    labels = class_ids(y, len(outputs))
    report.update(ece=expected_calibration_error(outputs, labels), macro_f1=macro_f1(outputs, labels),
                  balanced_accuracy=balanced_accuracy(outputs, labels))
    files = {"reliability_diagram": plot_reliability_diagram(outputs, labels,
                                                             os.path.join(output_dir, "reliability_diagram.png"))}
    keras_model = resolve_model(model_path) if model.format == "keras" and (tta or gradcam) else model
    if tta:
        augmented = predict(keras_model, x, tta=tta, batch_size=batch_size)
        report.update(tta=tta, accuracy_tta=float(np.mean(augmented.argmax(axis=1) == labels)),
                      balanced_accuracy_tta=balanced_accuracy(augmented, labels),
                      macro_f1_tta=macro_f1(augmented, labels), ece_tta=expected_calibration_error(augmented, labels))
    if top_losses or gradcam:
        analysis = interpret(keras_model, (x, labels), k=top_losses or 16, gradcam=bool(gradcam),
                             class_names=report["class_names"], batch_size=batch_size)
        report.update(top_losses=analysis.top_losses, most_confused=analysis.to_dict()["most_confused"])
        files["top_losses"] = analysis.plot_top_losses(os.path.join(output_dir, "top_losses.png"))
    return files


def _folder_data(folder, model, limit, batch_size):
    """``(x, y, class_names)`` of an image folder: files of any size, decoded in parallel at the model's size."""
    from keras_transfer.cli.predict_command import model_image_size
    from keras_transfer.data import image_stream

    size, channels = model_image_size(model)
    stream = image_stream(folder, image_size=size, channels=channels, batch_size=batch_size, shuffle=False)
    x, y = stream.load("train")  # no split asked for: every file is in "train"
    return x[:limit], y[:limit], stream.class_names


def run(args) -> int:
    from keras_transfer.export import format_classification_report

    labels, history = None, None
    if args.labels:
        with open(args.labels, encoding="utf-8") as handle:
            labels = [line.rstrip("\n") for line in handle if line.strip()]
    if args.history:
        from keras_transfer.export.model_card import load_history_file

        history = load_history_file(args.history)
    report = evaluate_model(
        args.model, args.data, split=args.split, limit=args.limit, output_dir=args.output_dir, labels=labels,
        history=history, resize=args.resize, batch_size=args.batch_size, seed=args.seed, tta=args.tta,
        top_losses=args.top_losses, gradcam=args.gradcam,
    )
    print(f"{report['model']} ({report['format']}) on {report['data']} [{report['split']}]\n")
    print(format_classification_report(report))
    print(f"balanced accuracy: {report['balanced_accuracy']:.4f}, macro-F1: {report['macro_f1']:.4f}, "
          f"expected calibration error: {report['ece']:.4f}")
    if "accuracy_tta" in report:
        print(f"accuracy with test-time augmentation ({report['tta']} views): {report['accuracy_tta']:.4f} "
              f"(without: {report['accuracy']:.4f})")
    if report.get("most_confused"):
        pairs = ", ".join(f"{pair['true']} -> {pair['predicted']} ({pair['count']})"
                          for pair in report["most_confused"][:5])
        print(f"most confused (true -> predicted): {pairs}")
    print("\nwritten: " + ", ".join(report["files"].values()))
    if "training_curves" not in report["files"]:
        print("no training history found (model_card.json or --history): training curves skipped")
    return 0


def register(commands):
    parser = commands.add_parser(
        "evaluate", help="per-class precision/recall, ECE, TTA accuracy, confusion-matrix, reliability-diagram, "
                         "training-curve and top-loss / Grad-CAM PNGs for any model format"
    )
    parser.add_argument("model", help=".keras file, SavedModel directory, .tflite or .onnx file")
    parser.add_argument("--data", required=True,
                        help="a dataset name (animal_mnist, mnist5k, digits), a .npz with x and y, or an image folder")
    parser.add_argument("--split", default="test", help="split of a dataset name (default test)")
    parser.add_argument("--limit", type=int, default=None, help="evaluate the first N examples only")
    parser.add_argument("--output-dir", default=None, help="where the PNGs and evaluation.json go")
    parser.add_argument("--labels", default=None, help="labels.txt (default: the one beside the model)")
    parser.add_argument("--history", default=None, help="JSON with the training History (default: model_card.json)")
    parser.add_argument("--resize", action="store_true", help="resize images to the model's input size")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0, help="split seed of a dataset name")
    parser.add_argument("--tta", type=int, default=0, metavar="N",
                        help="also report accuracy with N test-time augmented views (the model's own augmentation)")
    parser.add_argument("--top-losses", type=int, default=0, metavar="N",
                        help="write top_losses.png (the N worst predictions) and the most-confused class pairs")
    parser.add_argument("--gradcam", action="store_true",
                        help="Grad-CAM overlays on the top-loss images (.keras models only)")
    parser.set_defaults(run=run)
