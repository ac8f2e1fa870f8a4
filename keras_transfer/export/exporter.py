"""`export`: write a trained model as SavedModel / TFLite / ONNX, check it with its own runtime, describe it."""

import os
import shutil
import tempfile
import time
from typing import NamedTuple, Optional, Sequence

import numpy as np

from keras_transfer.errors import ExportError, InvalidConfigError, InvalidInputError, KerasTransferError
from keras_transfer.export.litert import converter_options, export_litert
from keras_transfer.export.model_card import class_names_of, model_card, write_metadata
from keras_transfer.export.onnx import export_onnx, require_onnx
from keras_transfer.export.parity import check_parity
from keras_transfer.export.report import ExportReport
from keras_transfer.export.runtime import load_exported
from keras_transfer.export.saved_model import export_saved_model
from keras_transfer.export.selective import SelectiveQuantizer, check_selective_options
from keras_transfer.export.tflite_metadata import embed_metadata, has_schema

__all__ = ["FORMATS", "KERAS_FORMATS", "canonical_format", "export", "resolve_input_spec"]

FORMATS = ("saved_model", "tflite", "onnx")
#: Keras' own names (``model.export(path, format=...)``), accepted everywhere a format is: name -> ours.
KERAS_FORMATS = {"tf_saved_model": "saved_model", "litert": "tflite", "onnx": "onnx"}
_SUFFIX = {"tflite": ".tflite", "onnx": ".onnx"}
_N_RANDOM_PARITY = 16


def canonical_format(format: str) -> str:
    """An export format by either name: ours (``FORMATS``) or Keras' (``KERAS_FORMATS``), as ours.

    Args:
        format: str. ``"saved_model"`` / ``"tf_saved_model"``, ``"tflite"`` / ``"litert"`` or ``"onnx"``.

    Returns:
        str: one of ``FORMATS``.

    Raises:
        keras_transfer.errors.InvalidConfigError: any other value.

    Examples:
    >>> from keras_transfer.export import canonical_format
    >>> canonical_format("litert"), canonical_format("tf_saved_model"), canonical_format("tflite")
    ('tflite', 'saved_model', 'tflite')
    """
    if format in FORMATS:
        return format
    if isinstance(format, str) and format in KERAS_FORMATS:
        return KERAS_FORMATS[format]
    raise InvalidConfigError(
        f"Unknown export format. Received: format={format!r}. Use 'saved_model' (Keras: 'tf_saved_model'), "
        "'tflite' (Keras: 'litert') or 'onnx'."
    )


def _check_options(model, format, quantization, representative_data, path, float_layers=None, per_channel=True):
    """Every check of the arguments made before any work; returns the model's input kind (or None)."""
    check_selective_options(quantization, float_layers, per_channel)
    if quantization is not None and format != "tflite":
        raise InvalidConfigError(
            f"Quantization is a TFLite conversion option. Received: format={format!r}, "
            f"quantization={quantization!r}. Use format='tflite', or quantization=None."
        )
    if format == "tflite":
        converter_options(quantization, representative_data)  # validates before any work
    if format == "onnx":
        require_onnx()
    suffix = os.path.splitext(str(path))[1].lower()
    if format in _SUFFIX and suffix != _SUFFIX[format]:
        raise InvalidConfigError(
            f"A {format} export is one file ending in {_SUFFIX[format]}. Received: path={str(path)!r}. "
            f"Use e.g. path='model{_SUFFIX[format]}'."
        )
    if format == "saved_model" and suffix in (".tflite", ".onnx", ".keras", ".h5"):
        raise InvalidConfigError(
            f"A SavedModel is a directory. Received: path={str(path)!r} with a {suffix} file suffix. "
            "Use a directory path such as 'exported/model', or format='tflite' / 'onnx'."
        )
    kind = _input_kind(model)
    _check_format_fits(kind, format)
    return kind


def _input_kind(model):
    """``"image"``, ``"text"`` or ``"audio"`` for a model with a backbone, else None (any Keras model)."""
    backbone = getattr(model, "backbone", None)
    return None if backbone is None else getattr(backbone, "input_kind", "image")


