"""`resolve_candidates`: what ``rank_backbones`` accepts as candidates, turned into named backbones.

A candidate is a backbone object, or a string:

- ``"mobilenet_v2"``: a registry name (``keras-transfer backbones``) with the given ``weights`` (ImageNet);
- ``"mobilenet_v2:random"``: the same architecture with random weights (a control that should rank last);
- ``"minilm"``: short for ``"minilm_l6"`` (the offline all-MiniLM-L6-v2 text backbone);
- ``"word_vectors:PATH"``: a ``WordVectorBackbone`` read from a GloVe / word2vec text file.
"""

from keras_transfer.errors import InvalidConfigError

__all__ = ["ALIASES", "build_candidate", "candidate_labels", "check_candidate", "resolve_candidates"]

#: Short names accepted for registered backbones.
ALIASES = {"minilm": "minilm_l6"}


def _parse(spec):
    """``(name, option)`` of a candidate string, checked; a backbone object is returned as ``(spec, None)``."""
    from keras_transfer.backbones import BaseBackbone

    if isinstance(spec, BaseBackbone):
        return spec, None
    if not isinstance(spec, str) or not spec.strip():
        raise InvalidConfigError(
            "A candidate is a backbone name (e.g. 'mobilenet_v2', 'mobilenet_v2:random', 'minilm', "
            f"'word_vectors:glove.txt') or a backbone object. Received: {spec!r}."
        )
    name, _, option = spec.strip().partition(":")
    if name == "word_vectors":
        if not option:
            raise InvalidConfigError(
                f"A word-vector candidate names its vectors file. Received: {spec!r}. Use 'word_vectors:PATH'."
            )
        return name, option
    if option not in ("", "random", "imagenet"):
        raise InvalidConfigError(
            f"Unknown candidate option {option!r}. Received: {spec!r}. Use NAME, NAME:random or NAME:imagenet."
        )
    return ALIASES.get(name, name), option


def spec_kind(name) -> str:
    """The input kind of a registered name (``"image"``, ``"text"``, ``"audio"``); ``"text"`` for other names
    (KerasHub presets)."""
    from keras_transfer.backbones import get_spec

    return getattr(get_spec(name), "input_kind", "image") if _registered(name) else "text"


def chosen_weights(option, weights):
    """The weights a parsed candidate is built with: None for ``:random``, else ``"imagenet"`` or ``weights``."""
    return None if option == "random" else ("imagenet" if option == "imagenet" else weights)


def check_candidate(spec, *, input_kind):
    """Check one candidate without building it: its form, and that it takes ``input_kind`` inputs.

    Args:
        spec: a candidate (name string or backbone object).
        input_kind: ``"image"`` or ``"text"``.

    Raises:
        InvalidConfigError: a malformed name, or one whose inputs are of another kind.
    """
    name, option = _parse(spec)
    if option is None or name == "word_vectors":
        kind = getattr(name, "input_kind", "image") if option is None else "text"
    else:
        kind = spec_kind(name)
    if kind != input_kind:
        raise InvalidConfigError(
            f"Candidate {spec if isinstance(spec, str) else name.backbone_name!r} takes {kind} inputs but the data "
            f"is {input_kind}. Received: {spec!r}. Rank {input_kind} backbones on {input_kind} data."
        )


def build_candidate(spec, *, weights="imagenet", input_shape=None, input_kind="image", seed: int = 0):
    """The backbone of one candidate (a backbone object is returned as is).

    Args:
        spec: a candidate name (see the module docstring) or a backbone object.
        weights: the weights of plain registry names (``"imagenet"`` or None).
        input_shape: ``(height, width)`` image backbones run at; None: each one's default.
        input_kind: ``"image"`` or ``"text"``: the kind of data ranked on.
        seed: int. Seeds random weights, so they are the same on every call (their features stay cached).

    Returns:
        a keras_transfer backbone.

    Raises:
        InvalidConfigError: see ``check_candidate``.
    """
    import keras

    from keras_transfer.backbones import WordVectorBackbone, get

    check_candidate(spec, input_kind=input_kind)
    name, option = _parse(spec)
    if option is None:
        return name
    if name == "word_vectors":
        return WordVectorBackbone.from_file(option)
    kind = spec_kind(name)
    keras.utils.set_random_seed(seed)  # random weights are the same each time: their features stay cached
    return get(name, weights=chosen_weights(option, weights), input_shape=input_shape if kind == "image" else None)


def _registered(name) -> bool:
    from keras_transfer.backbones import list_backbones

    return name in list_backbones()


def candidate_labels(candidates):
    """``[(label, spec), ...]`` in the order given, nothing built; labels checked to be unique.

    Args:
        candidates: a list of names / backbones, a comma-separated string of names, or a dict
            ``{label: name or backbone}``.

    Returns:
        list of ``(str, spec)`` pairs.

    Raises:
        InvalidConfigError: no candidates, a duplicate label, a malformed name.
    """
    if isinstance(candidates, str):
        candidates = [part for part in candidates.split(",") if part.strip()]
    if isinstance(candidates, dict):
        items = list(candidates.items())
    else:
        items = [(None, spec) for spec in (candidates or [])]
    if not items:
        raise InvalidConfigError(
            f"rank_backbones needs at least one candidate. Received: candidates={candidates!r}. "
            "Pass e.g. ['mobilenet_v2', 'efficientnet_lite0']."
        )
    labelled, seen = [], set()
    for label, spec in items:
        name, _ = _parse(spec)
        label = label or (spec.strip() if isinstance(spec, str) else name.backbone_name)
        if label in seen:
            raise InvalidConfigError(f"Candidate {label!r} is given twice. Received: candidates={candidates!r}.")
        seen.add(label)
        labelled.append((str(label), spec))
    return labelled


def resolve_candidates(candidates, *, weights="imagenet", input_shape=None, input_kind="image", seed: int = 0):
    """``[(label, backbone), ...]`` for the candidates, in the order given (each one built).

    Args:
        candidates: a list of names / backbones, a comma-separated string of names, or a dict
            ``{label: name or backbone}``.
        weights: the weights of plain registry names (``"imagenet"`` or None).
        input_shape: ``(height, width)`` image backbones run at; None: each one's default.
        input_kind: ``"image"`` or ``"text"``: the kind of data ranked on.
        seed: int. Seeds random weights (``NAME:random``, ``weights=None``), so they are the same on every call.

    Returns:
        list of ``(str, backbone)`` pairs.

    Raises:
        InvalidConfigError: no candidates, a duplicate label, a malformed name; the registry's
            ``UnknownBackboneError`` for an unknown one.
    """
    labelled = candidate_labels(candidates)
    for _, spec in labelled:  # every candidate checked before any is built
        check_candidate(spec, input_kind=input_kind)
    return [(label, build_candidate(spec, weights=weights, input_shape=input_shape, input_kind=input_kind,
                                    seed=seed)) for label, spec in labelled]
