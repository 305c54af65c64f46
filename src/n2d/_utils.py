"""Small shared helpers: device resolution, seeding, cache location, atomic writes."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np

CACHE_ENV = "N2D_CACHE_DIR"
"""Environment variable that overrides n2d's cache root (weights, parsed data)."""

_DEVICE_HELP = "'auto', 'cpu', 'cuda' or 'cuda:N'"


def resolve_device(device: str = "auto"):
    """Turn a device specification into a ``torch.device``.

    ``"auto"`` picks CUDA when a GPU is visible and the CPU otherwise. An explicit
    ``"cuda"`` without a GPU raises, naming what is available, rather than
    silently falling back: a user who asks for a GPU wants to know it is missing.
    """
    import torch

    if not isinstance(device, str):
        raise ValueError(f"device must be a string, one of {_DEVICE_HELP}; got {device!r}.")
    spec = device.strip().lower()
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if spec == "cpu":
        return torch.device("cpu")
    if spec == "cuda" or spec.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} was requested but no CUDA GPU is available to torch "
                f"(torch {torch.__version__}, CUDA build: {torch.version.cuda}). "
                "Use device='auto' or device='cpu'."
            )
        dev = torch.device(spec)
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(
                f"device={device!r} was requested but only {torch.cuda.device_count()} "
                "CUDA device(s) are visible."
            )
        return dev
    raise ValueError(f"device must be one of {_DEVICE_HELP}; got {device!r}.")


def runtime_device(device: str, owner: str = "model"):
    """The device to run a fitted ``owner`` on: its fit device, or the CPU if that is gone.

    A model fitted (or saved) on a GPU and used where none is visible moves to
    the CPU with a :class:`~n2d.exceptions.DeviceWarning` instead of failing.
    """
    import torch

    from .exceptions import DeviceWarning

    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        import warnings

        warnings.warn(
            f"This {owner} was fitted on {device}, which is not available here; using the CPU.",
            DeviceWarning,
            stacklevel=3,
        )
        return torch.device("cpu")
    return dev


@contextlib.contextmanager
def torch_threads(n: int):
    """Run the block with ``n`` torch intra-op threads, then restore the count."""
    import torch

    threads = torch.get_num_threads()
    if n == threads:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@contextlib.contextmanager
def keep_torch_threads():
    """Restore torch's intra-op thread count after code that changes it.

    umap-learn's parallel numba code shares the OpenMP runtime with torch and
    resets its thread count; a user who chose ``torch.set_num_threads(1)`` (on a
    shared machine, say) would silently get all cores back for the next stage.
    """
    import torch

    threads = torch.get_num_threads()
    try:
        yield
    finally:
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)


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


def cache_root(cache_dir=None) -> Path:
    """The cache root: ``cache_dir`` if given, else ``$N2D_CACHE_DIR``, else the user cache.

    The user cache is the platform's (``~/.cache/n2d`` on Linux), as found by
    platformdirs through pooch. Nothing is created here; writers create folders.
    """
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    import pooch

    return Path(pooch.os_cache("n2d"))


def fingerprint_array(x: np.ndarray) -> str:
    """sha256 of an array's dtype, shape and bytes (C order)."""
    x = np.ascontiguousarray(x)
    h = hashlib.sha256()
    h.update(str(x.dtype).encode())
    h.update(repr(x.shape).encode())
    h.update(memoryview(x).cast("B"))
    return h.hexdigest()


def file_sha256(path, chunk: int = 1 << 20) -> str:
    """sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(target, suffix: str = ""):
    """Yield a temporary path beside ``target``; rename it onto ``target`` on success.

    On any exception the temporary file is removed and ``target`` is untouched, so
    readers never see a half-written file.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix + ".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; the target gets a normal file's mode
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


# --------------------------------------------------------------------------- #
# Parameter validation with scikit-learn's wording, without its private helpers.
# --------------------------------------------------------------------------- #


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
    check_int(owner, "random_state", value, 0, 2**32 - 1)
