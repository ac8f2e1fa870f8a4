"""`CacheRebuildWarning`: a cache entry was unusable (corrupt, partial, foreign) and is being rebuilt."""

__all__ = ["CacheRebuildWarning"]


class CacheRebuildWarning(UserWarning):
    """Emitted when a feature-cache entry is found corrupt, partial or holding other features, and rebuilt.

    Examples:
    >>> import warnings
    >>> warnings.simplefilter("error", keras_transfer.features.CacheRebuildWarning)
    """
