"""Interrupted training resumes exactly: SIGKILL in the middle of stage 2, resume, same weights as uninterrupted.

The worker (``workers.py train``) runs ``fine_tune(lr="auto", unfreeze=GradualUnfreezing([1, 3]),
checkpoint_dir=...)``: LR finder, warmup, plateau reduction, per-group ramps, and a recompile when gradual
unfreezing adds groups, all seeded with ``keras_transfer.set_seed`` (deterministic ops).
"""

import json
import signal
import time

import numpy as np

KILL_EPOCH = 3  # stage 2 runs epochs 1-3 training 1, 3, 3 groups; killed mid-epoch 3 after one of its two batches


def _wait_for(path, process, timeout=240):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text():
            return json.loads(path.read_text())
        if process.poll() is not None:
            raise AssertionError(f"worker ended before the kill point:\n{process.stdout.read()[-3000:]}")
        time.sleep(0.1)
    process.kill()
    raise AssertionError("worker never reached the kill point")


def test_sigkill_in_stage_two_then_resume_gives_the_uninterrupted_weights(tmp_path, workers):
    ready = tmp_path / "ready.json"
    doomed = workers.start("train", tmp_path / "ck_killed", tmp_path / "never.json", "--pause-at", KILL_EPOCH, ready)
    at_kill = _wait_for(ready, doomed)
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=30)
    assert doomed.returncode == -signal.SIGKILL
    state = json.loads((tmp_path / "ck_killed" / "state.json").read_text())
    # The last complete epoch is the one before the kill (in the same fit: warmup, plateau and ramp state restored
    # after their on_train_begin reset); the killed epoch's first batch is lost and redone.
    assert (state["stage"], state["next_epoch"], state["finished"]) == ("fine_tune", KILL_EPOCH, False)
    assert at_kill == {"epoch": KILL_EPOCH, "unfrozen_groups": 3}
    assert not (tmp_path / "never.json").exists()
    assert not list((tmp_path / "ck_killed").glob("*.tmp"))

    # A fresh process resumes, then (same process, so Keras numbers every layer and optimizer name differently)
    # runs the same training uninterrupted.
    workers.finish(workers.start("train", tmp_path / "ck_killed", tmp_path / "resumed.json", tmp_path / "ck_full",
                        tmp_path / "full.json"))
    full = json.loads((tmp_path / "full.json").read_text())
    resumed = json.loads((tmp_path / "resumed.json").read_text())

    diffs = [np.max(np.abs(np.asarray(a) - np.asarray(b))) for a, b in zip(full["weights"], resumed["weights"])]
    assert len(full["weights"]) == len(resumed["weights"]) and max(diffs) <= 1e-6, max(diffs)
    # No group silently re-frozen: the resumed epoch trained the groups the schedule says (all 3).
    assert resumed["groups_seen"] == {str(KILL_EPOCH): full["groups_seen"][str(KILL_EPOCH)]} == {str(KILL_EPOCH): 3}
    assert resumed["mode"] == full["mode"] == "full"
    # The returned history covers every epoch of both stages, before and after the kill.
    assert resumed["epoch"] == full["epoch"] == [0, 1, 2, 3]
    assert [s["name"] for s in resumed["stages"]] == ["head", "fine_tune"]
    np.testing.assert_allclose(resumed["history"]["loss"], full["history"]["loss"], rtol=1e-6)
    assert len(resumed["history"]["learning_rate_head"]) == 4  # every LR logged, before and after the kill
    assert json.loads((tmp_path / "ck_killed" / "state.json").read_text())["finished"] is True
