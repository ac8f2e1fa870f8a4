"""A recipe config that fits in seconds: a 48-image arrays file and the ``tiny_cnn`` backbone, 1 epoch per stage."""

import numpy as np

from keras_transfer.testing.tiny_backbone import register_tiny_backbone

__all__ = ["tiny_recipe_config", "write_tiny_arrays"]


def write_tiny_arrays(path, n: int = 48, size: int = 16) -> str:
    """Save three classes of grey ``size``×``size`` images that differ in brightness.

    The ``.npz`` holds ``x`` (uint8), ``y`` (class ids), ``parity`` (``y % 2``, a second task) and ``class_names``.

    Returns:
        str: ``path``.

    Examples:
    >>> keras_transfer.testing.write_tiny_arrays("/tmp/tiny.npz")
    '/tmp/tiny.npz'
    """
    rng = np.random.default_rng(0)
    y = np.arange(n) % 3
    x = rng.integers(0, 80, (n, size, size, 1)).astype("uint8") + (y * 80).astype("uint8")[:, None, None, None]
    np.savez(path, x=x, y=y, parity=y % 2, class_names=np.array(["dark", "mid", "light"]))
    return str(path)


def tiny_recipe_config(arrays_path, output_dir, **changes) -> dict:
    """A raw ``keras_transfer.Recipe`` config on ``write_tiny_arrays`` data and ``tiny_cnn`` (registered here).

    ``deterministic_ops`` is off: TensorFlow's switch is process-wide, so tests sharing a process leave it alone.

    Args:
        arrays_path: str. A file written by ``write_tiny_arrays``.
        output_dir: str. Parent of the run folders.
        **changes: top-level keys to replace.

    Returns:
        dict.
    """
    register_tiny_backbone()
    config = {
        "name": "tiny",
        "seed": 3,
        "deterministic_ops": False,
        "output_dir": str(output_dir),
        "data": {"kind": "arrays", "path": str(arrays_path), "validation_size": 0.25, "test_size": 0.25},
        "backbone": {"name": "tiny_cnn", "weights": None, "input_size": [16, 16]},
        "head": {"dropout": 0.0},
        "optimizer": {"batch_size": 8, "head_lr": 0.01},
        "stages": {"head_epochs": 1, "fine_tune_epochs": 1},
    }
    config.update(changes)
    return config
