"""Searching a whole transfer recipe (stages, learning rates, augmentation, backbone) with KerasTuner."""

__all__ = []
