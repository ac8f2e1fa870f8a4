"""Seeds: keras_transfer.set_seed + fine_tune(seed=...) make two CPU runs identical; bad seeds are refused."""

import keras
import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer import errors
from keras_transfer.testing import register_tiny_backbone


def _run(seed, x, y):
    kt.set_seed(seed, deterministic_ops=False)  # op determinism is process-wide: the resume test enables it
    backbone = kt.backbones.get(register_tiny_backbone(), weights=None, input_shape=(16, 16))
    model = kt.TransferModel(backbone, kt.ClassificationHead(3, dropout=0.3))
    history = kt.fine_tune(model, (x, y), head_epochs=1, fine_tune_epochs=1, batch_size=4, seed=seed, verbose=0)
    return [keras.ops.convert_to_numpy(w) for w in model.weights], history.history["loss"]


def test_two_seeded_runs_are_identical():
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 256, (12, 16, 16, 3), dtype=np.uint8), np.arange(12) % 3
    first, second = _run(5, x, y), _run(5, x, y)
    assert first[1] == second[1]
    assert all(np.array_equal(a, b) for a, b in zip(first[0], second[0]))


def test_batch_order_is_a_function_of_seed_and_epoch():
    x = np.arange(10)

    def order(seed, start, end):
        dataset = kt.training.epoch_shuffled_dataset(x, x, 4, seed=seed, start_epoch=start, end_epoch=end)
        return np.concatenate([batch[0].numpy() for batch in dataset])

    three_epochs = order(1, 0, 3)
    assert all(sorted(three_epochs[i * 10:(i + 1) * 10]) == list(range(10)) for i in range(3))
    np.testing.assert_array_equal(order(1, 2, 3), three_epochs[20:])  # epoch 2 alone = epoch 2 of a longer run
    assert not np.array_equal(three_epochs[:10], three_epochs[10:20])  # reshuffled every epoch
    assert not np.array_equal(order(2, 0, 1), three_epochs[:10])  # another seed, another order


@pytest.mark.parametrize("seed", [-1, 1.5, "0", True, 2**40])
def test_bad_seeds_are_refused(seed, tiny_model, tiny_images):
    with pytest.raises(errors.InvalidConfigError, match=r"Received: seed="):
        kt.set_seed(seed)
    with pytest.raises(errors.InvalidConfigError, match=r"Received: seed="):
        kt.fine_tune(tiny_model, tiny_images, seed=seed, verbose=0)
