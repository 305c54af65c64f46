"""Clusterers for N2D's third stage.

Any object with ``fit_predict`` works as a stage; ``predict`` (and
``predict_proba``) are needed only for out-of-sample prediction. The named
stages come from scikit-learn: the paper's full-covariance Gaussian mixture,
k-means, spectral and agglomerative clustering.
"""

from __future__ import annotations

__all__ = ["CLUSTERERS", "GMM_N_INIT", "finds_k", "make_clusterer", "set_n_clusters"]

CLUSTERERS = ("gmm", "kmeans", "spectral", "agglomerative", "hdbscan")

GMM_N_INIT = 10
"""EM restarts of the default Gaussian mixture; the best by likelihood is kept.

The paper's reference code used scikit-learn's single start. One k-means start
is fragile on short-trained codes, where a start can merge two classes;
choosing among ten by likelihood uses no labels and costs little next to the
other stages (the docs' page "Reproducing the paper" has the figures).
"""


def make_clusterer(name: str, n_clusters: int | None = None, random_state=None, device=None):
    """Build a named clusterer for ``n_clusters`` clusters, for the torch ``device`` N2D runs on.

    ``"gmm"``: the paper's full-covariance Gaussian mixture with restarts (see
    :data:`GMM_N_INIT`): scikit-learn's ``GaussianMixture`` on the CPU and
    :class:`n2d.TorchGaussianMixture` on a GPU, the faster on each.
    ``"kmeans"``: k-means with 10 restarts. ``"spectral"``: spectral
    clustering on a 20-nearest-neighbour graph (no out-of-sample ``predict``).
    ``"agglomerative"``: Ward linkage (no ``predict``). ``"hdbscan"``:
    :class:`HDBSCANClusterer`, which finds the number of clusters itself
    (``n_clusters`` is ignored).
    """
    k = 8 if n_clusters is None else int(n_clusters)
    if name == "hdbscan":
        from n2d.cluster._hdbscan import HDBSCANClusterer

        return HDBSCANClusterer()
    if name == "gmm" and device is not None and str(device).startswith("cuda"):
        from n2d.cluster._gmm_torch import TorchGaussianMixture

        return TorchGaussianMixture(k, n_init=GMM_N_INIT, random_state=random_state, device=str(device))
    if name == "gmm":
        from sklearn.mixture import GaussianMixture

        return GaussianMixture(n_components=k, covariance_type="full", n_init=GMM_N_INIT, random_state=random_state)
    if name == "kmeans":
        from sklearn.cluster import KMeans

        return KMeans(n_clusters=k, n_init=10, random_state=random_state)
    if name == "spectral":
        from sklearn.cluster import SpectralClustering

        return SpectralClustering(
            n_clusters=k, affinity="nearest_neighbors", n_neighbors=20, assign_labels="cluster_qr",
            random_state=random_state,
        )
    if name == "agglomerative":
        from sklearn.cluster import AgglomerativeClustering

        return AgglomerativeClustering(n_clusters=k)
    raise ValueError(f"Unknown clusterer {name!r}; expected one of {CLUSTERERS} or an object with fit_predict.")


def finds_k(estimator) -> bool:
    """True for a clusterer that finds the number of clusters itself (n2d's HDBSCAN stage)."""
    from n2d.cluster._hdbscan import HDBSCANClusterer

    return isinstance(estimator, HDBSCANClusterer)


def set_n_clusters(estimator, n_clusters: int):
    """Set the cluster count on a clusterer, whichever name its parameter has.

    Mixtures call it ``n_components``, most clusterers ``n_clusters``. Returns
    the name that was set, or None if the estimator has neither.
    """
    params = estimator.get_params(deep=False) if hasattr(estimator, "get_params") else {}
    for name in ("n_clusters", "n_components"):
        if name in params:
            estimator.set_params(**{name: int(n_clusters)})
            return name
    return None
