"""TFLite metadata inside the ``.tflite`` file: labels, input description and model card, as MediaPipe reads them.

The file format is the TFLite metadata schema (``metadata_schema.fbs``, identifier ``"M001"``): a
``ModelMetadata`` flatbuffer stored in one of the model's buffers and named ``"TFLITE_METADATA"`` in the
model's ``metadata`` list, and its associated files (here ``labels.txt``) appended to the ``.tflite`` file as a
zip archive. TFLite interpreters ignore both; MediaPipe's ``ImageClassifier`` needs them (it refuses a model
without ``NormalizationOptions``).

MediaPipe's own writers (``mediapipe.tasks.python.metadata.metadata_writers``) cannot be imported from the
mediapipe 1.2.2 wheel: their ``metadata`` module imports ``mediapipe.tasks.cc.metadata.python.
_pywrap_metadata_version``, a compiled module that wheel does not ship. This module writes the same flatbuffer
with the generated schema classes that the wheel does ship (``mediapipe.tasks.metadata.
metadata_schema_py_generated`` and ``schema_py_generated``, pure Python over ``flatbuffers``), as those writers
do: ``ModelMetadata`` (name, version, description, author, ``min_parser_version``), one ``SubGraphMetadata``
with an image input ``TensorMetadata`` (``ImageProperties``, ``NormalizationOptions`` mean 0 / std 1 because
normalisation is inside the graph, the pixel range in ``Stats``) and a score output ``TensorMetadata`` carrying
the labels as a ``TENSOR_AXIS_LABELS`` associated file.
"""

import io
import os
import zipfile
from typing import Optional, Sequence

from keras_transfer.atomic import write_file
from keras_transfer.errors import ExportError, InvalidInputError

__all__ = ["LABELS_FILE", "METADATA_NAME", "embed_metadata", "has_schema", "read_metadata"]

#: Name of the metadata entry in the model flatbuffer (``Model.metadata``), as the TFLite support library uses.
METADATA_NAME = "TFLITE_METADATA"
#: The associated file holding one class name per line.
LABELS_FILE = "labels.txt"
_METADATA_IDENTIFIER = b"M001"
_TFLITE_IDENTIFIER = b"TFL3"
# Every field written here exists since metadata schema 1.0.0 (the .fbs marks later fields "Added in: 1.x").
_MIN_PARSER_VERSION = "1.0.0"


def _schemas():
    """MediaPipe's generated flatbuffer modules: ``(metadata_schema, tflite_schema)``."""
    try:
        from mediapipe.tasks.metadata import metadata_schema_py_generated, schema_py_generated
    except ImportError as error:
        raise ExportError(
            "Embedding TFLite metadata needs the 'mediapipe' package (the edge extra: pip install "
            f"'keras-transfer[edge]'). Received: ImportError ({error}). Install it, or export with metadata=False "
            "(labels.txt and model_card.json are still written beside the file)."
        ) from error
    return metadata_schema_py_generated, schema_py_generated


def has_schema() -> bool:
    """Whether the metadata schema (the ``mediapipe`` package) is installed.

    Returns:
        bool.
    """
    try:
        _schemas()
    except ExportError:
        return False
    return True


def _image_input(fb, input_dtype: str, channels: int):
    tensor = fb.TensorMetadataT()
    tensor.name = "image"
    tensor.description = ("Raw image pixels, 0-255 (resize and normalisation are inside the model), "
                          f"{'grey' if channels == 1 else 'RGB'}, dtype {input_dtype}.")
    content = fb.ContentT()
    content.contentPropertiesType = fb.ContentProperties.ImageProperties
    content.contentProperties = fb.ImagePropertiesT()
    content.contentProperties.colorSpace = fb.ColorSpaceType.GRAYSCALE if channels == 1 else fb.ColorSpaceType.RGB
    tensor.content = content
    normalization = fb.ProcessUnitT()
    normalization.optionsType = fb.ProcessUnitOptions.NormalizationOptions
    normalization.options = fb.NormalizationOptionsT()
    normalization.options.mean = [0.0]
    normalization.options.std = [1.0]
    tensor.processUnits = [normalization]
    stats = fb.StatsT()
    stats.min, stats.max = [0.0], [255.0]
    tensor.stats = stats
    return tensor


def _score_output(fb, num_classes: int):
    tensor = fb.TensorMetadataT()
    tensor.name = "probability"
    tensor.description = f"Probabilities of the {num_classes} classes."
    content = fb.ContentT()
    content.contentPropertiesType = fb.ContentProperties.FeatureProperties
    content.contentProperties = fb.FeaturePropertiesT()
    value_range = fb.ValueRangeT()
    value_range.min, value_range.max = 1, 1  # the class axis is dimension 1 of (batch, classes)
    content.range = value_range
    tensor.content = content
    stats = fb.StatsT()
    stats.min, stats.max = [0.0], [1.0]
    tensor.stats = stats
    labels = fb.AssociatedFileT()
    labels.name = LABELS_FILE
    labels.description = "Class names, one per line, in output order."
    labels.type = fb.AssociatedFileType.TENSOR_AXIS_LABELS
    tensor.associatedFiles = [labels]
    return tensor


