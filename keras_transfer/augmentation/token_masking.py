"""`RandomTokenMask`: random masking of integer token ids (text augmentation), in training only."""

from typing import Optional, Sequence

import keras
from keras import ops

from keras_transfer.augmentation.shape_preserving import ShapePreservingAugmentation
from keras_transfer.checks import check_fraction, check_int, is_int
from keras_transfer.errors import InvalidConfigError, InvalidInputError

__all__ = ["RandomTokenMask"]


@keras.saving.register_keras_serializable(package="keras_transfer")
class RandomTokenMask(ShapePreservingAugmentation):
    """Replace a random share of token ids with the mask token during training; the identity at inference.

    Works on integer token ids ``(batch, sequence)`` (or a keras_hub preprocessor's dict output, whose
    ``"token_ids"`` entry is masked), so it belongs between a tokenizer and the text encoder. Each token that is
    not in ``unselectable_token_ids`` (padding, ``[CLS]``, ``[SEP]``, ...) is replaced with probability ``rate``.

    Args:
        rate: float in [0, 1). Probability of masking each selectable token.
        mask_token_id: int >= 0. Id written in place of masked tokens.
        unselectable_token_ids: sequence of int. Ids never masked (default: 0, the usual padding id).
        seed: int or None.
        **kwargs: base layer arguments.

    Raises:
        InvalidConfigError: rate out of range or negative ids.
        InvalidInputError: (when called) float / string inputs or inputs of the wrong rank.

    Examples:
    >>> import numpy as np
    >>> mask = keras_transfer.augmentation.RandomTokenMask(rate=0.5, mask_token_id=103, seed=0)
    >>> ids = np.array([[101, 7, 8, 9, 102, 0]])
    >>> np.asarray(mask(ids)).tolist()  # inference: unchanged
    [[101, 7, 8, 9, 102, 0]]
    """

    config_keys = ("rate", "mask_token_id", "unselectable_token_ids", "seed")

    def __init__(
        self,
        rate: float = 0.15,
        mask_token_id: int = 0,
        unselectable_token_ids: Sequence[int] = (0,),
        seed: Optional[int] = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_fraction("rate", rate, allow_one=False, expected="in [0, 1)", hint="BERT uses 0.15.")
        check_int("mask_token_id", mask_token_id, minimum=0, hint="Use the tokenizer's mask id (e.g. "
                  "tokenizer.mask_token_id) or RandomTokenMask.from_tokenizer.")
        ids = list(unselectable_token_ids or ())
        if any(not is_int(i) or i < 0 for i in ids):
            raise InvalidConfigError(
                f"unselectable_token_ids must be ints >= 0. Received: unselectable_token_ids={unselectable_token_ids!r}."
            )
        self.rate = float(rate)
        self.mask_token_id = mask_token_id
        self.unselectable_token_ids = tuple(ids)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    @classmethod
    def from_tokenizer(cls, tokenizer, rate: float = 0.15, seed: Optional[int] = None, **kwargs):
        """A mask layer using a keras_hub tokenizer's mask id and never masking its special tokens.

        Args:
            tokenizer: a keras_hub tokenizer with ``mask_token_id`` (e.g. ``BertTokenizer``).
            rate: float. Masking probability.
            seed: int or None.
            **kwargs: base layer arguments.

        Returns:
            RandomTokenMask.

        Raises:
            InvalidConfigError: the tokenizer has no mask token.
        """
        mask_id = getattr(tokenizer, "mask_token_id", None)
        if mask_id is None:
            raise InvalidConfigError(
                "The tokenizer has no mask token. "
                f"Received: {type(tokenizer).__name__} without mask_token_id. Pass mask_token_id=... explicitly."
            )
        special = [
            getattr(tokenizer, name, None)
            for name in ("pad_token_id", "cls_token_id", "sep_token_id", "start_token_id", "end_token_id")
        ]
        special = sorted({int(i) for i in special if i is not None})
        return cls(rate=rate, mask_token_id=int(mask_id), unselectable_token_ids=special, seed=seed, **kwargs)

    def _check(self, ids):
        dtype = keras.backend.standardize_dtype(ids.dtype)
        if "int" not in dtype:
            raise InvalidInputError(
                "RandomTokenMask works on integer token ids (after the tokenizer). "
                f"Received: inputs of dtype {dtype}. Put it after the tokenizer; image models use "
                "keras_transfer.augmentation.get(...) instead."
            )
        if len(ids.shape) not in (1, 2):
            raise InvalidInputError(
                f"RandomTokenMask takes token ids (batch, sequence). Received: inputs of shape {tuple(ids.shape)}."
            )

    def _mask(self, ids):
        self._check(ids)
        selectable = ops.ones_like(ids, dtype="bool")
        for special in self.unselectable_token_ids:
            selectable = selectable & (ids != special)
        chosen = keras.random.uniform(ops.shape(ids), seed=self.seed_generator) < self.rate
        return ops.where(selectable & chosen, ops.cast(self.mask_token_id, ids.dtype), ids)

    def call(self, inputs, training=None):
        ids = inputs["token_ids"] if isinstance(inputs, dict) else inputs
        if not training or self.rate == 0:
            self._check(ids)
            return inputs
        masked = self._mask(ids)
        if isinstance(inputs, dict):
            outputs = dict(inputs)
            outputs["token_ids"] = masked
            return outputs
        return masked

    def get_config(self):
        config = super().get_config()
        config["unselectable_token_ids"] = list(self.unselectable_token_ids)
        return config
