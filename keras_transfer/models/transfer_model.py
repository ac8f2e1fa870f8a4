"""`TransferModel`: augmentation → backbone → head, as one Keras model."""

from typing import Optional

import keras

from keras_transfer.augmentation.compatibility import check_augmentation_target
from keras_transfer.errors import InvalidConfigError
from keras_transfer.heads.head import Head
from keras_transfer.models.base_transfer_model import BaseTransferModel
from keras_transfer.models.inputs import label_shape
from keras_transfer.models.class_weights import read_dataset_labels, resolve_class_weights
from keras_transfer.models.head_loss import check_head_loss_options, head_loss
from keras_transfer.models.losses import SmoothedSparseCategoricalCrossentropy
from keras_transfer.models.multi_task_model import task_optimizer
from keras_transfer.models.shift_bias import DistributionShiftBias
from keras_transfer.models.temperature_scaling import TemperatureScaling

__all__ = ["TransferModel"]


@keras.saving.register_keras_serializable(package="keras_transfer")
class TransferModel(BaseTransferModel):
    """A pretrained backbone with a new head, ready for ``compile`` / ``fit`` / ``evaluate`` / ``predict``.

    Inputs are raw images (``[0, 255]``, uint8 or float, 1 or 3 channels, any size): the backbone resizes
    and preprocesses them itself, so the same model, saved or exported, takes raw images. Augmentation, when
    given, runs inside the model and only in training.

    ``predict`` / ``evaluate`` take every input form ``keras_transfer.fine_tune`` takes (arrays, lists, datasets,
    PyDatasets; ``evaluate`` also a ``Splits``: its test split), checked the same way: see ``BaseTransferModel``.

    ``compile()`` without a loss uses the head's (sparse categorical cross-entropy for a softmax head,
    binary cross-entropy for multi-label, MSE for regression) and its metrics.

    Args:
        backbone: Backbone, or a registry name (then built with ImageNet weights, frozen).
        head: Head. E.g. ``ClassificationHead(10)``.
        augmentation: a Keras layer (or ``keras.Sequential``) applied to raw images in training, e.g.
            ``keras_transfer.augmentation.get("medium")``, or None.
        shift_bias: bool or dict. Put a ``keras_transfer.models.DistributionShiftBias`` (learnable per-feature
            shift, optional scale) between the backbone and the head; a dict gives its arguments
            (``{"scale": True, "l2": 1e-3, "lr_multiplier": 10.0}``).
        temperature: float > 0 or None. Temperature scaling of a softmax head's output (``model.calibration``, a
            ``keras_transfer.models.TemperatureScaling``); ``keras_transfer.calibrate(model, validation)`` fits it.
        **kwargs: base ``keras.Model`` arguments (``name``).

    Examples:
    >>> import numpy as np
    >>> name = keras_transfer.testing.register_tiny_backbone()  # or "mobilenet_v2", "efficientnet_lite0", ...
    >>> backbone = keras_transfer.backbones.get(name, weights=None, input_shape=(32, 32))
    >>> model = keras_transfer.TransferModel(backbone, keras_transfer.heads.ClassificationHead(3))
    >>> model.compile(optimizer="adam")
    >>> model.predict(np.zeros((2, 28, 28, 1), "uint8"), verbose=0).shape
    (2, 3)
    """

    def __init__(
        self, backbone, head: Head, augmentation: Optional[keras.layers.Layer] = None, shift_bias=False,
        temperature: Optional[float] = None, **kwargs
    ):
        super().__init__(**kwargs)
        backbone = self._backbone_of(backbone)
        if not isinstance(head, keras.layers.Layer):
            raise InvalidConfigError(
                "TransferModel needs a head layer such as keras_transfer.heads.ClassificationHead(num_classes). "
                f"Received: head of type {type(head).__name__}."
            )
        if augmentation is not None and not isinstance(augmentation, keras.layers.Layer):
            raise InvalidConfigError(
                "augmentation must be a Keras layer (e.g. keras.Sequential([keras.layers.RandomFlip()])) or None. "
                f"Received: augmentation of type {type(augmentation).__name__}."
            )
        if augmentation is not None:
            check_augmentation_target(backbone, augmentation)  # no image augmentation on text / audio inputs
        self.backbone = backbone
        self.head = head
        self.augmentation = augmentation
        self.shift = None  # keras_transfer.models.DistributionShiftBias before the head (shift_bias=True)
        if shift_bias:
            self.shift_bias = dict(shift_bias) if isinstance(shift_bias, dict) else True
            self.shift = DistributionShiftBias(**(shift_bias if isinstance(shift_bias, dict) else {}), name="shift")
            self.shift.build((None, backbone.output_dim))
        softmax_head = getattr(head, "num_classes", None) is not None and not getattr(head, "multi_label", True)
        if temperature is not None and not softmax_head:
            raise InvalidConfigError(
                "Temperature scaling needs a single-label classification head (softmax). Received: temperature="
                f"{temperature!r} with a head of type {type(head).__name__}. Leave temperature=None."
            )
        # Always present (the identity while temperature is None), so calibrating a built model sets a number.
        self.calibration = TemperatureScaling(temperature, name="calibration")

    def call(self, inputs, training=None):
        x = inputs
        if self.augmentation is not None and training:
            x = self.augmentation(keras.ops.cast(x, "float32"), training=True)
        features = self.backbone(x, training=training)
        if self.shift is not None:
            features = self.shift(features)
        return self.calibration(self.head(features, training=training))

    def compile(self, optimizer="adam", loss=None, metrics=None, **kwargs):
        """``keras.Model.compile`` with the head's loss and metrics as defaults.

        Args:
            optimizer: optimizer name or instance.
            loss: loss; None takes ``head.default_loss()``.
            metrics: list; None takes ``head.default_metrics()``.
            **kwargs: passed to ``keras.Model.compile``.
        """
        if loss is None and hasattr(self.head, "default_loss"):
            loss = self.head.default_loss()
        if metrics is None and hasattr(self.head, "default_metrics"):
            metrics = self.head.default_metrics()
        if self.shift is not None:  # the shift layer's own LR multiplier (a sub-optimizer)
            optimizer = task_optimizer(self, optimizer)
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)

    def build_from_config(self, config):
        """Build a loaded model. Text backbones cannot be traced here (strings in, and the tokenizer's
        vocabulary loads only after building), but every non-image backbone builds its network in
        ``__init__``: only the layers after it need building."""
        if getattr(self.backbone, "input_kind", "image") == "image":
            return super().build_from_config(config)
        for layer in (self.shift, self.head):
            if layer is not None and not layer.built:
                layer.build((None, self.backbone.output_dim))
        self.built = True

    def compile_from_config(self, config):
        """Recompile a loaded model with its saved optimizer, loss and metrics (``.keras`` files)."""
        config = keras.saving.deserialize_keras_object(config)
        self.compile(**config)
        if getattr(self, "optimizer", None) is not None and self.built:
            self.optimizer.build(self.trainable_variables)

    # ------------------------------------------------------------ training hooks (fine_tune)
    def training_loss(self, data, labels, label_smoothing=None, loss=None, class_weight=None, soft_targets=False):
        """Loss and metrics fitting the labels' form and the loss options. ``(None, None)``: the head's own.

        One-hot labels on a softmax head need categorical cross-entropy; ``label_smoothing`` (softmax heads)
        smooths either form; ``loss`` and ``class_weight`` choose and weigh the loss per example
        (``keras_transfer.models.head_loss``; ``"auto"`` counts the training labels); ``soft_targets``: the
        targets become soft rows in training (MixUp / CutMix).
        """
        head = self.head
        if getattr(head, "num_classes", None) is None:
            return head_loss(head, False, loss=loss), None
        if getattr(head, "multi_label", True):
            return head_loss(head, True, loss=loss), None
        shape, smoothing = label_shape(data, labels), float(label_smoothing or 0.0)
        dense = soft_targets or (shape is not None and len(shape) == 2 and shape[1] == head.num_classes > 1)
        metrics = [keras.metrics.CategoricalAccuracy(name="accuracy") if dense
                   else keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
        weights = resolve_class_weights(class_weight, head.num_classes, labels,
                                        lambda: read_dataset_labels(data))
        chosen = head_loss(head, dense, loss=loss, class_weights=weights, label_smoothing=label_smoothing)
        if chosen is not None:
            return chosen, metrics
        if dense:
            return keras.losses.CategoricalCrossentropy(label_smoothing=smoothing), metrics
        if smoothing:  # integer labels: one-hot inside the loss (Keras' sparse loss has no smoothing)
            return SmoothedSparseCategoricalCrossentropy(head.num_classes, smoothing), metrics
        return None, None

    def check_fine_tune_options(self, options) -> None:
        """Label smoothing and class weights need a single-label (softmax) classification head."""
        super().check_fine_tune_options(options)
        head = self.head
        if getattr(options, "label_smoothing", None) is not None and (
                getattr(head, "num_classes", None) is None or getattr(head, "multi_label", False)):
            raise InvalidConfigError(
                "label_smoothing needs a single-label classification head (softmax). Received: label_smoothing="
                f"{options.label_smoothing!r} with a head of type {type(head).__name__}"
                f"{' (multi_label=True)' if getattr(head, 'multi_label', False) else ''}. Leave it unset."
            )
        check_head_loss_options(head, "the head", loss=getattr(options, "loss", None),
                                class_weight=getattr(options, "class_weight", None),
                                label_smoothing=getattr(options, "label_smoothing", None))

    @property
    def num_classes(self) -> Optional[int]:
        """Number of classes of a classification head, else None."""
        return getattr(self.head, "num_classes", None)

    def get_config(self):
        config = super().get_config()
        config.update(
            backbone=keras.saving.serialize_keras_object(self.backbone),
            head=keras.saving.serialize_keras_object(self.head),
            augmentation=(
                keras.saving.serialize_keras_object(self.augmentation) if self.augmentation is not None else None
            ),
        )
        if self.shift is not None:
            config.update(shift_bias=self.shift_bias)
        if self.calibration.temperature is not None:
            config.update(temperature=self.calibration.temperature)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        backbone = keras.saving.deserialize_keras_object(config.pop("backbone"))
        head = keras.saving.deserialize_keras_object(config.pop("head"))
        augmentation = config.pop("augmentation", None)
        if augmentation is not None:
            augmentation = keras.saving.deserialize_keras_object(augmentation)
        return cls(backbone=backbone, head=head, augmentation=augmentation, **config)
