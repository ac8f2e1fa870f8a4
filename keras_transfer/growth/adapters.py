"""Which kinds of model growth can rewrite, and how each is rebuilt around a grown part.

``net2wider`` / ``net2deeper`` ask :func:`adapter_for` for the adapter of the model they receive. An
adapter knows how to grow one kind of model and return a new one that shares nothing mutable with the
input. Two exist: :class:`GraphAdapter` (Functional and Sequential Keras models) and
:class:`TransferModelAdapter` (the head of a ``keras_transfer.TransferModel``). A model with several
heads adds its own adapter to ``ADAPTERS``: resolve ``"<head name>/<layer>"`` to one head, grow it with
:func:`keras_transfer.growth.head.widen_head` / ``deepen_head``, and rebuild the model with the new head
and clones of the others (see :meth:`TransferModelAdapter.rebuild` for the cloning).
"""

from typing import List, Optional

import keras
import numpy as np

from keras_transfer.errors import InvalidConfigError
from keras_transfer.growth import graph as graph_growth
from keras_transfer.growth import head as head_growth
from keras_transfer.models.transfer_model import TransferModel

__all__ = ["ADAPTERS", "GraphAdapter", "ModelAdapter", "TransferModelAdapter", "adapter_for"]


class ModelAdapter:
    """Growth for one kind of model. Subclasses implement every method."""

    def handles(self, model) -> bool:
        """Whether this adapter grows ``model``."""
        raise NotImplementedError

    def widen(self, model, layer_name: str, new_units: int, *, noise: float, rng: np.random.Generator):
        """A new model with ``layer_name`` widened to ``new_units``."""
        raise NotImplementedError

    def deepen(self, model, after_layer_name: str, *, noise: float, rng: np.random.Generator):
        """A new model with an identity layer inserted after ``after_layer_name``."""
        raise NotImplementedError

    def units(self, model, layer_name: str) -> int:
        """Current units (or filters) of ``layer_name``."""
        raise NotImplementedError

    def default_layer(self, model) -> str:
        """The layer a policy widens when none is named."""
        raise NotImplementedError

    def check_widen(self, model, layer_name: str) -> None:
        """Raise InvalidConfigError now if ``layer_name`` could not be widened (no model is built)."""
        raise NotImplementedError


class GraphAdapter(ModelAdapter):
    """Functional and Sequential models: any Dense / convolution layer whose consumers can be adjusted."""

    def handles(self, model) -> bool:
        return isinstance(model, keras.Model) and not _is_transfer_model(model) and (
            isinstance(model, keras.Sequential) or graph_growth._is_functional(model)
        )

    def widen(self, model, layer_name, new_units, *, noise, rng):
        return graph_growth.widen_graph_model(model, layer_name, new_units, noise=noise, rng=rng)

    def deepen(self, model, after_layer_name, *, noise, rng):
        return graph_growth.deepen_graph_model(model, after_layer_name, noise=noise, rng=rng)

    def units(self, model, layer_name):
        layer = graph_growth.LayerGraph(model).layer(layer_name, "layer_name")
        if not isinstance(layer, graph_growth.KERNEL_TYPES):
            raise InvalidConfigError(
                f"Layer {layer_name!r} is a {type(layer).__name__}. Received: layer_name={layer_name!r}. "
                f"Supported layer types: {graph_growth.SUPPORTED_KERNELS}."
            )
        return graph_growth.units_of(layer)

    def check_widen(self, model, layer_name):
        graph_growth.plan_widen(graph_growth.LayerGraph(model), layer_name, self.units(model, layer_name) + 1)

    def default_layer(self, model):
        graph = graph_growth.LayerGraph(model)
        for layer in reversed(graph.layers):
            if isinstance(layer, graph_growth.KERNEL_TYPES):
                try:
                    graph_growth.plan_widen(graph, layer.name, graph_growth.units_of(layer) + 1)
                except InvalidConfigError:
                    continue
                return layer.name
        raise InvalidConfigError(
            f"Model {model.name!r} has no Dense or convolution layer that can be widened. Received: a model "
            "whose kernel layers are all outputs or feed layers growth cannot adjust. Name the layer explicitly."
        )


