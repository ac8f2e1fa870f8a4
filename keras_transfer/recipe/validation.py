"""Reading config files and turning pydantic's ``ValidationError`` into ``InvalidConfigError`` messages.

Each problem is one line naming the key path (``stages.head_epochs``), the value received and the allowed
values; an unknown key gets a close-match suggestion (``Did you mean 'head_lr'?``) and the section's keys.
"""

import difflib
import json
import os
import typing

from pydantic import BaseModel, ValidationError

from keras_transfer.errors import InvalidConfigError
from keras_transfer.recipe.schema import RecipeConfig

__all__ = ["read_config_file", "validate_config", "format_validation_error"]

_SUFFIXES = (".yaml", ".yml", ".json")


def read_config_file(path) -> dict:
    """The raw config dict in a ``.yaml`` / ``.yml`` / ``.json`` file.

    Raises:
        InvalidConfigError: a missing file, another suffix, unparsable YAML / JSON, or a top level that is not a
            mapping.
    """
    import yaml

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InvalidConfigError(
            f"No such config file. Received: {path!r}. Check the path (relative to {os.getcwd()}); "
            "examples are in examples/configs/."
        )
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in _SUFFIXES:
        raise InvalidConfigError(f"A config file is YAML or JSON. Received: {path!r}. Use one of {_SUFFIXES}.")
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    try:
        raw = json.loads(text) if suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as error:
        raise InvalidConfigError(f"{path} is not valid {suffix[1:].upper()}: {error}. Received: that file.") from error
    if not isinstance(raw, dict):
        raise InvalidConfigError(
            f"{path} must hold a mapping of sections (data:, backbone:, ...). Received: {type(raw).__name__}."
        )
    return raw


def validate_config(raw: dict, source: str = "") -> RecipeConfig:
    """Validate a raw config dict against ``RecipeConfig``.

    Args:
        raw: dict. The config (after overrides).
        source: str. Named in messages (the file path).

    Returns:
        RecipeConfig.

    Raises:
        InvalidConfigError: every problem, one line each (see ``format_validation_error``).
    """
    if not isinstance(raw, dict):
        raise InvalidConfigError(f"{source}: a config is a mapping of sections. Received: {type(raw).__name__}.")
    try:
        return RecipeConfig.model_validate(raw)
    except ValidationError as error:
        raise InvalidConfigError(format_validation_error(error, raw, source)) from None


