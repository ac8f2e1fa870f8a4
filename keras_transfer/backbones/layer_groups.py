"""Split a Functional feature extractor into ordered layer groups (its real blocks / stages)."""

import dataclasses
from typing import Callable, List, Optional

import keras

__all__ = ["LayerGroup", "split_into_groups"]


@dataclasses.dataclass
class LayerGroup:
    """A named, ordered slice of a backbone's layers (a stem, a stage, the top).

    Args:
        name: str. Group name, e.g. ``"stage3"``.
        layers: list of keras.layers.Layer. The group's layers, in topological order.
    """

    name: str
    layers: List[keras.layers.Layer]

    @property
    def weights(self):
        """All weights of the group's layers."""
        return [w for layer in self.layers for w in layer.weights]

    def __repr__(self):
        n_params = sum(int(w.numpy().size) for w in self.weights)
        return f"LayerGroup(name={self.name!r}, layers={len(self.layers)}, params={n_params:,})"


def _inbound_layers(layer):
    parents = []
    for node in getattr(layer, "_inbound_nodes", []):
        for tensor in node.input_tensors:
            history = getattr(tensor, "_keras_history", None)
            if history is not None:
                parents.append(history.operation)
    return parents


def _segments(model: keras.Model):
    """Cut the topologically ordered layers wherever no edge skips over the cut point.

    A cut after layer *i* exists when every connection from layers up to *i* into layers after *i*
    starts at *i* itself, so residual blocks, Inception modules and dense blocks stay whole.
    """
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    position = {id(layer): i for i, layer in enumerate(layers)}
    furthest_consumer = [i for i in range(len(layers))]
    for i, layer in enumerate(layers):
        for parent in _inbound_layers(layer):
            j = position.get(id(parent))
            if j is not None:
                furthest_consumer[j] = max(furthest_consumer[j], i)
    segments, current, reach = [], [], -1
    for i, layer in enumerate(layers):
        current.append(layer)
        # `reach`: the furthest consumer of any layer before i; a cut after i needs nothing to skip it.
        if reach <= i:
            segments.append(current)
            current = []
        reach = max(reach, furthest_consumer[i])
    if current:
        segments.append(current)
    return segments


def split_into_groups(model: keras.Model, group_key: Callable[[str], Optional[str]]) -> List[LayerGroup]:
    """Group a model's layers into ordered blocks named by ``group_key``.

    Each indivisible segment (see ``_segments``) takes the group of its first layer whose name
    ``group_key`` recognises; a segment with no recognised name joins the previous group (or ``"stem"``
    when it comes first). Consecutive segments with the same group name merge.

    Args:
        model: keras.Model. A Functional model.
        group_key: callable ``(layer_name) -> str | None``.

    Returns:
        list of LayerGroup, ordered input → output.
    """
    groups: List[LayerGroup] = []
    for segment in _segments(model):
        key = next((k for k in (group_key(layer.name) for layer in segment) if k is not None), None)
        if key is None:
            key = groups[-1].name if groups else "stem"
        if groups and groups[-1].name == key:
            groups[-1].layers.extend(segment)
        else:
            groups.append(LayerGroup(key, list(segment)))
    return groups
