"""Saving and loading fitted models without pickle.

A saved model is a directory:

- ``manifest.json``: format name and version, n2d and library versions, and the
  model as a tree of estimators, each with its class path, its constructor
  parameters and its fitted attributes. Values are JSON; arrays are references.
- ``arrays.safetensors``: every array, by reference name. Its sha256 is in the
  manifest, so truncation or corruption is detected before anything is built.

Loading imports classes only from ``n2d`` and ``sklearn`` and only subclasses of
scikit-learn's ``BaseEstimator``, calls their constructors with JSON values and
sets plain attributes; nothing in the files can make it run other code.

Saving never leaves a half-written model, and replacing one is recoverable:
the new directory is written beside ``path`` under a temporary name, the old
one is moved aside to a hidden ``.<name>.old-*`` folder, the new one is moved
in, and the old one is deleted. If the process dies between the two moves, the
next :func:`save_model` or :func:`load_model` of ``path`` moves the old model
back. Temporary folders carry the writer's host and process id
(``.<name>.tmp-<host>-<pid>-<random>``); the next save or load of ``path``
deletes those whose process is gone (on this host) or, for other hosts and
older n2d versions, that are older than a day, and never one of a live save.

Loading checks, before building anything: the arrays file's sha256, the JSON
(nesting depth, types), every array's shape and dtype against the manifest,
and each estimator's arrays against its parameters and each other (see
:mod:`n2d._validate_state`). Every failure is a :class:`ModelFormatError`.

Estimators control their own state with two optional hooks,
``_n2d_get_state() -> dict`` and ``_n2d_set_state(dict)``; otherwise every
instance attribute that is not a constructor parameter is saved. A value that
cannot be represented safely (an arbitrary object, a callable) is refused at save
time with a message naming it, before anything is written.
"""

from __future__ import annotations

import datetime as _dt
import importlib
import json
import math
import os
import re
import shutil
import time
import uuid
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator

from ._utils import HOST_TAG, file_sha256, is_stale, set_normal_mode
from ._version import __version__
from .exceptions import ModelFormatError

__all__ = ["save_model", "load_model", "FORMAT_VERSION"]

FORMAT = "n2d-model"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
ARRAYS = "arrays.safetensors"
_ALLOWED_MODULES = ("n2d", "sklearn")
_NUMERIC_KINDS = "biuf"
MAX_DEPTH = 64
"""Deepest JSON nesting a manifest may have (n2d's own are about 10 deep)."""


# --------------------------------------------------------------------------- #
# Encoding
# --------------------------------------------------------------------------- #


