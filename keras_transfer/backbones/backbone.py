"""`ImageBackbone` (formerly `Backbone`): a pretrained image feature extractor as one Keras layer, with
preprocessing and freeze modes inside."""

from typing import Optional

import keras
from keras import ops

from keras_transfer.backbones.base import BaseBackbone, batch_norm_settings, parse_trainable_mode
from keras_transfer.backbones.catalog import get_spec
from keras_transfer.backbones.layer_groups import split_into_groups
from keras_transfer.data.channels import has_image_channels
from keras_transfer.data.validation import validate_dataset, validate_images
from keras_transfer.errors import InvalidConfigError, InvalidInputError

__all__ = ["ImageBackbone", "Backbone", "parse_trainable_mode"]

_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)
_CAFFE_BGR_MEAN = (103.939, 116.779, 123.68)


@keras.saving.register_keras_serializable(package="keras_transfer")
class ImageBackbone(BaseBackbone):
    """A registered pretrained network as a feature-extraction layer.

    Raw images go in: ``(batch, height, width, channels)`` with values in ``[0, 255]`` (uint8 or float),
    any height and width, 1 or 3 channels. Inside the layer they are resized to the network's resolution,
    grey images are repeated to 3 channels, and the family's own preprocessing is applied, so a saved or
    exported model takes raw images too. Out comes the pooled feature vector ``(batch, output_dim)``, or
    the feature maps with ``pooling=None``.

    The network's layers are split into ordered ``layer_groups`` (its real stem / stages / top). The
    trainable mode decides how many of them train: ``"frozen"`` (none; the network runs in inference mode,
    BatchNorm and dropout included), ``"last:N"`` or ``"full"``. BatchNorm layers stay frozen in every mode
    unless ``train_bn=True``; the default ``"auto"`` keeps them frozen for pretrained weights and lets
    them train for ``weights=None`` (a network from random weights cannot learn with frozen BatchNorm).
    ``backbone.trainable = True`` / ``False`` is ``unfreeze()`` / ``freeze()``. Changing the mode takes effect
    at the next ``model.compile()``.

    Args:
        backbone_name: str. Registry name (``keras_transfer.backbones.list_backbones()``).
        weights: ``"imagenet"``, ``None`` or a weights file path. Not stored in the config: a loaded
            ``.keras`` file restores the trained weights itself.
        input_shape: tuple ``(H, W)`` or ``(H, W, 3)``. The network's working resolution; ``None`` uses
            the spec's default size.
        pooling: ``"avg"``, ``"max"`` or ``None``.
        mode: trainable mode, see above.
        train_bn: bool or ``"auto"``. Let BatchNorm train when its group is unfrozen; ``"auto"``: only when
            ``weights=None``.
        weights_source: str. Description of where the weights came from (filled in automatically).
        spec: BackboneSpec or None. The spec to build from; None looks ``backbone_name`` up in the registry
            (what loading a saved model does).
        bn_momentum: float in ``[0, 1)`` or None. BatchNorm momentum; None keeps the network's own, except that
            ``train_bn="auto"`` with ``weights=None`` uses ``SCRATCH_BN_MOMENTUM`` (0.9) so the running
            statistics keep up with weights trained from scratch.
        **kwargs: base ``keras.layers.Layer`` arguments (``name``, ``dtype``, ...).

    Examples:
    >>> import numpy as np
    >>> backbone = keras_transfer.backbones.ImageBackbone("mobilenet_v2", weights=None, input_shape=(64, 64))
    >>> backbone(np.zeros((2, 28, 28, 1), "uint8")).shape
    TensorShape([2, 1280])
    >>> [group.name for group in backbone.layer_groups]
    ['stem', 'stage1', 'stage2', 'stage3', 'stage4', 'top']
    """

    input_kind = "image"

    def __init__(
        self,
        backbone_name: str,
        weights="imagenet",
        input_shape=None,
        pooling: Optional[str] = "avg",
        mode="frozen",
        train_bn="auto",
        weights_source: Optional[str] = None,
        spec=None,
        bn_momentum=None,
        **kwargs,
    ):
        kwargs.setdefault("name", backbone_name)
        super().__init__(**batch_norm_settings(train_bn, weights, bn_momentum), **kwargs)
        self.spec = spec if spec is not None else get_spec(backbone_name)
        self.backbone_name = self.spec.name
        self.image_shape = self._check_image_shape(input_shape)
        if pooling not in ("avg", "max", None):
            raise InvalidConfigError(
                f"Unknown pooling. Received: pooling={pooling!r}. Use 'avg', 'max' or None (feature maps)."
            )
        self.pooling = pooling
        self.network = self.spec.build(self.image_shape, weights)
        if weights_source is None:
            weights_source = {"imagenet": self.spec.imagenet_source, None: "random initialisation"}.get(
                weights, f"file {weights}" if isinstance(weights, str) else repr(weights)
            )
        self.weights_source = weights_source
        self._init_groups(split_into_groups(self.network, self.spec.group_key), mode)

    # ------------------------------------------------------------------ shapes
    def _check_image_shape(self, input_shape):
        size = self.spec.default_size
        if input_shape is None:
            return (size, size, 3)
        shape = tuple(input_shape)
        if len(shape) not in (2, 3) or (len(shape) == 3 and shape[2] != 3):
            raise InvalidInputError(
                f"Backbone {self.spec.name!r}: input_shape is the network's working resolution, (height, width) "
                f"or (height, width, 3). Received: input_shape={input_shape!r}. Raw inputs of any size and 1 or 3 "
                f"channels are mapped to it inside the layer, so pass e.g. input_shape=({size}, {size})."
            )
        height, width = (int(v) for v in shape[:2])
        if min(height, width) < self.spec.min_size:
            raise InvalidInputError(
                f"Backbone {self.spec.name!r} needs inputs of at least {self.spec.min_size}x{self.spec.min_size}. "
                f"Received: input_shape={input_shape!r}. Pass a larger input_shape; small images are upscaled "
                "inside the layer."
            )
        return (height, width, 3)

    def _check_call_shape(self, shape):
        shape = tuple(shape)
        if not has_image_channels(shape):
            raise InvalidInputError(
                f"Backbone {self.spec.name!r} takes images shaped (batch, height, width, channels) with 1 or 3 "
                f"channels. Received: input shape {shape}. Add a channel axis to grey images with x[..., None]; "
                "drop an alpha channel with x[..., :3]."
            )

    def build(self, input_shape):
        self._check_call_shape(input_shape)
        self.built = True

    @property
    def output_dim(self) -> int:
        """Number of features (channels of the last feature map)."""
        return int(self.network.output.shape[-1])

    @property
    def feature_map_shape(self):
        """``(h, w, channels)`` of the feature maps at the working resolution."""
        return tuple(self.network.output.shape[1:])

    def compute_output_shape(self, input_shape):
        if self.pooling is None:
            return (input_shape[0],) + self.feature_map_shape
        return (input_shape[0], self.output_dim)

    # ------------------------------------------------------------ preprocessing
    def preprocess(self, images):
        """Map raw images (``[0, 255]``, 1 or 3 channels, any size) to the network's input.

        Args:
            images: tensor ``(batch, H, W, C)``.

        Returns:
            float tensor ``(batch, height, width, 3)`` as the pretrained network expects it.
        """
        self._check_call_shape(images.shape)
        x = ops.cast(images, self.compute_dtype)
        if images.shape[-1] == 1:
            x = ops.concatenate([x, x, x], axis=-1)
        target = self.image_shape[:2]
        if tuple(images.shape[1:3]) != target:
            x = ops.image.resize(x, target, interpolation="bilinear")
        mode = self.spec.preprocessing
        if mode == "tf":
            x = x / 127.5 - 1.0
        elif mode == "torch":
            x = (x / 255.0 - ops.array(_IMAGENET_MEAN, x.dtype)) / ops.array(_IMAGENET_STD, x.dtype)
        elif mode == "caffe":
            x = ops.flip(x, axis=-1) - ops.array(_CAFFE_BGR_MEAN, x.dtype)
        elif mode == "lite":
            x = (x - 127.0) / 128.0
        return x

    def call(self, inputs, training=None):
        x = self.preprocess(inputs)
        # Frozen: the whole network runs in inference mode (BatchNorm statistics, dropout, stochastic depth).
        # Unfrozen: BatchNorm layers still run in inference mode through trainable=False (Keras uses batch
        # statistics only when `training and layer.trainable`), unless train_bn=True.
        features = self.network(x, training=self._network_training(training))
        if self.pooling == "avg":
            return ops.mean(features, axis=(1, 2))
        if self.pooling == "max":
            return ops.max(features, axis=(1, 2))
        return features

    # ------------------------------------------------------------- validation
    def validate_inputs(self, x, what: str = "x"):
        """Check raw images before training (``keras_transfer.data.validate_images``).

        Args:
            x: array of images ``(N, H, W, C)``, C = 1 or 3.
            what: str. The argument name used in error messages.

        Returns:
            np.ndarray: the images.
        """
        return validate_images(x, what=what)

    def validate_dataset(self, dataset, *, num_classes=None, multi_label: bool = False, what: str = "dataset"):
        """Check a batched image dataset statically (``keras_transfer.data.validate_dataset``)."""
        return validate_dataset(dataset, num_classes=num_classes, multi_label=multi_label, what=what)

    # ------------------------------------------------------------ serialising
    def get_config(self):
        config = super().get_config()
        config.update(
            backbone_name=self.backbone_name,
            weights=None,
            input_shape=list(self.image_shape[:2]),
            pooling=self.pooling,
            mode=self.mode,
            train_bn=self.train_bn,
            weights_source=self.weights_source,
        )
        return config


#: The class's name before it became ``ImageBackbone``; ``.keras`` files saved then name it.
Backbone = ImageBackbone
keras.saving.get_custom_objects()["keras_transfer>Backbone"] = ImageBackbone
