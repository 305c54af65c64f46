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

Only n2d's own estimators and the scikit-learn ones N2D uses by name (Gaussian
mixture, k-means) have specific checks; any other allow-listed estimator gets
the generic ones (``n_features_in_`` a positive int).
"""

from __future__ import annotations

import math

import numpy as np

from .exceptions import ModelFormatError

__all__ = ["validate_state"]


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
    check = _Checker(where)
    if "n_features_in_" in state:
        check.int_("n_features_in_", state["n_features_in_"], low=1)
    for base, fn in _checks():
        if issubclass(cls, base):
            fn(check, params, state)


def _checks():
    from sklearn.cluster import KMeans
    from sklearn.mixture import GaussianMixture

    from ._gmm_torch import TorchGaussianMixture
    from ._hdbscan import HDBSCANClusterer
    from ._umap_torch import UMAPBase
    from .autoencoder import Autoencoder
    from .estimator import N2D

    return (
        (Autoencoder, _check_autoencoder),
        (UMAPBase, _check_umap),
        (GaussianMixture, _check_mixture),
        (TorchGaussianMixture, _check_mixture),
        (KMeans, _check_kmeans),
        (HDBSCANClusterer, _check_hdbscan),
        (N2D, _check_n2d),
    )


class _Checker:
    def __init__(self, where: str):
        self.where = where

    def fail(self, what: str):
        raise ModelFormatError(f"Cannot load {self.where}: {what}; the model is corrupted or was edited.")

    def int_(self, name, value, low=None):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or (low is not None and value < low):
            self.fail(f"{name} is {value!r}, expected an int" + (f" >= {low}" if low is not None else ""))
        return int(value)

    def float_(self, name, value):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not math.isfinite(value):
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
            want = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
            self.fail(f"{name} has shape {value.shape}, expected {want}")
        if finite and value.dtype.kind == "f" and not np.isfinite(value).all():
            self.fail(f"{name} contains NaN or inf")
        return value.shape


def _check_autoencoder(check: _Checker, params: dict, state: dict) -> None:
    """The weights must be exactly those of the declared architecture: checked on torch's meta device (no memory)."""
    import torch

    from ._networks import MLPAutoencoder

    hidden = check.dims("hidden_dims", params.get("hidden_dims"))
    if params.get("n_components") is not None:
        check.int_("n_components", params["n_components"], low=1)
    weights = state.get("module_state_")
    if weights is None:
        return  # an unfitted stage (a parameter of N2D)
    if not isinstance(weights, dict):
        check.fail(f"module_state_ is a {type(weights).__name__}, expected a mapping of weight names to arrays")
    n_features = check.int_("n_features_in_", state.get("n_features_in_"), low=1)
    n_components = check.int_("n_components", params.get("n_components"), low=1)
    with torch.device("meta"):
        expected = {k: tuple(v.shape) for k, v in MLPAutoencoder(n_features, hidden, n_components).state_dict().items()}
    missing, extra = sorted(set(expected) - set(weights)), sorted(set(weights) - set(expected))
    if missing or extra:
        check.fail(
            f"its weights do not fit the architecture {n_features}-{'-'.join(map(str, hidden))}-{n_components} "
            f"(missing {missing[:4]}, unexpected {extra[:4]})"
        )
    for name, shape in expected.items():
        check.array(f"weight {name}", weights[name], shape)
    if "history_" in state and not (
        isinstance(state["history_"], list) and all(isinstance(h, (int, float)) for h in state["history_"])
    ):
        check.fail("history_ is not a list of numbers")


def _check_umap(check: _Checker, params: dict, state: dict) -> None:
    if "embedding_" not in state:
        return
    n, c = check.array("embedding_", state["embedding_"], (None, None))
    if params.get("n_components") is not None and c != check.int_("n_components", params["n_components"], low=1):
        check.fail(f"embedding_ has {c} columns but n_components is {params['n_components']}")
    d = state.get("n_features_in_")
    check.array("fit_data_", state.get("fit_data_"), (n, d))
    if n < 2:
        check.fail(f"embedding_ has {n} rows, expected at least 2")
    k = check.int_("n_neighbors_", state.get("n_neighbors_"), low=1)
    if k >= n:
        check.fail(f"n_neighbors_ is {k}, but the training data has only {n} rows")
    check.float_("a_", state.get("a_"))
    check.float_("b_", state.get("b_"))
    check.int_("transform_seed_", state.get("transform_seed_"), low=0)