class _Encoder:
    def __init__(self):
        self.arrays: dict[str, np.ndarray] = {}

    def value(self, v, where: str):
        if v is None or isinstance(v, (bool, str)):
            return v
        if isinstance(v, int):
            return v
        if isinstance(v, float):
            return v if math.isfinite(v) else {"__float__": repr(v)}
        if isinstance(v, np.generic):
            if v.dtype.kind not in _NUMERIC_KINDS:
                raise self._refuse(v, where)
            return {"__scalar__": v.dtype.str, "value": self.value(v.item(), where)}
        if isinstance(v, np.ndarray):
            return self.array(v, where)
        if isinstance(v, tuple):
            return {"__tuple__": [self.value(x, f"{where}[{i}]") for i, x in enumerate(v)]}
        if isinstance(v, list):
            return [self.value(x, f"{where}[{i}]") for i, x in enumerate(v)]
        if isinstance(v, dict):
            if not all(isinstance(k, str) for k in v):
                raise self._refuse(v, where, "a dict with non-string keys")
            return {"__dict__": {k: self.value(x, f"{where}.{k}") for k, x in v.items()}}
        if isinstance(v, BaseEstimator):
            return self.estimator(v, where)
        if isinstance(v, np.random.RandomState):
            raise self._refuse(v, where, "a RandomState (use an int random_state to save a model)")
        raise self._refuse(v, where)

    def array(self, a: np.ndarray, where: str):
        if a.dtype.kind in _NUMERIC_KINDS:
            key = where
            self.arrays[key] = np.ascontiguousarray(a)
            return {"__array__": key, "shape": list(a.shape), "dtype": a.dtype.str}
        if a.dtype.kind in "OU" and all(isinstance(x, str) for x in a.ravel()):
            return {"__strarray__": a.tolist(), "shape": list(a.shape)}
        raise self._refuse(a, where, f"an array of dtype {a.dtype}")

    def estimator(self, est, where: str):
        cls = type(est)
        path = f"{cls.__module__}.{cls.__qualname__}"
        if not _allowed_module(cls.__module__):
            raise ValueError(
                f"Cannot save {where}: {path} is not an n2d or scikit-learn estimator, and only those "
                "can be saved and loaded without pickle."
            )
        params = est.get_params(deep=False)
        if hasattr(est, "_n2d_get_state"):
            state = est._n2d_get_state()
        else:
            state = {k: v for k, v in vars(est).items() if k not in params}
        return {
            "__estimator__": path,
            "params": {k: self.value(v, f"{where}.{k}") for k, v in params.items()},
            "state": {k: self.value(v, f"{where}.{k}") for k, v in state.items()},
        }

    @staticmethod
    def _refuse(v, where, what=None):
        what = what or f"a {type(v).__module__}.{type(v).__qualname__}"
        return ValueError(
            f"Cannot save {where}: it is {what}, which has no safe (pickle-free) representation. "
            "Saved models hold only estimators from n2d and scikit-learn, numbers, strings and numeric arrays."
        )


def _allowed_module(module: str) -> bool:
    return any(module == m or module.startswith(m + ".") for m in _ALLOWED_MODULES)


# --------------------------------------------------------------------------- #
# Decoding
# --------------------------------------------------------------------------- #


class _Decoder:
    def __init__(self, arrays):
        self.arrays = arrays

    def value(self, v):
        if isinstance(v, list):
            return [self.value(x) for x in v]
        if not isinstance(v, dict):
            return v
        if "__array__" in v:
            return self.array(v)
        if "__tuple__" in v:
            return tuple(self.value(x) for x in v["__tuple__"])
        if "__dict__" in v:
            return {k: self.value(x) for k, x in v["__dict__"].items()}
        if "__float__" in v:
            return float(v["__float__"])
        if "__scalar__" in v:
            dtype = np.dtype(v["__scalar__"])
            if dtype.kind not in _NUMERIC_KINDS:
                raise ModelFormatError(f"The model manifest holds a scalar of dtype {dtype}; only numbers are allowed.")
            return dtype.type(self.value(v["value"]))
        if "__strarray__" in v:
            return np.array(v["__strarray__"], dtype=object).reshape(v["shape"])
        if "__estimator__" in v:
            return self.estimator(v)
        raise ModelFormatError(f"Unknown value in the model manifest: keys {sorted(v)}.")

    def array(self, ref):
        key = ref["__array__"]
        if not isinstance(key, str) or key not in self.arrays:
            raise ModelFormatError(f"The model's arrays file lacks {key!r}; the model is corrupted or incomplete.")
        arr = self.arrays[key]
        if "shape" in ref and list(arr.shape) != ref["shape"]:  # manifests written before this check lack both
            raise ModelFormatError(
                f"Array {key!r} has shape {tuple(arr.shape)} in the arrays file, but the manifest says "
                f"{ref['shape']}; the model is corrupted or was edited."
            )
        if "dtype" in ref and (not isinstance(ref["dtype"], str) or np.dtype(ref["dtype"]) != arr.dtype):
            raise ModelFormatError(
                f"Array {key!r} has dtype {arr.dtype} in the arrays file, but the manifest says "
                f"{ref['dtype']!r}; the model is corrupted or was edited."
            )
        return arr

    def estimator(self, spec):
        from ._validate_state import validate_state

        if not isinstance(spec.get("params"), dict) or not isinstance(spec.get("state"), dict):
            raise ModelFormatError(
                f"The manifest entry of {spec.get('__estimator__')!r} needs 'params' and 'state' objects."
            )
        path = spec["__estimator__"]
        if not isinstance(path, str):
            raise ModelFormatError(f"The manifest names a class by {path!r}; class paths are strings.")
        module, _, name = path.rpartition(".")
        if not _allowed_module(module):
            raise ModelFormatError(
                f"Refusing to load class {path!r}: a saved n2d model may only contain n2d and scikit-learn estimators."
            )
        try:
            cls = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError) as exc:
            raise ModelFormatError(f"The model needs {path}, which this installation lacks ({exc}).") from exc
        if not (isinstance(cls, type) and issubclass(cls, BaseEstimator)):
            raise ModelFormatError(f"Refusing to load {path!r}: it is not a scikit-learn estimator class.")
        params = {k: self.value(v) for k, v in spec["params"].items()}
        state = {k: self.value(v) for k, v in spec["state"].items()}
        validate_state(cls, params, state, path)  # before anything is built from them
        try:
            est = cls(**params)
        except TypeError as exc:
            raise ModelFormatError(f"Cannot rebuild {path} with the saved parameters: {exc}") from exc
        try:
            if hasattr(est, "_n2d_set_state"):
                est._n2d_set_state(state)
            else:
                for k, v in state.items():
                    setattr(est, k, v)
        except ModelFormatError:
            raise
        except Exception as exc:
            raise ModelFormatError(f"Cannot restore the fitted state of {path}: {type(exc).__name__}: {exc}") from exc
        return est


