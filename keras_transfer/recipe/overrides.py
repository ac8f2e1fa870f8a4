"""`apply_overrides`: ``key.path=value`` settings (``keras-transfer fit --set``) applied to a raw config dict."""

import copy

from keras_transfer.errors import InvalidConfigError

__all__ = ["apply_overrides", "parse_override"]


def parse_override(text: str):
    """Split ``"stages.head_epochs=2"`` into ``(["stages", "head_epochs"], 2)``; the value is read as YAML.

    Args:
        text: str. ``dotted.key=value``; list items by index (``export.0.format=onnx``). ``key=null`` sets None,
            ``key=[64, 64]`` a list, ``key='3'`` the string "3".

    Returns:
        tuple: ``(list of path parts, value)``.

    Raises:
        InvalidConfigError: no ``=``, an empty key part, or a value that is not valid YAML.

    Examples:
    >>> keras_transfer.recipe.parse_override("backbone.input_size=[32, 32]")
    (['backbone', 'input_size'], [32, 32])
    """
    import yaml

    key, sep, raw = str(text).partition("=")
    parts = key.strip().split(".")
    if not sep or not all(part.strip() for part in parts):
        raise InvalidConfigError(
            f"An override is key.path=value. Received: {text!r}. E.g. --set stages.head_epochs=2 "
            "--set backbone.input_size=[64,64]."
        )
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as error:
        raise InvalidConfigError(
            f"The value of an override is not valid YAML ({str(error).splitlines()[0]}). Received: {text!r}. "
            "Quote strings with special characters: key='a: b'."
        ) from error
    return [part.strip() for part in parts], value


def apply_overrides(config: dict, overrides) -> dict:
    """A copy of ``config`` with each ``key.path=value`` override set (missing sections are created).

    Unknown keys are not refused here: the schema refuses them with a close-match suggestion.

    Args:
        config: dict. The raw config (as read from YAML / JSON).
        overrides: iterable of str (``"stages.head_epochs=2"``) or of ``(path, value)`` pairs.

    Returns:
        dict: the new config.

    Raises:
        InvalidConfigError: a malformed override, or a path through a value that is not a section or a list.

    Examples:
    >>> keras_transfer.recipe.apply_overrides({"stages": {"head_epochs": 3}}, ["stages.head_epochs=1", "seed=7"])
    {'stages': {'head_epochs': 1}, 'seed': 7}
    """
    result = copy.deepcopy(config)
    for override in overrides or ():
        path, value = parse_override(override) if isinstance(override, str) else (list(override[0]), override[1])
        node = result
        for depth, part in enumerate(path[:-1]):
            where = ".".join(path[: depth + 1])
            if isinstance(node, list):
                node = node[_index(node, part, where, override)]
            elif isinstance(node, dict):
                if node.get(part) is None:  # a section the file leaves out: created
                    node[part] = {}
                elif not isinstance(node[part], (dict, list)):
                    raise InvalidConfigError(
                        f"Override {override!r} goes through {where!r}, which holds a value, not a section. "
                        f"Received: {where}={node[part]!r}. Write that key as a section in the file (e.g. "
                        f"{part}: {{name: {node[part]!r}}}) or set the whole value with --set {where}=..."
                    )
                node = node[part]
            else:
                raise InvalidConfigError(
                    f"Override {override!r} goes through {'.'.join(path[:depth])!r}, which holds a value, not a "
                    f"section. Received: {node!r}. Set the whole value instead."
                )
        last = path[-1]
        if isinstance(node, list):
            node[_index(node, last, ".".join(path), override)] = value
        elif isinstance(node, dict):
            node[last] = value
        else:
            raise InvalidConfigError(
                f"Override {override!r} goes through a value, not a section. Received: {node!r}."
            )
    return result


def _index(items: list, part: str, where: str, override) -> int:
    try:
        index = int(part)
    except ValueError:
        index = None
    if index is None or not -len(items) <= index < len(items):
        raise InvalidConfigError(
            f"Override {override!r}: {where!r} needs a list index in [0, {len(items)}). Received: {part!r}."
        )
    return index
