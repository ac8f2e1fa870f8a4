"""Safe loading: nothing unpickles untrusted data, .keras files load in safe mode, caches are never pickles."""

import ast
import os
import pickle
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest

import keras_transfer as kt
from keras_transfer import errors
from keras_transfer.weights import read_torch_checkpoint

PACKAGE = Path(kt.__file__).parent


class _RunsCode:
    """Pickles to "call os.system(command)" when unpickled, as a malicious checkpoint would."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


def test_a_torch_checkpoint_that_would_run_code_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    with zipfile.ZipFile(path, "w") as archive:  # torch.save's zip layout with a booby-trapped data.pkl
        archive.writestr("evil/data.pkl", pickle.dumps({"weight": _RunsCode(f"touch {marker}")}, protocol=2))
        archive.writestr("evil/version", "3\n")
    with pytest.raises(errors.UnsafeCheckpointError, match=r"posix\.system|os\.system") as info:
        read_torch_checkpoint(path)
    assert "Received" in str(info.value)
    assert not marker.exists()


def test_keras_files_load_in_safe_mode_by_default(tmp_path):
    inputs = keras.Input((4,))
    keras.Model(inputs, keras.layers.Lambda(lambda t: t * 2.0)(inputs)).save(tmp_path / "code.keras")
    with pytest.raises(errors.UnsafeCheckpointError, match="safe_mode=False only if you trust"):
        kt.load_model(tmp_path / "code.keras")
    trusted = kt.load_model(tmp_path / "code.keras", safe_mode=False)  # an explicit opt-in only
    np.testing.assert_allclose(trusted.predict(np.ones((1, 4)), verbose=0), 2.0)


def test_a_checkpoint_file_holding_a_pickle_is_refused(tmp_path):
    x, y = np.random.default_rng(0).integers(0, 256, (4, 16, 16, 3), dtype=np.uint8), np.arange(4) % 2
    from keras_transfer.testing import register_tiny_backbone

    def model():
        backbone = kt.backbones.get(register_tiny_backbone(), weights=None, input_shape=(16, 16))
        return kt.TransferModel(backbone, kt.ClassificationHead(2))

    kt.fine_tune(model(), (x, y), head_epochs=1, fine_tune_epochs=0, checkpoint_dir=tmp_path, verbose=0)
    state_folder = next(p for p in tmp_path.iterdir() if p.is_dir())
    np.savez(state_folder / "weights.npz", a00000=np.array([_RunsCode("true")], dtype=object))
    with pytest.raises(errors.CheckpointError, match="allow_pickle=False"):  # read back: refused, never run
        kt.fine_tune(model(), (x, y), head_epochs=1, fine_tune_epochs=0, checkpoint_dir=tmp_path, verbose=0)


def _calls(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            owner = getattr(func.value, "id", "") if isinstance(func, ast.Attribute) else ""
            yield node, owner, name


def test_the_package_never_unpickles_and_always_loads_keras_files_safely():
    """A source sweep: every np.load passes allow_pickle=False, every load_model passes safe_mode, no plain
    pickle / joblib / torch load, and every Unpickler subclass restricts find_class (torch checkpoints, the
    offline datasets' numpy arrays)."""
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        relative = path.relative_to(PACKAGE.parent)
        for node, owner, name in _calls(tree):
            keywords = {k.arg: k.value for k in node.keywords}
            if owner == "np" and name == "load":
                value = keywords.get("allow_pickle")
                if not (isinstance(value, ast.Constant) and value.value is False):
                    problems.append(f"{relative}:{node.lineno} np.load without allow_pickle=False")
            if name == "load_model" and owner in ("saving", "keras"):
                if "safe_mode" not in keywords or (isinstance(keywords["safe_mode"], ast.Constant)
                                                   and keywords["safe_mode"].value is False):
                    problems.append(f"{relative}:{node.lineno} load_model without safe_mode")
            if owner in ("pickle", "cPickle", "dill", "joblib", "torch") and name in ("load", "loads"):
                problems.append(f"{relative}:{node.lineno} {owner}.{name}")
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and any(getattr(b, "attr", "") == "Unpickler" for b in node.bases):
                # the torch reader's and the offline datasets' numpy-only unpicklers: an allow-list in find_class
                if not any(isinstance(n, ast.FunctionDef) and n.name == "find_class" for n in node.body):
                    problems.append(f"{relative}:{node.lineno} an Unpickler without find_class restrictions")
    assert problems == []
