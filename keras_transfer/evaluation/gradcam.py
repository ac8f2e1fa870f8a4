"""`grad_cam`: Grad-CAM heatmaps of a ``TransferModel`` at a backbone layer group, computed through the nested
backbone on raw input images."""

from typing import Optional

import numpy as np

from keras_transfer.checks import check_int
from keras_transfer.errors import InvalidConfigError, InvalidInputError
from keras_transfer.models.inputs import input_arrays

__all__ = ["cell_centres", "explained_scores", "feature_grid", "grad_cam", "gradcam_target", "head_logits"]


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
    if getattr(model.head, "num_classes", None) is None or not hasattr(model.head, "output_layer"):
        raise InvalidConfigError(
            "Grad-CAM explains a class score of a keras_transfer.heads.ClassificationHead. Received: a head of "
            f"type {type(model.head).__name__}."
        )
    return backbone, network


def head_logits(head, features):
    """The class scores of a toolkit head before its softmax / sigmoid (what Grad-CAM differentiates): the
    hidden layers, then the output layer's kernel and bias without its activation.

    Args:
        head: keras_transfer.heads.Head (hidden Dense layers, then ``output_layer``).
        features: tensor ``(batch, features)``.

    Returns:
        float32 tensor ``(batch, classes)``.
    """
    import keras

    x = features
    for dense in head.hidden_layers:
        x = dense(x)
    output = head.output_layer
    logits = keras.ops.matmul(keras.ops.cast(x, output.kernel.dtype), output.kernel)
    return keras.ops.cast(logits + output.bias if output.use_bias else logits, "float32")


def explained_scores(head, logits):
    """The class scores Grad-CAM differentiates: a softmax head's logits minus their mean over the classes; a
    multi-label (sigmoid) head's logits as they are.

    A softmax is unchanged when the same amount is added to every logit, so the part of ``W[:, c] · features`` that
    all classes share (e.g. what is left of the mean over the classes of the output kernel's random initialisation;
    nothing in the loss removes it, as cross-entropy gradients sum to zero over the classes) moves no probability.
    Left in, its heatmap (large wherever the features are large, whatever the class) is added to every class's
    heatmap; the centred logit keeps only what separates the class from the others (for two classes: half the
    logit difference).

    Args:
        head: keras_transfer.heads.ClassificationHead.
        logits: tensor ``(batch, classes)`` (see :func:`head_logits`).

    Returns:
        tensor ``(batch, classes)``.

    Examples:
    >>> import numpy as np
    >>> head = keras_transfer.ClassificationHead(3)
    >>> np.asarray(keras_transfer.evaluation.gradcam.explained_scores(head, np.array([[1.0, 2.0, 6.0]]))).tolist()
    [[-2.0, -1.0, 3.0]]
    """
    import keras

    if getattr(head, "multi_label", False):
        return logits
    return logits - keras.ops.mean(logits, axis=-1, keepdims=True)


