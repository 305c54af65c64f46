"""Files and folders: the cache root, checksums, file modes, atomic writes, stale temporaries."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import socket
import tempfile
import time
from pathlib import Path

import numpy as np

CACHE_ENV = "N2D_CACHE_DIR"
"""Environment variable that overrides n2d's cache root (weights, parsed data)."""


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


def set_normal_mode(path) -> None:
    """Give ``path`` a normal new file's mode (``0o666`` less the umask).

    ``tempfile.mkstemp`` and safetensors both create files readable only by
    their owner (0600); every file n2d writes gets the mode the user's umask
    gives any other file instead.
    """
    os.chmod(path, 0o666 & ~_umask())


HOST_TAG = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]
"""This host, as 8 hex digits: temporary names carry it with the writer's pid."""

STALE_AFTER = 24 * 3600
"""Seconds after which a temporary that cannot be checked by process id counts as stale."""

_TEMP_FILE_RE = re.compile(
    r"^\..+\.(?:(?P<host>[0-9a-f]{8})-(?P<pid>[0-9]{1,10})-)?[a-z0-9_]{8}(?:\.[A-Za-z0-9]+)?\.tmp$"
)


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` on this host may still be running (True when unsure)."""
    if pid == os.getpid():
        return True  # this process: maybe a write in another thread
    if os.name == "nt":  # os.kill(pid, 0) is not a probe on Windows; callers fall back to age
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists, under another user
        return True
    return True


def is_stale(path: Path, host: str | None, pid: str | None) -> bool:
    """Whether a temporary named with ``host`` and ``pid`` (either None if unnamed) is abandoned.

    On this host, it is stale when its process is gone; written elsewhere (a
    shared file system) or by an older n2d that did not name its process, when
    it is older than :data:`STALE_AFTER`. A live writer's temporary is never stale.
    """
    if pid is not None and host == HOST_TAG:
        return not pid_alive(int(pid))
    try:
        return time.time() - path.lstat().st_mtime > STALE_AFTER
    except OSError:
        return False


def remove_stale_temporaries(folder) -> int:
    """Delete the temporary files :func:`atomic_path` left in ``folder`` when its writer was killed.

    Only files of :func:`atomic_path`'s naming that :func:`is_stale` calls
    abandoned are removed. Returns how many.
    """
    removed = 0
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return 0
    for entry in entries:
        m = _TEMP_FILE_RE.match(entry.name)
        if m and not entry.is_symlink() and entry.is_file() and is_stale(entry, m["host"], m["pid"]):
            with contextlib.suppress(OSError):
                entry.unlink()
                removed += 1
    return removed


@contextlib.contextmanager
def atomic_path(target, suffix: str = ""):
    """Yield a temporary path beside ``target``; rename it onto ``target`` on success.

    On any exception the temporary file is removed and ``target`` is untouched, so
    readers never see a half-written file. The file gets a normal file's mode
    (:func:`set_normal_mode`), whatever the writer created it with.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    # .<name>.<host>-<pid>-<random><suffix>.tmp: remove_stale_temporaries can tell a killed writer's file
    prefix = f".{target.name}.{HOST_TAG}-{os.getpid()}-"
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix + ".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        set_normal_mode(tmp)  # mkstemp makes 0600, and so does safetensors when it writes the file afresh
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
