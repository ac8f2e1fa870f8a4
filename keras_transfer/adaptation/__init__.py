"""Adapting a trained model to an unlabelled, shifted target: AdaBN, the distribution-shift bias, pseudo-labels, DANN."""

__all__ = []
