"""`fold_feature_affine`: put a per-feature ``x * scale + shift`` on a model's features into its heads' first Dense."""

import keras
import numpy as np

from keras_transfer.errors import InvalidConfigError

__all__ = ["fold_feature_affine", "head_features"]


def _heads(model) -> dict:
    return dict(model.heads) if getattr(model, "heads", None) is not None else {"output": model.head}


def _first_dense(head):
    hidden = list(getattr(head, "hidden_layers", []) or [])
    layer = hidden[0] if hidden else getattr(head, "output_layer", None)
    if not isinstance(layer, keras.layers.Dense) or not layer.use_bias:
        raise InvalidConfigError(
            "Folding a feature shift needs a head whose first layer is a Dense layer with a bias (a "
            "keras_transfer ClassificationHead / RegressionHead). Received: a head of type "
            f"{type(head).__name__}. Use such a head, or an adaptation that changes no features (adapt='adabn')."
        )
    return layer


def head_features(model, features) -> dict:
    """``{task: what each head receives}`` from backbone features (after the model's own shift layers)."""
    shifts = dict(getattr(model, "shifts", {}) or {})
    if getattr(model, "shift", None) is not None:
        shifts["output"] = model.shift
    return {task: (keras.ops.convert_to_numpy(shifts[task](features)) if task in shifts else np.asarray(features))
            for task in _heads(model)}


def check_foldable(model) -> None:
    """Raise ``InvalidConfigError`` unless every head starts with a Dense layer with a bias."""
    for head in _heads(model).values():
        _first_dense(head)


def fold_feature_affine(model, scale, shift, tasks=None) -> None:
    """Make each head see ``features * scale + shift`` with no extra layer: fold it into the head's first Dense.

    With kernel ``W`` and bias ``b``, ``(x * s + t) W + b = x (diag(s) W) + (t W + b)``; dropout before that
    layer is the identity at inference, so the folded model predicts what the model with the affine would.

    Args:
        model: TransferModel or MultiTaskModel (changed in place).
        scale: array ``(features,)``.
        shift: array ``(features,)``.
        tasks: the heads to fold into (a MultiTaskModel's task names); None: all.

    Examples:
    >>> import numpy as np
    >>> name = keras_transfer.testing.register_tiny_backbone()
    >>> model = keras_transfer.TransferModel(keras_transfer.backbones.get(name, weights=None, input_shape=(32, 32)),
    ...                                      keras_transfer.ClassificationHead(2))
    >>> f = np.random.default_rng(0).normal(size=(3, 32)).astype("float32")
    >>> expected = model.head(f * 2.0 + 1.0).numpy()
    >>> keras_transfer.adaptation.fold_feature_affine(model, np.full(32, 2.0), np.ones(32))
    >>> bool(np.allclose(model.head(f).numpy(), expected, atol=1e-5))
    True
    """
    scale, shift = np.asarray(scale, "float64"), np.asarray(shift, "float64")
    for task, head in _heads(model).items():
        if tasks is not None and task not in tasks:
            continue
        layer = _first_dense(head)
        kernel = keras.ops.convert_to_numpy(layer.kernel).astype("float64")
        bias = keras.ops.convert_to_numpy(layer.bias).astype("float64")
        layer.kernel.assign((scale[:, None] * kernel).astype(layer.kernel.dtype))
        layer.bias.assign((bias + shift @ kernel).astype(layer.bias.dtype))
