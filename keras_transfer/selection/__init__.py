"""Choosing a base model before training: transferability scores (LogME, linear probe, k-NN) on cached features."""

__all__ = []
