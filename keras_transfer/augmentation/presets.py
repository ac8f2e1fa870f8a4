"""`get`: augmentation pipelines from a preset name or a list / dict of operations."""

import math
from typing import Callable, Dict, Optional

import keras

from keras_transfer.augmentation.gaussian_noise import RandomGaussianNoise
from keras_transfer.augmentation.keras_cv_resized_crop import KerasCVRandomResizedCrop
from keras_transfer.augmentation.pipeline import AugmentationPipeline
from keras_transfer.augmentation.random_resized_crop import RandomResizedCrop, check_range
from keras_transfer.checks import check_int, is_int, is_number
from keras_transfer.errors import InvalidConfigError

__all__ = ["OPS", "PRESETS", "get", "list_ops", "list_presets"]

_RANGE = (0, 255)

#: The presets, as configs for ``get``. Factors follow the op table in ``get``'s docstring.
PRESETS: Dict[str, list] = {
    "none": [],
    "light": [
        {"flip": "horizontal"},
        {"translation": 0.05},
        {"color_jitter": {"brightness": 0.1, "contrast": 0.1}},
    ],
    "medium": [
        {"flip": "horizontal"},
        {"random_resized_crop": {"scale": (0.6, 1.0)}},
        {"rotation": 10},
        {"color_jitter": {"brightness": 0.2, "contrast": 0.2, "saturation": 0.2, "hue": 0.02}},
        {"noise": 0.02},
    ],
    "strong": [
        {"flip": "horizontal"},
        {"random_resized_crop": {"scale": (0.35, 1.0)}},
        {"rand_augment": {"num_ops": 2, "magnitude": 0.5}},
        {"noise": 0.03},
        {"erasing": {"probability": 0.25}},
    ],
}


def _number(op, value, low, high, *, low_open=True, unit=""):
    bad = not is_number(value) or not math.isfinite(value)
    if bad or not ((low < value) if low_open else (low <= value)) or value > high:
        bracket = "(" if low_open else "["
        raise InvalidConfigError(
            f"Augmentation op {op!r}: factor out of range. Received: {op}={value!r}. "
            f"Use a number in {bracket}{low}, {high}]{unit}."
        )
    return float(value)


def _options(op, value, allowed, shorthand=None):
    """A dict of keyword options from ``value`` (a dict, or a shorthand scalar bound to ``shorthand``)."""
    if value is True or value is None:
        return {}
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(allowed))
        if unknown:
            raise InvalidConfigError(
                f"Augmentation op {op!r}: unknown option(s) {unknown}. Received: {op}={value!r}. "
                f"Valid options: {', '.join(allowed)}."
            )
        return dict(value)
    if shorthand is None:
        raise InvalidConfigError(f"Augmentation op {op!r} takes a dict of {', '.join(allowed)}. Received: {op}={value!r}.")
    return {shorthand: value}


def _flip(value, seed):
    mode = "horizontal" if value is True or value is None else value
    modes = ("horizontal", "vertical", "horizontal_and_vertical")
    if mode not in modes:
        raise InvalidConfigError(f"Augmentation op 'flip': unknown mode. Received: flip={value!r}. Use one of {modes}.")
    return keras.layers.RandomFlip(mode, seed=seed)


def _rotation(value, seed):
    degrees = _number("rotation", 15 if value is True else value, 0, 180, unit=" degrees (maximum angle either way)")
    return keras.layers.RandomRotation(degrees / 360.0, fill_mode="reflect", seed=seed)


def _zoom(value, seed):
    factor = _number("zoom", 0.1 if value is True else value, 0, 0.9, unit=" (fraction zoomed in or out)")
    return keras.layers.RandomZoom((-factor, factor), fill_mode="reflect", seed=seed)


def _translation(value, seed):
    factor = _number("translation", 0.1 if value is True else value, 0, 0.5, unit=" (fraction of height / width)")
    return keras.layers.RandomTranslation(factor, factor, fill_mode="reflect", seed=seed)


def _crop(value, seed):
    side = _number("crop", 0.875 if value is True else value, 0, 1.0, unit=" (side of the crop as a fraction)")
    return RandomResizedCrop(scale=(side * side, side * side), ratio=None, seed=seed)


def _random_resized_crop(value, seed):
    options = _options("random_resized_crop", value, ("scale", "ratio", "implementation"), shorthand="scale")
    implementation = options.pop("implementation", "core")
    scale = options.get("scale", (0.08, 1.0))
    if is_number(scale):
        scale = (_number("random_resized_crop", scale, 0, 1.0, unit=" (smallest crop area fraction)"), 1.0)
    ratio = options.get("ratio", (3 / 4, 4 / 3))
    if implementation == "core":
        return RandomResizedCrop(scale=scale, ratio=ratio, seed=seed)
    if implementation != "keras_cv":
        raise InvalidConfigError(
            "Augmentation op 'random_resized_crop': unknown implementation. "
            f"Received: implementation={implementation!r}. Use 'core' (default) or 'keras_cv'."
        )
    return KerasCVRandomResizedCrop(scale=scale, ratio=ratio, seed=seed)


