"""torchvision's MobileNetV2, rebuilt in Keras so its ImageNet weights load without torch.

The architecture is torchvision's ``mobilenet_v2`` (width 1.0): BatchNorm epsilon 1e-5 and momentum 0.9 (torch's
0.1), every 3x3 convolution padded symmetrically by one pixel (``ZeroPadding2D(1)`` then ``padding="valid"``,
where ``keras.applications.MobileNetV2`` pads stride-2 convolutions asymmetrically), ReLU6, and the same
inverted residual blocks. Layer names are those of ``keras.applications.MobileNetV2`` (``Conv1``, ``bn_Conv1``,
``expanded_conv_*``, ``block_1_expand`` ... ``block_16_project_BN``, ``Conv_1``, ``Conv_1_bn``, ``out_relu``), plus
``Conv1_pad``, ``expanded_conv_pad`` and a ``block_N_pad`` in every block, so name-based grouping
(``block_(\\d+)_``) works the same on both.
"""

import functools

import keras

from keras_transfer.backbones.rebuilt import classifier_top, conv_bn, image_input
from keras_transfer.weights.torch_layout import mobilenet_v2_blocks

__all__ = ["build_torchvision_mobilenet_v2"]

_BN_EPSILON = 1e-5
_BN_MOMENTUM = 0.9


def _bn(name):
    return keras.layers.BatchNormalization(epsilon=_BN_EPSILON, momentum=_BN_MOMENTUM, name=name)


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
    inputs = image_input(input_shape)
    conv2d = functools.partial(keras.layers.Conv2D, use_bias=False)
    x = keras.layers.ZeroPadding2D(1, name="Conv1_pad")(inputs)
    x = conv_bn(x, conv2d(32, 3, strides=2, padding="valid", name="Conv1"), _bn("bn_Conv1"), "Conv1_relu")
    channels = 32
    for prefix, t, out, stride in mobilenet_v2_blocks():
        shortcut = x
        if t != 1:
            x = conv_bn(x, conv2d(channels * t, 1, name=prefix + "expand"), _bn(prefix + "expand_BN"),
                        prefix + "expand_relu")
        x = keras.layers.ZeroPadding2D(1, name=prefix + "pad")(x)
        x = conv_bn(x, keras.layers.DepthwiseConv2D(3, strides=stride, padding="valid", use_bias=False,
                                                    name=prefix + "depthwise"),
                    _bn(prefix + "depthwise_BN"), prefix + "depthwise_relu")
        x = conv_bn(x, conv2d(out, 1, name=prefix + "project"), _bn(prefix + "project_BN"))
        if stride == 1 and channels == out:
            x = keras.layers.Add(name=prefix + "add")([shortcut, x])
        channels = out
    x = conv_bn(x, conv2d(1280, 1, name="Conv_1"), _bn("Conv_1_bn"), "out_relu")
    if include_top:
        x = classifier_top(x, classes)
    return keras.Model(inputs, x, name=name)
