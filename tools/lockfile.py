"""The header of ``constraints.txt``: which platform it was resolved for and a fingerprint of setup.cfg's deps.

``make lock`` runs pip-compile, then ``python tools/lockfile.py stamp constraints.txt``, which adds a header
holding the sha256 of the dependency sections of setup.cfg that ``make install`` uses (``install_requires``
and the extras in :data:`EXTRAS`). ``tests/test_lock.py`` recomputes it, so a setup.cfg edit without
``make lock`` fails the tests. ``python tools/lockfile.py check-platform`` refuses to lock anywhere but
CPython 3.11 on Linux x86_64, the platform the committed lock is resolved for.
"""

import configparser
import hashlib
import platform
import re
import sys
from pathlib import Path

__all__ = ["EXTRAS", "PLATFORM", "dependency_fingerprint", "recorded_fingerprint", "stamp", "check_platform"]

#: The extras of setup.cfg that ``make install`` installs, hence that ``make lock`` resolves.
EXTRAS = ("beam", "data", "edge", "serve", "test", "tune")
#: What the lock is resolved for: pip-compile evaluates environment markers for the running interpreter only.
PLATFORM = ("3.11", "linux", "x86_64")

_KEY = "setup.cfg dependency sha256"
_LINE = re.compile(rf"^# {re.escape(_KEY)} \(install_requires \+ extras [a-z, ]+\): ([0-9a-f]{{64}})$", re.M)


def _requirement_lines(value):
    """One canonical line per requirement: no blank lines or comments, no spaces, lower case, sorted."""
    lines = (line.split("#", 1)[0] for line in value.splitlines())
    return sorted("".join(line.split()).lower() for line in lines if line.strip())


def dependency_fingerprint(setup_cfg="setup.cfg", extras=EXTRAS):
    """The sha256 of ``install_requires`` and the given extras of a setup.cfg, after canonicalisation.

    Args:
        setup_cfg: str or pathlib.Path.
        extras: sequence of str. Names under ``[options.extras_require]``.

    Returns:
        str: 64 hex digits; only requirement edits change it (not comments, order or spacing).
    """
    parser = configparser.ConfigParser(interpolation=None)
    if not parser.read(setup_cfg):
        raise FileNotFoundError(f"No setup.cfg to fingerprint. Received: setup_cfg={str(setup_cfg)!r}.")
    sections = [("install_requires", parser.get("options", "install_requires"))]
    sections += [(f"extra {name}", parser.get("options.extras_require", name)) for name in sorted(extras)]
    text = "\n".join(f"[{name}]\n" + "\n".join(_requirement_lines(value)) for name, value in sections)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def recorded_fingerprint(lock="constraints.txt"):
    """The fingerprint written into a lock file's header by :func:`stamp`, or None when it has none."""
    match = _LINE.search(Path(lock).read_text(encoding="utf-8"))
    return match.group(1) if match else None


def stamp(lock="constraints.txt", setup_cfg="setup.cfg"):
    """Puts the platform and setup.cfg fingerprint header at the top of a lock pip-compile just wrote."""
    lock = Path(lock)
    body = "\n".join(line for line in lock.read_text(encoding="utf-8").splitlines() if not _LINE.match(line))
    python, system, machine = PLATFORM
    header = (
        "# Lock of every package `make install` installs (pip install -c constraints.txt), test tools included.\n"
        f"# Resolved by pip-tools for CPython {python} on {system.title()} {machine} (environment markers of other\n"
        "# platforms are not evaluated); regenerate with `make lock` on such a machine after editing setup.cfg.\n"
        f"# {_KEY} (install_requires + extras {', '.join(sorted(EXTRAS))}): "
        f"{dependency_fingerprint(setup_cfg)}\n"
    )
    lock.write_text(header + body + "\n", encoding="utf-8")
    return lock


def check_platform():
    """Exits with a message unless this is the interpreter and platform the lock is resolved for."""
    here = (f"{sys.version_info[0]}.{sys.version_info[1]}", sys.platform, platform.machine())
    if here != PLATFORM:
        sys.exit(
            f"constraints.txt is resolved for CPython {PLATFORM[0]} on {PLATFORM[1]} {PLATFORM[2]}; locking on "
            f"another platform would pin other wheels. Received: {here}. Run `make lock PYTHON=...` with a "
            f"Python {PLATFORM[0]} on Linux x86_64."
        )


if __name__ == "__main__":
    command = sys.argv[1:2]
    if command == ["stamp"]:
        print(stamp(*sys.argv[2:3]))
    elif command == ["check-platform"]:
        check_platform()
    else:
        sys.exit(f"Usage: python tools/lockfile.py stamp LOCK | check-platform. Received: {sys.argv[1:]}.")
