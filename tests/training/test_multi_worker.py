"""Two worker processes on 127.0.0.1 train the same ``fine_tune`` under ``MultiWorkerMirroredStrategy``.

The workers (``multi_worker_worker.py``) each get their ``TF_CONFIG`` (two free loopback ports) and run
the same seeded head stage (2 epochs) with a global batch of 8 (4 per worker). The set is killed in the
middle of epoch 1 and a new set is started with the same checkpoint directories: it resumes from the last
complete epoch, and its losses
(the epoch before the kill and the ones after) equal one process training the same global batch uninterrupted.
Every process is started here, on loopback only, and killed on failure or after a bounded wait.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from keras_transfer.testing import free_loopback_ports

WORKER = Path(__file__).with_name("multi_worker_worker.py")
REPO = Path(__file__).resolve().parents[2]
KILL_EPOCH = 1
FAST = ["--epochs", "2", "--fine-tune-epochs", "0"]  # the head stage only: MWMS start-up is most of the time
TIMEOUT = 300  # per phase; a loaded 2-core machine starts TensorFlow slowly


def _start_set(tmp, tag, extra=()):
    ports = free_loopback_ports(2)
    processes = []
    for index in range(2):
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", KERAS_BACKEND="tensorflow", PYTHONHASHSEED="0",
                   PYTHONPATH=os.pathsep.join([str(REPO)] + ([os.environ["PYTHONPATH"]] if "PYTHONPATH" in os.environ
                                                              else [])))
        env["TF_CONFIG"] = json.dumps({"cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
                                       "task": {"type": "worker", "index": index}})
        args = [sys.executable, str(WORKER), str(tmp / f"{tag}{index}.json"), str(tmp / "ck"), *FAST]
        args += [str(a).replace("{i}", str(index)) for a in extra]
        processes.append(subprocess.Popen(args, env=env, cwd=str(REPO), stdout=subprocess.PIPE,
                                          stderr=subprocess.STDOUT, text=True))
    return processes


def _kill_all(processes):
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
    for process in processes:
        process.wait(timeout=30)


def _finish(processes):
    deadline = time.monotonic() + TIMEOUT
    outputs = []
    try:
        for process in processes:
            output, _ = process.communicate(timeout=max(1, deadline - time.monotonic()))
            outputs.append(output)
            assert process.returncode == 0, f"worker failed ({process.returncode}):\n{output[-3000:]}"
    finally:
        _kill_all(processes)
    return outputs


def _wait_ready(files, processes):
    deadline = time.monotonic() + TIMEOUT
    try:
        while not all(f.exists() and f.read_text() for f in files):
            for process in processes:
                assert process.poll() is None, f"worker ended before the kill point:\n{process.stdout.read()[-3000:]}"
            assert time.monotonic() < deadline, "the workers never reached the kill point"
            time.sleep(0.2)
    except BaseException:
        _kill_all(processes)
        raise


def test_two_workers_match_one_process_and_resume_after_sigkill(tmp_path):
    # One process without TF_CONFIG trains the same global batch uninterrupted, meanwhile.
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONHASHSEED="0", PYTHONPATH=str(REPO))
    env.pop("TF_CONFIG", None)
    single = subprocess.Popen([sys.executable, str(WORKER), str(tmp_path / "single.json"), str(tmp_path / "ck_one"),
                               *FAST], env=env, cwd=str(REPO), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
    try:
        doomed = _start_set(tmp_path, "never", ["--pause-at", KILL_EPOCH, str(tmp_path / "ready{i}.json")])
        _wait_ready([tmp_path / f"ready{i}.json" for i in range(2)], doomed)
        _kill_all(doomed)
        assert [p.returncode for p in doomed] == [-signal.SIGKILL] * 2
        for checkpoint in (tmp_path / "ck", tmp_path / "ck.worker-worker1"):  # each worker wrote its own
            state = json.loads((checkpoint / "state.json").read_text())
            assert (state["next_epoch"], state["finished"]) == (KILL_EPOCH, False), checkpoint
        _finish(_start_set(tmp_path, "resumed"))
        _finish([single])
    finally:
        _kill_all([single])

    one = json.loads((tmp_path / "single.json").read_text())
    workers = [json.loads((tmp_path / f"resumed{i}.json").read_text()) for i in range(2)]
    assert one["replicas"] == 1 and [w["replicas"] for w in workers] == [2, 2]
    for result in workers:
        assert result["epoch"] == one["epoch"] == [0, 1]
        np.testing.assert_allclose(result["loss"], one["loss"], rtol=0, atol=1e-5)
        for mine, theirs in zip(result["weights"], one["weights"]):
            np.testing.assert_allclose(mine, theirs, rtol=0, atol=1e-5)
    assert not (tmp_path / "never0.json").exists()
