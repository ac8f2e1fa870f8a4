"""`grad_cam`: Grad-CAM heatmaps of a ``TransferModel`` at a backbone layer group, computed through the nested
backbone on raw input images."""

from typing import Optional

import numpy as np

from keras_transfer.checks import check_int
from keras_transfer.errors import InvalidConfigError, InvalidInputError
from keras_transfer.models.inputs import input_arrays

__all__ = ["grad_cam", "gradcam_target"]


def _check_model(model):
    backbone = getattr(model, "backbone", None)
    network = getattr(backbone, "network", None)
    if getattr(model, "head", None) is None or getattr(backbone, "input_kind", None) != "image" or network is None:
        raise InvalidConfigError(
            "Grad-CAM needs a keras_transfer.TransferModel on an image backbone (a Keras network inside "
            f"backbone.network) with one head. Received: a model of type {type(model).__name__}"
            f"{'' if backbone is None else ' with backbone ' + type(backbone).__name__}. Exported files have no "
            "gradients: load the .keras file instead."
        )
    if getattr(model.head, "num_classes", None) is None:
        raise InvalidConfigError(
            f"Grad-CAM explains a class score. Received: a head of type {type(model.head).__name__} without classes."
        )
    return backbone, network


def gradcam_target(model, layer: Optional[str] = None):
    """The layer whose feature maps Grad-CAM weighs: the last layer of a backbone layer group.

    Args:
        model: keras_transfer.TransferModel on an image backbone.
        layer: str or None. A layer group name (``[g.name for g in model.backbone.layer_groups]``) or a layer
            name inside ``model.backbone.network``; None: the last layer group.

    Returns:
        keras.layers.Layer.

    Raises:
        InvalidConfigError: no such group or layer, or a model Grad-CAM cannot explain.

    Examples:
    >>> name = keras_transfer.testing.register_tiny_backbone()
    >>> backbone = keras_transfer.backbones.get(name, weights=None, input_shape=(32, 32))
    >>> model = keras_transfer.TransferModel(backbone, keras_transfer.ClassificationHead(2))
    >>> keras_transfer.evaluation.gradcam_target(model).name
    'block3_relu'
    """
    backbone, network = _check_model(model)
    groups = {group.name: group for group in backbone.layer_groups}
    if layer is None:
        return backbone.layer_groups[-1].layers[-1]
    if layer in groups:
        return groups[layer].layers[-1]
    names = [sub.name for sub in network.layers]
    if layer in names:
        return network.get_layer(layer)
    raise InvalidConfigError(
        f"Unknown Grad-CAM layer. Received: layer={layer!r}. Use a layer group ({', '.join(groups)}) or a layer "
        "name of model.backbone.network."
    )


def grad_cam(model, images, class_ids=None, *, layer: Optional[str] = None, batch_size: int = 16) -> np.ndarray:
    """Grad-CAM heatmaps (Selvaraju et al., 2017) on raw images, at the input's resolution.

    Plain Keras cannot build a model from a nested backbone's inner layer to the outer model's output ("Graph
    disconnected"). This runs the path explicitly under one ``tf.GradientTape``: the backbone's own
    preprocessing (resize, grey to RGB, normalisation), a model over its inner network with two outputs (the
    target layer's feature maps and the network's output), the backbone's pooling, the optional shift layer and
    the head. The score is the log-probability of the explained class; the maps are weighted by its
    spatially averaged gradient, summed over channels, passed through a ReLU, upsampled bilinearly to the raw
    image size (the backbone resizes the whole image, so maps and image align) and scaled to a peak of 1.

    Args:
        model: keras_transfer.TransferModel on an image backbone with a classification head (live or reloaded).
        images: raw images ``(n, H, W, C)`` (or ``(x, y)``: its images).
        class_ids: int array ``(n,)`` of the classes to explain, or None: the predicted classes.
        layer: str or None. A layer group or inner layer name (see ``gradcam_target``); None: the last group.
        batch_size: int ≥ 1.

    Returns:
        float32 array ``(n, H, W)`` in [0, 1] (all zeros where no location raises the score).

    Raises:
        InvalidConfigError: a model Grad-CAM cannot explain, or an unknown layer.
        InvalidInputError: images of the wrong shape, or class ids out of range.

    Examples:
    >>> import numpy as np
    >>> name = keras_transfer.testing.register_tiny_backbone()
    >>> backbone = keras_transfer.backbones.get(name, weights=None, input_shape=(32, 32))
    >>> model = keras_transfer.TransferModel(backbone, keras_transfer.ClassificationHead(2))
    >>> images = np.random.default_rng(0).integers(0, 255, (3, 28, 28, 1)).astype("uint8")
    >>> keras_transfer.evaluation.grad_cam(model, images).shape
    (3, 28, 28)
    """
    import keras
    import tensorflow as tf

    check_int("batch_size", batch_size, minimum=1, expected="a positive int")
    backbone, network = _check_model(model)
    target = gradcam_target(model, layer)
    if not isinstance(images, np.ndarray):
        images = input_arrays(model, images)[0]
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] not in (1, 3) or len(images) == 0:
        raise InvalidInputError(
            "Grad-CAM takes a batch of raw images (n, height, width, 1 or 3). Received: shape "
            f"{images.shape}."
        )
    num_classes = model.head.num_classes
    if class_ids is not None:
        class_ids = np.asarray(class_ids).reshape(-1).astype("int64")
        if len(class_ids) != len(images) or class_ids.min() < 0 or class_ids.max() >= num_classes:
            raise InvalidInputError(
                f"class_ids needs one class in [0, {num_classes}) per image. Received: {len(class_ids)} ids from "
                f"{class_ids.min()} to {class_ids.max()} for {len(images)} images."
            )
    extractor = keras.Model(network.inputs, [target.output, network.output])
    shift = getattr(model, "shift", None)
    maps = []
    for start in range(0, len(images), batch_size):
        batch = tf.convert_to_tensor(images[start: start + batch_size].astype("float32"))
        with tf.GradientTape() as tape:
            features, output = extractor(backbone.preprocess(batch), training=False)
            if backbone.pooling == "avg":
                output = tf.reduce_mean(output, axis=(1, 2))
            elif backbone.pooling == "max":
                output = tf.reduce_max(output, axis=(1, 2))
            if shift is not None:
                output = shift(output)
            probabilities = tf.cast(model.head(output, training=False), "float32")
            chosen = (tf.argmax(probabilities, axis=-1) if class_ids is None
                      else tf.constant(class_ids[start: start + batch_size]))
            score = tf.math.log(tf.maximum(tf.gather(probabilities, chosen, axis=1, batch_dims=1), 1e-30))
        gradients = tf.cast(tape.gradient(score, features), "float32")
        features = tf.cast(features, "float32")
        weights = tf.reduce_mean(gradients, axis=(1, 2), keepdims=True)
        cam = tf.nn.relu(tf.reduce_sum(weights * features, axis=-1))[..., None]
        cam = tf.image.resize(cam, images.shape[1:3], method="bilinear")[..., 0]
        peak = tf.reduce_max(cam, axis=(1, 2), keepdims=True)
        maps.append((cam / tf.where(peak > 0, peak, 1.0)).numpy())
    return np.concatenate(maps, axis=0).astype("float32")
