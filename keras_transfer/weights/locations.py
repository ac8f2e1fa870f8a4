"""Where the package keeps what it downloads or converts: one rule for every such folder.

First match wins:

1. the environment variable named by the caller (e.g. ``$KERAS_TRANSFER_CACHE``) when set;
2. ``<repo>/saved_models/<name>`` when the package runs from a source checkout (editable install) whose
   ``saved_models`` folder (or the checkout itself, before it exists) is writable;
3. ``~/.cache/keras_transfer/<name>``.
"""

import os
from pathlib import Path

__all__ = ["repo_root", "user_folder"]


def repo_root():
    """The source checkout this package runs from, or None when installed normally.

    Returns:
        pathlib.Path or None: the folder holding ``setup.cfg`` and ``keras_transfer/``.

    Examples:

    >>> from keras_transfer.weights.locations import repo_root
    >>> root = repo_root()
    >>> root is None or (root / "keras_transfer").is_dir()
    True
    """
    root = Path(__file__).resolve().parents[2]
    if (root / "setup.cfg").is_file() and (root / "keras_transfer").is_dir():
        return root
    return None


def user_folder(env_var, name):
    """The folder for downloaded or converted files called ``name`` (it may not exist yet).

    Args:
        env_var: str. The environment variable that overrides the location when set.
        name: str. The folder's name under ``saved_models/`` or ``~/.cache/keras_transfer/``.

    Returns:
        pathlib.Path: ``$env_var``, else ``<repo>/saved_models/<name>`` in a writable source checkout, else
        ``~/.cache/keras_transfer/<name>``.

    Examples:

    >>> import os
    >>> from keras_transfer.weights.locations import user_folder
    >>> os.environ["DEMO_FOLDER"] = "/tmp/demo"
    >>> user_folder("DEMO_FOLDER", "weights").as_posix()
    '/tmp/demo'
    >>> user_folder("UNSET_DEMO_FOLDER", "weights").name
    'weights'
    """
    env = os.environ.get(env_var)
    if env:
        return Path(env).expanduser()
    root = repo_root()
    if root is not None:
        saved = root / "saved_models"
        if os.access(saved if saved.is_dir() else root, os.W_OK):
            return saved / name
    return Path.home() / ".cache" / "keras_transfer" / name
