"""The benchmark runner: discovery, environment capture, JSON + Markdown output."""

import importlib
import json
import os
import pkgutil
import platform
import time
from pathlib import Path

__all__ = ["RESULTS_DIR", "available", "environment", "run_benchmark", "write_results"]

RESULTS_DIR = Path(__file__).resolve().parent / "results"
_NOT_BENCHMARKS = {"harness", "__main__", "gpu_precision"}  # gpu_precision needs a GPU: run it directly


def available():
    """Names of every benchmark module (each defines ``run()``)."""
    import benchmarks

    names = []
    for info in pkgutil.iter_modules(benchmarks.__path__):
        if info.name in _NOT_BENCHMARKS or info.name.startswith("_"):
            continue
        names.append(info.name)
    return sorted(names)


def environment() -> dict:
    """Versions and machine facts recorded beside every result."""
    import keras
    import numpy
    import tensorflow as tf

    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": numpy.__version__,
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "gpus": [d.name for d in tf.config.list_physical_devices("GPU")],
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


def _default_summary(name, results):
    lines = [f"# benchmark `{name}`", "", "| key | value |", "|---|---|"]
    for key, value in results.items():
        if isinstance(value, (int, float, str, bool)):
            lines.append(f"| {key} | {value:.4g} |" if isinstance(value, float) else f"| {key} | {value} |")
    return "\n".join(lines) + "\n"


def write_results(name: str, results: dict, summary: str) -> Path:
    """Write ``<name>.json`` and ``<name>.md`` atomically under ``RESULTS_DIR``."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    for target, text in ((path, json.dumps(results, indent=2, default=float)), (RESULTS_DIR / f"{name}.md", summary)):
        tmp = target.with_suffix(target.suffix + ".tmp")
        tmp.write_text(text)
        os.replace(tmp, target)
    return path


def run_benchmark(name: str) -> dict:
    """Run one benchmark module and write its results; returns the results dict."""
    if name not in available():
        raise SystemExit(f"Unknown benchmark {name!r}. Available: {', '.join(available())} or 'all'.")
    module = importlib.import_module(f"benchmarks.{name}")
    start = time.perf_counter()
    results = dict(module.run())
    results["benchmark_seconds"] = round(time.perf_counter() - start, 1)
    results["environment"] = environment()
    summary = module.summary(results) if hasattr(module, "summary") else _default_summary(name, results)
    # a module run with settings of its own (a part of a split run) names its results, so it keeps the full ones
    path = write_results(module.result_name() if hasattr(module, "result_name") else name, results, summary)
    print(summary)
    print(f"wrote {path}")
    return results
