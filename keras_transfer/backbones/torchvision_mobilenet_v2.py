"""torchvision's MobileNetV2, rebuilt in Keras so its ImageNet weights load without torch.

The architecture is torchvision's ``mobilenet_v2`` (width 1.0): BatchNorm epsilon 1e-5 and momentum 0.9 (torch's
0.1), every 3x3 convolution padded symmetrically by one pixel (``ZeroPadding2D(1)`` then ``padding="valid"``,
where ``keras.applications.MobileNetV2`` pads stride-2 convolutions asymmetrically), ReLU6, and the same
inverted residual blocks. Layer names are those of ``keras.applications.MobileNetV2`` (``Conv1``, ``bn_Conv1``,
``expanded_conv_*``, ``block_1_expand`` ... ``block_16_project_BN``, ``Conv_1``, ``Conv_1_bn``, ``out_relu``), plus
``Conv1_pad``, ``expanded_conv_pad`` and a ``block_N_pad`` in every block, so name-based grouping
(``block_(\\d+)_``) works the same on both.
"""

import keras
import numpy as np

from keras_transfer.errors import CorruptWeightsError, InvalidConfigError

__all__ = ["build_torchvision_mobilenet_v2", "torchvision_mobilenet_v2_to_keras"]

_BN_EPSILON = 1e-5
_BN_MOMENTUM = 0.9
# torchvision's inverted_residual_setting: expansion t, output channels c, repeats n, first stride s.
_SETTING = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))
_MIN_SIZE = 32


def _check_input_shape(input_shape):
    shape = tuple(input_shape)
    if len(shape) != 3 or shape[-1] != 3 or any(s is not None and s < _MIN_SIZE for s in shape[:2]):
        raise InvalidConfigError(
            f"`input_shape` must be (height, width, 3) with height and width >= {_MIN_SIZE} (or None). "
            f"Received: input_shape={input_shape}. Use e.g. input_shape=(224, 224, 3)."
        )
    return shape


def _bn(name):
    return keras.layers.BatchNormalization(epsilon=_BN_EPSILON, momentum=_BN_MOMENTUM, name=name)


def _block_specs():
    """Yields (keras prefix, expansion, out channels, stride) for the 17 inverted residual blocks."""
    index = 0
    for t, c, n, s in _SETTING:
        for i in range(n):
            prefix = "expanded_conv_" if index == 0 else f"block_{index}_"
            yield prefix, t, c, s if i == 0 else 1
            index += 1


def build_torchvision_mobilenet_v2(input_shape=(224, 224, 3), include_top=False, classes=1000,
                                   name="mobilenet_v2_torchvision"):
    """Builds torchvision's MobileNetV2 as a Keras Functional model (random weights).

    Inputs must already be preprocessed as torchvision does: ``x / 255`` then ImageNet mean
    ``(0.485, 0.456, 0.406)`` and std ``(0.229, 0.224, 0.225)`` per channel. Load the ImageNet weights with
    ``keras_transfer.weights.load_offline_imagenet(model, "torchvision_mobilenet_v2")``.

    Args:
        input_shape: tuple of 3 ints (height, width, 3); height and width >= 32 or None.
        include_top: bool. When True, adds global average pooling, ``Dropout(0.2)`` and a ``Dense(classes)``
            layer named ``"predictions"`` that returns logits (no softmax, as torchvision). When False, the
            output is the last feature map ``(batch, h/32, w/32, 1280)``.
        classes: int. Number of outputs of ``"predictions"`` (1000 for the ImageNet weights).
        name: str. Model name.

    Returns:
        keras.Model: a Functional model.

    Examples:

    >>> from keras_transfer.backbones.torchvision_mobilenet_v2 import build_torchvision_mobilenet_v2
    >>> model = build_torchvision_mobilenet_v2(input_shape=(96, 96, 3))
    >>> model.output_shape
    (None, 3, 3, 1280)
    """
    shape = _check_input_shape(input_shape)
    inputs = keras.Input(shape=shape, name="input_layer")
    x = keras.layers.ZeroPadding2D(1, name="Conv1_pad")(inputs)
    x = keras.layers.Conv2D(32, 3, strides=2, padding="valid", use_bias=False, name="Conv1")(x)
    x = _bn("bn_Conv1")(x)
    x = keras.layers.ReLU(6.0, name="Conv1_relu")(x)

    channels = 32
    for prefix, t, out, stride in _block_specs():
        shortcut = x
        if t != 1:
            x = keras.layers.Conv2D(channels * t, 1, use_bias=False, name=prefix + "expand")(x)
            x = _bn(prefix + "expand_BN")(x)
            x = keras.layers.ReLU(6.0, name=prefix + "expand_relu")(x)
        x = keras.layers.ZeroPadding2D(1, name=prefix + "pad")(x)
        x = keras.layers.DepthwiseConv2D(3, strides=stride, padding="valid", use_bias=False,
                                         name=prefix + "depthwise")(x)
        x = _bn(prefix + "depthwise_BN")(x)
        x = keras.layers.ReLU(6.0, name=prefix + "depthwise_relu")(x)
        x = keras.layers.Conv2D(out, 1, use_bias=False, name=prefix + "project")(x)
        x = _bn(prefix + "project_BN")(x)
        if stride == 1 and channels == out:
            x = keras.layers.Add(name=prefix + "add")([shortcut, x])
        channels = out

    x = keras.layers.Conv2D(1280, 1, use_bias=False, name="Conv_1")(x)
    x = _bn("Conv_1_bn")(x)
    x = keras.layers.ReLU(6.0, name="out_relu")(x)
    if include_top:
        x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = keras.layers.Dropout(0.2, name="top_dropout")(x)
        x = keras.layers.Dense(classes, name="predictions")(x)
    return keras.Model(inputs, x, name=name)


