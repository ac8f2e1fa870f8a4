"""keras_transfer.checks: the shared argument checks and their messages."""

import numpy as np
import pytest

from keras_transfer.checks import (
    check_bool,
    check_choice,
    check_fraction,
    check_int,
    check_number,
    check_positive_number,
    invalid,
    is_int,
    is_number,
)
from keras_transfer.errors import InvalidConfigError


def test_predicates_refuse_bools():
    assert is_int(2) and is_int(np.int64(2)) and not is_int(True) and not is_int(2.0)
    assert is_number(2) and is_number(np.float32(0.5)) and not is_number(False) and not is_number("1")


def test_check_bool():
    assert check_bool("flag", True) is True
    assert check_bool("flag", np.bool_(False)) is False
    for bad in (0, 1, "true", None):
        with pytest.raises(InvalidConfigError, match=r"flag must be True or False\. Received: flag="):
            check_bool("flag", bad)


def test_check_bool_is_a_value_error_with_hint():
    with pytest.raises(ValueError, match=r"Received: flag='yes'\. Use flag=True\.$"):
        check_bool("flag", "yes", hint="Use flag=True.")


@pytest.mark.parametrize("value", [True, 1.0, "2", None, 0, 11])
def test_check_int_rejects(value):
    with pytest.raises(InvalidConfigError, match=r"n must be an int in \[1, 10\]\. Received: n="):
        check_int("n", value, minimum=1, maximum=10)


def test_check_int_accepts_and_converts():
    assert type(check_int("n", np.int32(4), minimum=0)) is int
    assert check_int("n", None, allow_none=True) is None
    assert check_int("n", -5) == -5


def test_check_int_messages():
    with pytest.raises(InvalidConfigError, match=r"^n must be an int >= 2\. Received: n=1\.$"):
        check_int("n", 1, minimum=2)
    with pytest.raises(InvalidConfigError, match=r"^n must be an int <= 2 or None\. Received: n=3\.$"):
        check_int("n", 3, maximum=2, allow_none=True)
    with pytest.raises(InvalidConfigError, match=r"^n must be a count\. Received: n=-1\. Fix it\.$"):
        check_int("n", -1, minimum=0, expected="a count", hint="Fix it.")


def test_check_number():
    assert check_number("x", 1) == 1.0 and type(check_number("x", np.float32(2))) is float
    for bad in (float("nan"), float("inf"), True, "1"):
        with pytest.raises(InvalidConfigError, match=r"x must be a finite number\. Received: x="):
            check_number("x", bad)
    with pytest.raises(InvalidConfigError, match=r"x must be a finite number in \(0, 1\]\. Received: x=0\.$"):
        check_number("x", 0, minimum=0, maximum=1, min_inclusive=False)
    assert check_number("x", 1, minimum=0, maximum=1, min_inclusive=False) == 1.0


def test_check_positive_number():
    assert check_positive_number("lr", 1e-3) == 1e-3
    assert check_positive_number("lr", None, allow_none=True) is None
    for bad in (0, -1.0, float("nan"), False):
        with pytest.raises(InvalidConfigError, match=r"lr must be a positive finite float\. Received: lr="):
            check_positive_number("lr", bad)


def test_check_fraction():
    assert check_fraction("p", 0) == 0.0 and check_fraction("p", 1) == 1.0
    with pytest.raises(InvalidConfigError, match=r"p must be a number in \(0, 1\]\. Received: p=0\.$"):
        check_fraction("p", 0, allow_zero=False)
    with pytest.raises(InvalidConfigError, match=r"p must be a number in \[0, 1\)\. Received: p=1\.$"):
        check_fraction("p", 1, allow_one=False)


def test_check_choice():
    assert check_choice("mode", "a", ("a", "b")) == "a"
    assert check_choice("n", 1, (1, 2)) == 1
    with pytest.raises(InvalidConfigError, match=r"n must be one of 1, 2\. Received: n=True\.$"):
        check_choice("n", True, (1, 2))
    with pytest.raises(InvalidConfigError, match=r"^mode must be one of 'a', 'b'\. Received: mode=None\. Pick one\.$"):
        check_choice("mode", None, ["a", "b"], hint="Pick one.")
    with pytest.raises(InvalidConfigError):
        check_choice("arr", np.zeros(2), ("a", "b"))


def test_invalid_returns_the_error():
    error = invalid("x", 1, "two")
    assert isinstance(error, InvalidConfigError) and str(error) == "x must be two. Received: x=1."