def _color_jitter(value, seed):
    options = _options("color_jitter", value, ("brightness", "contrast", "saturation", "hue"))
    if not options:
        options = {"brightness": 0.2, "contrast": 0.2, "saturation": 0.2, "hue": 0.02}
    limits = {"brightness": 1.0, "contrast": 1.0, "saturation": 1.0, "hue": 0.5}
    factors = {key: _number(f"color_jitter.{key}", v, 0, limits[key], low_open=False) for key, v in options.items()}
    kwargs = {}
    if factors.get("brightness"):
        kwargs["brightness_factor"] = factors["brightness"]  # additive, ± fraction of the value range
    if factors.get("contrast"):
        kwargs["contrast_factor"] = factors["contrast"]  # multiplier in [1 - c, 1 + c]
    if factors.get("saturation"):
        s = factors["saturation"]  # multiplier m in [1 - s, 1 + s]; Keras takes k with m = k / (1 - k)
        kwargs["saturation_factor"] = ((1 - s) / (2 - s), min((1 + s) / (2 + s), 1 - 1e-3))
    if factors.get("hue"):
        kwargs["hue_factor"] = 2 * factors["hue"]  # Keras shifts hue by ± factor / 2 of the colour circle
    if not kwargs:
        raise InvalidConfigError(
            f"Augmentation op 'color_jitter' with every factor 0 does nothing. Received: color_jitter={value!r}. "
            "Set brightness, contrast, saturation or hue above 0, or drop the op."
        )
    return keras.layers.RandomColorJitter(value_range=_RANGE, seed=seed, **kwargs)


def _noise(value, seed):
    std = _number("noise", 0.03 if value is True else value, 0, 1.0, unit=" (standard deviation / 255)")
    return RandomGaussianNoise(std, value_range=_RANGE, seed=seed)


def _rand_augment(value, seed):
    options = _options("rand_augment", value, ("num_ops", "magnitude"), shorthand="magnitude")
    num_ops = options.get("num_ops", 2)
    if not is_int(num_ops) or not 1 <= num_ops <= 10:
        raise InvalidConfigError(
            f"Augmentation op 'rand_augment': num_ops must be an int in [1, 10]. Received: num_ops={num_ops!r}."
        )
    magnitude = _number("rand_augment.magnitude", options.get("magnitude", 0.5), 0, 1.0)
    return keras.layers.RandAugment(value_range=_RANGE, num_ops=num_ops, factor=magnitude, seed=seed)


def _erasing(value, seed):
    options = _options("erasing", value, ("probability", "scale"), shorthand="probability")
    probability = _number("erasing.probability", options.get("probability", 0.25), 0, 1.0)
    scale = check_range("erasing.scale", options.get("scale", (0.02, 0.33)), 0.0, 1.0)
    return keras.layers.RandomErasing(factor=probability, scale=scale, value_range=_RANGE, seed=seed)


#: Operation name → builder ``(value, seed) -> keras layer``.
OPS: Dict[str, Callable] = {
    "flip": _flip,
    "rotation": _rotation,
    "zoom": _zoom,
    "scale": _zoom,
    "translation": _translation,
    "crop": _crop,
    "random_resized_crop": _random_resized_crop,
    "color_jitter": _color_jitter,
    "noise": _noise,
    "rand_augment": _rand_augment,
    "erasing": _erasing,
}


def list_presets():
    """Names of the augmentation presets.

    Returns:
        list of str.

    Examples:
    >>> keras_transfer.augmentation.list_presets()
    ['none', 'light', 'medium', 'strong']
    """
    return list(PRESETS)


def list_ops():
    """Names of the augmentation operations usable in a config.

    Returns:
        list of str.

    Examples:
    >>> "random_resized_crop" in keras_transfer.augmentation.list_ops()
    True
    """
    return sorted(OPS)


def _entries(config):
    """``(op, value)`` pairs from a list / dict config."""
    if isinstance(config, dict):
        return list(config.items())
    entries = []
    for item in config:
        if isinstance(item, str):
            entries.append((item, True))
        elif isinstance(item, dict) and len(item) == 1:
            entries.append(next(iter(item.items())))
        elif isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[0], str):
            entries.append((item[0], item[1]))
        else:
            raise InvalidConfigError(
                "Each augmentation list entry is an op name, a one-key dict {op: value} or a pair (op, value). "
                f"Received: {item!r}. Valid ops: {', '.join(list_ops())}."
            )
    return entries


