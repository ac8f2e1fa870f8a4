"""Growing Functional and Sequential models: find what a change touches, rebuild, fill in the weights.

A :class:`LayerGraph` is a read-only view of a model's layer graph (who produces and who consumes each
layer's output). :func:`widen_graph_model` and :func:`deepen_graph_model` plan a change on it, refuse
what they cannot grow with a clear error before building anything, then clone the model (new layers and
variables, nothing shared with the input model) and write the Net2Net weights into the clone.
"""

from dataclasses import dataclass, field
from typing import List, Optional, Tuple

import keras
import numpy as np
from keras.src.models.functional import Functional

from keras_transfer.errors import InvalidConfigError
from keras_transfer.growth import mapping as net2net_math

__all__ = ["LayerGraph", "deepen_graph_model", "widen_graph_model"]

L = keras.layers
KERNEL_TYPES = (L.Dense, L.Conv1D, L.Conv2D, L.Conv3D)
SUPPORTED_KERNELS = "Dense, Conv1D, Conv2D, Conv3D"

# Layers that act on each channel independently and keep channels on the last axis: a widened tensor can
# pass through them unchanged (BatchNormalization is handled separately: its parameters are copied).
CHANNELWISE = (
    L.ReLU, L.LeakyReLU, L.ELU, L.Activation, L.Dropout, L.SpatialDropout1D, L.SpatialDropout2D,
    L.SpatialDropout3D, L.GaussianNoise, L.GaussianDropout, L.AlphaDropout, L.ActivityRegularization, L.Identity,
    L.MaxPooling1D, L.MaxPooling2D, L.MaxPooling3D, L.AveragePooling1D, L.AveragePooling2D, L.AveragePooling3D,
    L.GlobalAveragePooling1D, L.GlobalAveragePooling2D, L.GlobalAveragePooling3D, L.GlobalMaxPooling1D,
    L.GlobalMaxPooling2D, L.GlobalMaxPooling3D, L.ZeroPadding1D, L.ZeroPadding2D, L.ZeroPadding3D,
    L.Cropping1D, L.Cropping2D, L.Cropping3D, L.UpSampling1D, L.UpSampling2D, L.UpSampling3D,
)
# Layers that keep non-negative inputs non-negative (at inference): a ReLU output stays a ReLU output.
SIGN_PRESERVING = (
    L.Dropout, L.SpatialDropout1D, L.SpatialDropout2D, L.SpatialDropout3D, L.Identity, L.Flatten, L.Reshape,
    L.MaxPooling1D, L.MaxPooling2D, L.MaxPooling3D, L.AveragePooling1D, L.AveragePooling2D, L.AveragePooling3D,
    L.GlobalAveragePooling1D, L.GlobalAveragePooling2D, L.GlobalAveragePooling3D, L.GlobalMaxPooling1D,
    L.GlobalMaxPooling2D, L.GlobalMaxPooling3D, L.ZeroPadding1D, L.ZeroPadding2D, L.ZeroPadding3D,
    L.Cropping1D, L.Cropping2D, L.Cropping3D, L.UpSampling1D, L.UpSampling2D, L.UpSampling3D,
)
CROSS_CHANNEL_ACTIVATIONS = ("softmax", "log_softmax")
IDEMPOTENT_ACTIVATIONS = ("relu", "relu6")


def activation_name(activation) -> Optional[str]:
    """The registered name of a Keras activation function (``None`` for linear)."""
    if activation is None:
        return None
    name = keras.activations.serialize(activation)
    if isinstance(name, dict):
        name = name.get("config", name.get("class_name"))
    return None if name == "linear" else str(name)


def units_of(layer) -> int:
    """Output units (Dense) or filters (convolutions) of a kernel layer."""
    return int(layer.units if isinstance(layer, L.Dense) else layer.filters)


