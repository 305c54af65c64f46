"""What n2d keeps in its cache, how big it is, and clearing it.

The cache root is :func:`n2d._util.files.cache_root`: ``$N2D_CACHE_DIR`` if set,
else the user cache directory (``~/.cache/n2d`` on Linux). n2d writes two
kinds of entries there:

- ``autoencoders/<key>.safetensors``: trained autoencoder weights, one file per
  data, settings and seed (about 10 MB for pendigits' 16 features and 13 MB for
  MNIST's 784 with the paper's 500-500-2000 network; see :func:`entry_bytes`).
- ``parsed/<dataset>-<key>/``: a benchmark dataset's parsed arrays (``x.npy``,
  ``y.npy``, ``meta.json``), so it is not parsed again (MNIST: 220 MB).

Downloaded dataset files (``data/``, the default data directory) are counted
by :func:`cache_info` but never cleared here: USPS's ``usps.h5`` cannot be
downloaded again. Anything else under the root is not n2d's and is never
deleted; an entry is n2d's only if its name and content are what n2d writes.
"""

from __future__ import annotations

import json
import re
import struct
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from n2d._util.files import cache_root

__all__ = ["CacheEntry", "cache_entries", "cache_info", "clear_cache", "entry_bytes"]

AUTOENCODERS = "autoencoders"
PARSED = "parsed"
DATA = "data"
WEIGHTS_FORMAT = "n2d-autoencoder-weights"
TEMP_GRACE_SECONDS = 3600
"""A temporary file younger than this may belong to a write in progress; it is never removed."""

_WEIGHTS = re.compile(r"[0-9a-f]{16,64}\.safetensors")
_WEIGHTS_TMP = re.compile(r"\.[0-9a-f]{16,64}\.safetensors\.[^/]+\.safetensors\.tmp")
_PARSED_DIR = re.compile(r"[a-z0-9-]+-[0-9a-f]{24}")
_PARSED_FILES = frozenset({"x.npy", "y.npy", "meta.json"})
_PARSED_TMP = re.compile(r"\.(x\.npy|y\.npy|meta\.json)\.[^/]+\.tmp")
_MAX_HEADER = 100 << 20


@dataclass(frozen=True)
class CacheEntry:
    """One entry n2d wrote in its cache.

    Attributes
    ----------
    kind : {"autoencoder", "parsed", "temporary"}
        Trained weights, a parsed dataset, or a temporary file left by an
        interrupted write.
    path : pathlib.Path
    bytes : int
    mtime : float
        When it was last written (seconds since the epoch; for a parsed
        dataset, its newest file).
    """

    kind: str
    path: Path
    bytes: int
    mtime: float


def entry_bytes(n_features: int, hidden_dims=(500, 500, 2000), n_components: int = 10) -> int:
    """Bytes of the float32 weights of one autoencoder cache entry (the file adds a few KB of header).

    Parameters
    ----------
    n_features : int
        Width of the data.
    hidden_dims : tuple of int, default=(500, 500, 2000)
    n_components : int, default=10
        Code width (N2D's ``n_clusters``).

    Returns
    -------
    int
        4 bytes per parameter of the encoder and its mirrored decoder.
    """
    dims = [int(n_features), *(int(d) for d in hidden_dims), int(n_components)]
    layers = list(zip(dims, dims[1:]))
    params = sum(a * b + b for a, b in layers) + sum(b * a + a for a, b in layers)
    return 4 * params


def _is_weights_file(path: Path) -> bool:
    """A safetensors file whose header says n2d wrote it (only the header is read)."""
    try:
        with open(path, "rb") as f:
            (n,) = struct.unpack("<Q", f.read(8))
            if not 0 < n <= _MAX_HEADER:
                return False
            header = json.loads(f.read(n))
        return header.get("__metadata__", {}).get("format") == WEIGHTS_FORMAT
    except (OSError, ValueError, struct.error, AttributeError):
        return False


def _parsed_entry(folder: Path):
    """(bytes, mtime) of a parsed-dataset folder that holds only n2d's files, else None."""
    total, newest = 0, 0.0
    try:
        children = list(folder.iterdir())
    except OSError:
        return None
    for child in children:
        if child.is_symlink() or not child.is_file():
            return None
        if child.name not in _PARSED_FILES and not _PARSED_TMP.fullmatch(child.name):
            return None
        st = child.stat()
        total += st.st_size
        newest = max(newest, st.st_mtime)
    if (folder / "meta.json").is_file():
        try:
            if "parser" not in json.loads((folder / "meta.json").read_text(encoding="utf-8")):
                return None
        except (OSError, ValueError, AttributeError):
            return None
    return total, newest or folder.stat().st_mtime