def _arrays(model, data):
    """``(x, y)`` arrays of data in any form ``fine_tune`` takes (``keras_transfer.models.inputs``); y may be None."""
    if data is None:
        return None, None
    from keras_transfer.models.inputs import input_arrays  # TensorFlow: see the package docstring

    return input_arrays(model, data)


_DEFAULT_DTYPES = {"text": "string", "audio": "float32"}


def _default_shape(model, kind):
    if kind == "text":
        return ()
    if kind == "audio":
        samples = getattr(model.backbone, "num_samples", None)
        return None if samples is None else (samples,)
    try:
        inputs = list(model.inputs or [])
    except AttributeError:
        inputs = []
    if len(inputs) == 1:
        return tuple(inputs[0].shape[1:])
    if kind is not None and hasattr(model.backbone, "image_shape"):
        return tuple(model.backbone.image_shape)
    return None


def _check_shape(kind, shape):
    fits = {"image": len(shape) == 3 and shape[-1] in (1, 3),
            "audio": len(shape) == 1 or (len(shape) == 2 and shape[-1] == 1),
            "text": shape in ((), (1,))}.get(kind, True)
    if not fits:
        expected = {"image": "(height, width, channels) with 1 or 3 channels, e.g. input_shape=(28, 28, 1)",
                    "audio": "(num_samples,), e.g. input_shape=(16000,)",
                    "text": "() (a batch of strings): leave input_shape None"}[kind]
        raise InvalidInputError(
            f"An {kind} model exports with an input of shape {expected}. Received: input_shape={shape}."
        )


def resolve_input_spec(model, input_shape=None, data=None, input_dtype: Optional[str] = None):
    """The exported model's input: ``(None, *shape)`` and its dtype.

    The shape comes from ``input_shape`` when given, else (text) ``()``: a batch of strings, else from the
    example data, else from a Functional model's input, else the backbone's: an image backbone's working
    resolution with 3 channels, an audio backbone's ``num_samples``.

    Args:
        model: keras.Model.
        input_shape: tuple ``(H, W, C)`` / ``(num_samples,)`` (without batch) or None.
        data: array of example inputs or None.
        input_dtype: str or None. None: ``"uint8"`` (images), ``"float32"`` (waveforms), ``"string"`` (texts).

    Returns:
        tuple: ``(shape_with_batch, dtype)``.

    Raises:
        keras_transfer.errors.InvalidInputError: the shape cannot be determined or does not fit the backbone's
            kind of input.

    Examples:
    >>> name = keras_transfer.testing.register_tiny_backbone()
    >>> model = keras_transfer.TransferModel(keras_transfer.backbones.get(name, weights=None, input_shape=(32, 32)),
    ...                                      keras_transfer.ClassificationHead(2))
    >>> keras_transfer.export.resolve_input_spec(model, data=np.zeros((2, 28, 28, 1), "uint8"))
    ((None, 28, 28, 1), 'uint8')
    """
    kind = _input_kind(model)
    if input_dtype is None:
        input_dtype = _DEFAULT_DTYPES.get(kind, "uint8")
    if input_shape is not None:
        shape = tuple(int(d) if d is not None else None for d in input_shape)
    elif kind != "text" and data is not None:
        shape = tuple(np.shape(data)[1:])
    else:
        shape = _default_shape(model, kind)
    if shape is None:
        raise InvalidInputError(
            "Cannot tell the exported model's input shape. Received: input_shape=None and no example data. "
            "Pass input_shape=(height, width, channels) ((num_samples,) for audio) or parity_data / "
            "representative_data."
        )
    if kind is not None:
        _check_shape(kind, shape)
    return (None,) + shape, input_dtype


