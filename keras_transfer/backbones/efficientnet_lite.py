"""EfficientNet-Lite0, -Lite1 and -Lite2 in Keras (Keras has no EfficientNet-Lite); their PyTorch weights convert
with :func:`keras_transfer.weights.torch_layout.efficientnet_lite0_to_keras` (``..._lite1_...``, ``..._lite2_...``).

EfficientNet-Lite is EfficientNet made friendly to quantisation and mobile accelerators: no squeeze-and-excite,
ReLU6 instead of swish, and the stem (32) and head (1280) channels are not scaled. Lite0 uses EfficientNet-B0's
block table unchanged; Lite1 and Lite2 scale it (depth 1.1 / 1.2, width 1.0 / 1.1; native resolutions 240 and
260; :func:`keras_transfer.weights.torch_layout.efficientnet_lite_blocks`). Convolutions use TF-style ``"same"`` padding (Keras' ``padding="same"``), BatchNorm epsilon
1e-3. Layer names follow ``keras.applications.EfficientNetB0`` (``stem_conv``, ``block2a_expand_conv``, ...,
``top_conv``), so name-based grouping (``block(\\d)``) works the same on both.
"""

import functools

import keras

from keras_transfer.backbones.rebuilt import classifier_top, conv_bn, image_input
from keras_transfer.weights.torch_layout import efficientnet_lite_blocks

__all__ = ["build_efficientnet_lite0", "build_efficientnet_lite1", "build_efficientnet_lite2"]

_BN_EPSILON = 1e-3
_BN_MOMENTUM = 0.99


def _bn(name):
    return keras.layers.BatchNormalization(epsilon=_BN_EPSILON, momentum=_BN_MOMENTUM, name=name)


def build_efficientnet_lite0(input_shape=(224, 224, 3), include_top=False, classes=1000, name="efficientnet_lite0",
                             drop_connect_rate=0.2):
    """Builds EfficientNet-Lite0 as a Keras Functional model (random weights).

    Inputs must already be preprocessed as the original TF-Lite models expect: ``(x - 127) / 128`` for
    pixels ``x`` in ``[0, 255]``. Load the ImageNet weights with
    ``keras_transfer.weights.load_offline_imagenet(model, "efficientnet_lite0")``.

    Args:
        input_shape: tuple of 3 ints (height, width, 3); height and width >= 32 or None.
        include_top: bool. When True, adds ``avg_pool``, ``top_dropout`` (0.2) and a ``Dense(classes)`` layer named
            ``"predictions"`` that returns logits (no softmax). When False, the output is the last feature map
            ``(batch, ceil(h/32), ceil(w/32), 1280)``.
        classes: int. Number of outputs of ``"predictions"`` (1000 for the ImageNet weights).
        name: str. Model name.
        drop_connect_rate: float. Stochastic-depth rate of the last residual block (scaled linearly from 0 over the
            blocks, as in Keras' EfficientNet); active only in training.

    Returns:
        keras.Model: the Functional model, ending in logits when ``include_top``.

    Examples:
    >>> from keras_transfer.backbones.efficientnet_lite import build_efficientnet_lite0
    >>> build_efficientnet_lite0(input_shape=(96, 96, 3)).output_shape
    (None, 3, 3, 1280)
    """
    return _build(0, input_shape, include_top, classes, name, drop_connect_rate)


def build_efficientnet_lite1(input_shape=(240, 240, 3), include_top=False, classes=1000, name="efficientnet_lite1",
                             drop_connect_rate=0.2):
    """Builds EfficientNet-Lite1 (21 blocks, native 240x240) as a Keras Functional model (random weights).

    Arguments, preprocessing and outputs as :func:`build_efficientnet_lite0`; ImageNet weights:
    ``keras_transfer.weights.load_offline_imagenet(model, "efficientnet_lite1")``.

    Returns:
        keras.Model.

    Examples:
    >>> from keras_transfer.backbones.efficientnet_lite import build_efficientnet_lite1
    >>> build_efficientnet_lite1(input_shape=(64, 64, 3)).output_shape
    (None, 2, 2, 1280)
    """
    return _build(1, input_shape, include_top, classes, name, drop_connect_rate)


def build_efficientnet_lite2(input_shape=(260, 260, 3), include_top=False, classes=1000, name="efficientnet_lite2",
                             drop_connect_rate=0.2):
    """Builds EfficientNet-Lite2 (21 wider blocks, native 260x260) as a Keras Functional model (random weights).

    Arguments, preprocessing and outputs as :func:`build_efficientnet_lite0`; ImageNet weights:
    ``keras_transfer.weights.load_offline_imagenet(model, "efficientnet_lite2")``.

    Returns:
        keras.Model.

    Examples:
    >>> from keras_transfer.backbones.efficientnet_lite import build_efficientnet_lite2
    >>> build_efficientnet_lite2(input_shape=(64, 64, 3)).get_layer("block7a_project_conv").filters
    352
    """
    return _build(2, input_shape, include_top, classes, name, drop_connect_rate)


def _build(variant, input_shape, include_top, classes, name, drop_connect_rate):
    inputs = image_input(input_shape)
    conv2d = functools.partial(keras.layers.Conv2D, use_bias=False)
    x = conv_bn(inputs, conv2d(32, 3, strides=2, padding="same", name="stem_conv"), _bn("stem_bn"), "stem_activation")
    specs = efficientnet_lite_blocks(variant)
    for index, (prefix, kernel, c_in, c_out, expand, stride) in enumerate(specs):
        shortcut = x
        if expand != 1:
            x = conv_bn(x, conv2d(c_in * expand, 1, name=prefix + "expand_conv"), _bn(prefix + "expand_bn"),
                        prefix + "expand_activation")
        x = conv_bn(x, keras.layers.DepthwiseConv2D(kernel, strides=stride, padding="same", use_bias=False,
                                                    name=prefix + "dwconv"), _bn(prefix + "bn"), prefix + "activation")
        x = conv_bn(x, conv2d(c_out, 1, name=prefix + "project_conv"), _bn(prefix + "project_bn"))
        if stride == 1 and c_in == c_out:
            rate = drop_connect_rate * index / len(specs)
            if rate > 0:
                x = keras.layers.Dropout(rate, noise_shape=(None, 1, 1, 1), name=prefix + "drop")(x)
            x = keras.layers.Add(name=prefix + "add")([x, shortcut])
    x = conv_bn(x, conv2d(1280, 1, name="top_conv"), _bn("top_bn"), "top_activation")
    if include_top:
        x = classifier_top(x, classes)
    return keras.Model(inputs, x, name=name)
