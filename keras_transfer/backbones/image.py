"""Image backbones from ``keras.applications``: their registry specs and layer-group rules.

Each entry builds the headless network (``include_top=False, pooling=None``); the ``Backbone`` layer adds
resizing, channel mapping, the family's preprocessing and pooling around it.
"""

import re
from typing import Callable, Optional, Sequence

import keras

from keras_transfer.backbones.spec import BackboneSpec
from keras_transfer.weights import keras_imagenet, load_weights_file

__all__ = ["keras_application_specs", "stage_key"]

_OFFLINE = ("mobilenet_v2", "efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2")


def stage_key(pattern: str, stages: Sequence, fixed: Optional[dict] = None) -> Callable[[str], Optional[str]]:
    """Build a ``group_key`` from a block-number regex and a stage table.

    Args:
        pattern: str. Regex whose first group is the block number, matched at the start of a layer name.
        stages: sequence of ``(last_block_number, group_name)``, ascending; a block goes to the first
            stage whose ``last_block_number`` is ≥ its number.
        fixed: dict. ``{regex: group_name}`` checked first (stem and top layers).

    Returns:
        callable ``(layer_name) -> str | None``.

    Examples:
    >>> key = keras_transfer.backbones.image.stage_key(r"block_(\\d+)_", [(2, "stage1"), (5, "stage2")])
    >>> key("block_4_expand"), key("input")
    ('stage2', None)
    """
    compiled = re.compile(pattern)
    fixed_compiled = [(re.compile(k), v) for k, v in (fixed or {}).items()]

    def key(name: str) -> Optional[str]:
        for regex, group in fixed_compiled:
            if regex.match(name):
                return group
        match = compiled.match(name)
        if match:
            number = int(match.group(1))
            for last, group in stages:
                if number <= last:
                    return group
            return stages[-1][1]
        return None

    return key


def _keras_builder(constructor, offline_alternatives: Sequence[str] = _OFFLINE, **extra):
    def build(input_shape, weights):
        kwargs = dict(include_top=False, input_shape=tuple(input_shape), pooling=None, **extra)
        if weights == "imagenet":
            return keras_imagenet(constructor, offline_alternatives=offline_alternatives, **kwargs)
        model = constructor(weights=None, **kwargs)
        if weights is not None:
            load_weights_file(model, weights)
        return model

    return build


_MOBILENET_V2_KEY = stage_key(
    r"block_(\d+)_",
    [(2, "stage1"), (5, "stage2"), (12, "stage3"), (16, "stage4")],
    fixed={r"(Conv1|bn_Conv1|expanded_conv)": "stem", r"(Conv_1|out_relu)": "top"},
)


def mobilenet_v2_group_key(name: str) -> Optional[str]:
    """Groups of MobileNetV2 (Keras and torchvision layouts share layer names): stem, 4 stages, top."""
    return _MOBILENET_V2_KEY(name)


def _mobilenet_v3_key(stages):
    numbered = stage_key(r"expanded_conv_(\d+)_", stages, fixed={r"conv(_bn|_pad)?$": "stem", r"conv_1": "top"})

    def key(name):
        if re.match(r"expanded_conv_(depthwise|project|squeeze|expand)", name):
            return stages[0][1]  # block 0 carries no number in Keras' names
        return numbered(name)

    return key


def _block_name(prefix, pattern):
    """A group key naming a layer ``<prefix><first regex group>``, or None when the regex does not match."""
    regex = re.compile(pattern)

    def key(name):
        match = regex.match(name)
        return f"{prefix}{match.group(1)}" if match else None

    return key


def _efficientnet_group(name):
    found = re.match(r"block(\d)[a-z]_", name)
    if found:
        return f"block{found.group(1)}"
    if name.startswith("stem_"):
        return "stem"
    return "top" if name.startswith("top_") else None


_RESNET_BLOCK = _block_name("conv", r"conv(\d)_block")


def _resnet_group(name):
    if re.match(r"(conv1_|pool1_)", name):
        return "stem"
    if name.startswith("post_"):
        return "top"
    return _RESNET_BLOCK(name)


def _densenet_group(name):
    found = re.match(r"conv(\d)_block|pool(\d)_", name)
    if found:
        return f"dense{int(found.group(1) or found.group(2)) - 1}"
    if re.match(r"(conv1_|pool1$)", name):
        return "stem"
    if name in ("bn", "relu"):
        return "top"
    return None


def _convnext_group(name):
    found = re.search(r"_stage_(\d)_", name)
    if found:
        return f"stage{found.group(1)}"
    found = re.search(r"_downsampling_block_(\d)", name)
    if found:
        return f"stage{int(found.group(1)) + 1}"
    if re.search(r"(_stem|_prestem)", name):
        return "stem"
    return None


def _application(name, family, constructor, preprocessing, group_key, default_size=224, min_size=32):
    """The spec of one ``keras.applications`` family (ImageNet weights downloaded by Keras)."""
    return BackboneSpec(name, family, _keras_builder(constructor), default_size, min_size, preprocessing, group_key,
                        "Keras download (keras.applications)", _OFFLINE)


def keras_application_specs():
    """The registry entries for the keras.applications families.

    Returns:
        list of BackboneSpec.

    Examples:
    >>> specs = keras_transfer.backbones.image.keras_application_specs()
    >>> [spec.name for spec in specs][:3]
    ['mobilenet_v2_keras', 'mobilenet_v3_small', 'mobilenet_v3_large']
    """
    apps = keras.applications
    return [
        _application("mobilenet_v2_keras", "MobileNetV2 (keras.applications)", apps.MobileNetV2, "tf",
                     mobilenet_v2_group_key),
        _application("mobilenet_v3_small", "MobileNetV3Small", apps.MobileNetV3Small, "raw",
                     _mobilenet_v3_key([(0, "stage1"), (2, "stage2"), (7, "stage3"), (10, "stage4")])),
        _application("mobilenet_v3_large", "MobileNetV3Large", apps.MobileNetV3Large, "raw",
                     _mobilenet_v3_key([(0, "stem"), (2, "stage1"), (5, "stage2"), (11, "stage3"), (14, "stage4")])),
        _application("efficientnet_b0", "EfficientNetB0", apps.EfficientNetB0, "raw", _efficientnet_group),
        _application("efficientnetv2_b0", "EfficientNetV2B0", apps.EfficientNetV2B0, "raw", _efficientnet_group),
        _application("resnet50_v2", "ResNet50V2", apps.ResNet50V2, "tf", _resnet_group),
        _application("vgg16", "VGG16", apps.VGG16, "caffe", _block_name("block", r"block(\d)_")),
        _application("inception_v3", "InceptionV3", apps.InceptionV3, "tf",
                     stage_key(r"mixed(\d+)", [(2, "mixed0-2"), (7, "mixed3-7"), (10, "mixed8-10")]),
                     default_size=299, min_size=75),
        _application("xception", "Xception", apps.Xception, "tf",
                     stage_key(r"block(\d+)_", [(1, "stem"), (4, "entry"), (12, "middle"), (14, "exit")]),
                     default_size=299, min_size=71),
        _application("densenet121", "DenseNet121", apps.DenseNet121, "torch", _densenet_group),
        _application("convnext_tiny", "ConvNeXtTiny", apps.ConvNeXtTiny, "raw", _convnext_group),
    ]