def gradcam_target(model, layer: Optional[str] = None):
    """The layer whose feature maps Grad-CAM weighs: the last layer of a backbone layer group, or the layer
    feeding it when that last layer is a capped activation (ReLU6: MobileNetV2's ``out_relu``, EfficientNet-Lite's
    ``top_activation``).

    A cap flattens the evidence where it is strongest: on the fine-tuned MobileNetV2 of ``benchmarks/gradcam.py``
    far more of ``out_relu``'s channels sit at 6 on the object's cells than elsewhere, and its heatmap peaks inside
    the object's box on 41 % of the test images against 91 % for the pre-activation ``Conv_1_bn``
    (``benchmarks/results/gradcam.md``). The pre-activation maps keep that evidence; their gradient still passes
    through the activation (zero where it is clipped).

    Args:
        model: keras_transfer.TransferModel on an image backbone.
        layer: str or None. A layer group name (``[g.name for g in model.backbone.layer_groups]``, the rule
            above) or a layer name inside ``model.backbone.network`` (taken as it is); None: the last layer group.

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
        return _unclipped(backbone.layer_groups[-1].layers[-1])
    if layer in groups:
        return _unclipped(groups[layer].layers[-1])
    names = [sub.name for sub in network.layers]
    if layer in names:
        return network.get_layer(layer)
    raise InvalidConfigError(
        f"Unknown Grad-CAM layer. Received: layer={layer!r}. Use a layer group ({', '.join(groups)}) or a layer "
        "name of model.backbone.network."
    )


def _unclipped(layer):
    """``layer``, or the layer producing its input when ``layer`` is an activation with an upper bound (ReLU6)."""
    import keras

    capped = (isinstance(layer, keras.layers.ReLU) and layer.max_value is not None) or (
        isinstance(layer, keras.layers.Activation)
        and getattr(layer.activation, "__name__", "") in ("relu6", "hard_sigmoid", "hard_silu", "hard_swish"))
    nodes = getattr(layer, "_inbound_nodes", [])
    if not capped or len(nodes) != 1 or len(nodes[0].input_tensors) != 1:
        return layer
    return nodes[0].input_tensors[0]._keras_history.operation


def grad_cam(model, images, class_ids=None, *, layer: Optional[str] = None, batch_size: int = 16) -> np.ndarray:
    """Grad-CAM heatmaps (Selvaraju et al., 2017) on raw images, at the input's resolution.

    Plain Keras cannot build a model from a nested backbone's inner layer to the outer model's output ("Graph
    disconnected"). This runs the path explicitly under one ``tf.GradientTape``: the backbone's own
    preprocessing (resize, grey to RGB, normalisation), a model over its inner network with two outputs (the
    target layer's feature maps and the network's output), the backbone's pooling, the optional shift layer and
    the head. The score is the explained class's logit (before the softmax, as in the paper: a saturated
    probability has no gradient), centred on the mean logit for a softmax head (``explained_scores``: the part all
    classes share moves no probability, and it would add the same class-blind heatmap to every class); the maps
    are weighted by its spatially averaged gradient, summed over channels and passed through a ReLU. They are
    interpolated bilinearly at every raw-image pixel with each feature cell placed where it sits on the input
    (``feature_grid``: strided convolutions shift the grid by up to half a cell from where a plain resize puts it)
    and scaled to a peak of 1.

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
    if not model.built or not model.head.built:  # a model never called yet: build its head
        model(images[:1].astype("float32"), training=False)
    extractor = keras.Model(network.inputs, [target.output, network.output])
    shift = getattr(model, "shift", None)
    maps, grid = [], None
    for start in range(0, len(images), batch_size):
        batch = tf.convert_to_tensor(images[start: start + batch_size].astype("float32"))
        inputs = backbone.preprocess(batch)
        if grid is None:
            grid = feature_grid(network, target) or [cell_centres(extractor, inputs, axis) for axis in (1, 2)]
        with tf.GradientTape() as tape:
            features, output = extractor(inputs, training=False)
            if backbone.pooling == "avg":
                output = tf.reduce_mean(output, axis=(1, 2))
            elif backbone.pooling == "max":
                output = tf.reduce_max(output, axis=(1, 2))
            if shift is not None:
                output = shift(output)
            logits = head_logits(model.head, output)
            chosen = (tf.argmax(logits, axis=-1) if class_ids is None
                      else tf.constant(class_ids[start: start + batch_size]))
            score = tf.gather(explained_scores(model.head, logits), chosen, axis=1, batch_dims=1)
        gradients = tf.cast(tape.gradient(score, features), "float32")
        features = tf.cast(features, "float32")
        weights = tf.reduce_mean(gradients, axis=(1, 2), keepdims=True)
        cam = tf.nn.relu(tf.reduce_sum(weights * features, axis=-1)).numpy()
        cam = _upsample(cam, images.shape[1:3], inputs.shape[1:3], grid)
        peak = cam.max(axis=(1, 2), keepdims=True)
        maps.append(cam / np.where(peak > 0, peak, 1.0))
    return np.concatenate(maps, axis=0).astype("float32")


def _window(layer):
    """``(kernel, stride, dilation, padding)`` per spatial axis of a windowed layer (convolution, pooling), else
    None."""
    config = layer.get_config()
    kernel = config.get("kernel_size", config.get("pool_size"))
    if kernel is None:
        return None
    strides = config.get("strides") or kernel
    dilation = config.get("dilation_rate", 1)
    pair = (lambda v: tuple(v) if isinstance(v, (list, tuple)) else (v, v))
    return pair(kernel), pair(strides), pair(dilation), config.get("padding", "valid")


