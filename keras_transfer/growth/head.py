"""Growing the head of a keras_transfer model: a new head with widened or extra hidden layers.

Heads (``keras_transfer.heads.Head``) are a stack of hidden Dense layers (``hidden_0``, ``hidden_1``, ...,
with dropout before each) and an ``output`` Dense layer. Growing one builds a new head of the same class
with different ``hidden_units`` and writes the Net2Net weights into it; the input head is not modified.
Models holding heads (``TransferModel`` now, multi-head models later) rebuild themselves around the new
head with :mod:`keras_transfer.growth.adapters`.
"""

from typing import List

import keras
import numpy as np

from keras_transfer.errors import InvalidConfigError
from keras_transfer.growth import mapping as net2net_math
from keras_transfer.growth.graph import IDEMPOTENT_ACTIVATIONS, activation_name, check_new_units

__all__ = ["deepen_head", "head_layer_names", "resolve_head_layer", "widen_head"]


def head_layer_names(head) -> List[str]:
    """Names of the head's Dense layers, input to output (``["hidden_0", ..., "output"]``)."""
    return [layer.name for layer in head.hidden_layers] + [head.output_layer.name]


def resolve_head_layer(head, layer_name: str, argument: str) -> int:
    """Index of ``layer_name`` among the head's Dense layers (the output layer is last).

    Accepts the layer's own name (``"hidden_0"``) or one qualified by the head's name
    (``"classification_head/hidden_0"``), the form models with several heads use.
    """
    names = head_layer_names(head)
    short = layer_name
    if isinstance(layer_name, str) and layer_name.startswith(head.name + "/"):
        short = layer_name.split("/", 1)[1]
    if short in names:
        return names.index(short)
    raise InvalidConfigError(
        f"No layer named {layer_name!r} in head {head.name!r}. Received: {argument}={layer_name!r}. "
        f"Growth changes the head's Dense layers: {names} (hidden layers can be widened and deepened; "
        "the output layer keeps its size). A head without hidden layers has nothing to widen: build it "
        "with hidden_units=(n,)."
    )


def _input_dim(head) -> int:
    first = head.hidden_layers[0] if head.hidden_layers else head.output_layer
    return int(first.kernel.shape[0])


def _new_head(head, hidden_units):
    config = head.get_config()
    config["hidden_units"] = list(hidden_units)
    if getattr(head, "hidden_activation", "relu") != "relu":
        config["hidden_activation"] = head.hidden_activation
    new = type(head).from_config(config)
    new.build((None, _input_dim(head)))
    if new.trainable != head.trainable:
        new.trainable = head.trainable
    return new


def _values(layer):
    return [np.asarray(keras.ops.convert_to_numpy(v.value), dtype="float64") for v in (layer.kernel, layer.bias)]


def _set(layer, kernel, bias):
    for variable, value in ((layer.kernel, kernel), (layer.bias, bias)):
        variable.assign(np.asarray(value).astype(keras.backend.standardize_dtype(variable.dtype)))


def _dense_layers(head):
    return list(head.hidden_layers) + [head.output_layer]


def _check_head(head):
    for attribute in ("hidden_layers", "output_layer", "hidden_units"):
        if not hasattr(head, attribute):
            raise InvalidConfigError(
                "Growth rewrites keras_transfer heads (keras_transfer.heads.Head subclasses such as "
                f"ClassificationHead). Received: a head of type {type(head).__name__} without `{attribute}`."
            )


def _hidden_layer_index(head, layer_name: str, argument: str, problem: str, fix: str) -> int:
    """The index of hidden layer ``layer_name`` of a checked head; the output layer is refused with ``problem``
    (a template naming ``{output}`` and ``{head}``)."""
    _check_head(head)
    index = resolve_head_layer(head, layer_name, argument)
    if index == len(head.hidden_layers):
        problem = problem.format(output=head.output_layer.name, head=head.name)
        raise InvalidConfigError(
            f"{problem} Received: {argument}={layer_name!r}. {fix}: {head_layer_names(head)[:-1]}."
        )
    return index