# ------------------------------------------------------------------------------------------ schema walking
def _members(annotation):
    """Union members (Optional / Annotated unwrapped)."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) is typing.Union:
        result = []
        for arg in typing.get_args(annotation):
            result.extend(_members(arg))
        return [member for member in result if member is not type(None)]
    return [annotation]


def _is_model(annotation) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _tag(model) -> str:
    field = model.model_fields.get("kind")
    args = typing.get_args(field.annotation) if field is not None else ()
    return args[0] if args else model.__name__


def _walk(loc):
    """Follow a pydantic error location through the schema.

    Returns:
        tuple: ``(key parts a user would write, the annotation at the end)``; union tags pydantic inserts into
        locations (``'image_folder'``, ``'int'``, ``'literal[...]'``) are dropped from the key parts.
    """
    keys, annotation = [], RecipeConfig
    for part in loc:
        members = _members(annotation)
        models = [m for m in members if _is_model(m)]
        if len(members) > 1:  # a union: pydantic names the member it tried
            chosen = [m for m in models if _tag(m) == part]
            if chosen or not any(isinstance(part, str) and part in m.model_fields for m in models):
                annotation = chosen[0] if chosen else annotation
                if chosen or (isinstance(part, str) and not part.isidentifier()) or part in ("int", "float", "str"):
                    continue
                if isinstance(part, str) and any(m in (str, int, float, bool) for m in members):
                    continue
            members = models or members
        target = members[0] if members else None
        if isinstance(part, int):
            keys.append(part)
            args = typing.get_args(target)
            annotation = args[0] if args else typing.Any
        elif _is_model(target):
            keys.append(part)
            field = target.model_fields.get(part)
            annotation = field.annotation if field is not None else None
        elif typing.get_origin(target) is dict:
            keys.append(part)
            annotation = typing.get_args(target)[1]
        else:
            if not (isinstance(part, str) and (not part.isidentifier() or part in ("int", "float", "str", "bool"))):
                keys.append(part)
            annotation = None
    return keys, annotation


def _dotted(keys) -> str:
    return ".".join(str(k) for k in keys) or "(top level)"


def _section_model(keys):
    """The pydantic model of the section at ``keys`` (None if not a model)."""
    _, annotation = _walk(keys)
    models = [m for m in _members(annotation) if _is_model(m)]
    return models


def _describe(value) -> str:
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{text} ({type(value).__name__})"


def _allowed(error) -> str:
    ctx = error.get("ctx") or {}
    kind = error["type"]
    if "expected" in ctx:
        return f"allowed: {ctx['expected']}"
    if "expected_tags" in ctx:
        return f"allowed: {ctx['expected_tags']}"
    bounds = {"ge": "≥", "gt": ">", "le": "≤", "lt": "<"}
    for key, sign in bounds.items():
        if key in ctx:
            return f"allowed: a number {sign} {ctx[key]}"
    named = {
        "int_type": "an integer", "int_parsing": "an integer", "int_from_float": "an integer",
        "float_type": "a number", "float_parsing": "a number", "finite_number": "a finite number",
        "bool_type": "true or false", "bool_parsing": "true or false", "string_type": "a string",
        "list_type": "a list", "dict_type": "a mapping", "tuple_type": "a list", "model_type": "a mapping of keys",
        "model_attributes_type": "a mapping of keys", "too_short": "a longer list", "too_long": "a shorter list",
    }
    if kind in named:
        return f"allowed: {named[kind]}"
    return error.get("msg", "")


def _value_at(raw, keys):
    node = raw
    for key in keys:
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def _format_one(error, raw) -> str:
    loc = tuple(error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        keys, _ = _walk(loc[:-1])
        unknown = loc[-1]
        allowed = sorted({name for model in _section_model(loc[:-1]) for name in model.model_fields})
        close = difflib.get_close_matches(str(unknown), allowed, n=1, cutoff=0.6)
        where = _dotted(keys + [unknown])
        hint = f" Did you mean {_dotted(keys + [close[0]])!r}?" if close else ""
        section = f"in {_dotted(keys)!r}" if keys else "at the top level"
        return (f"unknown key {where!r}.{hint} Received: {unknown}={_describe(error.get('input'))}. "
                f"Allowed keys {section}: {', '.join(allowed)}.")
    keys, _ = _walk(loc)
    where = _dotted(keys)
    if kind == "missing" and keys and isinstance(keys[-1], int):
        return f"{_dotted(keys[:-1])!r} has too few items. Received: {_describe(_value_at(raw, keys[:-1]))}."
    if kind == "missing":
        return f"missing key {where!r}: it is required. Received: no {keys[-1] if keys else 'value'}."
    if kind == "union_tag_invalid":
        ctx = error.get("ctx") or {}
        return (f"{_dotted(keys + [ctx.get('discriminator', 'kind').strip(chr(39))])!r}: unknown value. Received: "
                f"{ctx.get('tag')!r}. Allowed: {ctx.get('expected_tags')}.")
    if kind == "union_tag_not_found":
        from keras_transfer.recipe.schema import DATA_KINDS

        return (f"{_dotted(keys + ['kind'])!r} is required to say which kind of section this is. Received: none; "
                f"allowed: {', '.join(DATA_KINDS)}.")
    value = error.get("input", _value_at(raw, keys))
    message = error.get("msg", "")
    if kind == "value_error":
        message = message.removeprefix("Value error, ")
        return f"{where!r}: {message.rstrip('.')}."
    message = message[:1].lower() + message[1:]
    return f"{where!r}: {message}. Received: {_describe(value)}; {_allowed(error)}."


def format_validation_error(error: ValidationError, raw: dict, source: str = "") -> str:
    """One message for every problem in ``error``: key path, value received, allowed values. A value refused
    by every branch of a union (``unfreeze: 2.5``) gives one line listing every branch's allowed values.

    Returns:
        str.
    """
    lines, by_key = [], {}
    for item in error.errors(include_url=False):
        if item["type"] == "extra_forbidden":
            lines.append(_format_one(item, raw))
            continue
        keys = _dotted(_walk(tuple(item["loc"]))[0])
        if keys in by_key:  # another branch of a union refused the same value
            first, allowed = by_key[keys]
            extra = _allowed(item).removeprefix("allowed: ")
            if extra and extra not in allowed:
                allowed.append(extra)
            continue
        line = _format_one(item, raw)
        allowed = [_allowed(item).removeprefix("allowed: ")] if "; allowed: " in line else []
        by_key[keys] = (len(lines), allowed)
        lines.append(line)
    for keys, (index, allowed) in by_key.items():
        if len(allowed) > 1:
            head = lines[index].split("; allowed: ")[0]
            lines[index] = f"{head}; allowed: {' or '.join(allowed)}."
    count = f"{len(lines)} problem{'s' if len(lines) > 1 else ''}"
    return f"Invalid config{(' ' + source) if source else ''} ({count}):\n  - " + "\n  - ".join(lines)
