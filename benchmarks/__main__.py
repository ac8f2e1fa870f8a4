"""``python -m benchmarks NAME [NAME ...]`` or ``python -m benchmarks all``."""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from benchmarks.harness import available, run_benchmark  # noqa: E402


def main(argv=None):
    names = list(sys.argv[1:] if argv is None else argv)
    if not names or names in (["-h"], ["--help"]):
        print(__doc__.strip())
        print("available:", ", ".join(available()))
        return 0 if names else 2
    if names == ["all"]:
        names = available()
    for name in names:
        run_benchmark(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