def _conv(w):
    return [np.transpose(w, (2, 3, 1, 0))]  # OIHW -> HWIO


def _depthwise(w):
    return [np.transpose(w, (2, 3, 0, 1))]  # (C, 1, kh, kw) -> (kh, kw, C, 1)


def torchvision_mobilenet_v2_to_keras(state_dict):
    """Maps a torchvision MobileNetV2 state dict onto the layer names of :func:`build_torchvision_mobilenet_v2`.

    Convolutions go from OIHW to HWIO, depthwise kernels from ``(C, 1, kh, kw)`` to ``(kh, kw, C, 1)``, the
    classifier is transposed, BatchNorm becomes ``[gamma, beta, moving_mean, moving_variance]``;
    ``num_batches_tracked`` is ignored. The classifier (``classifier.1.*``) maps to ``"predictions"`` when present.

    Args:
        state_dict: dict[str, numpy.ndarray]. torchvision parameter names (``features.0.0.weight``, ...) to arrays,
            e.g. from :func:`keras_transfer.weights.read_torch_checkpoint`.

    Returns:
        dict[str, list[numpy.ndarray]]: Keras layer name → weights in ``layer.get_weights()`` order.

    Raises:
        CorruptWeightsError: a parameter the architecture needs is missing.

    Examples:

    >>> from keras_transfer.backbones.torchvision_mobilenet_v2 import torchvision_mobilenet_v2_to_keras
    >>> from keras_transfer.weights import read_torch_checkpoint
    >>> state = read_torch_checkpoint("mobilenet_v2-b0353104.pth")  # doctest: +SKIP
    >>> weights = torchvision_mobilenet_v2_to_keras(state)  # doctest: +SKIP
    >>> weights["Conv1"][0].shape  # doctest: +SKIP
    (3, 3, 3, 32)
    """

    def get(key):
        if key not in state_dict:
            raise CorruptWeightsError(
                f"The torchvision MobileNetV2 state dict has no '{key}'. Received {len(state_dict)} keys, e.g. "
                f"{list(state_dict)[:3]}. Pass the state dict of torchvision.models.mobilenet_v2."
            )
        return np.asarray(state_dict[key])

    def bn(prefix):
        return [get(f"{prefix}.{k}") for k in ("weight", "bias", "running_mean", "running_var")]

    out = {"Conv1": _conv(get("features.0.0.weight")), "bn_Conv1": bn("features.0.1")}
    for index, (prefix, t, _, _) in enumerate(_block_specs()):
        f = f"features.{index + 1}.conv"
        if t != 1:
            out[prefix + "expand"] = _conv(get(f"{f}.0.0.weight"))
            out[prefix + "expand_BN"] = bn(f"{f}.0.1")
            f_dw, f_proj, f_bn = f"{f}.1", f"{f}.2", f"{f}.3"
        else:
            f_dw, f_proj, f_bn = f"{f}.0", f"{f}.1", f"{f}.2"
        out[prefix + "depthwise"] = _depthwise(get(f"{f_dw}.0.weight"))
        out[prefix + "depthwise_BN"] = bn(f"{f_dw}.1")
        out[prefix + "project"] = _conv(get(f"{f_proj}.weight"))
        out[prefix + "project_BN"] = bn(f_bn)
    out["Conv_1"] = _conv(get("features.18.0.weight"))
    out["Conv_1_bn"] = bn("features.18.1")
    if "classifier.1.weight" in state_dict:
        out["predictions"] = [get("classifier.1.weight").T, get("classifier.1.bias")]
    return out