def _check_kernel_layer(layer, role):
    if isinstance(layer, L.Dense):
        if getattr(layer, "lora_enabled", False) or getattr(layer, "quantization_mode", None):
            raise InvalidConfigError(
                f"Layer {layer.name!r} ({role}) uses LoRA or quantization, which growth does not rewrite. "
                f"Received: a {type(layer).__name__} with lora_rank={getattr(layer, 'lora_rank', None)}, "
                f"quantization_mode={getattr(layer, 'quantization_mode', None)}. Grow the float model first."
            )
        return
    if getattr(layer, "data_format", "channels_last") != "channels_last" or getattr(layer, "groups", 1) != 1:
        raise InvalidConfigError(
            f"Layer {layer.name!r} ({role}) must be a channels_last convolution with groups=1 to be grown. "
            f"Received: data_format={layer.data_format!r}, groups={layer.groups}."
        )


class LayerGraph:
    """Producers and consumers of every layer call in a Functional or built Sequential model.

    Args:
        model: ``keras.Model`` built with the functional API, or a ``keras.Sequential`` with known input shape.

    Raises:
        InvalidConfigError: a subclassed model, or a Sequential model that was never built.
    """

    def __init__(self, model):
        if isinstance(model, keras.Sequential):
            functional = getattr(model, "_functional", None)
            if functional is None:
                raise InvalidConfigError(
                    "This Sequential model has no input shape yet, so its layers are not built. Received: "
                    f"Sequential model {model.name!r}. Start it with keras.Input(shape) or call model.build(shape)."
                )
        elif _is_functional(model):
            functional = model
        else:
            raise InvalidConfigError(
                "Growth rewrites Functional and Sequential models and the head of a keras_transfer TransferModel. "
                f"Received: a subclassed model of type {type(model).__name__}. Rebuild it with the functional API."
            )
        self.model = model
        self.nodes = [node for nodes in functional._nodes_by_depth.values() for node in nodes]
        self._nodes_of = {}
        self._consumers = {}
        for node in self.nodes:
            self._nodes_of.setdefault(id(node.operation), []).append(node)
            for tensor in node.input_tensors:
                self._consumers.setdefault(id(tensor), []).append(node)
        self._outputs = {id(t) for t in functional.outputs}
        self.layers = [layer for layer in model.layers if not isinstance(layer, L.InputLayer)]

    def layer(self, name: str, expected: str = "a layer"):
        """The layer called ``name``; lists the candidates when there is none."""
        for layer in self.layers:
            if layer.name == name:
                return layer
        kernels = [layer.name for layer in self.layers if isinstance(layer, KERNEL_TYPES)]
        raise InvalidConfigError(
            f"No layer named {name!r} in model {self.model.name!r}. Received: layer name {name!r}; "
            f"{expected} must be one of the model's layers, e.g. its {SUPPORTED_KERNELS} layers: {kernels}."
        )

    def node(self, layer):
        """The single call of ``layer`` inside the model (shared layers cannot be grown)."""
        nodes = self._nodes_of.get(id(layer), [])
        if len(nodes) != 1:
            raise InvalidConfigError(
                f"Layer {layer.name!r} is called {len(nodes)} times in model {self.model.name!r} (a shared "
                "layer); growing it would change every call site. Received: a shared layer. Grow a layer "
                "called once."
            )
        node = nodes[0]
        if len(node.outputs) != 1:
            raise InvalidConfigError(
                f"Layer {layer.name!r} returns {len(node.outputs)} tensors. Received: a multi-output layer. "
                "Growth follows single-output layers only."
            )
        return node

    def output(self, layer):
        """The layer's output tensor (KerasTensor)."""
        return self.node(layer).outputs[0]

    def input(self, layer):
        """The layer's single input tensor, or None for several inputs."""
        tensors = self.node(layer).input_tensors
        return tensors[0] if len(tensors) == 1 else None

    def is_model_output(self, layer) -> bool:
        return id(self.output(layer)) in self._outputs

    def consumers(self, layer) -> list:
        """Layers that take this layer's output as input."""
        return [node.operation for node in self._consumers.get(id(self.output(layer)), [])]

    def producer(self, layer):
        """The layer producing this layer's (single) input, or None (model input or several inputs)."""
        tensor = self.input(layer)
        if tensor is None:
            return None
        operation = tensor._keras_history.operation
        return None if operation is None or isinstance(operation, L.InputLayer) else operation


