"""EfficientNet-Lite0 in Keras (Keras has no EfficientNet-Lite); its PyTorch weights convert with
:func:`keras_transfer.weights.torch_layout.efficientnet_lite0_to_keras`.

EfficientNet-Lite is EfficientNet made friendly to quantisation and mobile accelerators: no squeeze-and-excite,
ReLU6 instead of swish, and the stem (32) and head (1280) channels are not scaled. Lite0 uses EfficientNet-B0's
block table unchanged. Convolutions use TF-style ``"same"`` padding (Keras' ``padding="same"``), BatchNorm epsilon
1e-3. Layer names follow ``keras.applications.EfficientNetB0`` (``stem_conv``, ``block2a_expand_conv``, ...,
``top_conv``), so name-based grouping (``block(\\d)``) works the same on both.
"""

import keras

from keras_transfer.backbones.rebuilt import check_input_shape, classifier_top
from keras_transfer.weights.torch_layout import efficientnet_lite0_blocks

__all__ = ["build_efficientnet_lite0"]

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
        keras.Model: a Functional model.

    Examples:

    >>> from keras_transfer.backbones.efficientnet_lite import build_efficientnet_lite0
    >>> model = build_efficientnet_lite0(input_shape=(96, 96, 3))
    >>> model.output_shape
    (None, 3, 3, 1280)
    """
    shape = check_input_shape(input_shape)
    inputs = keras.Input(shape=shape, name="input_layer")
    x = keras.layers.Conv2D(32, 3, strides=2, padding="same", use_bias=False, name="stem_conv")(inputs)
    x = _bn("stem_bn")(x)
    x = keras.layers.ReLU(6.0, name="stem_activation")(x)

    specs = efficientnet_lite0_blocks()
    for index, (prefix, kernel, c_in, c_out, expand, stride) in enumerate(specs):
        shortcut = x
        if expand != 1:
            x = keras.layers.Conv2D(c_in * expand, 1, use_bias=False, name=prefix + "expand_conv")(x)
            x = _bn(prefix + "expand_bn")(x)
            x = keras.layers.ReLU(6.0, name=prefix + "expand_activation")(x)
        x = keras.layers.DepthwiseConv2D(kernel, strides=stride, padding="same", use_bias=False,
                                         name=prefix + "dwconv")(x)
        x = _bn(prefix + "bn")(x)
        x = keras.layers.ReLU(6.0, name=prefix + "activation")(x)
        x = keras.layers.Conv2D(c_out, 1, use_bias=False, name=prefix + "project_conv")(x)
        x = _bn(prefix + "project_bn")(x)
        if stride == 1 and c_in == c_out:
            rate = drop_connect_rate * index / len(specs)
            if rate > 0:
                x = keras.layers.Dropout(rate, noise_shape=(None, 1, 1, 1), name=prefix + "drop")(x)
            x = keras.layers.Add(name=prefix + "add")([x, shortcut])

    x = keras.layers.Conv2D(1280, 1, use_bias=False, name="top_conv")(x)
    x = _bn("top_bn")(x)
    x = keras.layers.ReLU(6.0, name="top_activation")(x)
    if include_top:
        x = classifier_top(x, classes)
    return keras.Model(inputs, x, name=name)
