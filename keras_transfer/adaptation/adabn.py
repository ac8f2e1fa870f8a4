"""`AdaBN`: re-estimate a backbone's BatchNorm statistics on the target inputs (Li et al., 2016). No training."""

from typing import List

import keras
import numpy as np

from keras_transfer.adaptation.method import Adaptation, empty_history
from keras_transfer.errors import InvalidConfigError

__all__ = ["AdaBN", "batch_norm_layers", "reestimate_batch_norm"]


def batch_norm_layers(backbone) -> List[keras.layers.BatchNormalization]:
    """Every ``BatchNormalization`` layer inside ``backbone``'s network (nested models included), in order."""
    return [layer for layer in backbone.network._flatten_layers(include_self=False, recursive=True)
            if isinstance(layer, keras.layers.BatchNormalization)]


def reestimate_batch_norm(backbone, x, batch_size: int = 256) -> int:
    """Replace every BatchNorm layer's moving mean and variance with their values on inputs ``x``.

    The network runs over ``x`` once in training mode, so each BatchNorm layer normalises with the statistics
    of the target batch it sees, as every layer below it already does: a layer's statistics are those of its
    inputs *after* the layers below adapted (AdaBN). Per layer, the batch means and variances are pooled into the
    exact mean and (biased) variance over all of ``x``. Weights, trainable flags, momentum and the backbone's
    mode are put back afterwards; only the statistics change, so the model saves and exports as before.

    Args:
        backbone: a keras_transfer backbone (``backbone.network`` holds the BatchNorm layers).
        x: raw inputs (what the model takes), e.g. ``(N, H, W, C)`` images.
        batch_size: int. Larger batches make each batch's statistics closer to the whole set's.

    Returns:
        int: the number of BatchNorm layers re-estimated.

    Examples:
    >>> import numpy as np
    >>> name = keras_transfer.testing.register_tiny_backbone()
    >>> backbone = keras_transfer.backbones.get(name, weights=None, input_shape=(32, 32), train_bn=False)
    >>> keras_transfer.adaptation.reestimate_batch_norm(backbone, np.full((8, 32, 32, 3), 200, "uint8"))
    3
    """
    layers = batch_norm_layers(backbone)
    if not layers:
        return 0
    mode, train_bn = backbone.mode, backbone.train_bn
    momenta = [layer.momentum for layer in layers]
    sums = [None] * len(layers)
    count = 0
    try:
        backbone.train_bn = True
        backbone.set_mode("full")  # every BatchNorm layer trainable: training=True uses and records batch statistics
        for layer in layers:
            layer.momentum = 0.0  # the moving statistics become the batch's
        for start in range(0, len(x), batch_size):
            batch = np.asarray(x[start:start + batch_size], "float32")
            backbone(batch, training=True)
            n = len(batch)
            for i, layer in enumerate(layers):
                mean = keras.ops.convert_to_numpy(layer.moving_mean).astype("float64")
                var = keras.ops.convert_to_numpy(layer.moving_variance).astype("float64")
                part = (n * mean, n * (var + mean ** 2))
                sums[i] = part if sums[i] is None else (sums[i][0] + part[0], sums[i][1] + part[1])
            count += n
    finally:
        for layer, momentum in zip(layers, momenta):
            layer.momentum = momentum
        backbone.train_bn = train_bn
        backbone.set_mode(mode)
    for layer, (first, second) in zip(layers, sums):
        mean = first / count
        layer.moving_mean.assign(mean.astype("float32"))
        layer.moving_variance.assign(np.maximum(second / count - mean ** 2, 0.0).astype("float32"))
    return len(layers)


class AdaBN(Adaptation):
    """``adapt="adabn"``: the backbone's BatchNorm statistics re-estimated on the target inputs.

    The cheapest method: one pass over the target, no training, no labels; the source model's weights stay,
    only the normalisation moves to the target's statistics, which are then part of the saved model. Works
    with TransferModel and MultiTaskModel (it changes only the backbone). Its source accuracy in the report is
    the source model's (the classifier is unchanged; under source statistics it is the source model).

    AdaBN assumes the stored statistics are the *source's*: true for a backbone whose BatchNorm trained on the
    source (``train_bn=True``, or ``weights=None``), not for a frozen pretrained backbone, whose statistics stay
    ImageNet's and whose head learnt on ImageNet-normalised source features. There, target statistics move the
    features away from what the head knows: ``python -m benchmarks adaptation`` measured it below the source
    model on both of its shifts, and ``adapt="auto"``'s source and reverse-validation guards exist for such cases.

    Args:
        batch_size: int. Inputs per pass (the statistics are pooled over all of them).

    Examples:
    >>> keras_transfer.adaptation.AdaBN().trains
    False
    """

    name = "adabn"
    trains = False
    multi_task = True
    source_unchanged = True
    needs_source = False

    def __init__(self, batch_size: int = 256):
        super().__init__()
        self.batch_size = int(batch_size)

    def check(self, model) -> None:
        if not batch_norm_layers(model.backbone):
            raise InvalidConfigError(
                "adapt='adabn' re-estimates BatchNorm statistics, but this backbone has no BatchNorm layer. "
                f"Received: backbone {getattr(getattr(model.backbone, 'spec', None), 'name', model.backbone.name)!r}. "
                "Use adapt='shift_bias', 'pseudo_label' or 'dann'."
            )

    def adapt(self, session):
        n = reestimate_batch_norm(session.model.backbone, session.target, self.batch_size)
        return empty_history(session.model), {"batch_norm_layers": n, "target_examples": session.n_target}