def _is_functional(model) -> bool:
    return isinstance(model, Functional) and not isinstance(model, keras.Sequential)


# ----------------------------------------------------------------------------------------------- widen
@dataclass
class WidenPlan:
    """What widening one layer touches."""

    target: keras.layers.Layer
    old_units: int
    new_units: int
    batchnorms: List[keras.layers.Layer] = field(default_factory=list)
    consumers: List[Tuple[keras.layers.Layer, Optional[tuple]]] = field(default_factory=list)


def plan_widen(graph: LayerGraph, layer_name: str, new_units) -> WidenPlan:
    """Check that ``layer_name`` can be widened to ``new_units`` and list the layers to rewrite."""
    target = graph.layer(layer_name, "layer_name")
    if not isinstance(target, KERNEL_TYPES):
        raise InvalidConfigError(
            f"net2wider cannot widen layer {target.name!r} of type {type(target).__name__}. Received: "
            f"layer_name={layer_name!r}. Supported layer types: {SUPPORTED_KERNELS}."
        )
    _check_kernel_layer(target, "the layer to widen")
    old_units = units_of(target)
    check_new_units(target.name, old_units, new_units)
    if activation_name(target.activation) in CROSS_CHANNEL_ACTIVATIONS:
        raise InvalidConfigError(
            f"Layer {target.name!r} ends in {activation_name(target.activation)}, which mixes its units: copies "
            "would change every output. Received: activation="
            f"{activation_name(target.activation)!r}. Widen a layer with an element-wise activation (relu, tanh, ...)."
        )
    plan = WidenPlan(target, old_units, int(new_units))
    seen = set()
    frontier = [(target, None)]
    while frontier:
        layer, spatial = frontier.pop()
        if graph.is_model_output(layer):
            raise InvalidConfigError(
                f"Widening {target.name!r} would change the model's output shape: {layer.name!r} is a model output. "
                f"Received: layer_name={layer_name!r}. Widen a hidden layer; the outputs keep their size."
            )
        consumers = graph.consumers(layer)
        for consumer in consumers:
            if id(consumer) in seen:
                continue
            seen.add(id(consumer))
            graph.node(consumer)  # refuses shared consumers
            frontier.extend(_follow(plan, graph, target, layer, consumer, spatial, len(consumers)))
    return plan


def check_new_units(name, old_units, new_units):
    if isinstance(new_units, bool) or not isinstance(new_units, (int, np.integer)) or new_units <= old_units:
        raise InvalidConfigError(
            f"net2wider only grows layers: new_units must be an int larger than the current {old_units} units of "
            f"{name!r}. Received: new_units={new_units!r}. Narrowing is not function-preserving; pass e.g. "
            f"new_units={2 * old_units}."
        )