def _random_parity(kind, shape, dtype):
    """Random inputs for the parity check when no parity data is given (texts need real ones)."""
    if kind == "text":
        raise InvalidInputError(
            "A text model's export is checked on real texts. Received: parity_data=None. Pass parity_data= a few "
            "held-back texts (an array or list of str, or (texts, labels))."
        )
    rng = np.random.default_rng(0)
    concrete = tuple(d if d is not None else (16000 if kind == "audio" else 32) for d in shape[1:])
    if np.dtype(dtype).kind in "ui":
        return rng.integers(0, 256, size=(_N_RANDOM_PARITY,) + concrete).astype(dtype)
    scale = 1.0 if kind == "audio" else 255.0  # waveforms in [-1, 1], images in [0, 255]
    low = -1.0 if kind == "audio" else 0.0
    return (low + rng.random((_N_RANDOM_PARITY,) + concrete) * (scale - low)).astype(dtype)


def _fits(data_shape, shape) -> bool:
    return len(data_shape) == len(shape) and all(e is None or e == d for d, e in zip(data_shape, shape))


def _check_format_fits(kind, format):
    """Refuse, before any work, the formats whose converter or runtime cannot take the backbone's preprocessing."""
    if kind == "text" and format != "saved_model":
        raise InvalidConfigError(
            f"A text model (tokenizer in the graph, string input) exports as a SavedModel only: TFLite needs "
            f"TensorFlow select ops (e.g. FlexStringLower) that the ai-edge-litert interpreter lacks, and tf2onnx "
            f"has no tokenizer ops. Received: format={format!r}. Use format='saved_model'."
        )
    if kind == "audio" and format == "onnx":
        raise InvalidConfigError(
            "tf2onnx cannot convert an audio model's front end (its STFT feeds tf.math.real / imag, which the "
            "ONNX RFFT conversion refuses). Received: format='onnx'. Use format='saved_model' or 'tflite'."
        )


def _size_bytes(path):
    if os.path.isdir(path):
        return sum(os.path.getsize(os.path.join(root, name)) for root, _, files in os.walk(path) for name in files)
    return os.path.getsize(path)


def _stage_directory(parent, path):
    """Create a private staging directory next to the target (same file system: the final move is atomic)."""
    try:
        os.makedirs(parent, exist_ok=True)
        return tempfile.mkdtemp(prefix=".keras-transfer-export-", dir=parent)
    except OSError as error:
        raise ExportError(
            f"Cannot write the export: its directory {parent!r} is not a writable directory ({error.strerror}). "
            f"Received: path={str(path)!r}. Choose a path in a directory you can write to."
        ) from error


def _move_into_place(staged, path):
    if os.path.isdir(path) and not os.path.islink(path):
        backup = f"{path}.old-{os.getpid()}"
        os.replace(path, backup)
        try:
            os.replace(staged, path)
        except OSError:
            os.replace(backup, path)
            raise
        shutil.rmtree(backup, ignore_errors=True)
    else:
        os.replace(staged, path)


