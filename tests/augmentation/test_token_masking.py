"""RandomTokenMask: identity at inference, masking rate, special tokens kept, dict inputs, errors."""

import numpy as np
import pytest

from keras_transfer.augmentation import RandomTokenMask
from keras_transfer.errors import InvalidConfigError, InvalidInputError


def _ids(n=64, length=32):
    rng = np.random.default_rng(0)
    ids = rng.integers(5, 1000, size=(n, length)).astype("int32")
    ids[:, 0], ids[:, -6], ids[:, -5:] = 101, 102, 0  # [CLS] ... [SEP] padding
    return ids


def test_identity_at_inference():
    ids = _ids()
    layer = RandomTokenMask(rate=0.5, mask_token_id=103, unselectable_token_ids=(0, 101, 102), seed=0)
    assert np.array_equal(np.asarray(layer(ids)), ids)


def test_masks_about_rate_of_the_ordinary_tokens_and_never_special_ones():
    ids = _ids()
    layer = RandomTokenMask(rate=0.25, mask_token_id=103, unselectable_token_ids=(0, 101, 102), seed=1)
    out = np.asarray(layer(ids, training=True))
    changed = out != ids
    assert np.all(out[changed] == 103)
    special = np.isin(ids, (0, 101, 102))
    assert not changed[special].any()
    assert changed[~special].mean() == pytest.approx(0.25, abs=0.03)


def test_dict_inputs_mask_only_token_ids_and_seed_repeats():
    ids = _ids(4)
    inputs = {"token_ids": ids, "padding_mask": ids != 0}
    first = RandomTokenMask(rate=0.3, mask_token_id=103, seed=2)(inputs, training=True)
    again = RandomTokenMask(rate=0.3, mask_token_id=103, seed=2)(inputs, training=True)
    np.testing.assert_array_equal(np.asarray(first["token_ids"]), np.asarray(again["token_ids"]))
    assert np.array_equal(np.asarray(first["padding_mask"]), ids != 0)
    assert (np.asarray(first["token_ids"]) == 103).any()


def test_from_tokenizer_reads_the_mask_and_special_ids():
    import keras_hub

    vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "film", "was", "good"]
    tokenizer = keras_hub.models.BertTokenizer(vocabulary=vocabulary)
    layer = RandomTokenMask.from_tokenizer(tokenizer, rate=0.5, seed=0)
    assert layer.mask_token_id == 4
    assert set(layer.unselectable_token_ids) == {0, 2, 3}


def test_float_inputs_and_bad_rates_are_refused():
    with pytest.raises(InvalidInputError, match="integer token ids"):
        RandomTokenMask(mask_token_id=1)(np.zeros((2, 28, 28, 1), "float32"), training=True)
    with pytest.raises(InvalidConfigError, match="rate=1.0"):
        RandomTokenMask(rate=1.0, mask_token_id=1)
    with pytest.raises(InvalidConfigError, match="mask_token_id=-1"):
        RandomTokenMask(mask_token_id=-1)