def _follow(plan, graph, target, producer, consumer, spatial, n_consumers):
    """Classify one consumer of the widened channels; returns the layers to keep following."""
    where = (
        f"Layer {target.name!r} cannot be widened: its output reaches {consumer.name!r} "
        f"({type(consumer).__name__}) through {producer.name!r}"
        + (f", one of {n_consumers} consumers" if n_consumers > 1 else "")
    )
    if isinstance(consumer, KERNEL_TYPES):
        _check_kernel_layer(consumer, "a consumer of the widened layer")
        if spatial is not None and not isinstance(consumer, L.Dense):
            raise InvalidConfigError(f"{where} after a Flatten. Received: a convolution on flattened features.")
        plan.consumers.append((consumer, spatial))
        return []
    if isinstance(consumer, L.BatchNormalization):
        rank = len(graph.output(consumer).shape)
        axes = consumer.axis if isinstance(consumer.axis, (list, tuple)) else [consumer.axis]
        if spatial is not None or [a % rank for a in axes] != [rank - 1]:
            raise InvalidConfigError(
                f"{where}, a BatchNormalization that does not normalise the channel axis alone. Received: "
                f"axis={consumer.axis}. Only channels-last BatchNormalization can follow widened channels."
            )
        plan.batchnorms.append(consumer)
        return [(consumer, spatial)]
    if isinstance(consumer, L.Flatten):
        if spatial is not None:
            raise InvalidConfigError(f"{where}, a second Flatten. Received: nested Flatten layers.")
        return [(consumer, tuple(int(d) for d in graph.input(consumer).shape[1:-1]))]
    if isinstance(consumer, CHANNELWISE):
        if isinstance(consumer, L.Activation) and activation_name(consumer.activation) in CROSS_CHANNEL_ACTIVATIONS:
            raise InvalidConfigError(
                f"{where}, whose {activation_name(consumer.activation)} mixes channels. Received: a cross-channel "
                "activation. Widen a layer whose channels reach Dense / convolution layers element-wise."
            )
        if getattr(consumer, "data_format", "channels_last") != "channels_last":
            raise InvalidConfigError(f"{where}. Received: data_format={consumer.data_format!r}; use channels_last.")
        if spatial is not None and not isinstance(
            consumer, (L.Dropout, L.Activation, L.ReLU, L.LeakyReLU, L.ELU, L.Identity, L.GaussianNoise,
                       L.GaussianDropout, L.AlphaDropout, L.ActivityRegularization)
        ):
            raise InvalidConfigError(f"{where} after a Flatten. Received: a spatial layer on flattened features.")
        return [(consumer, spatial)]
    raise InvalidConfigError(
        f"{where}, which growth cannot adjust. Received: a {type(consumer).__name__} consumer. The widened channels "
        f"may only reach {SUPPORTED_KERNELS} layers (their fan-in is rescaled) through BatchNormalization, "
        "Flatten, activations, dropout, pooling, padding or upsampling layers; merges (Add, Concatenate, ...), "
        "reshapes and other layers need the model rebuilt by hand."
    )


def widen_graph_model(model, layer_name: str, new_units: int, *, noise: float, rng: np.random.Generator):
    """Net2WiderNet on a Functional or Sequential model. See :func:`keras_transfer.growth.net2wider`."""
    graph = LayerGraph(model)
    plan = plan_widen(graph, layer_name, new_units)
    key = "units" if isinstance(plan.target, L.Dense) else "filters"

    def clone(layer):
        config = layer.get_config()
        if layer is plan.target:
            config[key] = plan.new_units
        return layer.__class__.from_config(config)

    grown = _clone(model, clone)
    g = net2net_math.replication_map(plan.old_units, plan.new_units, rng)
    changed = {plan.target.name, *(bn.name for bn in plan.batchnorms), *(c.name for c, _ in plan.consumers)}
    _copy_unchanged(model, grown, changed)
    new_target = grown.get_layer(plan.target.name)
    _assign(new_target.kernel, net2net_math.widen_channels(_np(plan.target.kernel), g))
    if plan.target.use_bias:
        _assign(new_target.bias, net2net_math.widen_channels(_np(plan.target.bias), g))
    for bn in plan.batchnorms:
        new_bn = grown.get_layer(bn.name)
        for attr in ("gamma", "beta", "moving_mean", "moving_variance"):
            if getattr(bn, attr, None) is not None:
                _assign(getattr(new_bn, attr), net2net_math.widen_channels(_np(getattr(bn, attr)), g))
    for consumer, spatial in plan.consumers:
        new_consumer = grown.get_layer(consumer.name)
        kernel = net2net_math.widen_consumer_kernel(_np(consumer.kernel), g, spatial=spatial, noise=noise, rng=rng)
        _assign(new_consumer.kernel, kernel)
        if consumer.use_bias:
            _assign(new_consumer.bias, _np(consumer.bias))
    return grown


# ---------------------------------------------------------------------------------------------- deepen
@dataclass
class DeepenPlan:
    """What inserting an identity layer after one layer needs."""

    after: keras.layers.Layer
    channels: int
    kernel_config: dict
    kernel_type: type
    kernel_size: tuple
    batchnorm_config: Optional[dict]
    activation_config: Optional[dict]  # a layer config (ReLU / Activation) to append, or None


