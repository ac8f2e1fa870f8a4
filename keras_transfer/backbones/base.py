"""`BaseBackbone`: what every feature extractor shares, whatever it reads (images, text, audio).

A backbone owns an inner network (``self.network``), splits its layers into ordered ``layer_groups`` and
decides which of them train (the *mode*). Subclasses bind one kind of input: they build the network,
preprocess raw inputs inside ``call`` and check raw inputs before training (``validate_inputs``).
"""

import re
from typing import List, Optional

import keras
import numpy as np
import tensorflow as tf

from keras_transfer.backbones.layer_groups import LayerGroup
from keras_transfer.data.validation import validate_dataset
from keras_transfer.checks import check_number
from keras_transfer.errors import InvalidConfigError, InvalidInputError

__all__ = [
    "BaseBackbone", "INPUT_KINDS", "SCRATCH_BN_MOMENTUM", "batch_norm_settings", "parse_trainable_mode",
    "resolve_train_bn", "input_length",
]

#: BatchNorm momentum for networks trained from random weights (``train_bn="auto"`` with ``weights=None``): the
#: running statistics must follow weights that change fast. With Keras' default 0.99 they lag for hundreds of
#: steps and test accuracy collapses (``python -m benchmarks train_bn``); 0.9 is torch's default.
SCRATCH_BN_MOMENTUM = 0.9

#: The kinds of raw input a backbone can take.
INPUT_KINDS = ("image", "text", "audio")


def parse_trainable_mode(mode, n_groups: int) -> int:
    """How many layer groups (counted from the output end) a trainable mode unfreezes.

    Args:
        mode: ``"frozen"``, ``"full"``, ``"last:N"``, an int N, or a bool (True = "full").
        n_groups: int. Number of layer groups in the backbone.

    Returns:
        int between 0 and ``n_groups``.

    Raises:
        InvalidConfigError: an unknown mode or N outside ``[0, n_groups]``.

    Examples:
    >>> keras_transfer.backbones.parse_trainable_mode("last:2", 6)
    2
    """
    allowed = f"'frozen', 'full' or 'last:N' with 0 <= N <= {n_groups}"
    if isinstance(mode, bool):
        return n_groups if mode else 0
    if isinstance(mode, int):
        n = mode
    elif isinstance(mode, str) and mode in ("frozen", "full"):
        return 0 if mode == "frozen" else n_groups
    elif isinstance(mode, str) and re.fullmatch(r"last:\d+", mode.strip()):
        n = int(mode.split(":")[1])
    else:
        raise InvalidConfigError(f"Unknown trainable mode. Received: trainable={mode!r}. Use {allowed}.")
    if not 0 <= n <= n_groups:
        raise InvalidConfigError(
            f"The backbone has {n_groups} layer groups, so it cannot unfreeze {n}. "
            f"Received: trainable={mode!r}. Use {allowed}."
        )
    return n


def resolve_train_bn(train_bn, weights) -> bool:
    """Whether BatchNorm layers train once their group is unfrozen.

    ``"auto"`` keeps BatchNorm frozen (inference mode, running statistics untouched) for pretrained
    weights, where training it costs accuracy, and lets it train for random weights (``weights=None``),
    where frozen BatchNorm with its initial statistics (mean 0, variance 1) keeps the network from learning.

    Args:
        train_bn: ``"auto"`` or a bool.
        weights: the backbone's ``weights`` argument (``None`` means random initialisation).

    Returns:
        bool.

    Raises:
        InvalidConfigError: ``train_bn`` is neither a bool nor ``"auto"``.

    Examples:
    >>> keras_transfer.backbones.resolve_train_bn("auto", None), keras_transfer.backbones.resolve_train_bn("auto", "imagenet")
    (True, False)
    """
    if isinstance(train_bn, str) and train_bn == "auto":
        return weights is None
    if isinstance(train_bn, (bool, np.bool_)):
        return bool(train_bn)
    raise InvalidConfigError(
        f"train_bn must be True, False or 'auto' (frozen BatchNorm for pretrained weights, trained BatchNorm "
        f"for weights=None). Received: train_bn={train_bn!r}."
    )


