"""Save and restore the plain-data state of Keras callbacks (plateau counters, warmup bases, best values).

A callback's state is its attributes holding plain data (numbers, strings, bools, None, and lists, tuples and
dicts of those). Attributes holding anything else (the model, file handles, functions, arrays such as
``EarlyStopping.best_weights``) are left alone. Values are tagged so tuples, int dict keys and NaN / inf come
back exactly. A callback may instead define ``get_resume_state()`` / ``set_resume_state(state)``.
"""

import math
from typing import List, Optional

import numpy as np

__all__ = ["callback_states", "restore_callback_states"]

_SKIP = {"model", "_model", "params", "validation_data", "_chief_worker_only", "_supports_tf_logs"}
_MAX_ITEMS = 10_000


class _Unencodable(Exception):
    pass


def _encode(value, depth=0):
    if depth > 8:
        raise _Unencodable
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return {"__float__": repr(value)}
    if isinstance(value, np.generic) and value.dtype.kind in ("b", "i", "u", "f"):
        return _encode(value.item(), depth)  # numpy scalars (tensors and Variables are left alone, like arrays)
    if isinstance(value, (list, tuple)):
        if len(value) > _MAX_ITEMS:
            raise _Unencodable
        items = [_encode(v, depth + 1) for v in value]
        return items if isinstance(value, list) else {"__tuple__": items}
    if isinstance(value, dict):
        if len(value) > _MAX_ITEMS or not all(isinstance(k, (str, int)) and not isinstance(k, bool) for k in value):
            raise _Unencodable
        return {"__dict__": [[k, _encode(v, depth + 1)] for k, v in value.items()]}
    raise _Unencodable


def _decode(value):
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        if "__float__" in value:
            return float(value["__float__"])
        if "__tuple__" in value:
            return tuple(_decode(v) for v in value["__tuple__"])
        if "__dict__" in value:
            return {k: _decode(v) for k, v in value["__dict__"]}
    return value


def _state_of(callback) -> dict:
    if hasattr(callback, "get_resume_state"):
        return {"custom": _encode(callback.get_resume_state())}
    state = {}
    for name, value in vars(callback).items():
        if name in _SKIP:
            continue
        try:
            state[name] = _encode(value)
        except _Unencodable:
            continue
    return {"attributes": state}


def callback_states(callbacks) -> List[dict]:
    """JSON-ready states of ``callbacks``, in order, each with its class name."""
    return [{"class": type(cb).__name__, **_state_of(cb)} for cb in callbacks]


def restore_callback_states(callbacks, states: Optional[List[dict]]) -> int:
    """Set the saved states back, matching callbacks by position and class; returns how many were restored."""
    restored = 0
    for callback, state in zip(callbacks, states or []):
        if state.get("class") != type(callback).__name__:
            continue
        if "custom" in state and hasattr(callback, "set_resume_state"):
            callback.set_resume_state(_decode(state["custom"]))
        else:
            for name, value in state.get("attributes", {}).items():
                setattr(callback, name, _decode(value))
        restored += 1
    return restored
