"""Checks of a saved estimator's parameters and fitted arrays, before anything is built from them.

:func:`n2d.persistence.load_model` decodes each estimator's parameters and
state from the manifest and calls :func:`validate_state` before it constructs
the estimator. A manifest is data from a file, so nothing in it is trusted:
layer widths must be positive ints, and every array must have the dtype and the
shape that the parameters and the other arrays imply (an autoencoder's weights
the shapes of its declared architecture, a mixture's means ``(k, d)``, a UMAP's
training data as many rows as its embedding). A network is therefore never
allocated from sizes that its weights do not back, and predict never meets an
array of the wrong shape later. Every failure is a
:class:`~n2d.exceptions.ModelFormatError` naming the estimator, the attribute,
what it is and what was expected.

Each n2d estimator owns its rules: a classmethod
``_n2d_check_state(params, state, check)`` beside its ``_n2d_get_state`` /
``_n2d_set_state`` hooks, given a :class:`StateChecker`. This module holds the
rules for the scikit-learn classes N2D uses by name (Gaussian mixture,
k-means) and imports nothing from the stages. Any other allow-listed estimator
gets the generic check (``n_features_in_`` a positive int).
"""

from __future__ import annotations

import math

import numpy as np

from n2d.exceptions import ModelFormatError

__all__ = ["StateChecker", "check_mixture_state", "validate_state"]


def validate_state(cls: type, params: dict, state: dict, where: str) -> None:
    """Raise :class:`ModelFormatError` unless ``state`` is consistent with ``params`` for ``cls``.

    Parameters
    ----------
    cls : type
        The estimator class (already checked to be allow-listed).
    params : dict
        Decoded constructor parameters.
    state : dict
        Decoded fitted attributes (arrays are numpy arrays; nested estimators
        are already built and validated).
    where : str
        The class path, for messages.
    """
    check = StateChecker(where)
    if "n_features_in_" in state:
        check.int_("n_features_in_", state["n_features_in_"], low=1)
    own = getattr(cls, "_n2d_check_state", None)
    if own is not None:
        own(params, state, check)
    for base, fn in _sklearn_checks():
        if issubclass(cls, base):
            fn(check, params, state)


def _sklearn_checks():
    from sklearn.cluster import KMeans
    from sklearn.mixture import GaussianMixture

    return ((GaussianMixture, check_mixture_state), (KMeans, _check_kmeans))


class StateChecker:
    def __init__(self, where: str):
        self.where = where

    def fail(self, what: str):
        raise ModelFormatError(f"Cannot load {self.where}: {what}; the model is corrupted or was edited.")

    def int_(self, name, value, low=None):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or (low is not None and value < low):
            self.fail(f"{name} is {value!r}, expected an int" + (f" >= {low}" if low is not None else ""))
        return int(value)

    def float_(self, name, value):
        number = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
        if not number or not math.isfinite(value):
            self.fail(f"{name} is {value!r}, expected a finite number")
        return float(value)

    def dims(self, name, value):
        ok = isinstance(value, (tuple, list)) and all(
            not isinstance(d, bool) and isinstance(d, (int, np.integer)) and d >= 1 for d in value
        )
        if not ok:
            self.fail(f"{name} is {value!r}, expected a tuple of positive ints")
        return [int(d) for d in value]

    def array(self, name, value, shape, kinds="f", finite=True):
        """Check an array's kind and shape; ``None`` in ``shape`` matches any size. Returns the shape."""
        if not isinstance(value, np.ndarray):
            self.fail(f"{name} is a {type(value).__name__}, expected an array")
        if value.dtype.kind not in kinds:
            expected = {"f": "floating-point", "iu": "integer", "biu": "integer"}.get(kinds, kinds)
            self.fail(f"{name} has dtype {value.dtype}, expected {expected}")
        if value.ndim != len(shape) or any(s is not None and s != v for s, v in zip(shape, value.shape)):
            sizes = ", ".join("any" if s is None else str(s) for s in shape)
            want = "(" + sizes + ("," if len(shape) == 1 else "") + ")"
            self.fail(f"{name} has shape {value.shape}, expected {want}")
        if finite and value.dtype.kind == "f" and not np.isfinite(value).all():
            self.fail(f"{name} contains NaN or inf")
        return value.shape


def _mixture_shapes(cov_type, k, d):
    return {
        "full": (k, d, d),
        "tied": (d, d),
        "diag": (k, d),
        "spherical": (k,),
    }.get(cov_type)


def check_mixture_state(check: StateChecker, params: dict, state: dict) -> None:
    """A Gaussian mixture's weights, means and covariances: shapes from k, the width and the covariance type."""
    if "means_" not in state:
        return
    k = check.int_("n_components", params.get("n_components"), low=1)
    d = check.int_("n_features_in_", state.get("n_features_in_"), low=1)
    cov_type = params.get("covariance_type", "full")
    cov_shape = _mixture_shapes(cov_type, k, d)
    if cov_shape is None:
        check.fail(f"covariance_type is {cov_type!r}, expected 'full', 'tied', 'diag' or 'spherical'")
    weights = state.get("weights_")
    check.array("weights_", weights, (k,))
    if (weights < 0).any():
        check.fail("weights_ has negative entries")
    check.array("means_", state["means_"], (k, d))
    for name in ("covariances_", "precisions_cholesky_", "precisions_"):
        if name in state or name == "precisions_cholesky_":
            check.array(name, state.get(name), cov_shape)


def _check_kmeans(check: StateChecker, params: dict, state: dict) -> None:
    if "cluster_centers_" not in state:
        return
    k = check.int_("n_clusters", params.get("n_clusters"), low=1)
    d = check.int_("n_features_in_", state.get("n_features_in_"), low=1)
    check.array("cluster_centers_", state["cluster_centers_"], (k, d))
    if "labels_" in state:
        check.array("labels_", state["labels_"], (None,), kinds="iu")
