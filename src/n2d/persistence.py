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
import shutil
import uuid
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator

from ._utils import file_sha256
from ._version import __version__
from .exceptions import ModelFormatError

__all__ = ["save_model", "load_model", "FORMAT_VERSION"]

FORMAT = "n2d-model"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
ARRAYS = "arrays.safetensors"
_ALLOWED_MODULES = ("n2d", "sklearn")
_NUMERIC_KINDS = "biuf"


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
            return {"__array__": key}
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
            key = v["__array__"]
            if key not in self.arrays:
                raise ModelFormatError(f"The model's arrays file lacks {key!r}; the model is corrupted or incomplete.")
            return self.arrays[key]
        if "__tuple__" in v:
            return tuple(self.value(x) for x in v["__tuple__"])
        if "__dict__" in v:
            return {k: self.value(x) for k, x in v["__dict__"].items()}
        if "__float__" in v:
            return float(v["__float__"])
        if "__scalar__" in v:
            return np.dtype(v["__scalar__"]).type(self.value(v["value"]))
        if "__strarray__" in v:
            return np.array(v["__strarray__"], dtype=object).reshape(v["shape"])
        if "__estimator__" in v:
            return self.estimator(v)
        raise ModelFormatError(f"Unknown value in the model manifest: keys {sorted(v)}.")

    def estimator(self, spec):
        path = spec["__estimator__"]
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
        try:
            est = cls(**params)
        except TypeError as exc:
            raise ModelFormatError(f"Cannot rebuild {path} with the saved parameters: {exc}") from exc
        state = {k: self.value(v) for k, v in spec["state"].items()}
        if hasattr(est, "_n2d_set_state"):
            est._n2d_set_state(state)
        else:
            for k, v in state.items():
                setattr(est, k, v)
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
    except (OSError, ValueError, AttributeError):
        return False


def save_model(model, path, overwrite: bool = True) -> Path:
    """Save a fitted estimator to the directory ``path``.

    Everything is encoded in memory first, so an unsavable model raises before
    any file is touched. The directory is written under a temporary name beside
    ``path`` and renamed into place. An existing ``path`` is replaced only if it
    is an n2d model directory (or empty) and ``overwrite`` is true.

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
    tmp = path.parent / f".{path.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        save_file(enc.arrays, str(tmp / ARRAYS), metadata={"format": FORMAT})
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
            old = path.parent / f".{path.name}.old-{uuid.uuid4().hex[:8]}"
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return path


def load_model(path):
    """Load an estimator saved by :func:`save_model`.

    Raises
    ------
    ModelFormatError
        If ``path`` is not a model directory, is corrupted or truncated, or was
        written in a newer format than this n2d reads.
    """
    from safetensors.numpy import load_file

    path = Path(path)
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        raise ModelFormatError(f"{path} is not an n2d model directory: {MANIFEST} is missing.")
    try:
        manifest = json.loads(manifest_path.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelFormatError(f"{manifest_path} is corrupted or truncated (invalid JSON: {exc}).") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ModelFormatError(f"{path} is not an n2d model directory (manifest format is not {FORMAT!r}).")
    version = manifest.get("format_version")
    if not isinstance(version, int):
        raise ModelFormatError(f"{manifest_path} has no valid format_version; the model is corrupted.")
    if version > FORMAT_VERSION:
        saved_by = manifest.get("versions", {}).get("n2d", "a newer n2d")
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
    try:
        return _Decoder(arrays).estimator(manifest["model"])
    except ModelFormatError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFormatError(f"{manifest_path} is corrupted: {type(exc).__name__}: {exc}") from exc
