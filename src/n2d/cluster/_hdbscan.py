"""HDBSCAN as N2D's clusterer: it finds the number of clusters itself and marks noise.

UMAP's documentation recommends UMAP followed by HDBSCAN for clustering; this
wraps scikit-learn's :class:`sklearn.cluster.HDBSCAN` so that it also places
new points, which scikit-learn's does not.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["HDBSCANClusterer", "MIN_CLUSTER_FRACTION"]

MIN_CLUSTER_FRACTION = 0.005
"""``min_cluster_size=None`` resolves to this fraction of the rows (at least 5)."""


class HDBSCANClusterer(ClusterMixin, BaseEstimator):
    """Density clustering of the manifold with scikit-learn's HDBSCAN, plus ``predict``.

    Parameters
    ----------
    min_cluster_size : int or None, default=None
        Smallest group HDBSCAN calls a cluster. ``None`` is half a percent of
        the rows (at least 5): about 50 points on 10,000 and 350 on 70,000,
        so that the dozens of tiny dense fragments UMAP leaves (it was run
        with ``min_dist=0``) are not counted as clusters.
    min_samples : int or None, default=None
        Neighbourhood size of HDBSCAN's core distance (``None``: as
        ``min_cluster_size``, scikit-learn's rule).

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        Cluster of each training point; ``-1`` is noise (no cluster).
    n_clusters_ : int
        Number of clusters found (noise excluded).
    noise_fraction_ : float
        Share of the training points labelled ``-1``.
    clustered_points_, clustered_labels_ : ndarray
        The training points that are in a cluster and their labels: what
        :meth:`predict` compares new points with.

    Notes
    -----
    **Prediction.** scikit-learn's HDBSCAN cannot place new points. Here a new
    point gets the cluster of its nearest clustered (non-noise) training
    point in the manifold, so ``predict`` never returns ``-1``, and
    ``predict`` on the training points gives their cluster, or the nearest
    cluster for noise points. ``predict_proba`` is not available.
    """

    def __init__(self, min_cluster_size=None, min_samples=None):
        self.min_cluster_size = min_cluster_size
        self.min_samples = min_samples

    def _resolved_min_cluster_size(self, n: int) -> int:
        if self.min_cluster_size is None:
            return max(5, int(round(MIN_CLUSTER_FRACTION * n)))
        return int(self.min_cluster_size)

    def _check_params(self):
        from n2d._util.checks import check_int

        check_int(self, "min_cluster_size", self.min_cluster_size, 2, allow_none=True)
        check_int(self, "min_samples", self.min_samples, 1, allow_none=True)

    @classmethod
    def _n2d_check_state(cls, params: dict, state: dict, check) -> None:
        """Load-time rules: predict compares new points with the clustered points (same count, labels in range)."""
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

    def fit(self, X, y=None):
        """Cluster ``X``; noise gets ``-1``."""
        from sklearn.cluster import HDBSCAN

        self._check_params()
        X = validate_data(self, X, dtype=[np.float64, np.float32], ensure_min_samples=2)
        size = self._resolved_min_cluster_size(X.shape[0])
        if size > X.shape[0]:
            raise ValueError(
                f"min_cluster_size={size} is larger than the {X.shape[0]} samples; use at most {X.shape[0]}."
            )
        hdb = HDBSCAN(min_cluster_size=size, min_samples=self.min_samples, copy=True)
        labels = hdb.fit_predict(X).astype(np.int64)
        self.labels_ = labels
        self.n_clusters_ = int(labels.max() + 1) if (labels >= 0).any() else 0
        self.noise_fraction_ = float(np.mean(labels < 0))
        keep = labels >= 0
        self.clustered_points_ = np.ascontiguousarray(X[keep], dtype=np.float32)
        self.clustered_labels_ = labels[keep]
        return self

    def fit_predict(self, X, y=None):
        return self.fit(X).labels_

    def predict(self, X):
        """Cluster of the nearest clustered training point (never ``-1``)."""
        from scipy.spatial import cKDTree

        check_is_fitted(self, "labels_")
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        if self.clustered_points_.shape[0] == 0:
            raise ValueError(
                "HDBSCAN found no cluster in the training data (every point is noise), so new points "
                "cannot be placed; lower min_cluster_size."
            )
        _, nearest = cKDTree(self.clustered_points_).query(X, k=1)
        return self.clustered_labels_[nearest]
