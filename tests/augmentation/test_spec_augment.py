"""SpecAugment: identity at inference, mask widths and counts within bounds, fill values, errors."""

import numpy as np
import pytest

from keras_transfer.augmentation import SpecAugment
from keras_transfer.errors import InvalidConfigError, InvalidInputError


def _runs(flags):
    """Lengths of the runs of True in a 1-D bool array."""
    runs, length = [], 0
    for flag in list(flags) + [False]:
        if flag:
            length += 1
        elif length:
            runs.append(length)
            length = 0
    return runs


def test_identity_at_inference():
    spectrograms = np.random.default_rng(0).normal(size=(4, 50, 40)).astype("float32")
    layer = SpecAugment(seed=0)
    assert np.array_equal(np.asarray(layer(spectrograms)), spectrograms)
    assert np.array_equal(np.asarray(layer(spectrograms, training=False)), spectrograms)


def test_masks_are_full_stripes_within_the_stated_widths_and_counts():
    spectrograms = np.ones((32, 60, 40), "float32")
    layer = SpecAugment(freq_mask_param=6, time_mask_param=9, num_freq_masks=2, num_time_masks=3, seed=1)
    masked = np.asarray(layer(spectrograms, training=True)) == 0
    total_time = total_freq = 0
    for example in masked:
        time_cols = example.all(axis=1)  # frames masked across every bin
        freq_rows = example.all(axis=0)
        # Every masked cell lies in a masked frame or a masked bin: masks are whole stripes.
        assert np.array_equal(example, time_cols[:, None] | freq_rows[None, :])
        assert time_cols.sum() <= 3 * 9 and freq_rows.sum() <= 2 * 6
        assert all(run <= 3 * 9 for run in _runs(time_cols))
        assert len(_runs(freq_rows)) <= 2 and len(_runs(time_cols)) <= 3
        total_time += time_cols.sum()
        total_freq += freq_rows.sum()
    assert total_time > 0 and total_freq > 0


def test_time_masks_are_capped_by_max_time_ratio_and_mean_fill():
    spectrograms = np.random.default_rng(1).uniform(1, 2, size=(16, 20, 8, 1)).astype("float32")
    layer = SpecAugment(
        freq_mask_param=0, time_mask_param=50, num_time_masks=1, max_time_ratio=0.2, mask_value="mean", seed=2
    )
    out = np.asarray(layer(spectrograms, training=True))
    changed = (out != spectrograms)[..., 0].all(axis=2)  # frames changed across every bin
    assert changed.sum(axis=1).max() <= 4  # 0.2 * 20 frames
    assert changed.any()
    example = int(np.argmax(changed.any(axis=1)))
    frame = int(np.argmax(changed[example]))
    np.testing.assert_allclose(out[example, frame, :, 0], spectrograms[example].mean(), rtol=1e-5)


def test_repeatable_under_a_seed():
    spectrograms = np.ones((4, 30, 20), "float32")
    first = np.asarray(SpecAugment(seed=3)(spectrograms, training=True))
    again = np.asarray(SpecAugment(seed=3)(spectrograms, training=True))
    np.testing.assert_array_equal(first, again)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"freq_mask_param": -1}, "freq_mask_param=-1"),
        ({"num_time_masks": 1.5}, "num_time_masks=1.5"),
        ({"max_time_ratio": 0}, "max_time_ratio=0"),
        ({"mask_value": "median"}, "mask_value='median'"),
    ],
)
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(InvalidConfigError, match=message):
        SpecAugment(**kwargs)


def test_waveforms_are_refused():
    with pytest.raises(InvalidInputError, match="after the spectrogram front end"):
        SpecAugment()(np.zeros((2, 16000), "float32"), training=True)
