"""Command-line start-up: how long ``keras-transfer`` takes before it does anything, and what it loads.

``python -m benchmarks cli`` runs each case ``REPEATS`` times, each in a fresh process (wall clock, interpreter
start included), and reports the median and the minimum:

- ``keras-transfer --help`` and ``keras-transfer COMMAND --help`` for every command (goal: ≤ 0.5 s);
- ``keras-transfer fit examples/configs/image.yaml --check`` (config validation only);
- ``python -c "import keras_transfer"`` and ``python -c "import keras_transfer; keras_transfer.TransferModel"``
  (the first use of a name that needs TensorFlow).

For each case one more run of the same work inside ``python -c`` records whether ``tensorflow`` ended up in
``sys.modules``; the stderr lines of the last timed run are counted (the command line's own stderr is empty at
default verbosity; the library used from Python prints TensorFlow's start-up lines). The processes get the
caller's environment without ``TF_CPP_MIN_LOG_LEVEL`` and ``KERAS_TRANSFER_VERBOSE``, as in a fresh shell.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPEATS = 7
HELP_GOAL_S = 0.5
CONFIG = Path(__file__).resolve().parents[1] / "examples" / "configs" / "image.yaml"
_PROBE = "\nimport json as _j, sys as _s\nprint(_j.dumps('tensorflow' in _s.modules))"


def _env() -> dict:
    return {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "KERAS_TRANSFER_VERBOSE")}


def _console_script() -> list:
    script = Path(sys.executable).with_name("keras-transfer")
    return [str(script)] if script.exists() else [sys.executable, "-m", "keras_transfer.cli.main"]


def _cli_probe(argv) -> str:
    return ("import contextlib, io\nfrom keras_transfer.cli.main import main\n"
            f"with contextlib.redirect_stdout(io.StringIO()):\n    try:\n        main({argv!r})\n"
            "    except SystemExit:\n        pass" + _PROBE)


def _cases() -> list:
    """``(name, timed command, probe code)`` for every case."""
    from keras_transfer.cli.main import build_parser

    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    cli = _console_script()
    argvs = [["--help"]] + [[name, "--help"] for name in sorted(action.choices)]
    argvs.append(["fit", str(CONFIG.relative_to(CONFIG.parents[2])), "--check"])
    cases = [(" ".join(["keras-transfer"] + argv), cli + argv, _cli_probe(argv)) for argv in argvs]
    for code in ("import keras_transfer", "import keras_transfer; keras_transfer.TransferModel"):
        cases.append((f'python -c "{code}"', [sys.executable, "-c", code], code + _PROBE))
    return cases


def _measure(name, command, probe, repeats) -> dict:
    root = CONFIG.parents[2]
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, env=_env(), cwd=root)
        seconds.append(time.perf_counter() - start)
        if result.returncode not in (0, 2):  # 2: --help without a command prints usage and exits 2
            raise RuntimeError(f"Benchmark case failed. Received: {name!r} exit {result.returncode}: "
                               f"{result.stderr[-2000:]}")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=_env(), cwd=root)
    return {
        "case": name,
        "median_s": round(statistics.median(seconds), 3),
        "min_s": round(min(seconds), 3),
        "tensorflow_imported": json.loads(loaded.stdout.strip().splitlines()[-1]),
        "stderr_lines": len(result.stderr.splitlines()),
    }


def run(repeats: int = REPEATS) -> dict:
    """Time every case; returns the results written to ``benchmarks/results/cli.json``.

    Args:
        repeats: int. Fresh processes per case.
    """
    rows = [_measure(name, command, probe, repeats) for name, command, probe in _cases()]
    helps = [row for row in rows if row["case"].endswith("--help")]
    return {
        "repeats": repeats,
        "cases": rows,
        "help_median_s_max": max(row["median_s"] for row in helps),
        "help_goal_s": HELP_GOAL_S,
        "help_goal_met": all(row["median_s"] <= HELP_GOAL_S and not row["tensorflow_imported"] for row in helps),
    }


def summary(results) -> str:
    r = results
    lines = [
        "# benchmark `cli`: command-line start-up",
        "",
        f"{r['repeats']} fresh processes per case, median and min wall time (interpreter start included); "
        f"{r['environment']['cpu_count']} CPU cores, TF {r['environment']['tensorflow']}. "
        "Reproduce: `python -m benchmarks cli`.",
        "",
        "| case | median (s) | min (s) | TensorFlow imported | stderr lines |",
        "|---|---|---|---|---|",
    ]
    for row in r["cases"]:
        lines.append(f"| `{row['case']}` | {row['median_s']:.3f} | {row['min_s']:.3f} | "
                     f"{'yes' if row['tensorflow_imported'] else 'no'} | {row['stderr_lines']} |")
    lines += [
        "",
        f"Slowest `--help` median: **{r['help_median_s_max']:.3f} s** (goal ≤ {r['help_goal_s']} s, no TensorFlow: "
        f"{'met' if r['help_goal_met'] else 'missed'}).",
        "",
    ]
    return "\n".join(lines)
