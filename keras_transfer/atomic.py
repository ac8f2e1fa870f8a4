"""Atomic file writes: readers see the old file or the complete new one, never a half-written one.

:func:`atomic_write` writes to a per-process temporary file in the destination's folder, flushes and
``fsync``\\ s it, then ``os.replace``\\ s it over the destination; on any error the temporary file is removed
and the destination is left as it was. :func:`write_json` and :func:`write_bytes` are the two common cases.
This module imports only the standard library, so every layer of the package may use it.
"""

import contextlib
import json
import math
import os
import tempfile

__all__ = ["atomic_write", "write_bytes", "write_text", "write_json"]


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


def write_bytes(path, data: bytes) -> str:
    """Writes ``data`` to ``path`` atomically.

    Args:
        path: str or os.PathLike. The destination.
        data: bytes. The content.

    Returns:
        str: ``path``.

    Examples:
    >>> import pathlib, tempfile
    >>> from keras_transfer.atomic import write_bytes
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "blob.bin"
    >>> _ = write_bytes(target, b"\\x00\\x01")
    >>> target.read_bytes()
    b'\\x00\\x01'
    """
    with atomic_write(path, "wb") as handle:
        handle.write(data)
    return os.fspath(path)


def write_text(path, text: str, *, encoding="utf-8") -> str:
    """Writes ``text`` to ``path`` atomically.

    Args:
        path: str or os.PathLike. The destination.
        text: str. The content.
        encoding: str. Text encoding.

    Returns:
        str: ``path``.

    Examples:
    >>> import pathlib, tempfile
    >>> from keras_transfer.atomic import write_text
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "config.yaml"
    >>> _ = write_text(target, "epochs: 3\\n")
    >>> target.read_text()
    'epochs: 3\\n'
    """
    with atomic_write(path, "w", encoding=encoding) as handle:
        handle.write(text)
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
