"""`make_strategy`: the ``tf.distribute`` strategy a run trains under (``mirrored`` or ``multi_worker``).

``fine_tune`` needs nothing else: a model built inside ``strategy.scope()`` carries its strategy, and
``fine_tune`` enters the same scope for every stage. Under ``MultiWorkerMirroredStrategy`` every worker runs
the same program with the same data; ``batch_size`` is the global batch, split over all replicas of all
workers, and gradients are all-reduced each step, so the losses are those of one process with that batch.

Checkpoints under several workers: the chief (task 0) writes ``checkpoint_dir`` itself and every other worker
its own copy, ``worker_checkpoint_dir(checkpoint_dir)`` (``<checkpoint_dir>.worker-<index>``): two processes
never write the same files, and a restarted worker set resumes each worker from its own last complete epoch,
which is the same epoch on every worker (an epoch ends in a collective step all of them take).
"""

import json
import os
from typing import Optional

from keras_transfer.errors import InvalidConfigError

__all__ = ["STRATEGIES", "make_strategy", "tf_config", "worker_checkpoint_dir"]

#: Names ``make_strategy`` and ``keras-transfer fit --strategy`` accept.
STRATEGIES = ("mirrored", "multi_worker")


def tf_config() -> Optional[dict]:
    """The parsed ``TF_CONFIG`` environment variable, checked; None when it is not set.

    Returns:
        dict with ``cluster`` (``{"worker": ["host:port", ...]}``) and ``task`` (``{"type", "index"}``), or None.

    Raises:
        InvalidConfigError: TF_CONFIG is not JSON, lacks a worker list or a task, or the task index is out of range.

    Examples:
    >>> import os
    >>> os.environ["TF_CONFIG"] = '{"cluster": {"worker": ["127.0.0.1:20001"]}, "task": {"type": "worker", "index": 0}}'
    >>> keras_transfer.training.strategy.tf_config()["task"]
    {'type': 'worker', 'index': 0}
    >>> del os.environ["TF_CONFIG"]
    """
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        return None
    example = ('{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}')
    try:
        config = json.loads(raw)
    except ValueError:
        raise InvalidConfigError(
            f"TF_CONFIG is not JSON. Received: TF_CONFIG={raw[:200]!r}. Set it to e.g. {example}."
        ) from None
    cluster = config.get("cluster") if isinstance(config, dict) else None
    task = config.get("task") if isinstance(config, dict) else None
    workers = (cluster or {}).get("worker") if isinstance(cluster, dict) else None
    if not isinstance(workers, list) or not workers or not isinstance(task, dict):
        raise InvalidConfigError(
            f"TF_CONFIG needs a cluster with a worker list and a task. Received: TF_CONFIG={raw[:200]!r}. "
            f"Set it to e.g. {example} (the same cluster on every worker, each its own index)."
        )
    members = workers + list((cluster or {}).get("chief") or [])
    index = task.get("index")
    if task.get("type") not in ("worker", "chief") or not isinstance(index, int) or not 0 <= index < len(members):
        raise InvalidConfigError(
            f"TF_CONFIG's task must be a worker (or the chief) with an index in the cluster. Received: task={task} "
            f"for {len(workers)} worker(s). Give each process its own index 0..{len(workers) - 1}."
        )
    return config


def make_strategy(name: str):
    """The ``tf.distribute`` strategy called ``name``; build the model inside its ``scope()``.

    Args:
        name: ``"mirrored"`` (every local device of this machine) or ``"multi_worker"``
            (``MultiWorkerMirroredStrategy`` over the cluster in ``TF_CONFIG``; call it before any other
            TensorFlow work in the process).

    Returns:
        tf.distribute.Strategy.

    Raises:
        InvalidConfigError: an unknown name, or ``"multi_worker"`` without a valid ``TF_CONFIG``.

    Examples:
    >>> keras_transfer.training.strategy.make_strategy("mirrored").num_replicas_in_sync >= 1
    True
    >>> keras_transfer.training.strategy.make_strategy("horovod")
    Traceback (most recent call last):
    ...
    keras_transfer.errors.InvalidConfigError: strategy must be 'mirrored' or 'multi_worker'. Received: ...
    """
    if name not in STRATEGIES:
        raise InvalidConfigError(
            f"strategy must be 'mirrored' or 'multi_worker'. Received: strategy={name!r}. 'mirrored' uses this "
            "machine's devices; 'multi_worker' the machines listed in TF_CONFIG."
        )
    import tensorflow as tf

    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if tf_config() is None:
        raise InvalidConfigError(
            "strategy='multi_worker' reads the cluster from TF_CONFIG, which is not set. Received: no TF_CONFIG. "
            'Set it on every worker, e.g. TF_CONFIG=\'{"cluster": {"worker": ["10.0.0.1:12345", "10.0.0.2:12345"]}, '
            '"task": {"type": "worker", "index": 0}}\' (index 1 on the second), and start the same command on each.'
        )
    return tf.distribute.MultiWorkerMirroredStrategy()


def worker_checkpoint_dir(checkpoint_dir):
    """This worker's checkpoint directory: ``checkpoint_dir`` on the chief, ``<checkpoint_dir>.worker-<i>`` else.

    Args:
        checkpoint_dir: str, os.PathLike or None.

    Returns:
        the directory for this process (None stays None; without TF_CONFIG it is ``checkpoint_dir``).

    Examples:
    >>> keras_transfer.training.strategy.worker_checkpoint_dir("ck")  # no TF_CONFIG: a single process
    'ck'
    """
    if checkpoint_dir is None:
        return None
    config = tf_config()
    if config is None:
        return os.fspath(checkpoint_dir)
    task = config["task"]
    chief = task["type"] == "chief" or (task["index"] == 0 and not config["cluster"].get("chief"))
    path = os.fspath(checkpoint_dir)
    return path if chief else f"{path.rstrip(os.sep)}.worker-{task['type']}{task['index']}"