def export(model, path, format: str = "saved_model", quantization: Optional[str] = None,
           representative_data=None, *, parity_data=None, input_shape=None, input_dtype: Optional[str] = None,
           integer_io: bool = True, class_names: Optional[Sequence[str]] = None, history=None,
           metadata: bool = True, float_layers=None, per_channel: bool = True,
           verbose: bool = True) -> ExportReport:
    """Export a trained model for deployment and prove the file matches it.

    The model goes through ``model.export`` with an inference trace: preprocessing inside the model (a
    ``Backbone``'s resize and normalisation, a tokenizer, an audio front end) is in the graph, augmentation and
    dropout are not; text models export as SavedModel only. The file is written beside ``path``, run with its
    own runtime on ``parity_data`` (else 16 random images) against the Keras model, and only then moved to
    ``path``: a failed export leaves nothing behind. ``labels.txt`` and ``model_card.json`` go beside it. A
    TFLite image classifier also carries them inside (TFLite metadata: labels, input description with
    NormalizationOptions mean 0 / std 1, model name / version / description), and MediaPipe's own
    ``ImageClassifier`` is run on the parity inputs (``report.mediapipe_agreement``).

    Args:
        model: keras.Model. The trained model (a ``keras_transfer.TransferModel`` or any single-input model).
        path: str. A directory for ``"saved_model"``, a ``.tflite`` or ``.onnx`` file otherwise.
        format: str. ``"saved_model"``, ``"tflite"`` or ``"onnx"``, or Keras' names for them:
            ``"tf_saved_model"``, ``"litert"``.
        quantization: TFLite only: None (float32), ``"float16"``, ``"dynamic"`` (int8 weights) or ``"int8"``
            (int8 weights and activations; integer-only ops).
        representative_data: raw training inputs (or ``(x, y)``) to calibrate ``"int8"``: 100-500
            images is typical. Required for ``"int8"``. Any form ``fine_tune`` takes (arrays, lists, a
            ``tf.data.Dataset``, a ``keras.utils.PyDataset``, a ``Splits``: its test split).
        parity_data: held-back inputs ``x`` or labelled ``(x, y)`` to check the file on (with labels both
            accuracies are reported), in the same forms. Not the representative data. Required for text models.
        input_shape: tuple ``(H, W, C)`` (``(num_samples,)`` for audio): the raw input size the file takes.
            Default: the data's shape, else the backbone's working resolution with 3 channels (its
            ``num_samples`` for audio); text models take ``(batch,)`` strings.
        input_dtype: str or None. Dtype of the exported input; None: ``"uint8"`` (raw images), ``"float32"``
            (waveforms), ``"string"`` (texts).
        integer_io: bool. For ``"int8"``: uint8 output as well as uint8 input (integer-only accelerators).
        class_names: class names in id order (written to ``labels.txt``); default ``"0".."n-1"``.
        history: the training History (``fine_tune``'s) for the model card; default ``model.history``.
        metadata: bool. Write ``labels.txt`` and ``model_card.json``; for a TFLite image classifier also embed
            TFLite metadata in the file (needs the ``mediapipe`` package: the edge extra; without it the file
            is written without, and ``report.mediapipe_note`` says so) and check it with MediaPipe.
        float_layers: ``"int8"`` only: selective quantization. An int (keep that many layers with the largest
            int8 error, ranked by TFLite's quantization debugger, in float) or a list of tensor names
            (``keras_transfer.export.selective.SelectiveQuantizer.layer_errors``); the output is then float32.
        per_channel: bool. ``"int8"`` only: per-channel weight scales (default) or one scale per tensor (smaller
            file, usually less accurate). ``False`` also takes the selective path.
        verbose: bool. Print the report table.

    Returns:
        keras_transfer.export.ExportReport: ``size_bytes``, ``max_abs_diff``, ``argmax_agreement``, the
        accuracies on labelled parity data, and more; ``str(report)`` is a table.

    Raises:
        keras_transfer.errors.InvalidConfigError: unknown format or quantization, quantization on a non-TFLite
            format, ``"int8"`` without representative data, a path whose suffix does not fit the format,
            class names that do not fit the head.
        keras_transfer.errors.InvalidInputError: the input shape cannot be determined or data does not fit it.
        keras_transfer.errors.ExportError: the target directory is not writable, or the ONNX packages are
            missing (all raised before any conversion work).

    Examples:
    >>> name = keras_transfer.testing.register_tiny_backbone()  # a real model: see examples/08_export_tflite.ipynb
    >>> model = keras_transfer.TransferModel(keras_transfer.backbones.get(name, weights=None, input_shape=(32, 32)),
    ...                                      keras_transfer.ClassificationHead(3))
    >>> images = np.random.default_rng(0).integers(0, 256, (8, 28, 28, 1), dtype="uint8")
    >>> _ = model.predict(images, verbose=0)  # trained or at least built
    >>> report = keras_transfer.export(model, "/tmp/kt-doc-export/tiny.tflite", format="litert",
    ...                                parity_data=images, verbose=False)
    >>> report.format, report.input_dtype, report.argmax_agreement
    ('tflite', 'uint8', 1.0)

    int8, calibrated on training images, checked on held-back labelled ones (``keras_transfer.export.export``
    and ``keras_transfer.export_model`` are the same function):

    >>> report = keras_transfer.export(model, "model_int8.tflite", format="tflite", quantization="int8",
    ...     representative_data=x_train[:200], parity_data=(x_test, y_test))  # doctest: +SKIP
    """
    start = time.perf_counter()
    format = canonical_format(format)
    path = os.path.abspath(os.fspath(path).rstrip("/\\"))
    kind = _check_options(model, format, quantization, representative_data, path, float_layers, per_channel)
    names = class_names_of(model, class_names) if metadata else None
    inputs = _export_inputs(model, kind, parity_data, representative_data, input_shape, input_dtype)
    _build(model, inputs.parity_x)
    card = model_card(model, input_shape=inputs.shape, input_dtype=inputs.dtype, class_names=names,
                      history=history) if metadata else None
    settings = _Settings(quantization, integer_io, float_layers, per_channel,
                         _embedding(format, kind, inputs, names, card))
    exported, parity, size = _write_checked(model, path, format, inputs, settings)
    report = _report(path, format, quantization, size, inputs, exported, parity)
    report.seconds = round(time.perf_counter() - start, 2)
    if metadata:
        report.metadata_files = _write_card(card, path, format, names, report)
    if verbose:
        print(report.table())
    return report


