"""Training batches whose order is a pure function of (seed, epoch), so a resumed run sees the same batches."""

import tensorflow as tf

__all__ = ["epoch_shuffled_dataset"]


def epoch_shuffled_dataset(x, y, batch_size: int, seed: int, start_epoch: int, end_epoch: int):
    """A ``tf.data.Dataset`` of ``(x, y)`` batches for epochs ``start_epoch .. end_epoch - 1``, reshuffled per epoch.

    Epoch ``e`` uses the permutation ``argsort(stateless_uniform(seed=(seed, e)))``: unlike ``fit(shuffle=True)``
    or ``Dataset.shuffle``, whose order depends on how many epochs this process has already run, the order here
    depends only on the seed and the epoch number, so training resumed at epoch ``e`` in a new process sees
    exactly the batches an uninterrupted run sees. Fit it with ``steps_per_epoch=ceil(len(x) / batch_size)``
    (the iterator then runs across epochs).

    Args:
        x: array of inputs (or a dict / tuple of arrays).
        y: array of targets (or a dict of arrays).
        batch_size: int.
        seed: int.
        start_epoch: int. First epoch.
        end_epoch: int. One past the last epoch.

    Returns:
        tf.data.Dataset.

    Examples:
    >>> import numpy as np
    >>> ds = keras_transfer.training.epoch_shuffled_dataset(np.arange(4), np.arange(4), 4, seed=0,
    ...                                                      start_epoch=0, end_epoch=2)
    >>> [sorted(b[0].numpy().tolist()) for b in ds]
    [[0, 1, 2, 3], [0, 1, 2, 3]]
    """
    n = len(y) if not isinstance(y, dict) else len(next(iter(y.values())))
    x_tensors = tf.nest.map_structure(tf.convert_to_tensor, x)
    y_tensors = tf.nest.map_structure(tf.convert_to_tensor, y)
    seed_tensor = tf.constant(int(seed) % (2**31 - 1), tf.int64)

    def epoch_batches(epoch):
        keys = tf.random.stateless_uniform([n], seed=tf.stack([seed_tensor, epoch]))
        return tf.data.Dataset.from_tensor_slices(tf.argsort(keys)).batch(batch_size)

    def gather(index):
        take = lambda t: tf.gather(t, index)  # noqa: E731
        return tf.nest.map_structure(take, x_tensors), tf.nest.map_structure(take, y_tensors)

    dataset = tf.data.Dataset.range(int(start_epoch), int(end_epoch)).flat_map(epoch_batches)
    return dataset.map(gather).prefetch(2)
