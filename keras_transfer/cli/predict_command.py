"""``keras-transfer predict MODEL INPUTS...``: top classes for images, text lines or WAV files, with any model
format (``.keras``, SavedModel, ``.tflite``, ``.onnx``)."""

import json
import os

__all__ = ["register", "run", "predict_files"]


def _kind(path):
    from keras_transfer.export.inputs import IMAGE_SUFFIXES

    suffix = os.path.splitext(path)[1].lower()
    if suffix in IMAGE_SUFFIXES:
        return "image"
    if suffix == ".wav":
        return "audio"
    if suffix == ".txt":
        return "text"
    from keras_transfer.errors import InvalidInputError

    raise InvalidInputError(
        f"Unknown input file type. Received: {path!r}. Pass images ({', '.join(IMAGE_SUFFIXES)}), .wav files or "
        ".txt files (one text input per line)."
    )


def _check_kind(kind, model, path):
    from keras_transfer.errors import InvalidInputError

    takes = "text" if model.input_dtype == "string" else (
        "audio" if model.input_shape is not None and len(model.input_shape) == 1 else "image")
    if kind != takes:
        raise InvalidInputError(
            f"This model takes {takes} inputs. Received: {path!r} ({kind}). Pass "
            + {"image": "image files", "audio": ".wav files", "text": ".txt files"}[takes] + "."
        )


def _fit_audio(samples, model, path, resize):
    import numpy as np

    from keras_transfer.errors import InvalidInputError

    length = model.input_shape[0] if model.input_shape else None
    if length is None or len(samples) == length:
        return samples
    if not resize:
        raise InvalidInputError(
            f"The model takes {length} samples per clip. Received: {path!r} with {len(samples)} samples. "
            "Pass --resize to zero-pad or trim clips."
        )
    return np.pad(samples, (0, max(0, length - len(samples))))[:length]


def predict_files(model_path, inputs, resize: bool = False, batch_size: int = 32):
    """Run a model file on input files.

    Args:
        model_path: str. ``.keras``, SavedModel directory, ``.tflite`` or ``.onnx``.
        inputs: list of str. Image files, ``.wav`` files, ``.txt`` files (one input per line) or folders of
            images (any sizes: each image is resized to the model's input size).
        resize: bool. Resize images / pad or trim audio to a fixed input size instead of raising.
        batch_size: int.

    Returns:
        tuple: ``(names, outputs)``: one name per input (``file`` or ``file:line``) and the float outputs.

    Raises:
        keras_transfer.errors.InvalidInputError: a file of the wrong kind or size for the model.

    Examples:
    >>> names, outputs = keras_transfer.cli.predict_command.predict_files("model.tflite", ["a.png"])  # doctest: +SKIP
    """
    import numpy as np

    from keras_transfer.export import load_exported
    from keras_transfer.export.inputs import read_images, read_text_lines, read_wav

    model = load_exported(model_path)
    names, items = [], []
    outputs_by_name = {}
    for path in inputs:
        if os.path.isdir(path):  # a folder: every image in it, streamed at the model's size (mixed sizes)
            for name, output in _predict_folder(model, path, batch_size):
                names.append(name)
                outputs_by_name[len(names) - 1] = output
            continue
        kind = _kind(path)
        _check_kind(kind, model, path)
        if kind == "image":
            items.extend(read_images([path], model.input_shape, resize))
            names.append(path)
        elif kind == "audio":
            items.append(_fit_audio(read_wav(path)[0], model, path, resize))
            names.append(path)
        else:
            lines = read_text_lines(path)
            items.extend(np.array([line]) for line in lines)
            names.extend(f"{path}:{i + 1}" for i in range(len(lines)))
    outputs = [None] * len(items)
    groups = {}
    for i, item in enumerate(items):  # one batch per input shape (a .keras image model takes any size)
        groups.setdefault(np.shape(item), []).append(i)
    for indices in groups.values():
        batch = np.stack([items[i] for i in indices])
        if model.input_dtype == "string":
            batch = batch.reshape((len(indices),) + tuple(d or 1 for d in (model.input_shape or ())))
        for i, output in zip(indices, model.predict(batch, batch_size)):
            outputs[i] = output
    file_outputs = iter(outputs)
    return names, np.stack([outputs_by_name[i] if i in outputs_by_name else next(file_outputs)
                            for i in range(len(names))])