def cache_entries(cache_dir=None) -> tuple[list[CacheEntry], list[Path]]:
    """n2d's entries in the cache, and the paths there that are not n2d's.

    Parameters
    ----------
    cache_dir : str or path-like, default=None
        Cache root; None means :func:`n2d._util.files.cache_root`.

    Returns
    -------
    entries : list of CacheEntry
        Autoencoder weights, parsed datasets and stale temporary files, sorted by path.
    foreign : list of pathlib.Path
        Paths in ``autoencoders/`` and ``parsed/`` that n2d did not write; they
        are never removed.
    """
    root = cache_root(cache_dir)
    entries, foreign = [], []
    weights = root / AUTOENCODERS
    if weights.is_dir():
        for p in sorted(weights.iterdir()):
            regular = p.is_file() and not p.is_symlink()
            if regular and _WEIGHTS.fullmatch(p.name) and _is_weights_file(p):
                st = p.stat()
                entries.append(CacheEntry("autoencoder", p, st.st_size, st.st_mtime))
            elif regular and _WEIGHTS_TMP.fullmatch(p.name):
                st = p.stat()
                entries.append(CacheEntry("temporary", p, st.st_size, st.st_mtime))
            else:
                foreign.append(p)
    parsed = root / PARSED
    if parsed.is_dir():
        for p in sorted(parsed.iterdir()):
            found = None
            if p.is_dir() and not p.is_symlink() and _PARSED_DIR.fullmatch(p.name):
                found = _parsed_entry(p)
            if found is None:
                foreign.append(p)
            else:
                entries.append(CacheEntry("parsed", p, *found))
    return entries, foreign


def _tree_bytes(path: Path) -> int:
    total = 0
    for p in path.rglob("*"):
        try:
            if p.is_file() and not p.is_symlink():
                total += p.stat().st_size
        except OSError:
            pass
    return total


def cache_info(cache_dir=None) -> dict:
    """Location, number and size of the cache's entries.

    Parameters
    ----------
    cache_dir : str or path-like, default=None
        Cache root; None means :func:`n2d._util.files.cache_root`.

    Returns
    -------
    dict
        ``root`` (str), ``kinds`` (per kind: ``entries`` and ``bytes``),
        ``entries`` and ``bytes`` in all, ``oldest``/``newest`` (mtimes or
        None), ``data_bytes`` (downloaded datasets under ``data/``, never
        cleared) and ``foreign`` (paths n2d did not write, as str).
    """
    root = cache_root(cache_dir)
    entries, foreign = cache_entries(cache_dir)
    kinds = {k: {"entries": 0, "bytes": 0} for k in ("autoencoder", "parsed", "temporary")}
    for e in entries:
        kinds[e.kind]["entries"] += 1
        kinds[e.kind]["bytes"] += e.bytes
    return {
        "root": str(root),
        "kinds": kinds,
        "entries": len(entries),
        "bytes": sum(e.bytes for e in entries),
        "oldest": min((e.mtime for e in entries), default=None),
        "newest": max((e.mtime for e in entries), default=None),
        "data_bytes": _tree_bytes(root / DATA) if (root / DATA).is_dir() else 0,
        "foreign": [str(p) for p in foreign],
    }


def _remove(entry: CacheEntry) -> None:
    if entry.kind == "parsed":
        for child in entry.path.iterdir():
            if child.name in _PARSED_FILES or _PARSED_TMP.fullmatch(child.name):
                child.unlink(missing_ok=True)
        entry.path.rmdir()  # fails, leaving it, if something else appeared meanwhile
    else:
        entry.path.unlink(missing_ok=True)


def clear_cache(cache_dir=None, older_than=None, dry_run: bool = False) -> list[CacheEntry]:
    """Remove n2d's cache entries (all, or those last written before a time).

    Only entries :func:`cache_entries` recognises as n2d's are removed, and a
    temporary file only when it is more than an hour old (a younger one may
    be a write in progress). Downloaded datasets (``data/``) stay.

    Parameters
    ----------
    cache_dir : str or path-like, default=None
        Cache root; None means :func:`n2d._util.files.cache_root`.
    older_than : datetime or float, default=None
        Remove only entries last written before this time (a datetime, or
        seconds since the epoch). None removes every entry.
    dry_run : bool, default=False
        Only return what would be removed.

    Returns
    -------
    list of CacheEntry
        The entries removed (or that would be).
    """
    if isinstance(older_than, datetime):
        older_than = older_than.timestamp()
    now = time.time()
    chosen = []
    for e in cache_entries(cache_dir)[0]:
        if older_than is not None and e.mtime >= older_than:
            continue
        if e.kind == "temporary" and now - e.mtime < TEMP_GRACE_SECONDS:
            continue
        chosen.append(e)
    removed = []
    for e in chosen:
        if dry_run:
            removed.append(e)
            continue
        try:
            _remove(e)
        except FileNotFoundError:
            pass  # gone already (another process cleared it)
        except OSError:
            continue
        removed.append(e)
    return removed
