"""The Net2Net weight arithmetic as pure NumPy functions: replication maps, widened and identity weights.

Net2WiderNet (Chen, Goodfellow & Shlens, 2016) grows a layer from ``n`` to ``q`` units with a mapping
``g: {0..q-1} → {0..n-1}`` that keeps the first ``n`` units and copies random ones for the rest: the layer's
incoming weights (and its BatchNorm parameters) are copied along ``g``, and every consumer's incoming weights
for unit ``j`` become ``W[g(j)] / count(g(j))``, so the replicas' contributions add up to the original one.
Net2DeeperNet inserts a layer initialised to the identity.

These functions work on arrays only, so they can be tested and reused (multi-head models, other layer
types) without building any Keras model.
"""

from typing import Optional, Sequence

import numpy as np

__all__ = [
    "identity_batchnorm",
    "identity_kernel",
    "replication_counts",
    "replication_map",
    "widen_channels",
    "widen_consumer_kernel",
]


def replication_map(old_units: int, new_units: int, rng: np.random.Generator) -> np.ndarray:
    """The Net2Net unit mapping ``g``: identity on the first ``old_units``, random copies after.

    Args:
        old_units: int. Current number of units (channels).
        new_units: int. Number of units after widening (> ``old_units``).
        rng: numpy Generator choosing which units are copied.

    Returns:
        int64 array of shape ``(new_units,)``; entry ``j`` is the original unit that new unit ``j`` copies.

    Examples:
    >>> import numpy as np
    >>> g = keras_transfer.growth.mapping.replication_map(3, 5, np.random.default_rng(0))
    >>> g[:3].tolist(), len(g)
    ([0, 1, 2], 5)
    """
    if not 0 < old_units < new_units:
        raise ValueError(f"Need 0 < old_units < new_units. Received: old_units={old_units}, new_units={new_units}.")
    extra = rng.integers(0, old_units, size=new_units - old_units)
    return np.concatenate([np.arange(old_units), extra]).astype("int64")


def replication_counts(mapping: np.ndarray, old_units: int) -> np.ndarray:
    """How many new units copy each original unit (≥ 1 everywhere).

    Args:
        mapping: the array returned by :func:`replication_map`.
        old_units: int.

    Returns:
        int64 array of shape ``(old_units,)``.
    """
    return np.bincount(mapping, minlength=old_units).astype("int64")


def widen_channels(values: np.ndarray, mapping: np.ndarray, axis: int = -1) -> np.ndarray:
    """Copy the producer side along ``mapping``: a kernel's output axis, a bias, BatchNorm parameters.

    Args:
        values: array whose ``axis`` indexes the units being widened.
        mapping: the replication map.
        axis: int. The units axis (last for kernels, biases and BatchNorm vectors).

    Returns:
        array with ``len(mapping)`` entries along ``axis``.
    """
    return np.take(values, mapping, axis=axis)