# --------------------------------------------------------------------------- #
# Public functions
# --------------------------------------------------------------------------- #


def _library_versions() -> dict:
    import sklearn
    import torch

    versions = {"n2d": __version__, "numpy": np.__version__, "scikit-learn": sklearn.__version__, "torch": torch.__version__}
    try:
        from importlib.metadata import version

        versions["umap-learn"] = version("umap-learn")
    except Exception:  # pragma: no cover - umap-learn is a dependency
        pass
    return versions


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


def save_model(model, path, overwrite: bool = True) -> Path:
    """Save a fitted estimator to the directory ``path``.

    Everything is encoded in memory first, so an unsavable model raises before
    any file is touched. The directory is written under a temporary name beside
    ``path`` and renamed into place. An existing ``path`` is replaced only if it
    is an n2d model directory (or empty) and ``overwrite`` is true; it is moved
    aside first and deleted last, and a save killed in between is undone by the
    next save or load (see the module documentation). Files get the normal
    mode for the user's umask.

    Returns
    -------
    path : pathlib.Path
    """
    from safetensors.numpy import save_file

    if not hasattr(model, "labels_") and not any(k.endswith("_") for k in vars(model)):
        raise ValueError(f"This {type(model).__name__} is not fitted yet; fit it before saving.")
    path = Path(path)
    enc = _Encoder()
    tree = enc.estimator(model, "model")
    _recover(path)
    if path.exists():
        if not path.is_dir():
            raise FileExistsError(f"Cannot save the model to {path}: a file of that name exists.")
        if any(path.iterdir()) and not _is_model_dir(path):
            raise FileExistsError(
                f"Refusing to save the model into {path}: it is a non-empty directory that is not an n2d model."
            )
        if not overwrite and any(path.iterdir()):
            raise FileExistsError(f"{path} already holds a model; pass overwrite=True to replace it.")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_path(path, "tmp")
    tmp.mkdir()
    try:
        try:
            save_file(enc.arrays, str(tmp / ARRAYS), metadata={"format": FORMAT})
        except Exception as exc:  # safetensors raises SafetensorError, not OSError, on a full disk
            if isinstance(exc, OSError):
                raise
            raise OSError(f"Could not write the model to {path}: {exc}") from exc
        set_normal_mode(tmp / ARRAYS)  # safetensors creates it 0600
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "versions": _library_versions(),
            "arrays_sha256": file_sha256(tmp / ARRAYS),
            "model": tree,
        }
        with open(tmp / MANIFEST, "w") as f:
            json.dump(manifest, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        if path.exists():
            old = _temp_path(path, "old")
            os.replace(path, old)
            try:
                os.replace(tmp, path)
            except BaseException:
                if not path.exists():
                    os.replace(old, path)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return path


def _check_depth(tree, where: Path) -> None:
    """Raise ModelFormatError if the JSON ``tree`` nests deeper than :data:`MAX_DEPTH` (checked without recursion)."""
    stack = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ModelFormatError(
                f"{where} nests deeper than {MAX_DEPTH} levels; an n2d manifest never does, so it was edited or corrupted."
            )
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)


