"""keras_transfer.atomic: atomic writes leave the old file or the new one, and no temporary file."""

import json
import os

import numpy as np
import pytest

from keras_transfer.atomic import atomic_write, write_file, write_json


def test_atomic_write_text_and_bytes(tmp_path):
    target = tmp_path / "sub" / "a.txt"
    with atomic_write(target) as handle:
        handle.write("héllo")
    assert target.read_text(encoding="utf-8") == "héllo"
    with atomic_write(target, "wb") as handle:
        handle.write(b"\x00")
    assert target.read_bytes() == b"\x00"
    assert os.listdir(target.parent) == ["a.txt"]
    assert oct(target.stat().st_mode & 0o777) == oct(0o644)


def test_failure_keeps_the_old_file_and_removes_the_temporary(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_write(target) as handle:
            handle.write("half")
            raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["a.txt"]


def test_no_file_created_on_failure(tmp_path):
    target = tmp_path / "new.bin"
    with pytest.raises(KeyboardInterrupt):
        with atomic_write(target, "wb"):
            raise KeyboardInterrupt
    assert os.listdir(tmp_path) == []


def test_bad_mode(tmp_path):
    with pytest.raises(ValueError, match="mode must be 'w' or 'wb'"):
        with atomic_write(tmp_path / "x", "a"):
            pass


def test_write_json_semantics(tmp_path):
    path = write_json(tmp_path / "r.json", {"nan": float("nan"), "inf": [float("inf")], 1: np.float32(0.5),
                                             "t": (np.int64(2),)})
    assert path == os.fspath(tmp_path / "r.json")
    assert json.loads((tmp_path / "r.json").read_text()) == {"nan": None, "inf": [None], "1": 0.5, "t": [2]}


def test_write_file_writes_bytes_and_text(tmp_path):
    assert write_file(tmp_path / "b", b"xy") == os.fspath(tmp_path / "b")
    assert (tmp_path / "b").read_bytes() == b"xy"
    write_file(tmp_path / "t", "z")
    assert (tmp_path / "t").read_text() == "z"


def test_write_file_picks_the_mode_from_the_content(tmp_path):
    write_file(tmp_path / "b", bytearray(b"\x01"))
    write_file(tmp_path / "t", "é", encoding="latin-1")
    assert (tmp_path / "b").read_bytes() == b"\x01" and (tmp_path / "t").read_bytes() == b"\xe9"