def _relu_like(layer) -> Optional[dict]:
    """The config of a layer reproducing ``layer``'s idempotent activation, or None."""
    if isinstance(layer, L.ReLU):
        if float(layer.negative_slope) == 0.0 and float(layer.threshold) == 0.0:
            return {"class": L.ReLU, "config": {"max_value": layer.max_value}}
        return None
    if isinstance(layer, L.Activation) or isinstance(layer, KERNEL_TYPES):
        name = activation_name(layer.activation)
        if name in IDEMPOTENT_ACTIVATIONS:
            return {"class": L.Activation, "config": {"activation": name}}
    return None


def plan_deepen(graph: LayerGraph, after_layer_name: str) -> DeepenPlan:
    """Check that an identity layer can go after ``after_layer_name`` and decide its type and activation."""
    after = graph.layer(after_layer_name, "after_layer_name")
    if graph.is_model_output(after):
        raise InvalidConfigError(
            f"Layer {after.name!r} is a model output; a layer inserted after it would become the new output. "
            f"Received: after_layer_name={after_layer_name!r}. Insert after a hidden layer."
        )
    shape = graph.output(after).shape
    channels = shape[-1]
    if channels is None or len(shape) < 2:
        raise InvalidConfigError(
            f"Cannot insert a layer after {after.name!r}: its output has no known channel axis. "
            f"Received: output shape {tuple(shape)}. Insert after a layer with a fixed last dimension."
        )
    # Walk upstream through the block: the nearest Dense / convolution is the neighbour whose type and
    # kernel size the new layer copies; BatchNorm in between is mirrored; the nearest sign-determining
    # layer says whether the input is a ReLU output (then the new layer may end in the same ReLU).
    neighbour, batchnorm, activation, sign_known = None, None, None, False
    layer = after
    while layer is not None:
        if not sign_known:
            relu = _relu_like(layer)
            if relu is not None:
                activation, sign_known = relu, True
            elif not isinstance(layer, SIGN_PRESERVING):
                sign_known = True  # something that may output negatives: the new layer stays linear
        if isinstance(layer, KERNEL_TYPES):
            neighbour = layer
            break
        if isinstance(layer, L.BatchNormalization) and batchnorm is None:
            batchnorm = layer
        if not isinstance(layer, CHANNELWISE + (L.BatchNormalization, L.Flatten)):
            break
        layer = graph.producer(layer)
    rank = len(shape)
    conv_types = {3: L.Conv1D, 4: L.Conv2D, 5: L.Conv3D}
    if isinstance(neighbour, (L.Conv1D, L.Conv2D, L.Conv3D)) and len(graph.output(neighbour).shape) == rank:
        _check_kernel_layer(neighbour, "the neighbour of the new layer")
        kernel_type = type(neighbour) if type(neighbour) in conv_types.values() else conv_types[rank]
        config = neighbour.get_config()
        config.update(filters=channels, strides=1, padding="same", dilation_rate=1, groups=1)
        kernel_size = tuple(int(k) for k in neighbour.kernel_size)
    elif isinstance(neighbour, L.Dense):
        kernel_type, config, kernel_size = L.Dense, neighbour.get_config(), ()
        config.update(units=channels)
    else:
        kernel_type, config, kernel_size = L.Dense, {"units": channels}, ()
        if rank in conv_types and rank > 3:  # images without a convolution upstream: a 1×1 convolution
            kernel_type, kernel_size = conv_types[rank], (1,) * (rank - 2)
            config = {"filters": channels, "kernel_size": 1, "padding": "same"}
    for key in ("name", "kernel_initializer", "bias_initializer", "lora_rank", "lora_alpha", "quantization_config"):
        config.pop(key, None)
    config["activation"] = None
    bn_config = None
    if batchnorm is not None:
        bn_config = batchnorm.get_config()
        bn_config.pop("name", None)
        bn_config.update(axis=-1)
    return DeepenPlan(after, int(channels), config, kernel_type, kernel_size, bn_config, activation)


def _unique_name(model, base):
    names = {layer.name for layer in model.layers}
    name, i = base, 1
    while name in names:
        i += 1
        name = f"{base}_{i}"
    return name


