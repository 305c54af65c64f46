"""The parsed-array cache: a dataset's parsed ``x``/``y`` as ``.npy`` files, keyed by its sources.

An entry is ``<n2d cache>/parsed/<dataset>-<key>/`` (never in the data
directory) holding ``x.npy``, ``y.npy`` and ``meta.json``. The key hashes the
parser version, the dataset, the source form and the registry hashes of the
files it reads, so a changed file or parser never hits a stale entry, and the
key must stay byte-identical for entries written by earlier versions to be hit.
An entry is used only if ``meta.json`` matches and every array has the sha256
recorded there; a bad entry warns (:class:`~n2d.exceptions.CacheWarning`) and
is rewritten. See the cache page of the guide (``docs/guide/cache.rst``).
"""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

import numpy as np

from n2d._util.files import atomic_path, cache_root, file_sha256
from n2d.datasets._catalog import CatalogEntry
from n2d.datasets._errors import short
from n2d.datasets._registry import file_digest
from n2d.exceptions import CacheWarning

__all__ = ["PARSER_VERSION", "cache_dir", "cache_load", "cache_save", "valid_arrays"]

PARSER_VERSION = 1
"""Bump when a parser's output changes, so stale parsed-array caches are not used."""


def cache_dir(dataset: CatalogEntry, variant: str, hashes: dict[str, str]) -> Path:
    """The cache entry of a dataset parsed from the files whose registry hashes are ``hashes``.

    Parameters
    ----------
    dataset : CatalogEntry
        The dataset (its name is part of the key and of the folder name).
    variant : str
        The source form's ``variant`` (``"idx"``, ``"h5"``, ``"jf"``, ``"text"``).
    hashes : dict of str to str
        Registry path -> ``"alg:digest"`` of each file the form reads.
    """
    payload = json.dumps(
        {"parser": PARSER_VERSION, "dataset": dataset.name, "variant": variant, "sources": hashes},
        sort_keys=True,
    )
    key = hashlib.sha256(payload.encode()).hexdigest()[:24]
    return cache_root() / "parsed" / f"{dataset.name}-{key}"


def valid_arrays(dataset: CatalogEntry, x: np.ndarray, y: np.ndarray, names) -> bool:
    """True when ``x``, ``y`` and ``names`` have the dtypes, shapes and labels of the dataset."""
    return (
        x.dtype == np.float32
        and y.dtype == np.int64
        and x.ndim == 2
        and y.ndim == 1
        and x.shape[0] == y.shape[0] > 0
        and x.shape[1] == dataset.n_features
        and x.flags.c_contiguous
        and len(names) == dataset.n_classes
        and int(y.min()) >= 0
        and int(y.max()) < dataset.n_classes
    )


def cache_load(dataset: CatalogEntry, folder: Path):
    """Return (x, y, target_names) from a parsed-array cache entry, or None.

    An entry is used only if its meta.json matches the parser version, each
    .npy file has the sha256 recorded there, and the arrays have the expected
    dtypes and shapes. A present but invalid entry triggers a CacheWarning.
    """
    meta_path = folder / "meta.json"
    if not meta_path.is_file():
        return None
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("parser") != PARSER_VERSION or meta.get("dataset") != dataset.name:
            raise ValueError("parser version or dataset differs")
        arrays = {}
        for key, dtype in (("x", np.float32), ("y", np.int64)):
            path = folder / f"{key}.npy"
            if file_digest(path) != meta[key]["sha256"]:
                raise ValueError(f"{path.name} does not match its recorded sha256")
            arr = np.load(path, allow_pickle=False)
            if arr.dtype != dtype or list(arr.shape) != list(meta[key]["shape"]):
                raise ValueError(f"{path.name} has dtype {arr.dtype} and shape {arr.shape}")
            arrays[key] = arr
        names = tuple(str(n) for n in meta["target_names"])
        if not valid_arrays(dataset, arrays["x"], arrays["y"], names):
            raise ValueError("arrays do not have the dataset's shape or labels")
    except (OSError, ValueError, KeyError, TypeError, AttributeError, EOFError) as exc:
        warnings.warn(
            f"Ignoring the parsed-data cache entry {folder} ({short(exc)}); the data is "
            "parsed again from the verified source files and the entry rewritten.",
            CacheWarning,
            stacklevel=3,
        )
        return None
    return arrays["x"], arrays["y"], names


def cache_save(dataset: CatalogEntry, folder: Path, x: np.ndarray, y: np.ndarray, names, hashes) -> None:
    """Write a parsed-array cache entry atomically (arrays first, meta.json last).

    A failure to write only warns (:class:`~n2d.exceptions.CacheWarning`).
    """
    try:
        meta = {
            "parser": PARSER_VERSION,
            "dataset": dataset.name,
            "sources": hashes,
            "target_names": list(names),
        }
        for key, arr in (("x", x), ("y", y)):
            with atomic_path(folder / f"{key}.npy") as tmp:
                with open(tmp, "wb") as f:
                    np.save(f, arr, allow_pickle=False)
                meta[key] = {
                    "sha256": file_sha256(tmp),
                    "shape": list(arr.shape),
                    "dtype": str(arr.dtype),
                }
        with atomic_path(folder / "meta.json") as tmp:
            tmp.write_text(json.dumps(meta, indent=1), encoding="utf-8")
    except OSError as exc:
        warnings.warn(
            f"Could not write the parsed-data cache entry {folder} ({short(exc)}); "
            "the next load parses the source files again.",
            CacheWarning,
            stacklevel=3,
        )