def _write_card(card, path, format, names, report) -> list:
    """Write ``labels.txt`` and ``model_card.json`` beside the file (inside a SavedModel directory)."""
    directory = path if format == "saved_model" else os.path.dirname(path)
    return write_metadata(directory, card, os.path.basename(path), report.to_dict(), names)


class _Settings(NamedTuple):
    """How the file is converted: quantization and its selective options, and the metadata to embed (or None)."""

    quantization: Optional[str]
    integer_io: bool
    float_layers: object
    per_channel: bool
    embed: Optional[dict]

    @property
    def selective(self) -> bool:
        return self.quantization == "int8" and (self.float_layers is not None or not self.per_channel)


def _embedding(format, kind, inputs, names, card) -> Optional[dict]:
    """The TFLite metadata fields for an image classifier's ``.tflite`` file, else None (nothing to embed)."""
    shape = inputs.shape
    image = kind == "image" or (kind is None and len(shape) == 4 and shape[-1] in (1, 3))
    if format != "tflite" or card is None or names is None or not image or len(names) < 2:
        return None
    backbone = card.get("backbone") or {}
    source = backbone.get("weights_source")
    description = (f"{card.get('model_class', 'Model')} classifier of {len(names)} classes"
                   + (f" on a {backbone['name']} backbone" if backbone.get("name") else "")
                   + (f" ({source})" if source else "")
                   + ". Input: raw image pixels 0-255 (resize and normalisation are inside the model).")
    return {"name": str(card.get("name") or "classifier"), "version": str(card.get("created") or "1"),
            "description": description, "class_names": list(names)}


def _report(path, format, quantization, size, inputs, exported, parity) -> ExportReport:
    return ExportReport(
        path=path, format=format, quantization=quantization, size_bytes=int(size), input_shape=inputs.shape,
        input_dtype=str(exported.input_dtype), output_dtype=exported.output_dtype,
        n_examples=parity["n_examples"], max_abs_diff=parity["max_abs_diff"],
        mean_abs_diff=parity["mean_abs_diff"], argmax_agreement=parity["argmax_agreement"],
        keras_accuracy=parity["keras_accuracy"], exported_accuracy=parity["exported_accuracy"],
        parity_data=inputs.parity_source, embedded_metadata=parity.get("embedded_metadata", False),
        mediapipe_agreement=parity.get("mediapipe_agreement"), mediapipe_note=parity.get("mediapipe_note", ""),
        float_layers=tuple(parity.get("float_layers", ())), per_channel=parity.get("per_channel", True),
    )


class _ExportInputs(NamedTuple):
    """What an export runs on: the input spec, the parity inputs (and labels) and the calibration inputs."""

    shape: tuple
    dtype: str
    parity_x: np.ndarray
    parity_y: Optional[np.ndarray]
    representative_x: Optional[np.ndarray]
    parity_source: str