def feature_grid(network, target):
    """Where the cells of ``target``'s output sit on ``network``'s input, from the layers' configs: per axis
    ``(step, first)``, cell ``k`` centred at ``first + step * k`` (pixels, continuous coordinates).

    Every windowed layer (convolution, pooling) moves the centre of output 0 to the centre of its first window
    (``"same"`` padding pads ``floor(total / 2)`` before, as TensorFlow does) and multiplies the step by its
    stride; ``ZeroPadding2D`` shifts it back; other layers keep their first input's grid. A 3×3 stride-2
    convolution with symmetric padding, e.g., centres output 0 on input pixel 0, not where a plain bilinear resize
    of the map puts it (half a step in), which is off by half a cell after the last stride.

    Args:
        network: keras.Model (functional): the backbone's inner network.
        target: keras.layers.Layer inside it.

    Returns:
        list of two ``(step, first)`` pairs (rows, columns), or None when a layer's geometry is unknown (then
        :func:`cell_centres` measures it).
    """
    import keras

    grids = {id(tensor): ((1.0, 0.5), (1.0, 0.5)) for tensor in network.inputs}
    for layer in network.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        nodes = getattr(layer, "_inbound_nodes", [])
        if len(nodes) != 1:
            return None
        inputs, outputs = list(nodes[0].input_tensors), list(nodes[0].output_tensors)
        known = [grids[id(t)] for t in inputs if id(t) in grids]
        if not known:
            continue  # not on the image path
        grid = known[0]
        if isinstance(layer, keras.layers.ZeroPadding2D):
            (top, _), (left, _) = layer.padding
            grid = tuple((step, first - pad * step) for (step, first), pad in zip(grid, (top, left)))
        elif len(inputs[0].shape) == 4 and _window(layer) is not None:
            kernel, strides, dilation, padding = _window(layer)
            new = []
            for axis, ((step, first), k, stride, d) in enumerate(zip(grid, kernel, strides, dilation), start=1):
                size_in, size_out = inputs[0].shape[axis], outputs[0].shape[axis]
                span = (k - 1) * d + 1
                before = 0
                if padding == "same":
                    if size_in is None or size_out is None:
                        return None
                    before = max((size_out - 1) * stride + span - size_in, 0) // 2
                new.append((step * stride, first + step * ((span - 1) / 2 - before)))
            grid = tuple(new)
        elif type(layer).__name__ in ("UpSampling2D", "Resizing", "Conv2DTranspose", "Cropping2D"):
            return None
        for tensor in outputs:
            grids[id(tensor)] = grid
        if layer is target:
            return [tuple(map(float, axis_grid)) for axis_grid in grid]
    return None


def cell_centres(extractor, inputs, axis: int):
    """Where the feature cells sit on the network's input along one axis, measured (the fallback of
    :func:`feature_grid` for layers of unknown geometry): ``(step, first)`` with cell ``k`` centred at
    ``first + step * k`` (pixel units, continuous coordinates).

    The step is the input size over the map size. The first centre depends on the padding of every strided layer
    (a 3×3 stride-2 convolution with symmetric padding centres output 0 on input pixel 0, Keras' ``"same"`` on
    pixel 1), so it is measured: the centre of mass of the input gradient of two middle rows / columns of cells,
    on these inputs. A plain bilinear resize of the map assumes ``step / 2`` and can be off by half a cell.

    Args:
        extractor: keras.Model ``network input -> (feature maps, network output)``.
        inputs: float tensor ``(n, H, W, 3)``: preprocessed network inputs.
        axis: int. 1 (rows) or 2 (columns).

    Returns:
        tuple ``(step, first)`` of float.
    """
    import tensorflow as tf

    inputs = tf.convert_to_tensor(inputs)
    size = int(inputs.shape[axis])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(inputs)
        features = extractor(inputs, training=False)[0]
        cells = int(features.shape[axis])
        step = size / cells
        if cells < 2:
            return step, step / 2
        chosen = sorted({(cells - 1) // 3, cells - 1 - (cells - 1) // 3})
        scores = [tf.reduce_sum(tf.gather(features, k, axis=axis)) for k in chosen]
    offsets = []
    for k, score in zip(chosen, scores):
        gradient = tape.gradient(score, inputs)
        profile = tf.reduce_sum(tf.abs(gradient), axis=[a for a in range(4) if a != axis]).numpy()
        if profile.sum() > 0:
            offsets.append(float((profile * (np.arange(size) + 0.5)).sum() / profile.sum()) - step * k)
    del tape
    return step, (float(np.mean(offsets)) if offsets else step / 2)


def _upsample(cam, image_size, input_size, grid) -> np.ndarray:
    """Bilinear interpolation of maps ``(n, h, w)`` at every raw-image pixel, with the measured cell centres."""
    result = cam
    for axis, (size, net_size, (step, first)) in enumerate(zip(image_size, input_size, grid), start=1):
        cells = cam.shape[axis]
        position = (np.arange(size) + 0.5) * net_size / size  # raw pixel centre on the network's input
        index = np.clip((position - first) / step, 0, cells - 1)
        low = np.floor(index).astype("int64")
        high = np.minimum(low + 1, cells - 1)
        weight = (index - low).reshape([-1 if a == axis else 1 for a in range(3)])
        result = np.take(result, low, axis=axis) * (1 - weight) + np.take(result, high, axis=axis) * weight
    return result.astype("float32")
