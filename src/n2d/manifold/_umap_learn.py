"""umap-learn's UMAP as an N2D stage.

:class:`UMAP` fits with umap-learn itself and keeps the arrays that UMAP's
out-of-sample placement needs (training data, embedding, curve parameters),
so a fitted model can be saved without pickle and reloaded with identical
predictions; placement is the torch UMAP's (the shared base in
:mod:`n2d.manifold._torch_umap`).
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import torch
from scipy.sparse import coo_matrix
from sklearn.neighbors import NearestNeighbors
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from n2d._util.checks import seed_from
from n2d._util.threads import keep_torch_threads
from n2d.exceptions import N2DWarning
from n2d.manifold._base import UMAPBase
from n2d.manifold._transform import _weighted_mean_init

log = logging.getLogger(__name__)

__all__ = ["UMAP"]

_INT32_MIN, _INT32_MAX = np.iinfo(np.int32).min + 1, np.iinfo(np.int32).max - 1


class UMAP(UMAPBase):
    """UMAP manifold stage (umap-learn for fitting, array-based out-of-sample placement).

    Parameters
    ----------
    n_components : int, default=None
        Embedding dimension. ``None`` is resolved by :class:`n2d.N2D` to its
        ``n_clusters`` (the paper's choice); standalone, ``None`` means 2.
    n_neighbors : int, default=20
        Size of the local neighbourhood. Larger values give a more global view;
        2 to 100 is the usual range. N2D uses 20. Clipped to ``n_samples - 1``.
    min_dist : float, default=0.0
        Minimum spacing of embedded points. N2D uses 0, which packs clusters
        tightly: good for clustering, not for display.
    metric : {"euclidean", "manhattan", "cosine"}, default="euclidean"
    n_epochs : int, default=None
        Layout epochs; ``None`` lets umap-learn choose (500 for small, 200 for
        large data). Out-of-sample placement runs a third of that (100 or 30 by
        default), as umap-learn does.
    learning_rate : float, default=1.0
    negative_sample_rate : int, default=5
    repulsion_strength : float, default=1.0
    local_connectivity : float, default=1.0
    random_state : int, RandomState or None, default=None
        An int makes the layout reproducible but single-threaded (umap-learn's
        rule); ``None`` uses all cores.
    verbose : int, default=0

    Attributes
    ----------
    embedding_ : ndarray of shape (n_samples, n_components), float32
        The embedding of the training data.
    fit_data_ : ndarray of shape (n_samples, n_features), float32
        The training data, kept for out-of-sample placement.
    a_, b_ : float
        The fitted low-dimensional similarity curve ``1 / (1 + a d^(2b))``.
    n_neighbors_ : int
        ``n_neighbors`` after clipping to the data size.
    transform_seed_ : int
        Seed of the out-of-sample refinement, so ``transform`` is deterministic.
    n_features_in_ : int
    """

    _METRICS = frozenset({"euclidean", "manhattan", "cosine"})
    _TRANSIENT = ("_nn_index",)

    def fit(self, X, y=None):
        """Fit the UMAP embedding of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        self : object
        """
        X_in = X
        X = validate_data(self, X, dtype=np.float32, ensure_min_samples=2)
        self._check_params()
        X = np.ascontiguousarray(X, dtype=np.float32)
        n = X.shape[0]
        k = min(self.n_neighbors, n - 1)
        if k < self.n_neighbors:
            warnings.warn(
                f"n_neighbors={self.n_neighbors} is not below the number of samples ({n}); using {k}.",
                N2DWarning,
                stacklevel=2,
            )
        n_components = 2 if self.n_components is None else int(self.n_components)
        seed = seed_from(self.random_state)

        import umap  # deferred: importing umap-learn compiles numba code

        with warnings.catch_warnings(), keep_torch_threads():
            # Tiny inputs make umap-learn fall back from spectral to random
            # initialisation, and it warns that spectral init failed; harmless here.
            warnings.filterwarnings("ignore", message=".*[Ss]pectral initialisation failed.*")
            warnings.filterwarnings("ignore", message=".*Graph is not fully connected.*")
            reducer = umap.UMAP(
                n_components=n_components,
                n_neighbors=k,
                min_dist=self.min_dist,
                metric=self.metric,
                n_epochs=self.n_epochs,
                learning_rate=self.learning_rate,
                negative_sample_rate=self.negative_sample_rate,
                repulsion_strength=self.repulsion_strength,
                local_connectivity=self.local_connectivity,
                random_state=seed,
                n_jobs=1 if seed is not None else -1,
                verbose=bool(self.verbose),
            )
            embedding = reducer.fit_transform(X)
        self.embedding_ = np.ascontiguousarray(embedding, dtype=np.float32)
        self.fit_data_ = X.copy() if np.shares_memory(X, X_in) else X  # never alias the caller's array
        self.a_ = float(reducer._a)
        self.b_ = float(reducer._b)
        self.n_neighbors_ = int(k)
        self.transform_seed_ = int(check_random_state(seed).randint(0, 2**31 - 1))
        self._nn_index = None
        return self

    def _neighbors(self) -> NearestNeighbors:
        # Built on first use and not saved: it is cheap to rebuild from fit_data_.
        if getattr(self, "_nn_index", None) is None:
            self._nn_index = NearestNeighbors(n_neighbors=self.n_neighbors_, metric=self.metric).fit(self.fit_data_)
        return self._nn_index

    def transform(self, X):
        """Place new points in the fitted embedding, the way umap-learn does.

        For each new point: its ``n_neighbors`` nearest training points (exact),
        UMAP's membership weights to them, a start at the weighted mean of their
        embedded positions (or at a training point it duplicates), then a short
        stochastic refinement against the fixed training embedding. Deterministic
        for a fitted model. Placing the training data itself reproduces its
        embedding closely but not exactly.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components), float32
        """
        check_is_fitted(self, "embedding_")
        X = validate_data(self, X, dtype=np.float32, reset=False)
        X = np.ascontiguousarray(X, dtype=np.float32)
        from umap.layouts import optimize_layout_euclidean
        from umap.umap_ import (
            compute_membership_strengths,
            make_epochs_per_sample,
            smooth_knn_dist,
        )

        dists, indices = self._neighbors().kneighbors(X)
        dists = np.ascontiguousarray(dists, dtype=np.float32)
        indices = np.ascontiguousarray(indices, dtype=np.int64)
        sigmas, rhos = smooth_knn_dist(
            dists, float(self.n_neighbors_), local_connectivity=float(max(0.0, self.local_connectivity - 1.0))
        )
        rows, cols, vals, _ = compute_membership_strengths(indices, dists, sigmas, rhos, bipartite=True)
        weights = vals.reshape(indices.shape).astype(np.float32)
        embedding = _weighted_mean_init(
            torch.from_numpy(weights), torch.from_numpy(indices), torch.from_numpy(self.embedding_)
        ).numpy()

        n_train = self.embedding_.shape[0]
        if self.n_epochs is None:
            n_epochs = 100 if X.shape[0] <= 10000 else 30
        else:
            n_epochs = max(1, int(self.n_epochs // 3))
        graph = coo_matrix((vals, (rows, cols)), shape=(X.shape[0], n_train))
        graph.sum_duplicates()
        graph.data[graph.data < graph.data.max() / float(n_epochs)] = 0.0
        graph.eliminate_zeros()
        epochs_per_sample = make_epochs_per_sample(graph.data, n_epochs)
        rng_state = check_random_state(self.transform_seed_).randint(_INT32_MIN, _INT32_MAX, 3).astype(np.int64)
        with keep_torch_threads():
            embedding = optimize_layout_euclidean(
                embedding,
                self.embedding_.copy(),
                graph.row,
                graph.col,
                n_epochs,
                n_train,
                epochs_per_sample,
                self.a_,
                self.b_,
                rng_state,
                gamma=self.repulsion_strength,
                initial_alpha=self.learning_rate / 4.0,
                negative_sample_rate=self.negative_sample_rate,
                parallel=False,
                verbose=False,
            )
        return np.ascontiguousarray(embedding, dtype=np.float32)