def batch_norm_settings(train_bn, weights, bn_momentum=None) -> dict:
    """The BatchNorm arguments of a backbone with a ``weights`` argument: ``train_bn`` resolved, and its momentum.

    With ``train_bn="auto"`` and ``weights=None`` (training from scratch) BatchNorm trains and its momentum
    becomes :data:`SCRATCH_BN_MOMENTUM` unless ``bn_momentum`` is given; otherwise the network keeps its own.

    Args:
        train_bn: ``"auto"`` or a bool.
        weights: the backbone's ``weights`` argument (``None`` means random initialisation).
        bn_momentum: float in ``[0, 1)`` or None (the network's own momentum, or the scratch rule above).

    Returns:
        dict with ``train_bn`` (bool) and ``bn_momentum`` (float or None), the keyword arguments of
        ``BaseBackbone``.

    Raises:
        InvalidConfigError: a bad ``train_bn`` or ``bn_momentum``.

    Examples:
    >>> keras_transfer.backbones.batch_norm_settings("auto", None)
    {'train_bn': True, 'bn_momentum': 0.9}
    >>> keras_transfer.backbones.batch_norm_settings("auto", "imagenet")
    {'train_bn': False, 'bn_momentum': None}
    """
    trains = resolve_train_bn(train_bn, weights)
    if bn_momentum is None and isinstance(train_bn, str) and weights is None:
        bn_momentum = SCRATCH_BN_MOMENTUM
    bn_momentum = check_number("bn_momentum", bn_momentum, minimum=0.0, maximum=1.0, max_inclusive=False,
                               allow_none=True)
    return {"train_bn": trains, "bn_momentum": bn_momentum}


def input_length(input_shape, *, kind, name, axis, fix):
    """The one length a text or audio backbone's ``input_shape`` sets: ``None``, an int, or a 1-tuple.

    Args:
        input_shape: None, int or sequence of one int.
        kind: str. ``"text"`` or ``"audio"``, for the message.
        name: str. The backbone's registry name, for the message.
        axis: str. What the length counts, e.g. ``"sequence_length"``.
        fix: str. The last sentence of the message, e.g. ``"Pass e.g. input_shape=(128,) or leave it None."``.

    Returns:
        int or None: the length, None when ``input_shape`` is None.

    Raises:
        InvalidConfigError: ``input_shape`` has more than one entry.

    Examples:
    >>> from keras_transfer.backbones.base import input_length
    >>> input_length((64,), kind="text", name="minilm_l6", axis="sequence_length", fix=""), input_length(
    ...     None, kind="audio", name="audio_cnn", axis="num_samples", fix="")
    (64, None)
    """
    if input_shape is None:
        return None
    shape = (input_shape,) if isinstance(input_shape, int) else tuple(input_shape)
    if len(shape) != 1:
        raise InvalidConfigError(
            f"For {kind} backbone {name!r}, input_shape is ({axis},). "
            f"Received: input_shape={input_shape!r}. {fix}"
        )
    return shape[0]


def _mode_name(n: int, n_groups: int) -> str:
    if n == 0:
        return "frozen"
    return "full" if n == n_groups else f"last:{n}"


def _is_batch_norm(layer) -> bool:
    return isinstance(layer, keras.layers.BatchNormalization)


