"""Helpers for tests and docs: a tiny registered backbone that builds in milliseconds."""

from keras_transfer.testing.tiny_backbone import TINY_BACKBONE, register_tiny_backbone

__all__ = ["TINY_BACKBONE", "register_tiny_backbone"]
