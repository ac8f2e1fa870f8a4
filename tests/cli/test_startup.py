"""The command line starts without TensorFlow and speaks only for itself.

``keras-transfer --help`` and every ``COMMAND --help`` must not import TensorFlow or Keras; ``import
keras_transfer`` alone neither; a command that does import TensorFlow prints none of its start-up log lines
unless ``--verbose``. Each check runs in a fresh interpreter (this test process has TensorFlow loaded already).
No timing is asserted here: ``python -m benchmarks cli`` measures it.
"""

import argparse
import json
import os
import subprocess
import sys

import pytest

import keras_transfer
from keras_transfer.cli.main import build_parser
from keras_transfer.cli.quiet import VERBOSE_ENV, verbose_requested

_LOADED = "import json, sys; print(json.dumps({m: m in sys.modules for m in ('tensorflow', 'keras')}))"


def _command_names():
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sorted(action.choices)


def _clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", VERBOSE_ENV)}
    env.update(extra)
    return env


def _python(code, env=None, timeout=180):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env or _clean_env(),
                          timeout=timeout)


def _cli(*argv, env=None):
    return subprocess.run([sys.executable, "-m", "keras_transfer.cli.main", *argv], capture_output=True, text=True,
                          env=env or _clean_env(), timeout=300)


@pytest.mark.parametrize("argv", [["--help"]] + [[name, "--help"] for name in _command_names()],
                         ids=lambda argv: " ".join(argv))
def test_help_does_not_import_tensorflow_or_keras(argv):
    code = ("import contextlib, io\nfrom keras_transfer.cli.main import main\n"
            f"with contextlib.redirect_stdout(io.StringIO()):\n    try:\n        main({argv!r})\n"
            "    except SystemExit:\n        pass\n" + _LOADED)
    result = _python(code)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"tensorflow": False, "keras": False}
    assert result.stderr == ""


def test_import_keras_transfer_does_not_import_tensorflow():
    result = _python("import keras_transfer\n" + _LOADED)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"tensorflow": False, "keras": False}


def test_import_of_the_export_package_does_not_import_tensorflow():
    """``keras-transfer predict`` runs .tflite / .onnx files without TensorFlow: the package stays light."""
    result = _python("import keras_transfer.export, keras_transfer.export.inputs\n" + _LOADED)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"tensorflow": False, "keras": False}


_SAVE_TINY = (
    "import keras, keras_transfer as kt, sys\n"
    "name = kt.testing.register_tiny_backbone()\n"
    "model = kt.TransferModel(kt.backbones.get(name, weights=None, input_shape=(32, 32)), kt.ClassificationHead(2))\n"
    "model.save(sys.argv[1])\n"
)


@pytest.mark.parametrize("keras_first", [True, False], ids=["keras imported first", "keras_transfer alone"])
def test_import_registers_the_serializables_only_when_keras_is_already_loaded(tmp_path, keras_first):
    path = str(tmp_path / "model.keras")
    saved = subprocess.run([sys.executable, "-c", _SAVE_TINY, path], capture_output=True, text=True,
                           env=_clean_env(), timeout=300)
    assert saved.returncode == 0, saved.stderr
    first = "import keras\n" if keras_first else ""
    code = (first + "import sys, keras_transfer\n"
            "print(sys.modules.get('keras_transfer.models') is not None)\n"
            "import keras\n"
            "from keras_transfer.testing import register_tiny_backbone\n"  # the test backbone (not models)
            "register_tiny_backbone()\n"
            f"model = keras.saving.load_model({path!r})\n"
            "print(type(model).__name__)\n")
    result = _python(code)
    if keras_first:  # registered by the import: the load finds TransferModel and its head
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == ["True", "TransferModel"]
    else:  # nothing imported by keras_transfer (stays fast); the first line shows it
        assert result.stdout.split()[:1] == ["False"]


def test_every_public_name_resolves():
    import types

    for name in keras_transfer.__all__:
        assert getattr(keras_transfer, name) is not None, name
    assert set(keras_transfer.__all__) <= set(dir(keras_transfer))
    assert isinstance(keras_transfer.export, types.ModuleType)  # the sub-package
    assert keras_transfer.export_model is keras_transfer.export.export  # the function
    assert keras_transfer.__version__ == "0.1.0"
    from keras_transfer import TransferModel, fine_tune  # noqa: F401

    with pytest.raises(AttributeError, match="Received: 'no_such_name'"):
        keras_transfer.no_such_name  # noqa: B018


def test_a_command_that_imports_tensorflow_prints_only_its_own_output():
    result = _cli("backbones")
    assert result.returncode == 0, result.stderr
    assert "| `mobilenet_v2` |" in result.stdout
    assert result.stderr == ""  # no oneDNN / cudart / absl start-up lines


def test_verbose_flag_is_accepted():
    result = _cli("--verbose", "backbones")  # TensorFlow's lines may appear on stderr; not every machine prints them
    assert result.returncode == 0, result.stderr
    assert "| `mobilenet_v2` |" in result.stdout


@pytest.mark.parametrize("value, expected", [("", False), ("0", False), ("false", False), ("1", True), ("yes", True)])
def test_verbose_environment_variable(monkeypatch, value, expected):
    monkeypatch.setenv(VERBOSE_ENV, value)
    assert verbose_requested(False) is expected
    assert verbose_requested(True) is True


def test_a_failed_tensorflow_import_shows_what_it_printed(tmp_path):
    fake = tmp_path / "tensorflow"
    fake.mkdir()
    (fake / "__init__.py").write_text(
        "import os\nos.write(2, b'native loader message\\n')\nraise ImportError('libfake.so: cannot open')\n")
    env = _clean_env(PYTHONPATH=str(tmp_path))  # shadows the real tensorflow
    result = _cli("backbones", env=env)
    assert result.returncode != 0
    assert "native loader message" in result.stderr and "libfake.so: cannot open" in result.stderr


def test_fit_check_of_an_invalid_config_does_not_import_tensorflow(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("name: bad\nbackbone: {name: mobilenet_v2}\ndata: {kind: dataset, name: digits}\nhead: {}\n"
                      "stages: {head_epochs: many}\n")
    code = (f"from keras_transfer.cli.main import main\nprint(main(['fit', {str(config)!r}, '--check']))\n" + _LOADED)
    result = _python(code)
    lines = result.stdout.splitlines()
    assert lines[0] == "1" and "stages.head_epochs" in result.stderr
    assert json.loads(lines[1]) == {"tensorflow": False, "keras": False}
