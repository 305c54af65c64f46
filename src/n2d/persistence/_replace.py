"""Replacing a model folder atomically, and undoing what a killed save left behind.

A save writes the new folder beside ``path`` under a temporary name, moves the
old one aside to a hidden ``.<name>.old-*`` folder, moves the new one in, and
deletes the old one. Temporary folders carry the writer's host and process id
(``.<name>.tmp-<host>-<pid>-<random>``) so that stale ones can be told from a
live save's.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import uuid
from pathlib import Path

from n2d._util.files import HOST_TAG, is_stale

FORMAT = "n2d-model"
MANIFEST = "manifest.json"


def _is_model_dir(path: Path) -> bool:
    try:
        return json.loads((path / MANIFEST).read_text()).get("format") == FORMAT
    except (OSError, ValueError, AttributeError, RecursionError):
        return False


# --------------------------------------------------------------------------- #
# Temporary folders: named by host and process, so stale ones can be told apart
# --------------------------------------------------------------------------- #

_HOST = HOST_TAG
_TEMP_RE = re.compile(
    r"^\.(?P<name>.+)\.(?P<kind>tmp|old)-(?:(?P<host>[0-9a-f]{8})-(?P<pid>[0-9]{1,10})-)?[0-9a-f]{8}$"
)


def _temp_path(path: Path, kind: str) -> Path:
    """A hidden folder beside ``path``: ``.<name>.<kind>-<host>-<pid>-<random>``."""
    return path.parent / f".{path.name}.{kind}-{_HOST}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def _temporaries(path: Path) -> list[tuple[Path, str, bool]]:
    """Our temporary folders for ``path``: (folder, "tmp" or "old", stale?)."""
    found = []
    try:
        entries = list(path.parent.iterdir())
    except OSError:
        return found
    for entry in entries:
        m = _TEMP_RE.match(entry.name)
        if not m or m["name"] != path.name or entry.is_symlink() or not entry.is_dir():
            continue
        found.append((entry, m["kind"], is_stale(entry, m["host"], m["pid"])))
    return found


def _recover(path: Path) -> None:
    """Undo what killed saves of ``path`` left behind.

    If ``path`` is missing and a dead save had moved the previous model aside,
    that model is moved back. Then stale temporary folders are deleted; a moved
    aside model is deleted only once ``path`` holds a model again.
    """
    temps = _temporaries(path)
    if not temps:
        return
    if not path.exists():
        olds = [t for t, kind, stale in temps if kind == "old" and stale and _is_model_dir(t)]
        for old in sorted(olds, key=_mtime, reverse=True):  # the newest first
            try:
                os.rename(old, path)
                break
            except OSError:  # another process restored or saved meanwhile
                continue
    have_model = _is_model_dir(path)
    for t, kind, stale in temps:
        if stale and t.exists() and (kind == "tmp" or have_model):
            shutil.rmtree(t, ignore_errors=True)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _wait_for_live_save(path: Path, timeout: float = 5.0) -> None:
    """If ``path`` is missing while a live save of it is between its two moves, wait for it."""
    deadline = time.monotonic() + timeout
    while not path.exists() and time.monotonic() < deadline:
        if not any(kind == "old" and not stale for _, kind, stale in _temporaries(path)):
            return
        time.sleep(0.05)
