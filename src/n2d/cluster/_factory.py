"""Clusterers for N2D's third stage.

Any object with ``fit_predict`` works as a stage; ``predict`` (and
``predict_proba``) are needed only for out-of-sample prediction. The named
stages come from scikit-learn: the paper's full-covariance Gaussian mixture,
k-means, spectral and agglomerative clustering.
"""

from __future__ import annotations

__all__ = ["CLUSTERERS", "GMM_N_INIT", "consensus_choice", "finds_k", "fit_predict", "make_clusterer", "set_n_clusters"]

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


def fit_predict(clusterer, X, *, progress: bool = False):
    """Fit the clusterer stage on the embedding ``X`` and return its labels.

    Narrow data runs with one BLAS/OpenMP thread (:func:`n2d._util.threads.narrow_work_limits`).
    With ``progress``, a scikit-learn ``GaussianMixture`` with several starts
    shows a bar over its starts: they run one at a time, sharing one random
    generator, and the best by likelihood is kept, exactly as
    ``GaussianMixture(n_init=...)`` does it, so the fitted mixture and labels
    are the same.
    """
    from n2d._util.threads import narrow_work_limits

    with narrow_work_limits(X.shape[1]):
        if progress and _is_sklearn_gmm(clusterer) and clusterer.n_init > 1:
            return _gmm_starts_with_progress(clusterer, X)
        return clusterer.fit_predict(X)


def _is_sklearn_gmm(est) -> bool:
    from sklearn.mixture import GaussianMixture

    return type(est) is GaussianMixture


def _gmm_starts_with_progress(gmm, X):
    import warnings

    import numpy as np
    from sklearn.base import clone
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.utils import check_random_state
    from tqdm.auto import tqdm

    rng = check_random_state(gmm.random_state)  # one generator, consumed start after start, as sklearn does
    best, best_bound, best_labels = None, -np.inf, None
    bar = tqdm(range(gmm.n_init), desc="mixture starts", unit="start", leave=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # judged once, on the kept start, below
        for _ in bar:
            one = clone(gmm).set_params(n_init=1, random_state=rng)
            labels = one.fit_predict(X)
            if best is None or one.lower_bound_ > best_bound:
                best, best_bound, best_labels = one, one.lower_bound_, labels
            bar.set_postfix(best=f"{best_bound:.4f}")
    bar.close()
    if not best.converged_:
        warnings.warn(
            "Best performing initialization did not converge. Try different init parameters, or increase "
            "max_iter, tol, or check for degenerate data.", ConvergenceWarning, stacklevel=3,
        )
    for name, value in vars(best).items():
        if name.endswith("_") and not name.startswith("_"):
            setattr(gmm, name, value)
    return best_labels


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


def consensus_choice(labelings):
    """Pick, among several clusterings of the same points, the one that agrees most with the rest.

    Agreement is the adjusted Rand index, which needs no true labels and
    ignores cluster numbering. A run that went wrong (two classes merged, one
    split) disagrees with the runs that did not, so the medoid of the runs is a
    label-free choice that is robust to a minority of bad runs.

    Parameters
    ----------
    labelings : sequence of array-like of shape (n_samples,)
        At least one clustering.

    Returns
    -------
    best : int
        Index of the chosen clustering (the first on ties).
    scores : ndarray of shape (n_labelings,)
        Mean ARI of each clustering to the others (1.0 for a single one).
    """
    import numpy as np
    from sklearn.metrics import adjusted_rand_score

    labelings = [np.asarray(lab).ravel() for lab in labelings]
    if not labelings:
        raise ValueError("consensus_choice needs at least one clustering; got none.")
    n = len(labelings[0])
    if any(len(lab) != n for lab in labelings):
        raise ValueError(f"All clusterings must label the same points; got lengths {[len(lab) for lab in labelings]}.")
    r = len(labelings)
    if r == 1:
        return 0, np.ones(1)
    agree = np.eye(r)
    for i in range(r):
        for j in range(i + 1, r):
            agree[i, j] = agree[j, i] = adjusted_rand_score(labelings[i], labelings[j])
    scores = (agree.sum(axis=1) - 1.0) / (r - 1)
    return int(np.argmax(scores)), scores
