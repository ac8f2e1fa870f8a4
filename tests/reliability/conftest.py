"""Helpers for the reliability suite: run a worker script in a fresh Python (own devices, own TensorFlow state)."""

import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

WORKERS = Path(__file__).with_name("workers.py")
REPO = Path(__file__).resolve().parents[2]


def worker_env():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", KERAS_BACKEND="tensorflow", PYTHONHASHSEED="0")
    env["PYTHONPATH"] = os.pathsep.join([str(REPO)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    return env


def start_worker(*args) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(WORKERS), *map(str, args)], env=worker_env(), cwd=str(REPO),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def finish(process: subprocess.Popen, timeout: float = 300) -> str:
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        pytest.fail(f"worker timed out after {timeout} s:\n{output[-3000:]}")
    assert process.returncode == 0, f"worker failed ({process.returncode}):\n{output[-3000:]}"
    return output


@pytest.fixture
def workers():
    """``workers.start(*args)`` starts ``workers.py`` in a fresh Python; ``workers.finish(process)`` waits for it."""
    return types.SimpleNamespace(start=start_worker, finish=finish)
