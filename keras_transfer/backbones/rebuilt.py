"""Pieces shared by the networks rebuilt in Keras from PyTorch layouts (torchvision MobileNetV2,
EfficientNet-Lite0): the input-shape check and the ImageNet classifier top."""

import keras

from keras_transfer.errors import InvalidConfigError

__all__ = ["check_input_shape", "image_input", "conv_bn", "classifier_top"]


def check_input_shape(input_shape, min_size=32):
    """Checks a builder's ``input_shape``: ``(height, width, 3)``, each side ``>= min_size`` or None.

    Args:
        input_shape: sequence of 3 ints or None.
        min_size: int. The smallest side the architecture accepts.

    Returns:
        tuple: ``input_shape`` as a tuple.

    Raises:
        InvalidConfigError: another rank, another channel count or a side below ``min_size``.

    Examples:
    >>> from keras_transfer.backbones.rebuilt import check_input_shape
    >>> check_input_shape([96, None, 3])
    (96, None, 3)
    """
    shape = tuple(input_shape)
    if len(shape) != 3 or shape[-1] != 3 or any(s is not None and s < min_size for s in shape[:2]):
        raise InvalidConfigError(
            f"`input_shape` must be (height, width, 3) with height and width >= {min_size} (or None). "
            f"Received: input_shape={input_shape}. Use e.g. input_shape=(224, 224, 3)."
        )
    return shape


def image_input(input_shape, min_size=32):
    """The ``keras.Input`` named ``"input_layer"`` of a rebuilt network, its shape checked first.

    Args:
        input_shape: sequence of 3 ints or None: ``(height, width, 3)``.
        min_size: int. The smallest side the architecture accepts.

    Returns:
        KerasTensor: the model input.

    Raises:
        InvalidConfigError: as :func:`check_input_shape`.

    Examples:
    >>> from keras_transfer.backbones.rebuilt import image_input
    >>> image_input((64, 64, 3)).shape
    (None, 64, 64, 3)
    """
    return keras.Input(shape=check_input_shape(input_shape, min_size), name="input_layer")


def conv_bn(x, conv, batch_norm, relu_name=None):
    """``conv`` → ``batch_norm`` → ``ReLU(6)`` named ``relu_name`` (no activation when it is None).

    Args:
        x: KerasTensor. The input feature map.
        conv: keras.layers.Layer. The (depthwise) convolution, named.
        batch_norm: keras.layers.BatchNormalization. Named, with the network's epsilon and momentum.
        relu_name: str or None. Name of the ReLU6; None for a linear output (projections).

    Returns:
        KerasTensor.

    Examples:
    >>> from keras_transfer.backbones.rebuilt import conv_bn
    >>> x = conv_bn(keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 1, name="c"),
    ...             keras.layers.BatchNormalization(name="bn"), relu_name="relu")
    >>> x.shape
    (None, 8, 8, 4)
    """
    x = batch_norm(conv(x))
    return keras.layers.ReLU(6.0, name=relu_name)(x) if relu_name else x


def classifier_top(x, classes):
    """The ImageNet classifier on a feature map: ``avg_pool``, ``top_dropout`` (0.2), ``predictions`` (logits).

    Args:
        x: KerasTensor. The last feature map ``(batch, h, w, channels)``.
        classes: int. Outputs of the ``"predictions"`` Dense layer.

    Returns:
        KerasTensor: logits ``(batch, classes)`` (no softmax, as the PyTorch models).

    Examples:
    >>> from keras_transfer.backbones.rebuilt import classifier_top
    >>> classifier_top(keras.Input((3, 3, 8)), classes=5).shape
    (None, 5)
    """
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    x = keras.layers.Dropout(0.2, name="top_dropout")(x)
    return keras.layers.Dense(classes, name="predictions")(x)