def _export_inputs(model, kind, parity_data, representative_data, input_shape, input_dtype) -> _ExportInputs:
    """The input spec and the arrays checked against it; random parity inputs when none are given."""
    parity_x, parity_y = _arrays(model, parity_data)
    representative_x, _ = _arrays(model, representative_data)
    shape, dtype = resolve_input_spec(
        model, input_shape, parity_x if parity_x is not None else representative_x, input_dtype
    )
    for what, data in (("parity_data", parity_x), ("representative_data", representative_x)):
        if data is not None and not _fits(data.shape[1:], shape[1:]):
            raise InvalidInputError(
                f"{what} does not match the exported input shape. Received: {what} of shape {data.shape}, "
                f"input shape {shape}. Pass data of shape (n, {', '.join(str(d) for d in shape[1:])}) or a "
                "matching input_shape."
            )
    if parity_x is None:
        parity_x = _random_parity(kind, shape, dtype)
        parity_source = "random inputs: pass parity_data for held-back data"
    else:
        parity_source = "parity_data" + (" with labels" if parity_y is not None else "")
    return _ExportInputs(shape, dtype, parity_x, parity_y, representative_x, parity_source)


def _build(model, parity_x):
    """Build a model never called or trained on one parity input (Keras refuses to export it otherwise)."""
    if model.built:
        return
    try:
        model(parity_x[:1])
    except Exception as error:  # noqa: BLE001 - reported with the shape that failed
        raise InvalidInputError(
            f"The model is not built and could not be run on one input of shape {parity_x[:1].shape} "
            f"({type(error).__name__}: {error}). Received: an unbuilt {type(model).__name__}. Call it on one "
            "batch (or train it) before export, or pass input_shape / parity_data of the shape it takes."
        ) from error


def _convert(model, staged, path, format, signature, representative_x, settings: _Settings) -> dict:
    """Write the file with the format's converter; disk errors become an ExportError naming the path.

    Returns:
        dict: the selective quantization's ``float_layers`` / ``per_channel`` (empty otherwise).
    """
    try:
        if format == "saved_model":
            export_saved_model(model, staged, signature)
        elif format == "tflite" and settings.selective:
            quantizer = SelectiveQuantizer(model, signature, representative_x)
            return quantizer.write(staged, settings.float_layers, settings.per_channel)
        elif format == "tflite":
            export_litert(model, staged, signature, settings.quantization, representative_x, settings.integer_io)
        else:
            export_onnx(model, staged, signature)
    except OSError as error:
        if isinstance(error, KerasTransferError):
            raise
        raise ExportError(
            error.errno,
            f"Writing the {format} export failed: {error.strerror or error}. Received: path={str(path)!r}. "
            "Nothing was left behind; free disk space (or fix the directory's permissions) and export again, "
            "or choose a path on another disk.",
        ) from error
    return {}


def _embed(staged, embed: Optional[dict]) -> dict:
    """Embed the TFLite metadata (when there is some to embed and the schema is installed)."""
    if embed is None:
        return {}
    if not has_schema():
        return {"mediapipe_note": "not run: no metadata embedded (the mediapipe package, the edge extra, is not "
                                  "installed)"}
    fields = dict(embed)
    embed_metadata(staged, fields.pop("class_names"), **fields)
    return {"embedded_metadata": True}


def _write_checked(model, path, format, inputs: _ExportInputs, settings: _Settings):
    """Convert in a staging directory beside ``path``, embed its metadata, check parity there (and with MediaPipe
    when metadata was embedded), then move the file into place.

    Returns:
        tuple: ``(exported, parity, size_bytes)``; nothing is left behind when any step fails.
    """
    import keras  # TensorFlow: see the package docstring

    signature = [keras.InputSpec(shape=inputs.shape, dtype=inputs.dtype)]
    stage = _stage_directory(os.path.dirname(path), path)
    try:
        staged = os.path.join(stage, os.path.basename(path))
        extra = _convert(model, staged, path, format, signature, inputs.representative_x, settings)
        extra.update(_embed(staged, settings.embed))
        exported = load_exported(staged)
        parity = check_parity(model, exported, inputs.parity_x, inputs.parity_y,
                              mediapipe=extra.get("embedded_metadata", False))
        parity = {**extra, **parity}  # a MediaPipe result replaces the note on why it could not run
        size = _size_bytes(staged)
        _move_into_place(staged, path)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return exported, parity, size
