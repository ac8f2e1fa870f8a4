"""Run a ``.tflite`` image classifier with MediaPipe's own ``ImageClassifier`` task: the check that its embedded
metadata is what MediaPipe needs, and that MediaPipe's preprocessing gives the Keras model's answers."""

from typing import Optional

import numpy as np

from keras_transfer.errors import ExportError

__all__ = ["mediapipe_image_top1", "mediapipe_unsupported_reason"]


def mediapipe_unsupported_reason(input_shape, input_dtype) -> Optional[str]:
    """Why MediaPipe's ``ImageClassifier`` cannot run a model with this input, or None when it can.

    Args:
        input_shape: tuple. The exported input shape with the batch axis.
        input_dtype: str.

    Returns:
        str or None.

    Examples:
    >>> from keras_transfer.export.mediapipe_check import mediapipe_unsupported_reason
    >>> mediapipe_unsupported_reason((None, 28, 28, 1), "uint8")
    "MediaPipe's ImageClassifier takes RGB models only ('Only RGB color space is supported for now'); export with input_shape=(28, 28, 3)"
    >>> mediapipe_unsupported_reason((None, 64, 64, 3), "uint8") is None
    True
    """
    if input_dtype == "string":
        return ("the model takes strings (tokenizer in the graph); MediaPipe's TextClassifier takes a TFLite model "
                "with int32 token ids and tokenizer metadata, and text models export as SavedModel only")
    if len(input_shape) != 4:
        return f"MediaPipe's ImageClassifier takes images (batch, height, width, 3); the input is {input_shape}"
    if input_shape[-1] != 3:
        return ("MediaPipe's ImageClassifier takes RGB models only ('Only RGB color space is supported for now'); "
                f"export with input_shape=({input_shape[1]}, {input_shape[2]}, 3)")
    if None in input_shape[1:3]:
        return "MediaPipe's ImageClassifier needs a fixed height and width"
    if input_dtype not in ("uint8", "float32"):
        return f"MediaPipe's ImageClassifier takes uint8 or float32 inputs; the input is {input_dtype}"
    return None


def mediapipe_image_top1(path, images) -> np.ndarray:
    """The top-1 class id MediaPipe's ``ImageClassifier`` gives each image.

    The task reads the model's metadata (labels, ``NormalizationOptions``) and refuses a model without it.

    Args:
        path: str. A ``.tflite`` image classifier with embedded metadata and an RGB input.
        images: array ``(n, height, width, 3)`` of raw pixels 0-255 at the model's input size.

    Returns:
        numpy int64 array ``(n,)``.

    Raises:
        keras_transfer.errors.ExportError: mediapipe is not installed, or its task refuses the model.

    Examples:
    >>> from keras_transfer.export.mediapipe_check import mediapipe_image_top1
    >>> mediapipe_image_top1("model.tflite", x_test_rgb)[:3]  # doctest: +SKIP
    array([2, 0, 1])
    """
    try:
        import mediapipe as mp
        from mediapipe.tasks.python.core.base_options import BaseOptions
        from mediapipe.tasks.python.vision import image_classifier
    except ImportError as error:
        raise ExportError(
            f"The MediaPipe check needs the 'mediapipe' package (the edge extra). Received: ImportError ({error}). "
            "Install keras-transfer[edge]."
        ) from error
    options = image_classifier.ImageClassifierOptions(base_options=BaseOptions(model_asset_path=str(path)),
                                                      max_results=1)
    try:
        classifier = image_classifier.ImageClassifier.create_from_options(options)
    except (ValueError, RuntimeError) as error:
        raise ExportError(f"MediaPipe's ImageClassifier refused the model: {error}. Received: {str(path)!r}.") from error
    images = np.clip(np.round(np.asarray(images, dtype="float32")), 0, 255).astype("uint8")
    top = []
    with classifier:
        for image in images:
            result = classifier.classify(mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(image)))
            categories = result.classifications[0].categories
            top.append(categories[0].index if categories else -1)
    return np.asarray(top, dtype="int64")