def model_image_size(model, default=(224, 224)):
    """``((height, width), channels)`` to read a folder of images at for ``model`` (an ``ExportedModel``).

    A model with a fixed input size gets that size and its channel count; one that takes any size (a ``.keras``
    TransferModel, which resizes inside its backbone) gets ``default`` and RGB.

    Args:
        model: ExportedModel.
        default: tuple ``(height, width)``.

    Returns:
        tuple.
    """
    shape = model.input_shape
    if shape is not None and len(shape) == 3 and shape[0] and shape[1]:
        return (int(shape[0]), int(shape[1])), (shape[2] if shape[2] in (1, 3) else 3)
    return tuple(default), 3


def _predict_folder(model, folder, batch_size):
    """``(file, output)`` for every image under ``folder``, decoded and resized in a streaming pipeline."""
    import numpy as np

    from keras_transfer.data.image_folder import IMAGE_EXTENSIONS
    from keras_transfer.data.image_stream import file_dataset
    from keras_transfer.errors import InvalidInputError

    _check_kind("image", model, folder)
    files = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        files.extend(os.path.join(root, n) for n in sorted(names)
                     if not n.startswith(".") and os.path.splitext(n)[1].lower() in IMAGE_EXTENSIONS)
    if not files:
        raise InvalidInputError(f"The folder holds no image files. Received: {folder!r}. Pass a folder of images "
                                f"({', '.join(IMAGE_EXTENSIONS)}) or image files.")
    size, channels = model_image_size(model)
    # Unreadable files are skipped with a warning; the positions ride along as labels to name the outputs.
    dataset = file_dataset(files, np.arange(len(files)), image_size=size, channels=channels, batch_size=batch_size,
                           where=f"predict {folder}")
    for batch, positions in dataset.as_numpy_iterator():
        for position, output in zip(positions, model.predict(batch, batch_size)):
            yield files[position], output


def run(args) -> int:
    import numpy as np

    from keras_transfer.export import read_labels

    names, outputs = predict_files(args.model, args.inputs, resize=args.resize, batch_size=args.batch_size)
    labels = None
    if args.labels:
        with open(args.labels, encoding="utf-8") as handle:
            labels = [line.rstrip("\n") for line in handle if line.strip()]
    else:
        labels = read_labels(args.model)
    if labels is not None and len(labels) != outputs.shape[-1]:
        labels = None
    results = []
    for name, output in zip(names, outputs):
        output = np.ravel(output)
        order = np.argsort(-output)[: args.top_k] if output.size > 1 else [0]
        top = [{"class": labels[i] if labels else str(int(i)), "id": int(i), "score": float(output[i])}
               for i in order]
        results.append({"input": name, "top": top})
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for result in results:
            shown = ", ".join(f"{t['class']} {t['score']:.3f}" for t in result["top"])
            print(f"{result['input']}\t{shown}")
    return 0


def register(commands):
    parser = commands.add_parser(
        "predict", help="predict with a .keras, SavedModel, .tflite or .onnx model on images, text lines or WAV files"
    )
    parser.add_argument("model", help=".keras file, SavedModel directory, .tflite or .onnx file")
    parser.add_argument("inputs", nargs="+",
                        help="image files, folders of images (any sizes), .wav files, or .txt files with one input "
                             "per line")
    parser.add_argument("--top-k", type=int, default=3, help="classes shown per input")
    parser.add_argument("--labels", default=None, help="labels.txt (default: the one beside the model)")
    parser.add_argument("--resize", action="store_true", help="resize images / pad or trim audio to the model's size")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--json", action="store_true", help="print JSON instead of one line per input")
    parser.set_defaults(run=run)
