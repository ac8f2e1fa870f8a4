"""Argument checks shared by the whole package: one place for the bool / int / number / choice rules.

Each check returns the value (converted to a plain Python ``bool`` / ``int`` / ``float``) or raises
:class:`~keras_transfer.errors.InvalidConfigError` with the project's message style: what was wrong,
``Received: name=value.``, then the fix (``hint``). ``bool`` is never accepted where a number is expected
(``True`` is an ``int`` to Python, never to us). This module imports only the standard library and
:mod:`keras_transfer.errors`, so every layer of the package may use it.
"""

import math
import numbers

from keras_transfer.errors import InvalidConfigError

__all__ = [
    "is_int",
    "is_number",
    "check_bool",
    "check_int",
    "check_number",
    "check_positive_number",
    "check_fraction",
    "check_choice",
    "invalid",
]


def is_int(value) -> bool:
    """Whether ``value`` is an integer (Python or NumPy) and not a ``bool``.

    Args:
        value: object. Anything.

    Returns:
        bool: True for ``3`` or ``np.int64(3)``; False for ``True``, ``3.0`` or ``"3"``.

    Examples:
    >>> from keras_transfer.checks import is_int
    >>> is_int(3), is_int(np.int32(3)), is_int(True), is_int(3.0)
    (True, True, False, False)
    """
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_number(value) -> bool:
    """Whether ``value`` is a real number (int or float, Python or NumPy) and not a ``bool``.

    Args:
        value: object. Anything.

    Returns:
        bool: True for ``0.5``, ``2`` or ``np.float32(1)``; False for ``False`` or ``"1"``. NaN counts as a number.

    Examples:
    >>> from keras_transfer.checks import is_number
    >>> is_number(0.5), is_number(2), is_number(False), is_number("1")
    (True, True, False, False)
    """
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def invalid(name, value, expected, hint=None) -> InvalidConfigError:
    """The error for a bad argument, in the project's message style (returned, not raised).

    Args:
        name: str. The argument's name.
        value: object. What was received.
        expected: str. What the argument must be, completing "``name`` must be ...".
        hint: str or None. The fix, appended after ``Received: ...``.

    Returns:
        keras_transfer.errors.InvalidConfigError: ready to ``raise``.

    Examples:
    >>> from keras_transfer.checks import invalid
    >>> str(invalid("units", 0, "an int >= 1", "Use units=1 for regression."))
    'units must be an int >= 1. Received: units=0. Use units=1 for regression.'
    """
    message = f"{name} must be {expected}. Received: {name}={value!r}."
    if hint:
        message += f" {hint}"
    return InvalidConfigError(message)


def check_bool(name, value, *, hint=None) -> bool:
    """Checks that ``value`` is ``True`` or ``False`` (NumPy booleans too; never 0 / 1 or strings).

    Args:
        name: str. The argument's name, used in the message.
        value: object. The value to check.
        hint: str or None. Appended to the message.

    Returns:
        bool: ``value`` as a Python bool.

    Raises:
        InvalidConfigError: if ``value`` is not a boolean.

    Examples:
    >>> from keras_transfer.checks import check_bool
    >>> check_bool("shuffle", np.bool_(True))
    True
    >>> check_bool("shuffle", 1)
    Traceback (most recent call last):
    ...
    keras_transfer.errors.InvalidConfigError: shuffle must be True or False. Received: shuffle=1.
    """
    if isinstance(value, bool) or (type(value).__module__ == "numpy" and type(value).__name__ in ("bool", "bool_")):
        return bool(value)
    raise invalid(name, value, "True or False", hint)


def _bounds_text(kind, minimum, maximum, min_inclusive=True, max_inclusive=True):
    if minimum is not None and maximum is not None:
        low = "[" if min_inclusive else "("
        high = "]" if max_inclusive else ")"
        return f"{kind} in {low}{minimum}, {maximum}{high}"
    if minimum is not None:
        return f"{kind} {'>=' if min_inclusive else '>'} {minimum}"
    if maximum is not None:
        return f"{kind} {'<=' if max_inclusive else '<'} {maximum}"
    return kind