def new_block_layers(model, plan: DeepenPlan, base_name: str):
    """Fresh (unbuilt) layers of the inserted block: kernel layer, identity BatchNorm, activation."""
    kernel_name = _unique_name(model, base_name)
    config = dict(plan.kernel_config, name=kernel_name)
    activation_layer = None
    if plan.activation_config is not None:
        cls, act_config = plan.activation_config["class"], plan.activation_config["config"]
        if plan.batchnorm_config is None and cls is L.Activation:
            config["activation"] = act_config["activation"]
        else:
            activation_layer = cls(name=_unique_name(model, f"{kernel_name}_act"), **act_config)
    layers = [plan.kernel_type.from_config(config)]
    if plan.batchnorm_config is not None:
        layers.append(L.BatchNormalization.from_config(dict(plan.batchnorm_config, name=f"{kernel_name}_bn")))
    if activation_layer is not None:
        layers.append(activation_layer)
    return layers


def init_identity_block(layers, plan: DeepenPlan, *, noise: float, rng: np.random.Generator):
    """Set the inserted layers to identity (kernel ``I``, bias 0, BatchNorm identity); optional kernel noise."""
    kernel_layer = layers[0]
    kernel = net2net_math.identity_kernel(plan.channels, plan.kernel_size)
    if noise > 0:
        fan_in = int(np.prod(kernel.shape[:-1]))
        kernel = kernel + rng.normal(0.0, float(noise) / np.sqrt(fan_in), size=kernel.shape)
    _assign(kernel_layer.kernel, kernel)
    if kernel_layer.use_bias:
        _assign(kernel_layer.bias, np.zeros(plan.channels))
    for layer in layers[1:]:
        if isinstance(layer, L.BatchNormalization):
            values = net2net_math.identity_batchnorm(plan.channels, float(layer.epsilon))
            for attr, value in values.items():
                if getattr(layer, attr, None) is not None:
                    _assign(getattr(layer, attr), value)


def deepen_graph_model(model, after_layer_name: str, *, noise: float, rng: np.random.Generator, name=None):
    """Net2DeeperNet on a Functional or Sequential model. See :func:`keras_transfer.growth.net2deeper`."""
    graph = LayerGraph(model)
    plan = plan_deepen(graph, after_layer_name)
    block = new_block_layers(model, plan, name or f"{plan.after.name}_deeper")

    def clone(layer):
        return layer.__class__.from_config(layer.get_config())

    if isinstance(model, keras.Sequential):
        layers = []
        for layer in model.layers:
            layers.append(clone(layer))
            if layer is plan.after:
                layers.extend(block)
        reference = model.inputs[0]
        inputs = keras.Input(batch_shape=reference.shape, dtype=reference.dtype, name=reference.name)
        grown = keras.Sequential([inputs] + layers, name=model.name, trainable=model.trainable)
        _compile_like(model, grown)
    else:
        after_name = plan.after.name

        def call(layer, *args, **kwargs):
            outputs = layer(*args, **kwargs)
            if layer.name == after_name:
                for new_layer in block:
                    outputs = new_layer(outputs)
            return outputs

        grown = keras.models.clone_model(model, clone_function=clone, call_function=call)
    _copy_unchanged(model, grown, set())
    init_identity_block([grown.get_layer(layer.name) for layer in block], plan, noise=noise, rng=rng)
    return grown


# --------------------------------------------------------------------------------------------- helpers
def _clone(model, clone_function):
    return keras.models.clone_model(model, clone_function=clone_function)


def _compile_like(source, target):
    if getattr(source, "compiled", False):
        target.compile_from_config(source.get_compile_config())


def _copy_unchanged(source, target, changed):
    for layer in source.layers:
        if isinstance(layer, L.InputLayer) or layer.name in changed:
            continue
        target.get_layer(layer.name).set_weights(layer.get_weights())


def _np(variable):
    return np.asarray(keras.ops.convert_to_numpy(variable.value), dtype="float64")


def _assign(variable, value):
    value = np.asarray(value)
    if tuple(value.shape) != tuple(variable.shape):
        raise AssertionError(f"internal: shape {value.shape} for variable {variable.path} of shape {variable.shape}")
    variable.assign(value.astype(keras.backend.standardize_dtype(variable.dtype)))
