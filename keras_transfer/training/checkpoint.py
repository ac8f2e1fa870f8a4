"""`TrainingCheckpoint`: a directory holding the resume state of ``fine_tune``, written atomically per epoch.

Layout of ``checkpoint_dir``::

    state.json          the resume state (stage, epoch, unfrozen groups, callback and LR state, history),
                        naming the epoch folder it belongs to; replaced with os.replace, never edited in place
    epoch-0003/         weights.npz (every model weight and random-seed state, by position),
                        optimizer.npz (every optimizer variable, keyed by what it belongs to) and, with
                        ``fine_tune(ema=...)``, average.npz (the weight average, by position; the state holds its
                        update count)

A save writes a new epoch folder under a temporary name, renames it, then replaces ``state.json`` (write to a
temporary file, fsync, rename), and only then deletes the previous epoch folder: a process killed at any moment
leaves either the old or the new complete checkpoint. Nothing is pickled: arrays go through ``.npz`` read with
``allow_pickle=False`` and the rest is JSON.
"""

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import List, Optional

import keras
import numpy as np

from keras_transfer.atomic import atomic_write
from keras_transfer.errors import CheckpointError, InvalidConfigError

__all__ = ["STATE_FILE", "TrainingCheckpoint", "model_state_variables", "optimizer_keys"]

STATE_FILE = "state.json"
FORMAT_VERSION = 1


def model_state_variables(model) -> List:
    """The variables a checkpoint stores: ``model.weights`` then every random-seed state, in a stable order.

    Positions are stable for the same model construction, unlike names, which Keras makes unique per process
    (``transfer_model_1``).
    """
    result = list(model.weights)
    seen = {id(v) for v in result}
    for variable in model.variables:
        if id(variable) not in seen and "seed_generator_state" in variable.path:
            result.append(variable)
            seen.add(id(variable))
    return result


def optimizer_keys(optimizer, model) -> List[str]:
    """Process-independent keys of an optimizer's variables.

    A slot variable's path holds its optimizer's name (auto-numbered per process: ``adam_3``) and the path of the
    model variable it follows; the key replaces the first with ``<opt>`` and the second with ``<wN>``, N being the
    variable's position in ``model.weights``.
    """
    tokens = sorted(
        ((v.path.replace("/", "_"), i) for i, v in enumerate(model.weights)), key=lambda item: -len(item[0])
    )
    keys = []
    for variable in optimizer.variables:
        path = variable.path
        prefix = optimizer.name + "/"
        if path.startswith(prefix):
            path = "<opt>/" + path[len(prefix):]
        for token, index in tokens:
            if token and token in path:
                path = path.replace(token, f"<w{index}>")
                break
        keys.append(path)
    return keys


