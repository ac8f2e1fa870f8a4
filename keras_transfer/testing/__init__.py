"""Helpers for tests and docs: a tiny registered backbone that builds in milliseconds."""

from keras_transfer.testing.ports import free_loopback_ports
from keras_transfer.testing.tiny_backbone import TINY_BACKBONE, register_tiny_backbone
from keras_transfer.testing.tiny_recipe import tiny_recipe_config, write_tiny_arrays

__all__ = ["TINY_BACKBONE", "free_loopback_ports", "register_tiny_backbone", "tiny_recipe_config", "write_tiny_arrays"]