class BaseBackbone(keras.layers.Layer):
    """The generic part of a backbone: layer groups, trainable modes, BatchNorm policy.

    A subclass sets ``input_kind``, builds ``self.network`` (a Keras model holding every weight of the
    backbone), then calls ``self._init_groups(groups, mode)`` with the network's ordered layer groups.
    Modes: ``"frozen"`` (nothing trains; the network runs in inference mode: BatchNorm statistics,
    dropout), ``"last:N"`` (the last N groups train) or ``"full"``. BatchNorm layers stay in inference
    mode in every mode unless ``train_bn`` is true (docs/architecture.md: training them lost 9 accuracy
    points on pretrained weights; with random weights they must train, hence ``train_bn="auto"``). A mode
    change takes effect at the next ``model.compile()``.

    Keras' own switch works too: ``backbone.trainable = True`` is ``unfreeze()`` (every group, BatchNorm
    by the ``train_bn`` rule) and ``backbone.trainable = False`` is ``freeze()``, so the Keras guide's
    ``base_model.trainable = True`` followed by ``model.compile()`` fine-tunes the backbone.
    ``backbone.trainable`` reads True while any group is unfrozen.

    Args:
        bn_momentum: float in ``[0, 1)`` or None. Set on every BatchNorm layer of the network (None: keep
            the network's own); see :func:`batch_norm_settings`.
        train_bn: bool or ``"auto"``. Let BatchNorm layers train when their group is unfrozen. Subclasses
            with a ``weights`` argument resolve ``"auto"`` with :func:`resolve_train_bn`; reaching this
            class, ``"auto"`` means given (pretrained) weights, so BatchNorm stays frozen.
        **kwargs: base ``keras.layers.Layer`` arguments (``name``, ``dtype``, ...).

    Examples:
    >>> backbone = keras_transfer.backbones.get("mobilenet_v2", weights=None, input_shape=(32, 32))
    >>> isinstance(backbone, keras_transfer.backbones.BaseBackbone), backbone.input_kind
    (True, 'image')
    """

    #: What raw inputs the backbone takes: "image", "text" or "audio".
    input_kind = "image"

    def __init__(self, train_bn=False, bn_momentum=None, **kwargs):
        super().__init__(**kwargs)
        # "auto" reaching this point means the subclass has no weights argument to decide by: its weights
        # are given (pretrained), so BatchNorm stays frozen.
        self.train_bn = resolve_train_bn(train_bn, weights="given")
        self.bn_momentum = check_number("bn_momentum", bn_momentum, minimum=0.0, maximum=1.0,
                                        max_inclusive=False, allow_none=True)
        self._groups: List[LayerGroup] = []
        self._unfrozen = 0

    def _init_groups(self, groups: List[LayerGroup], mode) -> None:
        """Store the ordered layer groups and apply the initial mode (called once by subclasses)."""
        self._groups = list(groups)
        self._unfrozen = 0
        if self.bn_momentum is not None:
            for layer in self.network.layers:
                if _is_batch_norm(layer):
                    layer.momentum = self.bn_momentum
        self.set_mode(mode)

    # ------------------------------------------------------------------ shapes
    @property
    def output_dim(self) -> int:
        """Number of features per example."""
        raise NotImplementedError(f"{type(self).__name__} must define output_dim.")

    # --------------------------------------------------------------- training
    def _network_training(self, training):
        """The ``training`` flag for the inner network: always False while frozen (inference mode)."""
        return training if self._unfrozen else False

    def validate_inputs(self, x, what: str = "x"):
        """Check a whole array of raw inputs before training (``fine_tune`` calls it on ``x``).

        Args:
            x: the raw inputs (images, strings or waveforms, by ``input_kind``).
            what: str. The argument name used in error messages.

        Returns:
            the inputs as a numpy array.

        Raises:
            InvalidInputError: inputs this backbone cannot take.
        """
        raise NotImplementedError(f"{type(self).__name__} must define validate_inputs.")

    def validate_dataset(self, dataset, *, num_classes=None, multi_label: bool = False, what: str = "dataset"):
        """Check a batched ``tf.data.Dataset`` of ``(x, y)`` statically (its ``element_spec``; never iterated).

        The labels get the checks of ``keras_transfer.data.validate_dataset``; ``x`` is checked by the
        subclass's ``_check_x_spec`` (image backbones check image batches instead).

        Args:
            dataset: tf.data.Dataset yielding ``(x, y)`` or ``(x, y, sample_weight)`` batches.
            num_classes: int or None. Checked against the width of one-hot labels.
            multi_label: bool. Whether labels are multi-hot.
            what: str. The argument name used in error messages.

        Returns:
            the dataset itself.

        Raises:
            InvalidInputError: the elements do not fit this backbone or the head.
        """
        checked = dataset
        spec = getattr(dataset, "element_spec", None)
        if isinstance(spec, tuple) and len(spec) in (2, 3):
            self._check_x_spec(spec[0], what)
            # The label checks of validate_dataset read only element_spec: hand it an image-shaped x spec
            # (the map is lazy and never runs).
            checked = dataset.map(lambda x, *rest: (tf.zeros((1, 1, 1, 1), "uint8"), *rest))
        validate_dataset(checked, num_classes=num_classes, multi_label=multi_label, what=what)
        return dataset

    def _check_x_spec(self, x_spec, what: str) -> None:
        """Check the static spec of a dataset's inputs (subclasses override)."""
        if not hasattr(x_spec, "dtype"):
            raise InvalidInputError(
                f"`{what}` must yield single-tensor inputs for a {self.input_kind} backbone. "
                f"Received: x spec={x_spec}."
            )

    # -------------------------------------------------------------- freezing
    @property
    def trainable(self) -> bool:
        """True while any layer group is unfrozen. Setting it is ``unfreeze()`` (True) or ``freeze()`` (False)."""
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        if not getattr(self, "_groups", None):  # the network is not built yet (Keras' own __init__)
            keras.layers.Layer.trainable.fset(self, value)
            return
        if not isinstance(value, (bool, np.bool_)):
            raise InvalidConfigError(
                f"backbone.trainable takes True (unfreeze every layer group) or False (freeze). Received: "
                f"trainable={value!r}. To unfreeze part of the backbone use backbone.set_mode('last:2') or "
                "backbone.unfreeze(2)."
            )
        self.set_mode("full" if value else "frozen")

    @property
    def layer_groups(self) -> List[LayerGroup]:
        """The network's layer groups, ordered input → output."""
        return list(self._groups)

    @property
    def mode(self) -> str:
        """Current trainable mode: ``"frozen"``, ``"last:N"`` or ``"full"``."""
        return _mode_name(self._unfrozen, len(self._groups))

    @property
    def unfrozen_groups(self) -> int:
        """How many groups (from the output end) are trainable."""
        return self._unfrozen

    def set_mode(self, mode):
        """Set the trainable mode; call ``model.compile()`` afterwards for it to take effect in training.

        Args:
            mode: ``"frozen"``, ``"last:N"``, ``"full"``, an int N or a bool.

        Returns:
            str: the normalised mode.

        Raises:
            InvalidConfigError: an unknown mode or N larger than the number of groups.
        """
        n = parse_trainable_mode(mode, len(self._groups))
        self.network.trainable = True
        for layer in self.network.layers:
            layer.trainable = False
        for group in self._groups[len(self._groups) - n:]:
            for layer in group.layers:
                layer.trainable = self.train_bn or not _is_batch_norm(layer)
        self._unfrozen = n
        self._trainable = n > 0  # Keras' flag, read by backbone.trainable_weights
        return self.mode

    def freeze(self):
        """Freeze every layer group (inference mode throughout). Returns the new mode."""
        return self.set_mode("frozen")

    def unfreeze(self, n_groups: Optional[int] = None):
        """Unfreeze the last ``n_groups`` layer groups (all when None). BatchNorm stays frozen unless
        ``train_bn``. Returns the new mode.

        Args:
            n_groups: int or None.
        """
        return self.set_mode("full" if n_groups is None else int(n_groups))

    def get_config(self):
        config = super().get_config()
        config.update(mode=self.mode, train_bn=self.train_bn, bn_momentum=self.bn_momentum)
        return config