def _mixture_shapes(cov_type, k, d):
    return {
        "full": (k, d, d),
        "tied": (d, d),
        "diag": (k, d),
        "spherical": (k,),
    }.get(cov_type)


def _check_mixture(check: _Checker, params: dict, state: dict) -> None:
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


def _check_kmeans(check: _Checker, params: dict, state: dict) -> None:
    if "cluster_centers_" not in state:
        return
    k = check.int_("n_clusters", params.get("n_clusters"), low=1)
    d = check.int_("n_features_in_", state.get("n_features_in_"), low=1)
    check.array("cluster_centers_", state["cluster_centers_"], (k, d))
    if "labels_" in state:
        check.array("labels_", state["labels_"], (None,), kinds="iu")


def _check_hdbscan(check: _Checker, params: dict, state: dict) -> None:
    """Prediction compares new points with the clustered training points: same count, labels in range."""
    if "labels_" not in state and "clustered_points_" not in state:
        return  # unfitted
    d = check.int_("n_features_in_", state.get("n_features_in_"), low=1)
    m, _ = check.array("clustered_points_", state["clustered_points_"], (None, d))
    (m2,) = check.array("clustered_labels_", state.get("clustered_labels_"), (None,), kinds="iu")
    if m2 != m:
        check.fail(f"clustered_labels_ has {m2} entries but clustered_points_ has {m} rows")
    k = check.int_("n_clusters_", state.get("n_clusters_"), low=0)
    labels = state["clustered_labels_"]
    if m and (labels.min() < 0 or labels.max() >= k):
        check.fail(f"clustered_labels_ must lie in [0, {k}) (n_clusters_ = {k})")


def _check_n2d(check: _Checker, params: dict, state: dict) -> None:
    """The stages must chain: input width, code width, manifold rows and width, clusterer input."""
    if params.get("n_clusters") != "auto":
        check.int_("n_clusters", params.get("n_clusters"), low=2)
    if "labels_" not in state:
        return
    (n,) = check.array("labels_", state["labels_"], (None,), kinds="iu")
    if "k_candidates_" in state:
        (m,) = check.array("k_candidates_", state["k_candidates_"], (None,), kinds="iu")
        check.array("k_scores_", state.get("k_scores_"), (m,), finite=False)
        for name, scores in (state.get("k_all_scores_") or {}).items():
            check.array(f"k_all_scores_[{name!r}]", scores, (m,), finite=False)
    _, width = check.array("embedding_", state.get("embedding_"), (n, None))
    d = check.int_("n_features_in_", state.get("n_features_in_"), low=1)
    if "init_scores_" in state:
        (n_runs,) = check.array("init_scores_", state["init_scores_"], (None,))
        if "best_init_" in state and check.int_("best_init_", state["best_init_"], low=0) >= n_runs:
            check.fail(f"best_init_ is {state['best_init_']}, but init_scores_ has only {n_runs} runs")
    encoder, manifold, clusterer = (state.get(s) for s in ("autoencoder_", "manifold_", "clusterer_"))
    code_width = d
    if encoder is not None:
        if getattr(encoder, "n_features_in_", d) != d:
            check.fail(f"autoencoder_ takes {encoder.n_features_in_} features but the model takes {d}")
        code_width = getattr(encoder, "n_components", None) or getattr(encoder, "n_components_", None)
    if manifold is not None:
        m_in = getattr(manifold, "n_features_in_", None)
        if code_width is not None and m_in is not None and m_in != code_width:
            check.fail(f"manifold_ takes {m_in} features but the code before it has {code_width}")
        m_emb = getattr(manifold, "embedding_", None)
        # The manifold was fitted on all n rows, or on the fit sample (fit_sample_size_ of them).
        m_rows = n
        if "fit_sample_size_" in state:
            m_rows = check.int_("fit_sample_size_", state["fit_sample_size_"], low=2)
            if m_rows > n:
                check.fail(f"fit_sample_size_ is {m_rows}, more than the {n} training rows")
        if isinstance(m_emb, np.ndarray) and m_emb.shape not in ((n, width), (m_rows, width)):
            check.fail(
                f"manifold_.embedding_ has shape {m_emb.shape} but the model's embedding_ has {(n, width)}"
                + (f" and its fit sample {m_rows} rows" if m_rows != n else "")
            )
    elif code_width is not None and width != code_width:
        check.fail(f"embedding_ has {width} columns but the code has {code_width}")
    c_in = getattr(clusterer, "n_features_in_", None)
    if clusterer is not None and c_in is not None and c_in != width:
        check.fail(f"clusterer_ takes {c_in} features but the embedding has {width}")
