"""The project's own error hierarchy.

Every error raised on bad input derives from :class:`KerasTransferError` and, where
it fits, from the matching built-in (``ValueError`` / ``TypeError`` / ``OSError``),
so ``except ValueError`` keeps working for users who do not know our classes.
Messages follow Keras' convention: what was wrong, then ``Received: ...`` and the fix.
"""

__all__ = [
    "KerasTransferError",
    "InvalidInputError",
    "InvalidConfigError",
    "UnknownBackboneError",
    "WeightsUnavailableError",
    "CorruptWeightsError",
    "UnsafeCheckpointError",
    "DatasetUnavailableError",
    "CacheDirectoryError",
    "CheckpointError",
    "TrainingDivergedError",
    "ExportError",
]


class KerasTransferError(Exception):
    """Base class of every error raised by keras_transfer."""


class InvalidInputError(KerasTransferError, ValueError):
    """Data given to a model or a training call is unusable (shape, dtype, labels, NaN, empty)."""


class InvalidConfigError(KerasTransferError, ValueError):
    """An argument value is not one of the allowed values."""


class UnknownBackboneError(KerasTransferError, KeyError, ValueError):
    """A backbone name is not in the registry."""

    def __str__(self):  # KeyError would otherwise quote the message.
        return str(self.args[0]) if self.args else ""


class WeightsUnavailableError(KerasTransferError, OSError):
    """Pretrained weights could not be obtained (offline, package missing, download failed)."""


class CorruptWeightsError(KerasTransferError, ValueError):
    """A weights file exists but cannot be read or does not match the architecture."""


class UnsafeCheckpointError(CorruptWeightsError):
    """A checkpoint asked the unpickler for something outside the allowed set (possible malicious file)."""


class DatasetUnavailableError(KerasTransferError, OSError):
    """A dataset could not be loaded (not installed, offline, not prepared)."""


class ExportError(KerasTransferError, OSError):
    """A model could not be exported or its exported file run (unwritable path, converter or runtime missing)."""


class CheckpointError(KerasTransferError, OSError):
    """A training checkpoint directory cannot be written, or what it holds cannot be read back."""


class TrainingDivergedError(KerasTransferError, ArithmeticError):
    """The training loss became NaN or infinite (the learning rate is usually too high)."""


class CacheDirectoryError(KerasTransferError, OSError):
    """A feature cache directory cannot be created or written (permissions, a file in the way, disk full)."""
