"""Atomic file writes: readers see the old file or the complete new one, never a half-written one.

:func:`atomic_write` writes to a per-process temporary file in the destination's folder, flushes and
``fsync``\\ s it, then ``os.replace``\\ s it over the destination; on any error the temporary file is removed
and the destination is left as it was. :func:`write_file` (bytes or text) and :func:`write_json` are the
common cases. This module imports only the standard library, so every layer of the package may use it.
"""

import contextlib
import json
import math
import os
import tempfile

__all__ = ["atomic_write", "write_file", "write_json"]


@contextlib.contextmanager
def atomic_write(path, mode="w", *, encoding="utf-8", permissions=0o644):
    """Context manager yielding a file handle whose content replaces ``path`` atomically on success.

    Args:
        path: str or os.PathLike. The destination; its folder is created if missing.
        mode: str. ``"w"`` (text) or ``"wb"`` (bytes).
        encoding: str. Text encoding, for ``mode="w"``.
        permissions: int. Mode bits of the written file (the temporary file is created 0600).

    Yields:
        file object: open for writing, in the destination's folder.

    Raises:
        ValueError: if ``mode`` is not ``"w"`` or ``"wb"``.

    Examples:
    >>> import pathlib, tempfile
    >>> from keras_transfer.atomic import atomic_write
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "notes.txt"
    >>> with atomic_write(target) as handle:
    ...     _ = handle.write("done")
    >>> target.read_text()
    'done'
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write mode must be 'w' or 'wb'. Received: mode={mode!r}.")
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.{os.getpid()}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, mode, **({"encoding": encoding} if mode == "w" else {})) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, permissions)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_file(path, content, *, encoding="utf-8") -> str:
    """Writes ``content`` to ``path`` atomically: ``bytes`` as they are, ``str`` encoded with ``encoding``.

    Args:
        path: str or os.PathLike. The destination.
        content: bytes or str. What the file will hold.
        encoding: str. Text encoding, for ``str`` content.

    Returns:
        str: ``path``.

    Examples:
    >>> import pathlib, tempfile
    >>> from keras_transfer.atomic import write_file
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = write_file(folder / "config.yaml", "epochs: 3\\n")
    >>> _ = write_file(folder / "blob.bin", b"\\x00\\x01")
    >>> (folder / "config.yaml").read_text(), (folder / "blob.bin").read_bytes()
    ('epochs: 3\\n', b'\\x00\\x01')
    """
    mode = "wb" if isinstance(content, (bytes, bytearray, memoryview)) else "w"
    with atomic_write(path, mode, encoding=encoding) as handle:
        handle.write(content)
    return os.fspath(path)



def _json_clean(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _json_clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_clean(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return _json_clean(value.item())
    return value


def write_json(path, payload, *, indent=2) -> str:
    """Writes ``payload`` as JSON atomically; NaN and infinities become ``null``, NumPy scalars plain numbers.

    Args:
        path: str or os.PathLike. The destination.
        payload: object. JSON-able data (dict keys are written as strings).
        indent: int or None. JSON indentation.

    Returns:
        str: ``path``.

    Examples:
    >>> import json, pathlib, tempfile
    >>> from keras_transfer.atomic import write_json
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "results.json"
    >>> _ = write_json(target, {"loss": float("nan"), "epochs": np.int64(3)})
    >>> json.loads(target.read_text())
    {'loss': None, 'epochs': 3}
    """
    with atomic_write(path, "w") as handle:
        json.dump(_json_clean(payload), handle, indent=indent)
    return os.fspath(path)
