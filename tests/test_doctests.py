"""Every ``>>>`` example in the package's docstrings runs as a doctest.

The examples are documentation first: each runs in a fresh namespace holding ``keras_transfer``, ``keras`` and
``np`` (what the docstrings assume), with ``ELLIPSIS`` and ``NORMALIZE_WHITESPACE``. Examples that need a
download, an optional package or a trained model on disk carry ``# doctest: +SKIP``. One test per docstring, so
a failure names the object whose example drifted from its code.
"""

import doctest
import importlib
import pkgutil

import keras
import numpy as np
import pytest

import keras_transfer

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _modules():
    names = ["keras_transfer"]
    names += [info.name for info in pkgutil.walk_packages(keras_transfer.__path__, "keras_transfer.")]
    return sorted(names)


def _collect():
    finder = doctest.DocTestFinder(exclude_empty=True)
    tests, seen = [], set()
    for name in _modules():
        module = importlib.import_module(name)
        for test in finder.find(module, name):
            # Re-exports are found again from their package: keep the first (defining module) only.
            key = (test.filename, test.lineno)
            if test.examples and key not in seen:
                seen.add(key)
                tests.append(test)
    return tests


DOCTESTS = _collect()


def test_public_api_has_examples():
    """Every top-level class and function exported by keras_transfer documents an example."""
    names = {test.name.rsplit(".", 1)[-1] for test in DOCTESTS}
    exported = [name for name in keras_transfer.__all__ if callable(getattr(keras_transfer, name))]
    # a callable package (keras_transfer.export) is named by its last component, like its module docstring
    missing = [name for name in exported if getattr(keras_transfer, name).__name__.rsplit(".", 1)[-1] not in names]
    assert not missing, f"no doctest example for keras_transfer.{missing}"


@pytest.mark.parametrize("test", DOCTESTS, ids=[test.name for test in DOCTESTS])
def test_docstring_example(test):
    test.globs = {"keras_transfer": keras_transfer, "keras": keras, "np": np}
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    failures = []
    result = runner.run(test, out=failures.append)
    assert result.failed == 0, "".join(failures)