def _in_bounds(value, minimum, maximum, min_inclusive=True, max_inclusive=True):
    if minimum is not None and (value < minimum if min_inclusive else value <= minimum):
        return False
    if maximum is not None and (value > maximum if max_inclusive else value >= maximum):
        return False
    return True


def _check(name, value, accepted, kind, convert, bounds, allow_none, expected, hint):
    """``convert(value)`` if ``accepted`` and within ``bounds`` = (min, max, min_inclusive, max_inclusive)."""
    if value is None and allow_none:
        return None
    if accepted and _in_bounds(value, *bounds):
        return convert(value)
    text = expected or _bounds_text(kind, *bounds) + (" or None" if allow_none else "")
    raise invalid(name, value, text, hint)


def check_int(name, value, *, minimum=None, maximum=None, allow_none=False, expected=None, hint=None):
    """Checks that ``value`` is an int (not a bool) within ``[minimum, maximum]``.

    Args:
        name: str. The argument's name, used in the message.
        value: object. The value to check; NumPy integers are accepted.
        minimum: int or None. Smallest allowed value; None for no lower bound.
        maximum: int or None. Largest allowed value; None for no upper bound.
        allow_none: bool. Whether None is accepted (and returned).
        expected: str or None. Replaces the generated requirement ("an int >= 1") in the message.
        hint: str or None. The fix, appended to the message.

    Returns:
        int or None: ``value`` as a Python int.

    Raises:
        InvalidConfigError: if ``value`` is not an int or out of range.

    Examples:
    >>> from keras_transfer.checks import check_int
    >>> check_int("epochs", np.int64(3), minimum=1)
    3
    >>> check_int("epochs", 0, minimum=1)
    Traceback (most recent call last):
    ...
    keras_transfer.errors.InvalidConfigError: epochs must be an int >= 1. Received: epochs=0.
    >>> check_int("num_ops", 11, minimum=1, maximum=10, hint="Use 2.")
    Traceback (most recent call last):
    ...
    keras_transfer.errors.InvalidConfigError: num_ops must be an int in [1, 10]. Received: num_ops=11. Use 2.
    """
    return _check(name, value, is_int(value), "an int", int, (minimum, maximum, True, True), allow_none,
                  expected, hint)


def check_number(name, value, *, minimum=None, maximum=None, min_inclusive=True, max_inclusive=True,
                 allow_none=False, expected=None, hint=None):
    """Checks that ``value`` is a finite real number (not a bool) within the given bounds.

    Args:
        name: str. The argument's name, used in the message.
        value: object. The value to check; ints and NumPy scalars are accepted.
        minimum: float or None. Lower bound; None for none.
        maximum: float or None. Upper bound; None for none.
        min_inclusive: bool. Whether ``minimum`` itself is allowed.
        max_inclusive: bool. Whether ``maximum`` itself is allowed.
        allow_none: bool. Whether None is accepted (and returned).
        expected: str or None. What ``name`` must be, replacing the generated "a finite number in [0, 1]".
        hint: str or None. The fix, appended to the message.

    Returns:
        float or None: ``value`` as a Python float.

    Raises:
        InvalidConfigError: if ``value`` is not a finite number or out of range.

    Examples:
    >>> from keras_transfer.checks import check_number
    >>> check_number("min_delta", 0, minimum=0)
    0.0
    >>> check_number("factor", 1, minimum=1, min_inclusive=False)
    Traceback (most recent call last):
    ...
    keras_transfer.errors.InvalidConfigError: factor must be a finite number > 1. Received: factor=1.
    """
    accepted = is_number(value) and math.isfinite(value)
    bounds = (minimum, maximum, min_inclusive, max_inclusive)
    return _check(name, value, accepted, "a finite number", float, bounds, allow_none, expected, hint)


