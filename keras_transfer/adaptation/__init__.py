"""Adapting a trained model to an unlabelled, shifted target: AdaBN, the distribution-shift bias, pseudo-labels, DANN.

``keras_transfer.fine_tune(model, train, validation=..., unlabeled=x_target, adapt=METHOD)`` ends with an
adaptation stage (``keras_transfer.training.stages.AdaptationStage``) that runs one of these methods on the
unlabelled target inputs, then folds what it learnt into the model (BatchNorm statistics, a feature affine) or
drops what it used (the domain classifier), so the saved and exported model is the plain model taking raw inputs:

- ``AdaBN`` (``"adabn"``): re-estimate the backbone's BatchNorm statistics on the target inputs; no training.
- ``ShiftBiasAlignment`` (``"shift_bias"``): a ``DistributionShiftBias`` trained on target features to match the
  source features' moments (and, with ``coral``, their covariance), then folded into the head.
- ``PseudoLabel`` (``"pseudo_label"``): FixMatch-style self-training on confident target predictions, weak and
  strong views from ``keras_transfer.augmentation`` presets.
- ``ClusterLabel`` (``"cluster_label"``): the head retrained on class-balanced centroid pseudo-labels of the
  target features (SHOT's self-labelling), beside the labelled source.
- ``DANN`` (``"dann"``): a domain classifier behind a ``GradientReversal`` layer on the backbone features.
- ``AutoAdaptation`` (``"auto"``): run each, keep the one the label-free signals favour (``signals``).

Lazy (PEP 562): ``keras_transfer.adaptation.names`` (the method names the options check) loads without Keras.
"""

import importlib

_EXPORTS = {
    "METHOD_NAMES": "keras_transfer.adaptation.names",
    "AdaBN": "keras_transfer.adaptation.adabn",
    "Adaptation": "keras_transfer.adaptation.method",
    "AdaptationSession": "keras_transfer.adaptation.session",
    "AutoAdaptation": "keras_transfer.adaptation.auto",
    "ClusterLabel": "keras_transfer.adaptation.cluster_label",
    "DANN": "keras_transfer.adaptation.dann",
    "GradientReversal": "keras_transfer.adaptation.gradient_reversal",
    "PseudoLabel": "keras_transfer.adaptation.pseudo_label",
    "ShiftBiasAlignment": "keras_transfer.adaptation.shift_alignment",
    "fold_feature_affine": "keras_transfer.adaptation.folding",
    "get": "keras_transfer.adaptation.method",
    "reestimate_batch_norm": "keras_transfer.adaptation.adabn",
    "target_scores": "keras_transfer.adaptation.signals",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
