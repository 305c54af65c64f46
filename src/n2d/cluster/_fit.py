"""Fitting the clusterer stage: narrow-data thread limits, a bar over a mixture's starts, covariance retries.

A full-covariance mixture fails when a component's covariance is singular:
points collapsed onto a point or a flat patch of the embedding (UMAP with
``min_dist=0`` packs groups tightly, and an embedding as wide as many clusters
leaves few points per dimension). Rather than fail, :func:`fit_predict` refits
with a larger ``reg_covar`` (the ridge added to every covariance's diagonal)
on the documented schedule :data:`REG_COVAR_FACTOR` x :data:`REG_COVAR_RETRIES`,
warns with the value used and leaves it in the clusterer's parameters, where
N2D records it (``adjustments_``). What still fails is a
:class:`~n2d.exceptions.StageError` that names the stage and what to change.
"""

from __future__ import annotations

import warnings

import numpy as np

from n2d._util.threads import narrow_work_limits
from n2d.exceptions import AdjustmentWarning, StageError

__all__ = ["REG_COVAR_FACTOR", "REG_COVAR_RETRIES", "fit_predict"]

REG_COVAR_FACTOR = 10.0
"""Each retry multiplies the mixture's ``reg_covar`` by this."""

REG_COVAR_RETRIES = 5
"""Retries at most: from scikit-learn's default 1e-6, the last try uses 0.1 (small next to UMAP's unit scale)."""

_SINGULAR = "ill-defined empirical covariance"  # scikit-learn's message, which n2d's torch mixture repeats


def fit_predict(clusterer, X, *, progress: bool = False):
    """Fit the clusterer stage on the embedding ``X`` and return its labels.

    Narrow data runs with one BLAS/OpenMP thread (:func:`n2d._util.threads.narrow_work_limits`).
    With ``progress``, a scikit-learn ``GaussianMixture`` with several starts
    shows a bar over its starts: they run one at a time, sharing one random
    generator, and the best by likelihood is kept, exactly as
    ``GaussianMixture(n_init=...)`` does it, so the fitted mixture and labels
    are the same. A mixture whose covariances turn singular is refitted with
    a larger ``reg_covar`` (see the module's documentation).
    """
    with narrow_work_limits(X.shape[1]):
        tried = []
        while True:
            try:
                labels = _fit_once(clusterer, X, progress)
                break
            except (ValueError, np.linalg.LinAlgError) as exc:
                if not (_singular(exc) and _has_reg_covar(clusterer)):
                    raise
                if len(tried) == REG_COVAR_RETRIES:
                    raise _stage_error(clusterer, X, tried) from exc
                tried.append(float(clusterer.reg_covar))
                clusterer.set_params(reg_covar=float(f"{tried[-1] * REG_COVAR_FACTOR:.12g}"))  # 1e-5, not 9.99e-6
    if tried:
        warnings.warn(
            f"The clusterer stage ({type(clusterer).__name__}) found singular covariances with reg_covar="
            f"{tried[0]:g} (points collapsed onto each other in the {X.shape[1]}-dimensional embedding) and was "
            f"refitted with reg_covar={clusterer.reg_covar:g}. Set the clusterer's reg_covar yourself, or lower "
            "n_clusters or the manifold's n_components, to choose otherwise.",
            AdjustmentWarning, stacklevel=2,
        )
    return labels


def _fit_once(clusterer, X, progress):
    if progress and _is_sklearn_gmm(clusterer) and clusterer.n_init > 1:
        return _gmm_starts_with_progress(clusterer, X)
    return clusterer.fit_predict(X)


def _singular(exc: BaseException) -> bool:
    return isinstance(exc, np.linalg.LinAlgError) or _SINGULAR in str(exc)


def _has_reg_covar(clusterer) -> bool:
    params = clusterer.get_params(deep=False) if hasattr(clusterer, "get_params") else {}
    return isinstance(params.get("reg_covar"), (int, float)) and params["reg_covar"] >= 0


def _stage_error(clusterer, X, tried) -> StageError:
    n, d = X.shape
    k = getattr(clusterer, "n_components", None)
    return StageError(
        f"The clusterer stage ({type(clusterer).__name__}) failed: its covariances stayed singular with reg_covar "
        f"from {tried[0]:g} up to {clusterer.reg_covar:g} ({n} points in {d} dimensions"
        + (f", {k} components" if k else "") + "; points collapsed onto each other). Lower n_clusters or the "
        "manifold's n_components, raise the clusterer's reg_covar, or use covariance_type='diag'."
    )


def _is_sklearn_gmm(est) -> bool:
    from sklearn.mixture import GaussianMixture

    return type(est) is GaussianMixture


def _gmm_starts_with_progress(gmm, X):
    from sklearn.base import clone
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.utils import check_random_state

    from n2d._util.progress import progress as progress_bar

    rng = check_random_state(gmm.random_state)  # one generator, consumed start after start, as sklearn does
    best, best_bound, best_labels = None, -np.inf, None
    bar = progress_bar(range(gmm.n_init), desc="mixture starts", unit="start", leave=False)
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
