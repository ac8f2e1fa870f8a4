"""Judging and explaining a trained classifier: test-time augmentation, temperature calibration, report metrics
(ECE, macro-F1, balanced accuracy) and error analysis (top losses, most-confused pairs, Grad-CAM)."""

__all__ = []