def widen_head(head, layer_name: str, new_units: int, *, noise: float, rng: np.random.Generator):
    """A copy of ``head`` whose hidden layer ``layer_name`` has ``new_units`` units, computing the same function.

    Args:
        head: keras_transfer.heads.Head (built).
        layer_name: str. ``"hidden_<i>"``, optionally prefixed with ``"<head name>/"``.
        new_units: int > current units.
        noise: float ≥ 0. Zero-sum symmetry-breaking noise on the next layer's copied weights.
        rng: numpy Generator.

    Returns:
        A new, built head of the same class.

    Raises:
        InvalidConfigError: unknown layer, the output layer, or ``new_units`` not larger.
    """
    index = _hidden_layer_index(
        head, layer_name, "layer_name",
        "The output layer {output!r} of head {head!r} sets the number of outputs and cannot be widened.",
        "Widen a hidden layer",
    )
    layer = head.hidden_layers[index]
    old_units = int(layer.units)
    check_new_units(layer.name, old_units, new_units)
    hidden = list(head.hidden_units)
    hidden[index] = int(new_units)
    new = _new_head(head, hidden)
    g = net2net_math.replication_map(old_units, int(new_units), rng)
    for i, (old_layer, new_layer) in enumerate(zip(_dense_layers(head), _dense_layers(new))):
        kernel, bias = _values(old_layer)
        if i == index:
            kernel, bias = net2net_math.widen_channels(kernel, g), net2net_math.widen_channels(bias, g)
        elif i == index + 1:
            kernel = net2net_math.widen_consumer_kernel(kernel, g, noise=noise, rng=rng)
        _set(new_layer, kernel, bias)
    return new


def deepen_head(head, after_layer_name: str, *, noise: float, rng: np.random.Generator):
    """A copy of ``head`` with an identity hidden layer inserted after hidden layer ``after_layer_name``.

    The new layer has the same width and the head's hidden activation, which must be idempotent on its own
    outputs (``relu``, ``relu6``) so that ``act(I · act(x)) = act(x)``. Dropout (when the head has any) also
    runs before the new layer in training.

    Args:
        head: keras_transfer.heads.Head (built).
        after_layer_name: str. ``"hidden_<i>"``, optionally prefixed with ``"<head name>/"``.
        noise: float ≥ 0. Std of Gaussian noise added to the identity kernel, relative (divided by
            sqrt(fan-in)).
        rng: numpy Generator.

    Returns:
        A new, built head of the same class; hidden layers after the insertion are renumbered.

    Raises:
        InvalidConfigError: unknown layer, the output layer, or a non-idempotent hidden activation.
    """
    index = _hidden_layer_index(
        head, after_layer_name, "after_layer_name",
        "Layer {output!r} is the output of head {head!r}; a layer after it would become the output.",
        "Insert after a hidden layer",
    )
    activation = activation_name(keras.activations.get(getattr(head, "hidden_activation", "relu")))
    if activation is not None and activation not in IDEMPOTENT_ACTIVATIONS:
        raise InvalidConfigError(
            f"Head {head.name!r} uses hidden_activation={activation!r}; an identity layer with that activation "
            "would change the function (act(act(x)) != act(x)). Received: a non-idempotent hidden activation. "
            f"net2deeper on heads needs {IDEMPOTENT_ACTIVATIONS} or a linear hidden activation."
        )
    hidden = list(head.hidden_units)
    width = hidden[index]
    hidden.insert(index + 1, width)
    new = _new_head(head, hidden)
    old_layers, new_layers = _dense_layers(head), _dense_layers(new)
    for i, new_layer in enumerate(new_layers):
        if i == index + 1:
            kernel = net2net_math.identity_kernel(width)
            if noise > 0:
                kernel = kernel + rng.normal(0.0, float(noise) / np.sqrt(width), size=kernel.shape)
            _set(new_layer, kernel, np.zeros(width))
        else:
            _set(new_layer, *_values(old_layers[i if i <= index else i - 1]))
    return new
