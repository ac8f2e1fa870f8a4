"""The backbone registry: register a spec, look it up by name, build a `Backbone` from it."""

import difflib
from typing import Dict, List

from keras_transfer.backbones.spec import BackboneSpec
from keras_transfer.errors import UnknownBackboneError

__all__ = ["register", "get_spec", "list_backbones", "get"]

_REGISTRY: Dict[str, BackboneSpec] = {}
_BUILTINS_LOADED = False


def _load_builtins():
    global _BUILTINS_LOADED
    if _BUILTINS_LOADED:
        return
    _BUILTINS_LOADED = True
    from keras_transfer.backbones.audio import audio_specs
    from keras_transfer.backbones.converted import converted_specs
    from keras_transfer.backbones.image import keras_application_specs
    from keras_transfer.backbones.text import text_specs

    for spec in converted_specs() + keras_application_specs() + text_specs() + audio_specs():
        _REGISTRY.setdefault(spec.name, spec)


def register(spec: BackboneSpec, overwrite: bool = False) -> BackboneSpec:
    """Add a backbone to the registry so ``get(spec.name)`` can build it.

    Args:
        spec: BackboneSpec. The entry to add.
        overwrite: bool. Replace an existing entry of the same name instead of raising.

    Returns:
        BackboneSpec: the registered spec.

    Raises:
        ValueError: the name is taken and ``overwrite`` is False.

    Examples:
    >>> import dataclasses
    >>> spec = dataclasses.replace(keras_transfer.backbones.get_spec("vgg16"), name="my_vgg")
    >>> keras_transfer.backbones.register(spec).name
    'my_vgg'
    """
    _load_builtins()
    if spec.name in _REGISTRY and not overwrite:
        raise ValueError(
            f"A backbone named {spec.name!r} is already registered. Received: spec.name={spec.name!r}. "
            "Pass overwrite=True to replace it, or choose another name."
        )
    _REGISTRY[spec.name] = spec
    return spec


def get_spec(name: str) -> BackboneSpec:
    """Look up a registered backbone's spec.

    Args:
        name: str. Registry name (see ``list_backbones()``).

    Returns:
        BackboneSpec.

    Raises:
        UnknownBackboneError: the name is not registered; the message suggests close names.

    Examples:
    >>> keras_transfer.backbones.get_spec("resnet50_v2").preprocessing
    'tf'
    """
    _load_builtins()
    if not isinstance(name, str):
        raise UnknownBackboneError(
            f"A backbone name must be a string. Received: name={name!r} of type {type(name).__name__}. "
            f"Available: {', '.join(sorted(_REGISTRY))}."
        )
    key = name.strip().lower().replace("-", "_")
    if key in _REGISTRY:
        return _REGISTRY[key]
    close = difflib.get_close_matches(key, list(_REGISTRY), n=3, cutoff=0.5)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise UnknownBackboneError(
        f"Unknown backbone. Received: name={name!r}.{hint} "
        f"Available backbones: {', '.join(sorted(_REGISTRY))} (see keras_transfer.backbones.list_backbones())."
    )


def list_backbones() -> List[str]:
    """Names of every registered backbone, sorted.

    Returns:
        list of str.

    Examples:
    >>> "mobilenet_v2" in keras_transfer.backbones.list_backbones()
    True
    """
    _load_builtins()
    return sorted(_REGISTRY)


def get(name, weights="imagenet", input_shape=None, pooling="avg", trainable="frozen", train_bn="auto"):
    """Build a ``Backbone`` layer from the registry.

    Args:
        name: str. Registry name, e.g. ``"mobilenet_v2"`` (see ``list_backbones()``); text: ``"minilm_l6"``,
            a KerasHub preset name or a local preset directory (``TextBackbone``); audio: ``"audio_cnn"``
            (``AudioBackbone``). For text ``input_shape=(sequence_length,)``, ``pooling="avg"`` is mean
            pooling and ``weights="imagenet"`` means the preset's pretrained weights; for audio
            ``input_shape=(num_samples,)``.
        weights: ``"imagenet"``, ``None`` (random init) or a path to a ``.weights.h5`` / ``.npz`` file.
        input_shape: tuple ``(height, width)`` or ``(height, width, 3)``: the resolution the network runs
            at. Raw images of any size and 1 or 3 channels are resized and mapped to it inside the layer.
            ``None`` uses the size the weights were trained at.
        pooling: ``"avg"``, ``"max"`` or ``None`` (feature maps).
        trainable: ``"frozen"``, ``"last:N"`` (last N layer groups trainable) or ``"full"``.
        train_bn: bool or ``"auto"``. Let BatchNorm layers train when unfrozen. ``"auto"`` (default): off for
            pretrained weights (fine-tuning with BatchNorm in training mode lost 9 accuracy points in our
            measurements), on for ``weights=None`` (a network from random weights cannot learn without it).

    Returns:
        Backbone: a Keras layer mapping ``(batch, H, W, C)`` images in ``[0, 255]`` to features.

    Examples:
    >>> backbone = keras_transfer.backbones.get("mobilenet_v2", weights=None, input_shape=(96, 96))
    >>> backbone.output_dim
    1280
    """
    from keras_transfer.backbones.backbone import Backbone
    from keras_transfer.backbones.text import preset_spec

    _load_builtins()
    # Text / audio specs build their own backbone kind; unregistered KerasHub text presets and local preset
    # directories become text backbones.
    key = name.strip().lower().replace("-", "_") if isinstance(name, str) else name
    spec = _REGISTRY.get(key) or preset_spec(name)
    if spec is not None and getattr(spec, "input_kind", "image") != "image":
        return spec.create(
            weights=weights, input_shape=input_shape, pooling=pooling, trainable=trainable, train_bn=train_bn
        )
    return Backbone(
        name, weights=weights, input_shape=input_shape, pooling=pooling, mode=trainable, train_bn=train_bn
    )
