"""Entry point of the ``keras-transfer`` command: dispatches to one module per command."""

import argparse
import importlib
import os
import pkgutil
import sys
from typing import List, Optional

from keras_transfer.cli.quiet import VERBOSE_ENV, tensorflow_logs, verbose_requested

__all__ = ["main", "build_parser", "command_modules"]


def command_modules():
    """Every ``keras_transfer.cli.*_command`` module, sorted by name: each defines ``register(commands)``."""
    import keras_transfer.cli as package

    names = sorted(info.name for info in pkgutil.iter_modules(package.__path__) if info.name.endswith("_command"))
    return [importlib.import_module(f"keras_transfer.cli.{name}") for name in names]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command registered."""
    parser = argparse.ArgumentParser(
        prog="keras-transfer",
        description="Transfer learning on Keras 3: pretrained backbones, heads, staged fine-tuning.",
    )
    parser.add_argument(
        "--verbose", dest="verbose_logs", action="store_true",
        help=f"show TensorFlow's start-up and C++ log lines (hidden by default; also {VERBOSE_ENV}=1)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in command_modules():
        module.register(commands)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Run the command line. Returns the process exit code.

    TensorFlow is imported only by the commands that need it, and quietly unless ``--verbose`` (or
    ``KERAS_TRANSFER_VERBOSE=1``): see ``keras_transfer.cli.quiet``.

    Args:
        argv: list of str. Arguments (``sys.argv[1:]`` when None).

    Examples:
    >>> keras_transfer.cli.main.main(["backbones"])  # doctest: +SKIP
    0
    """
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown and not getattr(args, "extra_flags", None):  # only commands that declare extra_flags take them
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    if unknown:
        setattr(args, args.extra_flags, unknown)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    with tensorflow_logs(verbose=verbose_requested(args.verbose_logs)):
        return _run(args)


def _run(args) -> int:
    """Run the parsed command; a toolkit error, a failed write or a refused input becomes one line, exit 1."""
    from keras_transfer.errors import KerasTransferError

    try:
        return int(args.run(args) or 0)
    except KerasTransferError as error:
        print(f"keras-transfer {args.command}: error: {error}", file=sys.stderr)
        return 1
    except (OSError, ValueError) as error:  # a failed write (disk full, permissions) or an input Keras refused
        if os.environ.get("KERAS_TRANSFER_TRACEBACK"):
            raise
        print(
            f"keras-transfer {args.command}: error: {type(error).__name__}: {error} "
            "(set KERAS_TRANSFER_TRACEBACK=1 for the traceback)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