def widen_consumer_kernel(
    kernel: np.ndarray,
    mapping: np.ndarray,
    *,
    spatial: Optional[Sequence[int]] = None,
    noise: float = 0.0,
    rng: Optional[np.random.Generator] = None,
) -> np.ndarray:
    """Rescale a consumer's incoming weights so that the widened producer leaves its output unchanged.

    Row ``j`` of the new kernel's input axis (axis ``-2``: Dense ``(in, out)``, convolutions
    ``(*kernel_size, in, out)``) is row ``g(j)`` divided by the number of replicas of ``g(j)``. With
    ``noise > 0`` each replica group gets Gaussian noise of standard deviation ``noise · std(kernel)``
    minus the group's mean, so the noise sums to zero within every group: the consumer's output is
    unchanged (up to float rounding) while the replicas' outgoing weights differ, which breaks their
    symmetry once training starts.

    Args:
        kernel: the consumer's kernel.
        mapping: the replication map of the producer's units.
        spatial: for a Dense consumer behind a ``Flatten``: the spatial shape flattened together with
            the channels (its rows are ordered ``(*spatial, channels)``).
        noise: float ≥ 0. Relative scale of the zero-sum noise.
        rng: numpy Generator for the noise.

    Returns:
        the new kernel, float64.

    Examples:
    >>> import numpy as np
    >>> kernel = np.arange(6.0).reshape(3, 2)
    >>> keras_transfer.growth.mapping.widen_consumer_kernel(kernel, np.array([0, 1, 2, 0]))[[0, 3]].tolist()
    [[0.0, 0.5], [0.0, 0.5]]
    """
    kernel = np.asarray(kernel, dtype="float64")
    counts = np.bincount(mapping).astype("float64")
    old_units = len(counts)
    if spatial is not None:
        n_spatial = int(np.prod(spatial)) if len(spatial) else 1
        rows, outputs = kernel.shape
        if rows != n_spatial * old_units:
            raise ValueError(
                f"A kernel with {rows} rows cannot follow {n_spatial} positions × {old_units} channels."
            )
        grouped = kernel.reshape(n_spatial, old_units, outputs)
        widened = _rescale_rows(grouped, mapping, counts, axis=1, noise=noise, rng=rng)
        return widened.reshape(n_spatial * len(mapping), outputs)
    return _rescale_rows(kernel, mapping, counts, axis=kernel.ndim - 2, noise=noise, rng=rng)


def _rescale_rows(kernel, mapping, counts, *, axis, noise, rng):
    shape = [1] * kernel.ndim
    shape[axis] = len(mapping)
    widened = np.take(kernel, mapping, axis=axis) / counts[mapping].reshape(shape)
    if noise > 0:
        if rng is None:
            raise ValueError("noise > 0 needs an rng.")
        scale = float(noise) * float(np.std(kernel) or 1.0)
        eps = rng.normal(0.0, scale, size=widened.shape)
        # Subtract each replica group's mean: the noise of a group sums to zero, the function is unchanged.
        moved = np.moveaxis(eps, axis, 0)
        group_sum = np.zeros((len(counts),) + moved.shape[1:])
        np.add.at(group_sum, mapping, moved)
        moved = moved - (group_sum / counts.reshape((-1,) + (1,) * (moved.ndim - 1)))[mapping]
        widened = widened + np.moveaxis(moved, 0, axis)
    return widened


def identity_kernel(channels: int, kernel_size: Sequence[int] = ()) -> np.ndarray:
    """The kernel of a Dense (``kernel_size=()``) or stride-1 ``padding="same"`` convolution computing identity.

    The single non-zero tap sits where Keras' "same" padding puts the output pixel: index
    ``(k - 1) // 2`` on each spatial axis (the extra padding of even kernels goes at the end).

    Args:
        channels: int. Input = output channels.
        kernel_size: tuple of int; empty for a Dense kernel.

    Returns:
        float64 array ``(*kernel_size, channels, channels)``.

    Examples:
    >>> keras_transfer.growth.mapping.identity_kernel(2, (3, 3))[1, 1].tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    kernel = np.zeros(tuple(kernel_size) + (channels, channels))
    centre = tuple((int(k) - 1) // 2 for k in kernel_size)
    kernel[centre] = np.eye(channels)
    return kernel


def identity_batchnorm(channels: int, epsilon: float) -> dict:
    """BatchNorm parameters computing identity in inference mode.

    ``(x - 0) / sqrt(var + eps) · 1 + 0`` with ``var = 1 - eps``; works with ``scale=False`` too.

    Args:
        channels: int.
        epsilon: float in (0, 1). The layer's epsilon.

    Returns:
        dict with ``gamma``, ``beta``, ``moving_mean``, ``moving_variance`` arrays.
    """
    if not 0 <= epsilon < 1:
        raise ValueError(f"BatchNormalization epsilon must be in [0, 1) to be set to identity. Received: {epsilon}.")
    return {
        "gamma": np.ones(channels),
        "beta": np.zeros(channels),
        "moving_mean": np.zeros(channels),
        "moving_variance": np.full(channels, 1.0 - epsilon),
    }