def _metadata_buffer(fb, *, name, version, description, author, license, input_dtype, channels, num_classes):
    import flatbuffers

    subgraph = fb.SubGraphMetadataT()
    subgraph.name = "classifier"
    subgraph.inputTensorMetadata = [_image_input(fb, input_dtype, channels)]
    subgraph.outputTensorMetadata = [_score_output(fb, num_classes)]
    metadata = fb.ModelMetadataT()
    metadata.name = name
    metadata.version = version
    metadata.description = description
    metadata.author = author
    metadata.license = license
    metadata.subgraphMetadata = [subgraph]
    metadata.minParserVersion = _MIN_PARSER_VERSION
    builder = flatbuffers.Builder(0)
    builder.Finish(metadata.Pack(builder), _METADATA_IDENTIFIER)
    return bytes(builder.Output())


def _model_with_metadata(schema, model_bytes: bytes, metadata: bytes) -> bytes:
    """The model flatbuffer with ``metadata`` as the buffer named ``TFLITE_METADATA`` (replaced if present)."""
    import flatbuffers

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(model_bytes, 0))
    buffer = schema.BufferT()
    buffer.data = list(metadata)
    model.metadata = model.metadata or []
    model.buffers = model.buffers or []
    for entry in model.metadata:
        if entry.name.decode("utf-8") == METADATA_NAME:
            model.buffers[entry.buffer] = buffer
            break
    else:
        model.buffers.append(buffer)
        entry = schema.MetadataT()
        entry.name = METADATA_NAME
        entry.buffer = len(model.buffers) - 1
        model.metadata.append(entry)
    builder = flatbuffers.Builder(len(model_bytes) + len(metadata) + 1024)
    builder.Finish(model.Pack(builder), _TFLITE_IDENTIFIER)
    return bytes(builder.Output())


def _flatbuffer_part(data: bytes) -> bytes:
    """The model without an appended zip of associated files (a file written before is written again)."""
    if not zipfile.is_zipfile(io.BytesIO(data)):
        return data
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        start = min((info.header_offset for info in archive.infolist()), default=len(data))
    return data[:start] if start > 0 else data


def _input_details(schema, model_bytes: bytes):
    model = schema.Model.GetRootAsModel(model_bytes, 0)
    graph = model.Subgraphs(0)
    if graph.InputsLength() != 1 or graph.OutputsLength() != 1:
        raise InvalidInputError(
            "Classifier metadata describes one image input and one score output. Received: a model with "
            f"{graph.InputsLength()} inputs and {graph.OutputsLength()} outputs. Export with metadata=False."
        )
    tensor = graph.Tensors(graph.Inputs(0))
    output = graph.Tensors(graph.Outputs(0))
    types = {value: name.lower() for name, value in vars(schema.TensorType).items() if not name.startswith("_")}
    return list(tensor.ShapeAsNumpy()), types[tensor.Type()], list(output.ShapeAsNumpy())


def embed_metadata(path, class_names: Sequence[str], *, name: str, version: str = "1", description: str = "",
                   author: str = "keras-transfer", license: Optional[str] = None) -> dict:
    """Write classifier metadata and the labels into a ``.tflite`` image classifier, in place.

    Args:
        path: str. A ``.tflite`` file with one image input ``(batch, H, W, 1 or 3)`` (uint8 or float32 raw
            pixels 0-255) and one score output ``(batch, classes)``.
        class_names: class names in output order (packed as ``labels.txt``).
        name: str. Model name.
        version: str. Model version.
        description: str. What the model does.
        author: str.
        license: str or None.

    Returns:
        dict: what :func:`read_metadata` reads back.

    Raises:
        keras_transfer.errors.InvalidInputError: the model is not a single-image-input classifier, or the
            class names do not fit its output.
        keras_transfer.errors.ExportError: the ``mediapipe`` package (its metadata schema) is not installed.

    Examples:
    >>> from keras_transfer.export.tflite_metadata import embed_metadata, read_metadata
    >>> embed_metadata("model.tflite", ["cat", "dog"], name="pets")["labels"]  # doctest: +SKIP
    ['cat', 'dog']
    """
    fb, schema = _schemas()
    path = os.fspath(path)
    with open(path, "rb") as handle:
        model_bytes = _flatbuffer_part(handle.read())
    shape, dtype, output_shape = _input_details(schema, model_bytes)
    names = [str(n) for n in class_names]
    if len(shape) != 4 or shape[-1] not in (1, 3):
        raise InvalidInputError(
            "Image classifier metadata needs an input of shape (batch, height, width, 1 or 3). "
            f"Received: input shape {shape}. Export with metadata=False for other inputs."
        )
    if len(output_shape) != 2 or output_shape[-1] != len(names):
        raise InvalidInputError(
            f"The labels must name every output score. Received: {len(names)} class names for an output of shape "
            f"{output_shape}. Pass class_names with one name per class."
        )
    if any("\n" in n for n in names):
        raise InvalidInputError(f"Class names are written one per line. Received: a name with a newline in {names}.")
    metadata = _metadata_buffer(fb, name=name, version=str(version), description=description, author=author,
                                license=license, input_dtype=dtype, channels=int(shape[-1]),
                                num_classes=len(names))
    packed = io.BytesIO()
    packed.write(_model_with_metadata(schema, model_bytes, metadata))
    with zipfile.ZipFile(packed, "a") as archive:  # appended after the flatbuffer, as the TFLite support library does
        archive.writestr(LABELS_FILE, "".join(f"{n}\n" for n in names))
    write_file(path, packed.getvalue())
    return read_metadata(path)


