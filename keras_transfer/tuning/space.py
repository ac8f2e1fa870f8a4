"""`SearchSpace`: which recipe keys a study searches, and over which values, checked against the recipe schema.

A search-space file maps dotted recipe keys (what ``keras-transfer fit --set`` takes) to a list of choices or a
numeric range::

    optimizer.head_lr: {min: 1.0e-4, max: 1.0e-2, sampling: log}   # a float range (log-uniform)
    optimizer.fine_tune_lr: {min: 1.0e-5, max: 1.0e-3, sampling: log}
    stages.fine_tune_epochs: {min: 1, max: 5}                       # two ints: an int range
    stages.unfreeze: [all, 2, 4]                                    # choices: any YAML values, mixed types too
    optimizer.lr_factor: [null, 2.0, 4.0]
    augmentation: [none, light, medium]
    label_smoothing: [null, 0.1]
    backbone.name: [mobilenet_v2, efficientnet_lite0]

Every key and every value is validated by the recipe's own config validation before any trial runs, so a
misspelt key fails at once with the recipe's message (the key, a close match, the section's keys).
"""

import json
import math
import os

from keras_transfer.errors import InvalidConfigError

__all__ = ["SearchSpace", "Parameter"]

_RANGE_KEYS = ("min", "max", "step", "sampling", "type")
_SAMPLINGS = ("linear", "log")


class Parameter:
    """One searched key: a list of choices, or a ``min`` / ``max`` range (int or float).

    Args:
        key: str. Dotted recipe key, e.g. ``"optimizer.head_lr"``.
        spec: list (choices) or dict with ``min``, ``max`` and optional ``step``, ``sampling`` (``"linear"`` /
            ``"log"``) and ``type`` (``"int"`` / ``"float"``; default: int when both bounds are ints).
        source: str. Named in messages.

    Raises:
        InvalidConfigError: an empty choice list, a malformed range.
    """

    def __init__(self, key: str, spec, source: str = ""):
        self.key = key
        where = f"search space {source + ': ' if source else ''}key {key!r}"
        self.choices = self.low = self.high = self.step = None
        self.sampling, self.kind = "linear", "choice"
        if isinstance(spec, (list, tuple)):
            if not spec:
                raise InvalidConfigError(f"{where} has no choices. Received: []. List at least one value.")
            self.choices = list(spec)
            return
        if not isinstance(spec, dict) or not {"min", "max"} <= set(spec) or set(spec) - set(_RANGE_KEYS):
            raise InvalidConfigError(
                f"{where} must be a list of choices or a range {{min: ..., max: ...[, step, sampling, type]}}. "
                f"Received: {spec!r}."
            )
        low, high = spec["min"], spec["max"]
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (low, high)) or not low < high:
            raise InvalidConfigError(f"{where}: a range needs numbers with min < max. Received: {spec!r}.")
        self.kind = spec.get("type") or ("int" if isinstance(low, int) and isinstance(high, int) else "float")
        self.sampling = spec.get("sampling", "linear")
        if self.kind not in ("int", "float") or self.sampling not in _SAMPLINGS:
            raise InvalidConfigError(
                f"{where}: type is 'int' or 'float' and sampling 'linear' or 'log'. Received: {spec!r}."
            )
        if self.sampling == "log" and low <= 0:
            raise InvalidConfigError(f"{where}: a log range needs min > 0. Received: {spec!r}.")
        self.low, self.high, self.step = low, high, spec.get("step")

    @staticmethod
    def encode(value) -> str:
        """A choice as KerasTuner stores it (one string type for any YAML value: ``null``, ``2``, ``"all"``)."""
        return json.dumps(value)

    def define(self, hp, default=None):
        """Declare this parameter on a ``keras_tuner.HyperParameters``.

        Args:
            hp: keras_tuner.HyperParameters.
            default: the base config's value (the first trial's value when it is one of the choices / in range).
        """
        if self.kind == "choice":
            encoded = [self.encode(value) for value in self.choices]
            return hp.Choice(self.key, encoded, default=self.encode(default) if self.holds(default) else encoded[0])
        inside = self.holds(default)
        if self.kind == "int":
            return hp.Int(self.key, int(self.low), int(self.high), step=self.step, sampling=self.sampling,
                          default=int(default) if inside else None)
        return hp.Float(self.key, float(self.low), float(self.high), step=self.step, sampling=self.sampling,
                        default=float(default) if inside else None)

    def holds(self, value) -> bool:
        """Whether ``value`` is one of the choices / inside the range (so a trial can run it exactly)."""
        if self.kind == "choice":
            return self.encode(value) in [self.encode(choice) for choice in self.choices]
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not self.low <= value <= self.high:
            return False
        return self.kind == "float" or float(value).is_integer()

    def decode(self, value):
        """The recipe value of a KerasTuner value."""
        if self.kind == "choice":
            return json.loads(value)
        return int(value) if self.kind == "int" else float(value)

    def probe_values(self) -> list:
        """Values that together check the key's whole range against the schema: every choice, or both bounds."""
        if self.kind == "choice":
            return list(self.choices)
        cast = int if self.kind == "int" else float
        return [cast(self.low), cast(self.high)]

    def to_spec(self):
        if self.kind == "choice":
            return list(self.choices)
        spec = {"min": self.low, "max": self.high, "type": self.kind, "sampling": self.sampling}
        if self.step is not None:
            spec["step"] = self.step
        return spec


