"""`net2wider` and `net2deeper`: grow a trained network into a larger one computing the same function.

Net2Net (Chen, Goodfellow & Shlens, "Net2Net: Accelerating Learning via Knowledge Transfer", ICLR 2016):
a wider layer copies existing units and divides their outgoing weights among the copies; a deeper network
gets a new layer initialised to the identity. The grown network starts where the small one stopped and
keeps training instead of starting over.
"""

import math
from typing import Optional

import numpy as np

from keras_transfer.errors import InvalidConfigError
from keras_transfer.growth.adapters import adapter_for

__all__ = ["net2deeper", "net2wider"]


def _grow(model, name, argument: str, noise, seed, operation: str):
    """The checked arguments of a growth: the model adapter's ``operation`` method, the noise as a float and a
    seeded generator."""
    _check_name(name, argument)
    noise = _check_noise(noise)
    return getattr(adapter_for(model), operation), noise, np.random.default_rng(seed)


def _check_noise(noise):
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not math.isfinite(noise) or noise < 0:
        raise InvalidConfigError(f"noise must be a finite float ≥ 0. Received: noise={noise!r}.")
    return float(noise)


def _check_name(name, argument):
    if not isinstance(name, str) or not name:
        raise InvalidConfigError(
            f"{argument} must be a layer name (str). Received: {argument}={name!r}. "
            "List the names with [layer.name for layer in model.layers]."
        )
    return name


def net2wider(model, layer_name: str, new_units: int, noise: float = 0.0, *, seed: Optional[int] = None):
    """A copy of ``model`` where ``layer_name`` has ``new_units`` units (or filters), computing the same function.

    Net2WiderNet: the layer keeps its units and adds copies of randomly chosen ones (incoming weights and
    bias copied); a BatchNormalization on its output gets the same copies of its scale, offset and running
    statistics; every Dense / convolution consuming the channels (directly or through activations,
    dropout, pooling, padding, upsampling, BatchNorm or a Flatten) divides the weights of each copied unit
    by its number of copies. Without noise the grown model's outputs equal the original's up to float
    rounding (tested within 1e-5).

    Copies of a unit receive identical gradients and would stay identical forever (unless dropout breaks the
    tie), so pass ``noise > 0`` before training on: each group of copies gets Gaussian noise on its outgoing
    weights (standard deviation ``noise × std(consumer kernel)``) *that sums to zero within the group*. The
    function is still preserved up to float rounding (tested within 1e-5 for ``noise=0.1``) while the
    copies' incoming weights diverge from the first step. ``noise=0.1`` is a good default for training on.

    The input model is not modified. The result is a new model sharing no layer or variable with it; when
    the input model was compiled, the result is compiled with the same loss, metrics and optimizer
    hyperparameters (including the current learning rate) but a **fresh optimizer state**: moment estimates
    and the iteration count start from zero, because the old slots do not fit the new shapes.

    Supported models: Functional and Sequential Keras models (layers ``Dense``, ``Conv1D``, ``Conv2D``,
    ``Conv3D``), and ``keras_transfer.TransferModel``, whose head's hidden layers (``"hidden_0"``, ... or
    ``"<head name>/hidden_0"``) are widened while the backbone is copied unchanged.

    Args:
        model: keras.Model (Functional or Sequential) or keras_transfer.TransferModel.
        layer_name: str. The Dense / convolution layer to widen.
        new_units: int. New number of units / filters; larger than the current one.
        noise: float ≥ 0. Relative scale of the zero-sum symmetry-breaking noise (see above).
        seed: int or None. Seeds which units are copied and the noise.

    Returns:
        A new model of the same kind.

    Raises:
        InvalidConfigError: unknown layer name; a layer type that cannot be widened; ``new_units`` not larger
            than the current size; the layer is (or reaches) a model output; its output reaches a layer
            whose fan-in cannot be adjusted (Add, Concatenate, Reshape, LayerNormalization, ...); a shared
            layer; a subclassed model.

    Examples:
    >>> import keras, numpy as np
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="relu", name="hidden"),
    ...                           keras.layers.Dense(2, name="out")])
    >>> wide = keras_transfer.growth.net2wider(model, "hidden", 8, noise=0.1, seed=0)
    >>> wide.get_layer("hidden").units
    8
    >>> x = np.random.default_rng(0).normal(size=(5, 4)).astype("float32")
    >>> bool(np.allclose(model(x), wide(x), atol=1e-5))
    True
    """
    widen, noise, rng = _grow(model, layer_name, "layer_name", noise, seed, "widen")
    return widen(model, layer_name, new_units, noise=noise, rng=rng)


def net2deeper(model, after_layer_name: str, noise: float = 0.0, *, seed: Optional[int] = None):
    """A copy of ``model`` with an identity-initialised layer inserted after ``after_layer_name``.

    Net2DeeperNet. The new layer is a Dense, or a convolution (Conv1D/2D/3D) with the kernel size of the
    nearest convolution upstream, stride 1 and ``"same"`` padding, as wide as the tensor it receives, with
    kernel ``I`` and bias 0. When the block it follows contains a BatchNormalization, an identity
    BatchNorm (mean 0, variance ``1 - epsilon``, scale 1, offset 0; same epsilon and momentum) comes after
    it. When its input is a ReLU output (``relu``/``relu6`` activation, ``ReLU`` layer, possibly followed by
    pooling / dropout / flatten), it ends in the same activation, which is the identity on such inputs;
    otherwise it stays linear (still the identity). Heads of a TransferModel get a hidden layer of the same
    width and the head's hidden activation (``relu``/``relu6`` or linear required).

    Without noise the outputs equal the original's up to float rounding (tested within 1e-5). ``noise > 0``
    adds Gaussian noise of standard deviation ``noise / sqrt(fan_in)`` to the identity kernel, which moves
    each pre-activation by about ``noise`` times the root-mean-square of the layer's inputs: outputs change
    by roughly that relative amount (tested: ``noise=1e-3`` keeps outputs within 1e-2). An identity layer
    trains without it; noise is only for symmetry breaking if you want it.

    The input model is not modified; the new model shares no layer or variable with it and, when the input
    model was compiled, is compiled the same way with a fresh optimizer state (see :func:`net2wider`).

    Args:
        model: keras.Model (Functional or Sequential) or keras_transfer.TransferModel.
        after_layer_name: str. The layer whose output the new layer takes; not a model output.
        noise: float ≥ 0. Relative scale of the noise on the identity kernel.
        seed: int or None. Seeds the noise.

    Returns:
        A new model of the same kind. The inserted layer is named ``"<after_layer_name>_deeper"`` (its
        BatchNorm ``"..._bn"``, a separate activation ``"..._act"``); in a head the hidden layers are renumbered.

    Raises:
        InvalidConfigError: unknown layer name; the layer is a model output; a shared layer; a head whose
            hidden activation is not idempotent; a subclassed model.

    Examples:
    >>> import keras, numpy as np
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="relu", name="hidden"),
    ...                           keras.layers.Dense(2, name="out")])
    >>> deep = keras_transfer.growth.net2deeper(model, "hidden")
    >>> [layer.name for layer in deep.layers]
    ['hidden', 'hidden_deeper', 'out']
    >>> x = np.random.default_rng(0).normal(size=(5, 4)).astype("float32")
    >>> bool(np.allclose(model(x), deep(x), atol=1e-5))
    True
    """
    deepen, noise, rng = _grow(model, after_layer_name, "after_layer_name", noise, seed, "deepen")
    return deepen(model, after_layer_name, noise=noise, rng=rng)
