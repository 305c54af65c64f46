"""Encoding a fitted estimator into JSON values and arrays, and decoding it back without pickle.

Values are JSON; arrays become references into the safetensors file; an
estimator becomes its class path, constructor parameters and fitted state.
Decoding imports classes only from ``n2d`` and ``sklearn`` and only subclasses
of scikit-learn's ``BaseEstimator``, and checks each estimator's state before it
is built (:mod:`n2d.persistence._state`).
"""

from __future__ import annotations

import importlib
import math

import numpy as np
from sklearn.base import BaseEstimator

from n2d._util.names import class_path
from n2d.exceptions import ModelFormatError
from n2d.persistence._state import validate_state

_ALLOWED_MODULES = ("n2d", "sklearn")
_NUMERIC_KINDS = "biuf"

MOVED = {
    "n2d._umap_torch.TorchUMAP": "n2d.manifold.TorchUMAP",
    "n2d._gmm_torch.TorchGaussianMixture": "n2d.cluster.TorchGaussianMixture",
    "n2d._hdbscan.HDBSCANClusterer": "n2d.cluster.HDBSCANClusterer",
}
"""Class paths that manifests written before n2d's package layout name, and where those classes live now.

Manifests written since name classes by their package (:func:`n2d._util.names.class_path`),
which does not change when private modules move.
"""


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
        path = class_path(cls)
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
        if not isinstance(spec.get("params"), dict) or not isinstance(spec.get("state"), dict):
            raise ModelFormatError(
                f"The manifest entry of {spec.get('__estimator__')!r} needs 'params' and 'state' objects."
            )
        path = spec["__estimator__"]
        if not isinstance(path, str):
            raise ModelFormatError(f"The manifest names a class by {path!r}; class paths are strings.")
        module, _, name = MOVED.get(path, path).rpartition(".")
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