class SearchSpace:
    """The searched keys of a study (see the module docstring for the file format).

    Args:
        parameters: dict ``{dotted key: list of choices or range dict}``.
        source: str. Named in messages (the file path).

    Examples:
    >>> space = keras_transfer.tuning.SearchSpace({"optimizer.head_lr": {"min": 1e-4, "max": 1e-2,
    ...                                                                  "sampling": "log"},
    ...                                            "stages.unfreeze": ["all", 2]})
    >>> space.keys
    ['optimizer.head_lr', 'stages.unfreeze']
    >>> space.overrides({"optimizer.head_lr": 0.001, "stages.unfreeze": "2"})
    [(['optimizer', 'head_lr'], 0.001), (['stages', 'unfreeze'], 2)]
    """

    def __init__(self, parameters: dict, source: str = ""):
        if not isinstance(parameters, dict) or not parameters:
            raise InvalidConfigError(
                f"A search space maps recipe keys to choices or ranges. Received: {parameters!r}"
                f"{' in ' + source if source else ''}. E.g. {{'optimizer.head_lr': {{'min': 1e-4, 'max': 1e-2}}}}."
            )
        self.source = source
        self.parameters = {}
        for key, spec in parameters.items():
            if not isinstance(key, str) or not key.strip() or key.startswith("tuner/"):
                raise InvalidConfigError(f"A search space key is a dotted recipe key. Received: {key!r}.")
            self.parameters[key] = Parameter(key, spec, source)

    @classmethod
    def from_file(cls, path) -> "SearchSpace":
        """Read a YAML / JSON search-space file.

        Raises:
            InvalidConfigError: a missing or unreadable file (the recipe's file reader), or a bad entry.
        """
        from keras_transfer.recipe import read_config_file

        return cls(read_config_file(path), source=os.fspath(path))

    @classmethod
    def coerce(cls, space) -> "SearchSpace":
        """A SearchSpace from a SearchSpace, a dict or a file path."""
        if isinstance(space, SearchSpace):
            return space
        if isinstance(space, dict):
            return cls(space)
        if isinstance(space, (str, os.PathLike)):
            return cls.from_file(space)
        raise InvalidConfigError(f"space must be a dict, a file path or a SearchSpace. Received: {type(space).__name__}.")

    @property
    def keys(self):
        return list(self.parameters)

    def to_dict(self) -> dict:
        return {key: parameter.to_spec() for key, parameter in self.parameters.items()}

    def define(self, hp, base: dict):
        """Declare every parameter on ``hp``, defaulting to the base config's values."""
        for key, parameter in self.parameters.items():
            parameter.define(hp, _value_at(base, key.split(".")))

    def holds(self, base: dict) -> bool:
        """Whether every key's value in ``base`` is a point of the space (then a trial can run ``base`` itself).

        Examples:
        >>> from keras_transfer.tuning.space import SearchSpace
        >>> space = SearchSpace.coerce({"optimizer.head_lr": {"min": 1e-4, "max": 1e-2}, "label_smoothing": [None, 0.1]})
        >>> space.holds({"optimizer": {"head_lr": 1e-3}}), space.holds({"optimizer": {"head_lr": None}})
        (True, False)
        """
        return all(parameter.holds(_value_at(base, key.split("."))) for key, parameter in self.parameters.items())

    def overrides(self, values: dict) -> list:
        """``[(path parts, recipe value), ...]`` for KerasTuner ``values`` (``tuner/*`` entries left out)."""
        return [(key.split("."), self.parameters[key].decode(value)) for key, value in values.items()
                if key in self.parameters]

    def validate(self, base: dict) -> None:
        """Check every key and value against the recipe schema, applied one at a time to ``base``.

        Raises:
            InvalidConfigError: the first key whose value the recipe refuses, naming the key and quoting the
                recipe's message (unknown key with a close match, or the allowed values).
        """
        from keras_transfer.recipe import apply_overrides, validate_config

        for key, parameter in self.parameters.items():
            for value in parameter.probe_values():
                try:
                    validate_config(apply_overrides(base, [(key.split("."), value)]), "")
                except InvalidConfigError as error:
                    raise InvalidConfigError(
                        f"Search space{' ' + self.source if self.source else ''}: key {key!r} with value {value!r} "
                        f"is not a valid recipe setting. {error} Received: {key}={value!r}."
                    ) from None


def _value_at(config, parts):
    node = config
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node if not isinstance(node, float) or math.isfinite(node) else None
