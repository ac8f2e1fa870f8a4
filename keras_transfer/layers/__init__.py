"""Compatibility alias: ``DistributionShiftBias`` lives in ``keras_transfer.models`` (this package holds no layer
of its own). Kept importable because ``keras_transfer/__init__.py`` and tests/export still name it; new code uses
``keras_transfer.models.DistributionShiftBias``."""

from keras_transfer.models.shift_bias import DistributionShiftBias

__all__ = ["DistributionShiftBias"]