def _values(array) -> list:
    """A flatbuffer vector read back (a numpy array, a list or None) as a list."""
    return [] if array is None else list(array)


def _tensor_dict(fb, tensor) -> dict:
    result = {"name": tensor.name.decode() if tensor.name else None,
              "description": tensor.description.decode() if tensor.description else None,
              "content": None, "normalization": None, "stats": None, "associated_files": []}
    content = tensor.content
    if content is not None:
        kinds = {value: key for key, value in vars(fb.ContentProperties).items() if not key.startswith("_")}
        result["content"] = kinds.get(content.contentPropertiesType)
        if content.contentPropertiesType == fb.ContentProperties.ImageProperties:
            spaces = {value: key for key, value in vars(fb.ColorSpaceType).items() if not key.startswith("_")}
            result["color_space"] = spaces.get(content.contentProperties.colorSpace)
        if content.range is not None:
            result["value_range"] = [content.range.min, content.range.max]
    for unit in _values(tensor.processUnits):
        if unit.optionsType == fb.ProcessUnitOptions.NormalizationOptions:
            result["normalization"] = {"mean": [float(v) for v in _values(unit.options.mean)],
                                       "std": [float(v) for v in _values(unit.options.std)]}
    if tensor.stats is not None:
        result["stats"] = {"min": [float(v) for v in _values(tensor.stats.min)],
                           "max": [float(v) for v in _values(tensor.stats.max)]}
    file_types = {value: key for key, value in vars(fb.AssociatedFileType).items() if not key.startswith("_")}
    result["associated_files"] = [{"name": f.name.decode(), "type": file_types.get(f.type)}
                                  for f in tensor.associatedFiles or []]
    return result


def read_metadata(path) -> Optional[dict]:
    """The metadata embedded in a ``.tflite`` file, read back with the metadata schema; None when it has none.

    Args:
        path: str. A ``.tflite`` file.

    Returns:
        dict or None: ``name``, ``version``, ``description``, ``author``, ``license``, ``min_parser_version``,
        ``inputs`` / ``outputs`` (per tensor: ``content``, ``color_space``, ``normalization`` mean / std,
        ``stats`` min / max, ``associated_files``), ``packed_files`` (the zip's file names) and ``labels``
        (``labels.txt``'s lines, or None).

    Raises:
        keras_transfer.errors.ExportError: the ``mediapipe`` package (its metadata schema) is not installed.

    Examples:
    >>> keras_transfer.export.tflite_metadata.read_metadata("model.tflite")["labels"]  # doctest: +SKIP
    ['cat', 'dog']
    """
    fb, schema = _schemas()
    with open(os.fspath(path), "rb") as handle:
        data = handle.read()
    model = schema.Model.GetRootAsModel(data, 0)
    raw = None
    for i in range(model.MetadataLength()):
        entry = model.Metadata(i)
        if entry.Name().decode("utf-8") == METADATA_NAME:
            raw = model.Buffers(entry.Buffer()).DataAsNumpy().tobytes()
    if not raw:
        return None
    metadata = fb.ModelMetadataT.InitFromObj(fb.ModelMetadata.GetRootAsModelMetadata(raw, 0))

    def text(value):
        return value.decode("utf-8") if value is not None else None

    subgraph = metadata.subgraphMetadata[0]
    result = {
        "name": text(metadata.name), "version": text(metadata.version), "description": text(metadata.description),
        "author": text(metadata.author), "license": text(metadata.license),
        "min_parser_version": text(metadata.minParserVersion),
        "identifier_ok": fb.ModelMetadata.ModelMetadataBufferHasIdentifier(raw, 0),
        "inputs": [_tensor_dict(fb, t) for t in subgraph.inputTensorMetadata or []],
        "outputs": [_tensor_dict(fb, t) for t in subgraph.outputTensorMetadata or []],
        "packed_files": [], "labels": None,
    }
    if zipfile.is_zipfile(io.BytesIO(data)):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            result["packed_files"] = archive.namelist()
            if LABELS_FILE in result["packed_files"]:
                lines = archive.read(LABELS_FILE).decode("utf-8").splitlines()
                result["labels"] = [line for line in lines if line]
    return result