def load_model(path):
    """Load an estimator saved by :func:`save_model`.

    Before anything is built, the arrays file is checked against its sha256,
    the manifest's nesting depth and structure, and every array's shape and
    dtype against the manifest and the estimators' parameters (see
    :mod:`n2d._validate_state`). A model that a killed save moved aside is moved
    back first, and stale temporary folders of ``path`` are deleted.

    Raises
    ------
    ModelFormatError
        If ``path`` is not a model directory, is corrupted, truncated or
        inconsistent, or was written in a newer format than this n2d reads.
    """
    from safetensors.numpy import load_file

    path = Path(path)
    _wait_for_live_save(path)
    _recover(path)
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        raise ModelFormatError(f"{path} is not an n2d model directory: {MANIFEST} is missing.")
    try:
        manifest = json.loads(manifest_path.read_text())
    except RecursionError as exc:
        raise ModelFormatError(
            f"{manifest_path} nests too deeply to read; an n2d manifest never does, so it was edited or corrupted."
        ) from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelFormatError(f"{manifest_path} is corrupted or truncated (invalid JSON: {exc}).") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ModelFormatError(f"{path} is not an n2d model directory (manifest format is not {FORMAT!r}).")
    _check_depth(manifest, manifest_path)
    version = manifest.get("format_version")
    if not isinstance(version, int):
        raise ModelFormatError(f"{manifest_path} has no valid format_version; the model is corrupted.")
    if version > FORMAT_VERSION:
        versions = manifest.get("versions")
        saved_by = versions.get("n2d", "a newer n2d") if isinstance(versions, dict) else "a newer n2d"
        raise ModelFormatError(
            f"{path} was saved by n2d {saved_by} in model format {version}; this n2d ({__version__}) reads "
            f"formats up to {FORMAT_VERSION}. Upgrade n2d (install a newer version from its source) to load it."
        )
    arrays_path = path / ARRAYS
    if not arrays_path.is_file():
        raise ModelFormatError(f"{path} is incomplete: {ARRAYS} is missing.")
    if file_sha256(arrays_path) != manifest.get("arrays_sha256"):
        raise ModelFormatError(
            f"{arrays_path} does not match the checksum in {MANIFEST}: the model is truncated or corrupted."
        )
    try:
        arrays = load_file(str(arrays_path))
    except Exception as exc:
        raise ModelFormatError(f"{arrays_path} cannot be read: {exc}") from exc
    model = manifest.get("model")
    if not isinstance(model, dict) or "__estimator__" not in model:
        raise ModelFormatError(f"{manifest_path} has no model entry (an object naming an estimator class).")
    try:
        return _Decoder(arrays).estimator(model)
    except ModelFormatError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, RecursionError) as exc:
        raise ModelFormatError(f"{manifest_path} is corrupted: {type(exc).__name__}: {exc}") from exc
