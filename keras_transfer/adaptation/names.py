"""The names ``fine_tune(adapt=...)`` accepts (no Keras import: ``FineTuneOptions`` checks them)."""

__all__ = ["METHOD_NAMES"]

#: ``adapt=`` names, each a class of ``keras_transfer.adaptation`` (``keras_transfer.adaptation.get``).
METHOD_NAMES = ("adabn", "shift_bias", "pseudo_label", "cluster_label", "dann", "auto")