def _fsync_dir(path: Path):
    try:
        fd = os.open(str(path), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_npz(path: Path, arrays: List[np.ndarray]):
    with open(path, "wb") as f:
        np.savez(f, **{f"a{i:05d}": np.asarray(a) for i, a in enumerate(arrays)})
        f.flush()
        os.fsync(f.fileno())


def _read_npz(path: Path) -> List[np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        return [data[f"a{i:05d}"] for i in range(len(data.files))]


class TrainingCheckpoint:
    """The resume state of one ``fine_tune`` run in a directory (see the module docstring for the layout).

    Args:
        directory: str or os.PathLike. Created if missing; must be writable.

    Raises:
        CheckpointError: the directory cannot be created or written, or a file in the way.

    Examples:
    >>> import tempfile
    >>> store = keras_transfer.training.TrainingCheckpoint(tempfile.mkdtemp())
    >>> store.load() is None
    True
    """

    def __init__(self, directory):
        self.directory = Path(os.fspath(directory))
        self._check_writable()

    def _check_writable(self):
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.directory, prefix=".write-test-", delete=True) as f:
                f.write(b"ok")
                f.flush()
        except (OSError, ValueError) as error:
            raise CheckpointError(
                f"checkpoint_dir is not a writable directory ({error.__class__.__name__}: {error}). "
                f"Received: checkpoint_dir={str(self.directory)!r}. Pass a directory you can write to (it is "
                "created if missing), or checkpoint_dir=None to train without checkpoints."
            ) from error

    # ------------------------------------------------------------ reading
    def load(self) -> Optional[dict]:
        """The last complete state, or None when the directory holds none yet.

        Raises:
            CheckpointError: ``state.json`` is unreadable or names a missing epoch folder.
        """
        path = self.directory / STATE_FILE
        if not path.exists():
            return None
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as error:
            raise CheckpointError(
                f"The checkpoint state cannot be read ({error}). Received: {str(path)!r}. Delete the checkpoint "
                "directory to start again, or pass another checkpoint_dir."
            ) from error
        if not isinstance(state, dict) or state.get("format") != FORMAT_VERSION or "folder" not in state:
            raise CheckpointError(
                f"{str(path)!r} is not a keras_transfer checkpoint state (format {FORMAT_VERSION}). Received: "
                f"{type(state).__name__} with keys {sorted(state)[:8] if isinstance(state, dict) else '-'}. "
                "Pass an empty or new checkpoint_dir."
            )
        if not (self.directory / state["folder"]).is_dir():
            raise CheckpointError(
                f"The checkpoint state names a missing folder. Received: {state['folder']!r} in "
                f"{str(self.directory)!r}. The directory was modified by hand; pass a new checkpoint_dir."
            )
        return state

    def restore_weights(self, model, state: dict):
        """Put the stored weights (and random-seed states) back into ``model`` (built, same construction)."""
        arrays = self._read(state, "weights.npz")
        variables = model_state_variables(model)
        shapes = [tuple(v.shape) for v in variables]
        stored = [tuple(a.shape) for a in arrays]
        if shapes != stored:
            raise InvalidConfigError(
                "The checkpoint does not belong to this model: its weights differ in number or shape. Received: "
                f"{len(stored)} stored weights vs {len(shapes)} in the model"
                + _first_difference(stored, shapes)
                + f" (checkpoint_dir={str(self.directory)!r}). Build the model exactly as for the interrupted run, "
                "or pass a new checkpoint_dir to start again."
            )
        for variable, array in zip(variables, arrays):
            variable.assign(array)

    def restore_optimizer(self, optimizer, model, state: dict) -> int:
        """Put the stored optimizer state into ``optimizer`` (built on the current trainable variables).

        Variables are matched by ``optimizer_keys``, so a checkpoint taken before gradual unfreezing added a group
        restores the groups that were already trainable and leaves the new group's moments at zero, exactly as
        the uninterrupted run's recompile does (``keras_transfer.optimizers.copy_optimizer_state``).

        Returns:
            int: number of variables restored.
        """
        arrays = self._read(state, "optimizer.npz")
        saved_keys = list(state.get("optimizer_keys", []))
        if len(saved_keys) != len(arrays):
            raise CheckpointError(
                f"The checkpoint's optimizer file does not match its state. Received: {len(arrays)} arrays for "
                f"{len(saved_keys)} keys in {str(self.directory)!r}. Pass a new checkpoint_dir."
            )
        keys = optimizer_keys(optimizer, model)
        by_key = dict(zip(saved_keys, arrays))
        restored = 0
        if len(set(saved_keys)) == len(saved_keys) and len(set(keys)) == len(keys):
            used = set()
            for variable, key in zip(optimizer.variables, keys):
                array = by_key.get(key)
                if array is not None and tuple(array.shape) == tuple(variable.shape):
                    variable.assign(array)
                    used.add(key)
                    restored += 1
            # Unfreezing only adds trainable groups, so every stored variable must find its place; a stored
            # moment left over would otherwise resume silently from zero.
            unused = [key for key in saved_keys if key not in used]
            if unused and restored:
                raise InvalidConfigError(
                    f"{len(unused)} of the checkpoint's {len(saved_keys)} optimizer variables match none of this "
                    f"optimizer's (e.g. {unused[0]!r}). Received: optimizer {type(optimizer).__name__} with "
                    f"{len(optimizer.variables)} variables. Resume with the same optimizer, lr and unfreeze "
                    "settings, or pass a new checkpoint_dir."
                )
        elif len(arrays) == len(optimizer.variables):  # ambiguous keys: same optimizer layout, by position
            for variable, array in zip(optimizer.variables, arrays):
                if tuple(array.shape) == tuple(variable.shape):
                    variable.assign(array)
                    restored += 1
        if arrays and restored == 0:
            raise InvalidConfigError(
                "The checkpoint's optimizer state matches none of this optimizer's variables. Received: "
                f"{len(arrays)} stored variables, optimizer {type(optimizer).__name__} with "
                f"{len(optimizer.variables)} variables. Resume with the same optimizer, lr and unfreeze settings, or "
                "pass a new checkpoint_dir."
            )
        return restored

    def _read(self, state, name):
        path = self.directory / state["folder"] / name
        try:
            return _read_npz(path)
        except (OSError, ValueError, KeyError) as error:
            raise CheckpointError(
                f"A checkpoint file cannot be read ({error.__class__.__name__}: {error}). Received: {str(path)!r}. "
                "Delete the checkpoint directory to start again, or pass another checkpoint_dir."
            ) from error

    # ------------------------------------------------------------ writing
    def restore_average(self, state: dict) -> Optional[List[np.ndarray]]:
        """The stored weight average (``save(averages=...)``), or None when the run kept none."""
        if not state.get("average"):
            return None
        return self._read(state, "average.npz")

    def save(self, state: dict, model, optimizer=None, averages=None):
        """Write weights, optimizer state and ``state`` atomically; the previous epoch folder is removed after.

        Args:
            state: JSON-serialisable dict (``folder`` and ``format`` are filled in here).
            model: the model whose ``model_state_variables`` are stored.
            optimizer: keras.optimizers.Optimizer or None.
            averages: list of arrays (the weight average of ``fine_tune(ema=...)``) or None.

        Raises:
            CheckpointError: a write failed (disk full, permissions); the previous checkpoint is left intact.
        """
        folder = f"epoch-{int(state.get('next_epoch', 0)):04d}"
        final = self.directory / folder
        tmp = self.directory / (folder + ".tmp")
        previous = self._current_folder()
        weights = [keras.ops.convert_to_numpy(v) for v in model_state_variables(model)]
        opt_arrays, keys = [], []
        if optimizer is not None and getattr(optimizer, "built", False):
            opt_arrays = [keras.ops.convert_to_numpy(v) for v in optimizer.variables]
            keys = optimizer_keys(optimizer, model)
        state = dict(state, format=FORMAT_VERSION, folder=folder, optimizer_keys=keys,
                     average=averages is not None)
        try:
            if tmp.exists():
                shutil.rmtree(tmp)
            tmp.mkdir(parents=True)
            _write_npz(tmp / "weights.npz", weights)
            _write_npz(tmp / "optimizer.npz", opt_arrays)
            if averages is not None:
                _write_npz(tmp / "average.npz", [np.asarray(a) for a in averages])
            text = json.dumps(state, allow_nan=True)
            if final.exists() and folder != previous:
                shutil.rmtree(final)  # left by a run killed between the rename and the state update
            if folder == previous:  # re-saving the same epoch (a finished run's final state): keep the old folder
                final = self.directory / (folder + "-b")
                folder = final.name
                state["folder"] = folder
                text = json.dumps(state, allow_nan=True)
                if final.exists():
                    shutil.rmtree(final)
            os.replace(tmp, final)
            _fsync_dir(self.directory)
            with atomic_write(self.directory / STATE_FILE) as f:
                f.write(text)
            _fsync_dir(self.directory)
        except OSError as error:
            shutil.rmtree(tmp, ignore_errors=True)
            raise CheckpointError(
                f"Writing the training checkpoint failed ({error.__class__.__name__}: {error}); the previous "
                f"checkpoint ({previous or 'none'}) is intact. Received: checkpoint_dir={str(self.directory)!r}. "
                "Free disk space or fix the permissions, then call fine_tune again with the same checkpoint_dir to "
                "resume."
            ) from error
        for entry in self.directory.iterdir():  # old epoch folders: only after the new state is in place
            if entry.is_dir() and entry.name.startswith("epoch-") and entry.name != folder:
                shutil.rmtree(entry, ignore_errors=True)

    def _current_folder(self) -> Optional[str]:
        try:
            return json.loads((self.directory / STATE_FILE).read_text(encoding="utf-8")).get("folder")
        except (OSError, ValueError, AttributeError):
            return None


def _first_difference(stored, shapes) -> str:
    for i, (a, b) in enumerate(zip(stored, shapes)):
        if a != b:
            return f"; weight {i} has shape {a} in the checkpoint and {b} in the model"
    return ""
