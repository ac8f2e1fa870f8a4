"""`BackboneSpec`: everything needed to build one registered image backbone and transfer from it."""

import dataclasses
from typing import Callable, ClassVar, Optional, Sequence

from keras_transfer.backbones.backbone import ImageBackbone

__all__ = ["BackboneSpec", "PREPROCESSING_MODES"]

#: How raw pixels in [0, 255] are mapped to what the network was trained on.
#: "tf": x / 127.5 - 1 (Inception-style); "torch": x / 255 then ImageNet mean/std;
#: "caffe": RGB→BGR then minus the ImageNet BGR mean; "lite": (x - 127) / 128 (EfficientNet-Lite);
#: "raw": the network normalises internally and expects [0, 255].
PREPROCESSING_MODES = ("tf", "torch", "caffe", "lite", "raw")


@dataclasses.dataclass(frozen=True)
class BackboneSpec:
    """The description of one registered backbone (timm's pretrained config, in Keras terms).

    Args:
        name: str. Registry name, e.g. ``"mobilenet_v2"``.
        family: str. Human-readable architecture family, e.g. ``"MobileNetV2 (torchvision layout)"``.
        build: callable ``(input_shape, weights) -> keras.Model``. Builds the headless feature extractor
            (no pooling, no classifier) for an ``(H, W, 3)`` input. ``weights`` is ``"imagenet"``, ``None``
            or a path; the callable loads them or raises ``WeightsUnavailableError``.
        default_size: int. Side of the square input the pretrained weights were trained at.
        min_size: int. Smallest side the architecture accepts.
        preprocessing: str. One of ``PREPROCESSING_MODES``.
        group_key: callable ``(layer_name) -> str | None``. Names the layer group ("stem", "stage3",
            "top", ...) a layer belongs to; ``None`` means "same group as the block it sits in" (unnamed
            layers). Groups follow the architecture's real blocks/stages, ordered input → output.
        imagenet_source: str. Where ``weights="imagenet"`` comes from, for docs and model cards.
        offline_alternatives: sequence of str. Registry names whose ImageNet weights work offline; named
            in the error when this backbone's download fails.

    Examples:
    >>> spec = keras_transfer.backbones.get_spec("mobilenet_v2")
    >>> spec.default_size
    224
    """

    name: str
    family: str
    build: Callable
    default_size: int
    min_size: int
    preprocessing: str
    group_key: Callable[[str], Optional[str]]
    imagenet_source: str
    offline_alternatives: Sequence[str] = ()
    input_kind: ClassVar[str] = "image"

    def __post_init__(self):
        if self.preprocessing not in PREPROCESSING_MODES:
            raise ValueError(
                f"BackboneSpec {self.name!r}: unknown preprocessing mode. "
                f"Received: preprocessing={self.preprocessing!r}. Use one of {PREPROCESSING_MODES}."
            )

    def create(self, weights="imagenet", input_shape=None, pooling="avg", trainable="frozen", train_bn="auto"):
        """Build the ``ImageBackbone`` of this spec (what ``keras_transfer.backbones.get`` calls).

        Args:
            weights: ``"imagenet"``, ``None`` (random init) or a weights file path.
            input_shape: tuple ``(height, width)`` or ``(height, width, 3)``, or None for ``default_size``.
            pooling: ``"avg"``, ``"max"`` or ``None``.
            trainable: ``"frozen"``, ``"last:N"`` or ``"full"``.
            train_bn: bool or ``"auto"``.

        Returns:
            ImageBackbone.

        Examples:
        >>> spec = keras_transfer.backbones.get_spec("mobilenet_v2")
        >>> spec.create(weights=None, input_shape=(64, 64)).backbone_name
        'mobilenet_v2'
        """
        return ImageBackbone(self.name, weights=weights, input_shape=input_shape, pooling=pooling, mode=trainable,
                             train_bn=train_bn, spec=self)
