"""Native (C / C++) log lines on file descriptor 2: hide them around a call, and honour ``TF_CPP_MIN_LOG_LEVEL``
where a library ignores it.

TensorFlow's start-up lines and TFLite's ``INFO: Created TensorFlow Lite XNNPACK delegate for CPU.`` are
written by C++ straight to file descriptor 2: ``sys.stderr`` redirection does not reach them, only an OS-level
``dup2`` does. A leaf module (standard library only) so that both the command line (``keras_transfer.cli.quiet``)
and the export runtime can use it without depending on each other.
"""

import contextlib
import os
import sys
import tempfile

__all__ = ["info_hidden", "quiet_native_info", "silenced_stderr"]


@contextlib.contextmanager
def silenced_stderr():
    """Send file descriptor 2 (C, C++ and Python writes alike) to a temporary file inside the block.

    If the block raises, what it printed is written to stderr, then the error propagates.

    Examples:
    >>> from keras_transfer.native_logs import silenced_stderr
    >>> with silenced_stderr():
    ...     print("stdout is untouched")
    stdout is untouched
    """
    sys.stderr.flush()
    saved = os.dup(2)
    failed = False
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        except BaseException:
            failed = True
            raise
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            if failed:
                capture.seek(0)
                sys.stderr.write(capture.read().decode("utf-8", "replace"))
                sys.stderr.flush()


def info_hidden() -> bool:
    """Whether ``TF_CPP_MIN_LOG_LEVEL`` (an integer, 0 when unset or unreadable) hides INFO lines (≥ 1).

    Examples:
    >>> from keras_transfer.native_logs import info_hidden
    >>> isinstance(info_hidden(), bool)
    True
    """
    try:
        return int(os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0")) >= 1
    except ValueError:
        return False


@contextlib.contextmanager
def quiet_native_info():
    """Silence file descriptor 2 inside the block when ``TF_CPP_MIN_LOG_LEVEL`` hides INFO lines, else nothing.

    For C++ lines that ignore that variable, e.g. TFLite's XNNPACK line at an interpreter's first allocation.
    The command line sets ``TF_CPP_MIN_LOG_LEVEL=3`` unless ``--verbose``.

    Examples:
    >>> from keras_transfer.native_logs import quiet_native_info
    >>> with quiet_native_info():
    ...     print("stdout is untouched")
    stdout is untouched
    """
    if not info_hidden():
        yield
        return
    with silenced_stderr():
        yield