def check_positive_number(name, value, *, allow_none=False, expected="a positive finite float", hint=None):
    """Checks that ``value`` is a finite number > 0 (a learning rate, a temperature, a sample rate).

    Args:
        name: str. The argument's name, used in the message.
        value: object. The value to check.
        allow_none: bool. Whether None is accepted (and returned).
        expected: str. What ``name`` must be, in the message.
        hint: str or None. The fix, appended to the message.

    Returns:
        float or None: ``value`` as a Python float.

    Raises:
        InvalidConfigError: if ``value`` is not a finite number > 0.

    Examples:
    >>> from keras_transfer.checks import check_positive_number
    >>> check_positive_number("learning_rate", 1e-3)
    0.001
    >>> check_positive_number("learning_rate", float("nan"), hint="Use e.g. learning_rate=1e-3.")
    Traceback (most recent call last):
    ...
    keras_transfer.errors.InvalidConfigError: learning_rate must be a positive finite float. Received: learning_rate=nan. ...
    """
    return check_number(name, value, minimum=0, min_inclusive=False, allow_none=allow_none,
                        expected=expected, hint=hint)


def check_fraction(name, value, *, allow_zero=True, allow_one=True, allow_none=False, expected=None, hint=None):
    """Checks that ``value`` is a number in ``[0, 1]`` (ends excluded on request): a rate, a probability.

    Args:
        name: str. The argument's name, used in the message.
        value: object. The value to check.
        allow_zero: bool. Whether 0 is allowed.
        allow_one: bool. Whether 1 is allowed.
        allow_none: bool. Accept None (and return it).
        expected: str or None. Replaces the generated "a number in [0, 1)" in the message.
        hint: str or None. Appended to the message: the fix.

    Returns:
        float or None: the fraction, as a Python float.

    Raises:
        InvalidConfigError: outside the interval, or not a number at all.

    Examples:
    >>> from keras_transfer.checks import check_fraction
    >>> check_fraction("rate", 0.25, allow_one=False)
    0.25
    >>> check_fraction("rate", 1, allow_one=False)
    Traceback (most recent call last):
    ...
    keras_transfer.errors.InvalidConfigError: rate must be a number in [0, 1). Received: rate=1.
    """
    expected = expected or _bounds_text("a number", 0, 1, allow_zero, allow_one)
    return check_number(name, value, minimum=0, maximum=1, min_inclusive=allow_zero, max_inclusive=allow_one,
                        allow_none=allow_none, expected=expected, hint=hint)


def check_choice(name, value, choices, *, hint=None):
    """Checks that ``value`` is one of ``choices`` (compared with ``==``; a bool never matches 0 / 1).

    Args:
        name: str. The argument's name, used in the message.
        value: object. The value to check.
        choices: iterable. The allowed values; the message lists them in this order.
        hint: str or None. The fix, appended to the message.

    Returns:
        object: ``value``.

    Raises:
        InvalidConfigError: if ``value`` is not one of ``choices``.

    Examples:
    >>> from keras_transfer.checks import check_choice
    >>> check_choice("mode", "int", ("int", "one_hot"))
    'int'
    >>> check_choice("mode", "sparse", ("int", "one_hot"))
    Traceback (most recent call last):
    ...
    keras_transfer.errors.InvalidConfigError: mode must be one of 'int', 'one_hot'. Received: mode='sparse'.
    """
    choices = tuple(choices)
    if any(_same(value, choice) for choice in choices):
        return value
    raise invalid(name, value, "one of " + ", ".join(repr(c) for c in choices), hint)


def _same(value, choice):
    if isinstance(value, bool) != isinstance(choice, bool):
        return False
    try:
        return bool(value == choice)
    except Exception:  # noqa: BLE001 - arrays and odd objects compare ambiguously: not a match.
        return False
