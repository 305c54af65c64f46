"""Parameter checks with scikit-learn's wording, without its private helpers; seeds from random states."""

from __future__ import annotations

import numpy as np

from n2d._util.params import MAX_SEED


def seed_from(random_state) -> int | None:
    """Draw a 31-bit integer seed from an int, a RandomState, or None (returns None)."""
    if random_state is None:
        return None
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        return int(random_state) & 0x7FFFFFFF
    rs = random_state if isinstance(random_state, np.random.RandomState) else None
    if rs is None:
        raise ValueError(
            f"random_state must be None, an int or a numpy RandomState; got {random_state!r}."
        )
    return int(rs.randint(0, 2**31 - 1))


def _param_error(owner, name, allowed, value) -> ValueError:
    return ValueError(
        f"The {name!r} parameter of {type(owner).__name__} must be {allowed}. Got {value!r} instead."
    )


def check_int(owner, name, value, low=None, high=None, allow_none=False):
    """Raise unless ``value`` is an int in [low, high] (None allowed if ``allow_none``)."""
    if value is None and allow_none:
        return
    lo = "-inf" if low is None else low
    hi = "inf" if high is None else high
    allowed = f"an int in the range [{lo}, {hi}" + (")" if high is None else "]")
    if allow_none:
        allowed += " or None"
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise _param_error(owner, name, allowed, value)
    if (low is not None and value < low) or (high is not None and value > high):
        raise _param_error(owner, name, allowed, value)


def check_epochs(owner, value, allow_none=False):
    """Raise unless ``value`` is ``"auto"`` or an int >= 0 (None allowed if ``allow_none``)."""
    if value == "auto" and isinstance(value, str):
        return
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        allowed = "'auto' or an int in the range [0, inf)" + (" or None" if allow_none else "")
        raise _param_error(owner, "epochs", allowed, value)


def check_float(owner, name, value, low=None, high=None, low_open=False, allow_none=False):
    """Raise unless ``value`` is a real number in the given range."""
    if value is None and allow_none:
        return
    lb = "(" if low_open else "["
    allowed = f"a float in the range {lb}{'-inf' if low is None else low}, {'inf' if high is None else high}]"
    if allow_none:
        allowed += " or None"
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise _param_error(owner, name, allowed, value)
    if not np.isfinite(value):
        raise _param_error(owner, name, allowed, value)
    if low is not None and (value < low or (low_open and value == low)):
        raise _param_error(owner, name, allowed, value)
    if high is not None and value > high:
        raise _param_error(owner, name, allowed, value)


def check_dims(owner, name, value, allow_none=False):
    """Raise unless ``value`` is a tuple or list of positive ints (layer widths)."""
    if value is None and allow_none:
        return
    ok = isinstance(value, (tuple, list)) and all(
        not isinstance(d, bool) and isinstance(d, (int, np.integer)) and d >= 1 for d in value
    )
    if not ok:
        allowed = "a tuple of positive ints (possibly empty)" + (" or None" if allow_none else "")
        raise _param_error(owner, name, allowed, value)


def check_bool(owner, name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise _param_error(owner, name, "a bool", value)


def check_options(owner, name, value, options):
    if not isinstance(value, str) or value not in options:
        allowed = "a str among {" + ", ".join(repr(o) for o in sorted(options)) + "}"
        raise _param_error(owner, name, allowed, value)


def check_random_state_param(owner, value):
    if value is None or isinstance(value, np.random.RandomState):
        return
    check_int(owner, "random_state", value, 0, MAX_SEED)
