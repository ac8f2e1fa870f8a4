"""`resolve_candidates`: what ``rank_backbones`` accepts as candidates, turned into named backbones.

A candidate is a backbone object, or a string:

- ``"mobilenet_v2"``: a registry name (``keras-transfer backbones``) with the given ``weights`` (ImageNet);
- ``"mobilenet_v2:random"``: the same architecture with random weights (a control that should rank last);
- ``"minilm"``: short for ``"minilm_l6"`` (the offline all-MiniLM-L6-v2 text backbone);
- ``"word_vectors:PATH"``: a ``WordVectorBackbone`` read from a GloVe / word2vec text file.
"""

from keras_transfer.errors import InvalidConfigError

__all__ = ["ALIASES", "resolve_candidates"]

#: Short names accepted for registered backbones.
ALIASES = {"minilm": "minilm_l6"}


def _one(spec, *, weights, input_shape, input_kind, seed):
    import keras

    from keras_transfer.backbones import BaseBackbone, WordVectorBackbone, get, get_spec

    if isinstance(spec, BaseBackbone):
        return spec
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
        return WordVectorBackbone.from_file(option)
    if option not in ("", "random", "imagenet"):
        raise InvalidConfigError(
            f"Unknown candidate option {option!r}. Received: {spec!r}. Use NAME, NAME:random or NAME:imagenet."
        )
    name = ALIASES.get(name, name)
    chosen = None if option == "random" else ("imagenet" if option == "imagenet" else weights)
    kind = getattr(get_spec(name), "input_kind", "image") if _registered(name) else "text"  # else: a preset
    if kind != input_kind:
        raise InvalidConfigError(
            f"Candidate {spec!r} takes {kind} inputs but the data is {input_kind}. Received: {spec!r}. "
            f"Rank {input_kind} backbones on {input_kind} data."
        )
    keras.utils.set_random_seed(seed)  # random weights are the same each time: their features stay cached
    return get(name, weights=chosen, input_shape=input_shape if kind == "image" else None)


def _registered(name) -> bool:
    from keras_transfer.backbones import list_backbones

    return name in list_backbones()


def resolve_candidates(candidates, *, weights="imagenet", input_shape=None, input_kind="image", seed: int = 0):
    """``[(label, backbone), ...]`` for the candidates, in the order given.

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
    resolved, seen = [], set()
    for label, spec in items:
        backbone = _one(spec, weights=weights, input_shape=input_shape, input_kind=input_kind, seed=seed)
        label = label or (spec.strip() if isinstance(spec, str) else backbone.backbone_name)
        if label in seen:
            raise InvalidConfigError(f"Candidate {label!r} is given twice. Received: candidates={candidates!r}.")
        seen.add(label)
        resolved.append((str(label), backbone))
    return resolved
