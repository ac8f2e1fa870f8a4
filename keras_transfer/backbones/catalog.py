"""The catalog of backbone specs by name: add one, look one up, list them.

It holds specs only and knows no backbone class, so every backbone module may look specs up here without an
import cycle; :mod:`keras_transfer.backbones.registry` fills it with the built-in specs when the
``keras_transfer.backbones`` package is imported, and builds backbones from it.
"""

import difflib
from typing import Dict, List

from keras_transfer.errors import UnknownBackboneError

__all__ = ["register", "get_spec", "find_spec", "list_backbones", "normalize_name"]

_SPECS: Dict[str, object] = {}


def normalize_name(name):
    """The catalog key of a backbone name: stripped, lower case, ``-`` as ``_``; non-strings unchanged.

    Args:
        name: str or object. A backbone name as a user wrote it.

    Returns:
        str or object: the key.

    Examples:
    >>> from keras_transfer.backbones.catalog import normalize_name
    >>> normalize_name(" MobileNet-V2 ")
    'mobilenet_v2'
    """
    return name.strip().lower().replace("-", "_") if isinstance(name, str) else name


def register(spec, overwrite: bool = False):
    """Add a backbone to the registry so ``get(spec.name)`` can build it.

    Args:
        spec: BackboneSpec, TextBackboneSpec or AudioBackboneSpec. The entry to add (any object with a
            ``name`` and a ``create(...)`` method).
        overwrite: bool. Replace an existing entry of the same name instead of raising.

    Returns:
        the registered spec.

    Raises:
        ValueError: the name is taken and ``overwrite`` is False.

    Examples:
    >>> import dataclasses
    >>> spec = dataclasses.replace(keras_transfer.backbones.get_spec("vgg16"), name="my_vgg")
    >>> keras_transfer.backbones.register(spec).name
    'my_vgg'
    """
    if spec.name in _SPECS and not overwrite:
        raise ValueError(
            f"A backbone named {spec.name!r} is already registered. Received: spec.name={spec.name!r}. "
            "Pass overwrite=True to replace it, or choose another name."
        )
    _SPECS[spec.name] = spec
    return spec


def find_spec(name):
    """The registered spec called ``name`` (normalized as :func:`normalize_name`), or None.

    Args:
        name: str. Registry name.

    Returns:
        the spec, or None when no backbone has that name.

    Examples:
    >>> from keras_transfer.backbones.catalog import find_spec
    >>> find_spec("VGG16").name, find_spec("no_such_net")
    ('vgg16', None)
    """
    key = normalize_name(name)
    return _SPECS.get(key) if isinstance(key, str) else None


def get_spec(name: str):
    """Look up a registered backbone's spec.

    Args:
        name: str. Registry name (see ``list_backbones()``).

    Returns:
        BackboneSpec (or the text / audio spec registered under that name).

    Raises:
        UnknownBackboneError: the name is not registered; the message suggests close names.

    Examples:
    >>> keras_transfer.backbones.get_spec("resnet50_v2").preprocessing
    'tf'
    """
    if not isinstance(name, str):
        raise UnknownBackboneError(
            f"A backbone name must be a string. Received: name={name!r} of type {type(name).__name__}. "
            f"Available: {', '.join(sorted(_SPECS))}."
        )
    spec = find_spec(name)
    if spec is not None:
        return spec
    close = difflib.get_close_matches(normalize_name(name), list(_SPECS), n=3, cutoff=0.5)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise UnknownBackboneError(
        f"Unknown backbone. Received: name={name!r}.{hint} "
        f"Available backbones: {', '.join(sorted(_SPECS))} (see keras_transfer.backbones.list_backbones())."
    )


def list_backbones() -> List[str]:
    """Names of every registered backbone, sorted.

    Returns:
        list of str.

    Examples:
    >>> names = keras_transfer.backbones.list_backbones()
    >>> "mobilenet_v2" in names and names == sorted(names)
    True
    """
    return sorted(_SPECS)
