"""`Progress`: what a run prints while the user waits (numbered steps with timings), silenced by ``quiet``."""

import sys
import time

__all__ = ["Progress"]


class Progress:
    """Numbered step lines (``[3/8] extracting features ... done in 4.1 s``) and the Keras verbosity to use.

    Args:
        total: int. Number of steps announced.
        quiet: bool. Print nothing and run Keras silently.
        stream: file. Where lines go (stdout).

    Examples:
    >>> progress = keras_transfer.recipe.Progress(2)
    >>> with progress.step("loading data"):
    ...     pass  # doctest: +ELLIPSIS
    [1/2] loading data ...
    """

    def __init__(self, total: int, quiet: bool = False, stream=None):
        self.total = total
        self.quiet = quiet
        self.stream = stream or sys.stdout
        self.index = 0

    @property
    def keras_verbose(self) -> int:
        """Keras ``verbose``: 0 when quiet, else 1 (a progress bar) on a terminal and 2 (a line per epoch) in logs."""
        if self.quiet:
            return 0
        return 1 if getattr(self.stream, "isatty", lambda: False)() else 2

    def print(self, text: str = ""):
        if not self.quiet:
            print(text, file=self.stream, flush=True)

    def step(self, title: str):
        """A context manager announcing step ``title`` and reporting its time when it ends."""
        self.index += 1
        return _Step(self, f"[{self.index}/{self.total}] {title}")


class _Step:
    def __init__(self, progress, title):
        self.progress, self.title = progress, title

    def __enter__(self):
        self.start = time.perf_counter()
        self.progress.print(f"{self.title} ...")
        return self

    def __exit__(self, kind, value, traceback):
        seconds = time.perf_counter() - self.start
        if kind is None and seconds >= 1:
            self.progress.print(f"    done in {seconds:.1f} s")
        return False
