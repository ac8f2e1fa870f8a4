"""The Net2Net arithmetic on plain arrays: replication, rescaled fan-in, zero-sum noise, identity weights."""

import numpy as np
import pytest

from keras_transfer.growth import mapping


def test_replication_map_keeps_originals_and_copies_existing_units():
    g = mapping.replication_map(4, 11, np.random.default_rng(0))
    assert g[:4].tolist() == [0, 1, 2, 3] and len(g) == 11
    assert g.min() >= 0 and g.max() < 4
    counts = mapping.replication_counts(g, 4)
    assert counts.sum() == 11 and counts.min() >= 1


@pytest.mark.parametrize("bad", [(3, 3), (4, 2), (0, 2)])
def test_replication_map_refuses_non_growth(bad):
    with pytest.raises(ValueError, match="old_units < new_units"):
        mapping.replication_map(*bad, np.random.default_rng(0))


@pytest.mark.parametrize("noise", [0.0, 0.5])
def test_widened_dense_pair_computes_the_same_function(noise):
    rng = np.random.default_rng(1)
    w1, b1, w2 = rng.normal(size=(5, 4)), rng.normal(size=4), rng.normal(size=(4, 3))
    x = rng.normal(size=(7, 5))
    g = mapping.replication_map(4, 9, rng)
    new_w1, new_b1 = mapping.widen_channels(w1, g), mapping.widen_channels(b1, g)
    new_w2 = mapping.widen_consumer_kernel(w2, g, noise=noise, rng=rng)
    before = np.tanh(x @ w1 + b1) @ w2
    after = np.tanh(x @ new_w1 + new_b1) @ new_w2
    np.testing.assert_allclose(after, before, atol=1e-12)
    replicated = [j for j in range(4, 9)]
    differs = not np.allclose(new_w2[replicated], new_w2[g[replicated]])
    assert differs == (noise > 0)  # the noise breaks the copies' symmetry, zero-sum keeps the function


def test_consumer_behind_flatten_rescales_each_position():
    rng = np.random.default_rng(2)
    maps = rng.normal(size=(3, 2, 2, 4))  # batch, h, w, channels
    kernel = rng.normal(size=(2 * 2 * 4, 5))
    g = mapping.replication_map(4, 6, rng)
    widened = mapping.widen_consumer_kernel(kernel, g, spatial=(2, 2), noise=0.3, rng=rng)
    before = maps.reshape(3, -1) @ kernel
    after = mapping.widen_channels(maps, g).reshape(3, -1) @ widened
    np.testing.assert_allclose(after, before, atol=1e-12)
    with pytest.raises(ValueError, match="positions"):
        mapping.widen_consumer_kernel(kernel, g, spatial=(3, 3))


def test_identity_kernels():
    np.testing.assert_array_equal(mapping.identity_kernel(3), np.eye(3))
    conv = mapping.identity_kernel(2, (3, 5))
    assert conv.shape == (3, 5, 2, 2) and conv.sum() == 2
    np.testing.assert_array_equal(conv[1, 2], np.eye(2))
    assert mapping.identity_kernel(2, (2,))[0].tolist() == [[1, 0], [0, 1]]  # even: "same" pads at the end
    bn = mapping.identity_batchnorm(3, 1e-3)
    x = np.random.default_rng(0).normal(size=(4, 3))
    y = (x - bn["moving_mean"]) / np.sqrt(bn["moving_variance"] + 1e-3) * bn["gamma"] + bn["beta"]
    np.testing.assert_allclose(y, x, atol=1e-12)