class TransferModelAdapter(ModelAdapter):
    """A ``keras_transfer.TransferModel``: its head grows; backbone and augmentation are cloned unchanged."""

    def handles(self, model) -> bool:
        return _is_transfer_model(model)

    def widen(self, model, layer_name, new_units, *, noise, rng):
        new_head = head_growth.widen_head(model.head, layer_name, new_units, noise=noise, rng=rng)
        return self.rebuild(model, new_head)

    def deepen(self, model, after_layer_name, *, noise, rng):
        new_head = head_growth.deepen_head(model.head, after_layer_name, noise=noise, rng=rng)
        return self.rebuild(model, new_head)

    def units(self, model, layer_name):
        index = head_growth.resolve_head_layer(model.head, layer_name, "layer_name")
        return int(head_growth._dense_layers(model.head)[index].units)

    def check_widen(self, model, layer_name):
        head = model.head
        head_growth._check_head(head)
        if head_growth.resolve_head_layer(head, layer_name, "layer_name") == len(head.hidden_layers):
            raise InvalidConfigError(
                f"The output layer {head.output_layer.name!r} of head {head.name!r} sets the number of outputs "
                f"and cannot be widened. Received: layer_name={layer_name!r}. Widen a hidden layer: "
                f"{head_growth.head_layer_names(head)[:-1]}."
            )

    def default_layer(self, model):
        if not model.head.hidden_layers:
            raise InvalidConfigError(
                f"Head {model.head.name!r} has no hidden layer to widen. Received: hidden_units=(). Build the "
                "head with hidden layers, e.g. ClassificationHead(n, hidden_units=(64,))."
            )
        return model.head.hidden_layers[-1].name

    @staticmethod
    def rebuild(model, new_head):
        """A new model of the same class around ``new_head``, with cloned backbone and augmentation.

        The backbone is rebuilt from its config (same registry entry, mode and ``train_bn``) and its weights
        copied; the model is built on the input shape the old one was built on and compiled with the same
        compile config (a fresh optimizer with the same hyperparameters) when the old one was compiled.
        """
        backbone = clone_with_weights(model.backbone)
        augmentation = None
        if model.augmentation is not None:
            augmentation = model.augmentation.__class__.from_config(model.augmentation.get_config())
        grown = type(model)(backbone, new_head, augmentation=augmentation, name=model.name)
        if model.built:
            grown.build_from_config(model.get_build_config())
        if getattr(model, "compiled", False):
            grown.compile_from_config(model.get_compile_config())
        return grown


def clone_with_weights(layer):
    """A new layer built from ``layer``'s config, holding copies of its weights (no shared variables)."""
    clone = layer.__class__.from_config(layer.get_config())
    weights = layer.get_weights()
    if weights and not clone.weights:
        raise InvalidConfigError(
            f"Layer {layer.name!r} ({type(layer).__name__}) does not create its weights from its config, so "
            "growth cannot copy it. Received: an unbuilt clone. Use a keras_transfer Backbone."
        )
    clone.set_weights(weights)
    if clone.trainable != layer.trainable:  # the setter recurses: touch it only when it differs
        clone.trainable = layer.trainable
    return clone


def _is_transfer_model(model) -> bool:
    return isinstance(model, TransferModel)


ADAPTERS: List[ModelAdapter] = [TransferModelAdapter(), GraphAdapter()]


def adapter_for(model) -> ModelAdapter:
    """The adapter growing ``model``.

    Raises:
        InvalidConfigError: the model is of a kind growth does not rewrite.
    """
    adapter: Optional[ModelAdapter] = next((a for a in ADAPTERS if a.handles(model)), None)
    if adapter is None:
        raise InvalidConfigError(
            "Growth rewrites Functional and Sequential Keras models and the head of a keras_transfer "
            f"TransferModel. Received: {type(model).__name__}. Rebuild a subclassed model with the functional API."
        )
    return adapter