def get(preset_or_config="medium", seed: Optional[int] = None) -> keras.layers.Layer:
    """An in-model augmentation pipeline from a preset name or a config.

    Presets: ``"none"``, ``"light"`` (flip, small shifts, mild brightness / contrast), ``"medium"`` (flip,
    random resized crop of 60-100 % area, ±10° rotation, colour jitter, light noise) and ``"strong"`` (flip,
    random resized crop of 35-100 %, RandAugment with 2 ops at magnitude 0.5, noise, random erasing).
    ``PRESETS`` holds them as configs.

    A config is a dict ``{op: value}`` or a list of op names, one-key dicts or ``(op, value)`` pairs, applied in
    order. ``True`` takes an op's default. Ops and their values:

    - ``flip``: ``"horizontal"`` (default), ``"vertical"`` or ``"horizontal_and_vertical"``.
    - ``rotation``: maximum angle in degrees either way, in (0, 180] (default 15).
    - ``zoom`` (alias ``scale``): maximum fraction zoomed in or out, in (0, 0.9] (default 0.1).
    - ``translation``: maximum shift as a fraction of height / width, in (0, 0.5] (default 0.1).
    - ``crop``: random crop keeping the aspect ratio, side as a fraction in (0, 1] (default 0.875), resized back.
    - ``random_resized_crop``: ``{"scale": (min, max) area fraction, "ratio": (min, max) width / height,
      "implementation": "core" | "keras_cv"}``, or a float: the smallest area (default (0.08, 1), (3/4, 4/3)).
    - ``color_jitter``: ``{"brightness", "contrast", "saturation"}`` in [0, 1] and ``"hue"`` in [0, 0.5]:
      brightness adds ± that fraction of 255, contrast and saturation multiply by [1 - f, 1 + f], hue rotates
      by ± that fraction of the colour circle.
    - ``noise``: Gaussian noise standard deviation as a fraction of 255, in (0, 1] (default 0.03).
    - ``rand_augment``: ``{"num_ops": 1..10, "magnitude": (0, 1]}`` or a float magnitude (keras.layers.RandAugment).
    - ``erasing``: ``{"probability": (0, 1], "scale": (min, max) area}`` or a float probability.

    Every layer runs in training only (identity at inference); with ``seed`` set, op ``i`` gets seed
    ``seed + i`` and the pipeline's draws repeat exactly.

    Args:
        preset_or_config: str preset, list or dict config, an existing Keras layer (returned unchanged) or None
            (same as ``"none"``).
        seed: int or None. Seed for reproducible augmentation.

    Returns:
        keras.layers.Layer: an ``AugmentationPipeline`` (or the layer given).

    Raises:
        InvalidConfigError: unknown preset or op (the message lists the valid ones), or a factor out of range.

    Examples:
    >>> pipeline = keras_transfer.augmentation.get("medium", seed=0)
    >>> [type(layer).__name__ for layer in pipeline.augmentation_layers][:3]
    ['RandomFlip', 'RandomResizedCrop', 'RandomRotation']
    >>> pipeline = keras_transfer.augmentation.get({"rotation": 20, "noise": 0.05})
    """
    if isinstance(preset_or_config, keras.layers.Layer):
        return preset_or_config
    check_int("seed", seed, allow_none=True)
    if preset_or_config is None:
        preset_or_config = "none"
    if isinstance(preset_or_config, str):
        if preset_or_config not in PRESETS:
            raise InvalidConfigError(
                f"Unknown augmentation preset. Received: {preset_or_config!r}. "
                f"Valid presets: {', '.join(PRESETS)}; or pass a list / dict of ops ({', '.join(list_ops())})."
            )
        name = f"augmentation_{preset_or_config}"
        config = PRESETS[preset_or_config]
    elif isinstance(preset_or_config, (list, tuple, dict)):
        name = None
        config = preset_or_config
    else:
        raise InvalidConfigError(
            "Augmentation must be a preset name, a list / dict config or a Keras layer. "
            f"Received: {type(preset_or_config).__name__}. Valid presets: {', '.join(PRESETS)}."
        )
    layers = []
    for i, (op, value) in enumerate(_entries(config)):
        if op not in OPS:
            raise InvalidConfigError(
                f"Unknown augmentation op. Received: {op!r}. Valid ops: {', '.join(list_ops())}."
            )
        layers.append(OPS[op](value, None if seed is None else seed + i))
    return AugmentationPipeline(layers, value_range=_RANGE, name=name)
