"""Quiet TensorFlow start-up for the command line: no C++ / absl log lines unless ``--verbose``.

``import tensorflow`` prints start-up lines (``All log messages before absl::InitializeLog()``, oneDNN,
cudart, CPU features) from C++ static initialisers, straight to file descriptor 2: ``sys.stderr`` never sees
them, and ``TF_CPP_MIN_LOG_LEVEL`` does not stop those logged before absl is initialised. They come twice
because two shared libraries each carry their own copy of that start-up code: ``libtensorflow_framework.so.2``
and ``tensorflow/python/profiler/internal/_pywrap_profiler_plugin.so``, which ``import tensorflow`` itself
loads (for ``tf.profiler.experimental.client``), a second or so later in the same import.

``tensorflow_logs(verbose=False)`` therefore, for the duration of one command:

- sets ``TF_CPP_MIN_LOG_LEVEL`` to ``"3"`` unless it is set already (later C++ logging);
- installs a one-shot import hook that runs the first ``import tensorflow`` (whoever triggers it: Keras, the
  backbone registry, the exporter) with file descriptor 2 sent to a temporary file; if that import fails,
  what it printed is written back to stderr before the error propagates;
- then lowers ``absl.logging`` and the ``tensorflow`` and ``tf2onnx`` Python loggers to errors;
- so ``keras_transfer.native_logs.quiet_native_info`` also hides the C++ lines that ignore that variable
  (TFLite's XNNPACK line when a ``.tflite`` model is first run).

Nothing is imported early: a command that never needs TensorFlow (``--help``) never loads it. With
``verbose=True`` (``keras-transfer --verbose ...`` or ``KERAS_TRANSFER_VERBOSE=1``) nothing is changed.
"""

import contextlib
import importlib.util
import os
import sys

from keras_transfer.native_logs import silenced_stderr

__all__ = ["VERBOSE_ENV", "tensorflow_logs", "verbose_requested"]

VERBOSE_ENV = "KERAS_TRANSFER_VERBOSE"


def verbose_requested(flag: bool = False) -> bool:
    """Whether TensorFlow's logging should be shown: the ``--verbose`` flag, or ``KERAS_TRANSFER_VERBOSE`` set
    to anything but ``""``, ``0``, ``false``, ``no`` or ``off``.

    Args:
        flag: bool. The command line's ``--verbose``.

    Examples:
    >>> keras_transfer.cli.quiet.verbose_requested(True)
    True
    """
    value = os.environ.get(VERBOSE_ENV, "").strip().lower()
    return bool(flag) or value not in ("", "0", "false", "no", "off")


def _quiet_python_logging():
    import logging

    import absl.logging

    absl.logging.set_verbosity(absl.logging.ERROR)
    for name in ("tensorflow", "tf2onnx"):  # tf2onnx logs recovered optimizer failures with tracebacks
        logging.getLogger(name).setLevel(logging.ERROR)


class _QuietLoader:
    """An import loader (``importlib.abc.Loader`` protocol; the ABC is not imported, for start-up time): runs
    the wrapped loader of ``tensorflow`` with stderr silenced, then quiets Python-side logging."""

    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        module.__loader__ = module.__spec__.loader = self.loader  # the real loader, as if never wrapped
        with silenced_stderr():
            self.loader.exec_module(module)
        _quiet_python_logging()


class _QuietTensorFlowFinder:
    """A ``sys.meta_path`` finder: finds ``tensorflow`` once, through the other finders, and wraps its loader in
    ``_QuietLoader``."""

    def __init__(self):
        self.used = False

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow" or self.used:
            return None
        self.used = True  # importlib.util.find_spec below asks the finders again, this one included
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


@contextlib.contextmanager
def tensorflow_logs(verbose: bool = False):
    """Inside the block, the first ``import tensorflow`` prints nothing unless ``verbose``.

    Args:
        verbose: bool. Show TensorFlow's start-up and C++ logging (see ``verbose_requested``).

    Examples:
    >>> with keras_transfer.cli.quiet.tensorflow_logs(verbose=False):
    ...     import tensorflow  # doctest: +SKIP
    """
    if verbose:
        yield
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    finder = None
    if "tensorflow" in sys.modules:  # already loaded (the command was called from Python): nothing to silence
        _quiet_python_logging()
    else:
        finder = _QuietTensorFlowFinder()
        sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        if finder is not None:
            sys.meta_path.remove(finder)

