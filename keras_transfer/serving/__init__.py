"""A local HTTP server for exported and ``.keras`` classifiers (``keras-transfer serve``)."""

__all__ = []
