"""A full-covariance Gaussian mixture fitted by EM in torch, on the CPU or a GPU.

:class:`TorchGaussianMixture` is a drop-in for
``sklearn.mixture.GaussianMixture(covariance_type="full")``: the same
parameters (those that apply), method names, fitted attributes and EM updates,
with one code path for every device. The numerical helpers below are
module-level functions that take and return tensors, so they can be tested on
their own (as scikit-learn's ``_gaussian_mixture.py`` helpers are).
"""

from __future__ import annotations

import math
import time
import warnings

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClusterMixin, DensityMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from ._utils import (
    check_int,
    check_float,
    check_options,
    check_random_state_param,
    resolve_device,
    runtime_device,
    seed_from,
)

__all__ = ["TorchGaussianMixture"]

INIT_PARAMS = ("k-means++", "kmeans", "random_from_data")
DTYPES = {"float64": torch.float64, "float32": torch.float32}

_CHUNK_BYTES = 256 * 2**20
"""Largest (samples x components x features) intermediate built at once, in bytes.

The E-step and the covariance update are computed over chunks of samples so
that no temporary exceeds this size (70,000 x 10 x 10 in float64 is 56 MB, one
chunk; 1,000,000 x 50 x 50 is split into about 75).
"""

_KMEANS_MAX_ITER = 300
_KMEANS_TOL = 1e-4
"""Lloyd iterations of the "kmeans" init stop as scikit-learn's KMeans does:
labels unchanged, or a squared centre shift <= tol * mean feature variance."""

_VERBOSE_INTERVAL = 10

_SINGULAR_MESSAGE = (
    "Fitting the mixture model failed because some components have "
    "ill-defined empirical covariance (for instance caused by singleton "
    "or collapsed samples). Try to decrease the number of components, "
    "increase reg_covar, or scale the input data."
)


# --------------------------------------------------------------------------- #
# Small utilities
# --------------------------------------------------------------------------- #


def _chunk_slices(n_samples: int, bytes_per_sample: int, budget: int | None = None):
    """Slices covering ``range(n_samples)`` whose temporaries stay under ``budget`` bytes.

    ``budget`` defaults to the module's ``_CHUNK_BYTES`` (read at call time).
    """
    budget = _CHUNK_BYTES if budget is None else budget
    step = max(1, int(budget // max(1, bytes_per_sample)))
    return [slice(start, min(start + step, n_samples)) for start in range(0, n_samples, step)]


def _to_tensor(X: np.ndarray, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """Copy a validated array to ``device`` in ``dtype`` (read-only input is fine)."""
    np_dtype = np.float64 if dtype == torch.float64 else np.float32
    arr = np.asarray(X, dtype=np_dtype)
    if not (arr.flags.c_contiguous and arr.flags.writeable):
        arr = np.array(arr, dtype=np_dtype, order="C", copy=True)
    return torch.from_numpy(arr).to(device)


def _sq_distances(X: torch.Tensor, C: torch.Tensor) -> torch.Tensor:
    """Squared Euclidean distances (n, k) between rows of ``X`` and rows of ``C``, >= 0."""
    d = (X * X).sum(1)[:, None] - 2.0 * (X @ C.T) + (C * C).sum(1)[None, :]
    return d.clamp_min_(0.0)


def _nearest(X: torch.Tensor, centers: torch.Tensor) -> torch.Tensor:
    """Index of the nearest centre for each row of ``X`` (int64, shape (n,))."""
    k = centers.shape[0]
    labels = torch.empty(X.shape[0], dtype=torch.int64, device=X.device)
    for sl in _chunk_slices(X.shape[0], 3 * k * X.element_size()):
        labels[sl] = _sq_distances(X[sl], centers).argmin(1)
    return labels


# --------------------------------------------------------------------------- #
# Initialisation: k-means++ seeding, Lloyd's k-means, random points
# --------------------------------------------------------------------------- #


def _kmeans_pp(X: torch.Tensor, n_clusters: int, generator: torch.Generator, n_local_trials=None):
    """Greedy k-means++ seeding, as ``sklearn.cluster.kmeans_plusplus``.

    Random numbers are drawn on the CPU from ``generator`` and then moved, so a
    seed picks the same points on every device (up to ties in floating point).
    The sampling is deterministic on CUDA too (:func:`_sample_by_weight`).

    Returns
    -------
    centers : Tensor of shape (n_clusters, n_features)
    indices : Tensor of shape (n_clusters,)
        Rows of ``X`` chosen as centres.
    """
    n_samples, n_features = X.shape
    if n_local_trials is None:
        n_local_trials = 2 + int(math.log(n_clusters))
    indices = torch.empty(n_clusters, dtype=torch.int64, device=X.device)
    first = int(torch.randint(n_samples, (1,), generator=generator).item())
    indices[0] = first
    closest = _sq_distances(X[first : first + 1], X)[0]
    pot = closest.sum()
    for c in range(1, n_clusters):
        u = torch.rand(n_local_trials, generator=generator, dtype=torch.float64).to(X.device)
        cand = _sample_by_weight(closest, pot, u)
        dist = torch.minimum(_sq_distances(X[cand], X), closest[None, :])
        pots = dist.sum(1)
        best = pots.argmin()
        pot = pots[best]
        closest = dist[best]
        indices[c] = cand[best]
    return X[indices].clone(), indices


_SAMPLING_BITS = 52
"""Resolution of :func:`_sample_by_weight`: weights are counted in units of 2**-52 of their total."""


def _sample_by_weight(weights: torch.Tensor, total: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Inverse-CDF sampling: for each ``u_j`` in [0, 1), the first ``i`` whose running weight reaches ``u_j * total``.

    The running sum is taken over the weights in integer units of
    ``2**-52 * total`` (int64, no overflow), not in floating point: a float
    ``cumsum`` on CUDA is a parallel scan whose rounding varies from run to run
    and raises under ``torch.use_deterministic_algorithms(True)``, while an
    integer one is exact, so a seed picks the same samples on every device and
    run. The quantisation moves a boundary by at most ``n_samples * 2**-52`` of
    the total, as much as float64 rounding of the running sum does.

    Parameters
    ----------
    weights : Tensor of shape (n_samples,)
        Non-negative weights (squared distances to the nearest centre).
    total : Tensor of shape ()
        Their sum.
    u : Tensor of shape (n_draws,)
        float64 uniform draws on ``weights``' device.

    Returns
    -------
    indices : Tensor of shape (n_draws,)
        int64 sampled indices; 0 when the total weight is 0.
    """
    unit = 2.0**_SAMPLING_BITS
    total = total.to(torch.float64)
    positive = total > 0
    scale = torch.where(positive, unit / torch.where(positive, total, 1.0), 0.0)
    running = torch.cumsum(torch.floor(weights.to(torch.float64) * scale).to(torch.int64), 0)
    target = torch.where(positive, torch.floor(u * unit), 0.0).to(torch.int64)
    return torch.searchsorted(running, target).clamp_(max=weights.shape[0] - 1)


def _kmeans_lloyd(X: torch.Tensor, centers: torch.Tensor, max_iter: int = _KMEANS_MAX_ITER, tol: float = _KMEANS_TOL):
    """Lloyd's k-means from ``centers``; stops like scikit-learn's KMeans.

    A cluster that loses all its points keeps its previous centre. Sums use a
    one-hot matrix product rather than scatter-adds, so results are
    deterministic on GPUs too.

    Returns
    -------
    centers : Tensor of shape (n_clusters, n_features)
    labels : Tensor of shape (n_samples,)
    n_iter : int
    """
    tol_abs = float(tol * X.var(0, correction=0).mean())
    k = centers.shape[0]
    labels = _nearest(X, centers)
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        onehot = torch.nn.functional.one_hot(labels, k).to(X.dtype)
        counts = onehot.sum(0)
        sums = onehot.T @ X
        new = torch.where(counts[:, None] > 0, sums / counts.clamp_min(1)[:, None], centers)
        shift = float(((new - centers) ** 2).sum())
        centers = new
        new_labels = _nearest(X, centers)
        unchanged = bool(torch.equal(new_labels, labels))
        labels = new_labels
        if unchanged or shift <= tol_abs:
            break
    return centers, labels, n_iter


def _initial_means(X: torch.Tensor, n_components: int, init_params: str, generator: torch.Generator):
    """Initial means by ``init_params``: "k-means++", "kmeans" or "random_from_data"."""
    if init_params == "random_from_data":
        idx = torch.randperm(X.shape[0], generator=generator)[:n_components].to(X.device)
        return X[idx].clone()
    centers, _ = _kmeans_pp(X, n_components, generator)
    if init_params == "kmeans":
        centers, _, _ = _kmeans_lloyd(X, centers)
    return centers


def _initialize_from_means(X: torch.Tensor, means: torch.Tensor, reg_covar: float, keep_means: bool = False):
    """Parameters from a hard assignment of every sample to its nearest mean.

    Weights, means and covariances are the M-step of those one-hot
    responsibilities (for k-means++ seeds this is scikit-learn's state after its
    first EM iteration). With ``keep_means`` the given means are kept instead of
    the cells' centroids, as scikit-learn does with ``means_init``.

    Returns
    -------
    weights, means, covariances, precisions_cholesky : Tensors
    """
    k = means.shape[0]
    resp = torch.nn.functional.one_hot(_nearest(X, means), k).to(X.dtype)
    nk, centroids, covariances = _estimate_gaussian_parameters(X, resp, reg_covar)
    weights = nk / X.shape[0]
    out_means = means.clone() if keep_means else centroids
    return weights, out_means, covariances, _compute_precision_cholesky(covariances)


# --------------------------------------------------------------------------- #
# EM steps (full covariance), vectorised over components, chunked over samples
# --------------------------------------------------------------------------- #


def _estimate_gaussian_parameters(X: torch.Tensor, resp: torch.Tensor, reg_covar: float):
    """M-step statistics as scikit-learn's ``_estimate_gaussian_parameters(..., "full")``.

    ``nk = resp.sum(0) + 10 * eps``; means ``resp.T @ X / nk``; covariances from
    the centred data, with ``reg_covar`` added to the diagonal.

    Returns
    -------
    nk : Tensor of shape (n_components,)
    means : Tensor of shape (n_components, n_features)
    covariances : Tensor of shape (n_components, n_features, n_features)
    """
    n_samples, n_features = X.shape
    k = resp.shape[1]
    nk = resp.sum(0) + 10 * torch.finfo(resp.dtype).eps
    means = (resp.T @ X) / nk[:, None]
    covariances = torch.zeros((k, n_features, n_features), dtype=X.dtype, device=X.device)
    sqrt_resp = resp.sqrt()
    for sl in _chunk_slices(n_samples, k * n_features * X.element_size()):
        # sum_n r_nk (x_n - mu_k)(x_n - mu_k)^T as W^T W with W = sqrt(r) * (X - mu):
        # one temporary instead of two, the same sum up to rounding
        w = X[None, sl, :] - means[:, None, :]  # (k, c, d)
        w.mul_(sqrt_resp[sl].T[:, :, None])
        covariances.baddbmm_(w.transpose(1, 2), w)
    covariances /= nk[:, None, None]
    covariances.diagonal(dim1=-2, dim2=-1).add_(reg_covar)
    return nk, means, covariances


def _compute_precision_cholesky(covariances: torch.Tensor) -> torch.Tensor:
    """Cholesky factors of the precisions (upper triangular), batched over components.

    Raises
    ------
    ValueError
        If a covariance is not positive definite, with the remedy.
    """
    chol, info = torch.linalg.cholesky_ex(covariances)
    if bool((info > 0).any()) or not bool(torch.isfinite(chol).all()):
        message = _SINGULAR_MESSAGE
        if covariances.dtype == torch.float32:
            message += " The numerical accuracy can also be improved by using dtype='float64'."
        raise ValueError(message)
    n_features = covariances.shape[-1]
    eye = torch.eye(n_features, dtype=covariances.dtype, device=covariances.device).expand_as(covariances)
    return torch.linalg.solve_triangular(chol, eye, upper=False).transpose(-2, -1)


def _compute_log_det_cholesky(precisions_chol: torch.Tensor) -> torch.Tensor:
    """log det of each precision Cholesky factor (half the log det of the precision)."""
    return torch.log(precisions_chol.diagonal(dim1=-2, dim2=-1)).sum(-1)


def _estimate_log_prob(X: torch.Tensor, means: torch.Tensor, precisions_chol: torch.Tensor) -> torch.Tensor:
    """log N(x | mean_k, cov_k) for every sample and component, shape (n, k).

    One matrix product per chunk: ``X @ [P_1 ... P_k]`` gives all the whitened
    samples at once, from which ``mean_k @ P_k`` is subtracted.
    """
    n_samples, n_features = X.shape
    k = means.shape[0]
    log_det = _compute_log_det_cholesky(precisions_chol)
    stacked = precisions_chol.permute(1, 0, 2).reshape(n_features, k * n_features)  # (d, k*d)
    neg_mu_p = -torch.einsum("kd,kde->ke", means, precisions_chol).reshape(k * n_features)
    maha = torch.empty((n_samples, k), dtype=X.dtype, device=X.device)
    for sl in _chunk_slices(n_samples, k * n_features * X.element_size()):
        y = torch.addmm(neg_mu_p, X[sl], stacked).square_()  # (c, k*d): whitened, centred, squared
        maha[sl] = y.view(-1, k, n_features).sum(-1)
    return -0.5 * (n_features * math.log(2 * math.pi) + maha) + log_det[None, :]


def _estimate_weighted_log_prob(X, weights, means, precisions_chol) -> torch.Tensor:
    """log N(x | mean_k, cov_k) + log weight_k, shape (n, k)."""
    return _estimate_log_prob(X, means, precisions_chol) + torch.log(weights)[None, :]


def _estimate_log_prob_resp(X, weights, means, precisions_chol):
    """E-step: per-sample log-likelihood (n,) and log responsibilities (n, k)."""
    weighted = _estimate_weighted_log_prob(X, weights, means, precisions_chol)
    log_prob_norm = torch.logsumexp(weighted, dim=1)
    return log_prob_norm, weighted - log_prob_norm[:, None]


def _m_step(X: torch.Tensor, log_resp: torch.Tensor, reg_covar: float):
    """M-step from log responsibilities.

    Returns
    -------
    weights, means, covariances, precisions_cholesky : Tensors
    """
    nk, means, covariances = _estimate_gaussian_parameters(X, torch.exp(log_resp), reg_covar)
    weights = nk / nk.sum()
    return weights, means, covariances, _compute_precision_cholesky(covariances)


def _run_em(X, params, tol, max_iter, reg_covar, report=None):
    """EM from ``params`` until the lower bound changes by less than ``tol``.

    Returns
    -------
    params : tuple of Tensors
        (weights, means, covariances, precisions_cholesky) after the last M-step.
    lower_bound : float
        Mean log-likelihood at the last E-step.
    lower_bounds : list of float
    n_iter : int
    converged : bool
    """
    lower_bound = -math.inf
    lower_bounds = []
    converged = False
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        prev = lower_bound
        log_prob_norm, log_resp = _estimate_log_prob_resp(X, params[0], params[1], params[3])
        lb = log_prob_norm.mean()
        params = _m_step(X, log_resp, reg_covar)
        lower_bound = float(lb)
        lower_bounds.append(lower_bound)
        change = lower_bound - prev
        if report is not None:
            report(n_iter, change)
        if abs(change) < tol:
            converged = True
            break
    return params, lower_bound, lower_bounds, n_iter, converged


# --------------------------------------------------------------------------- #
# The estimator
# --------------------------------------------------------------------------- #


class TorchGaussianMixture(ClusterMixin, DensityMixin, BaseEstimator):
    """Full-covariance Gaussian mixture fitted by EM in torch (CPU or GPU).

    A drop-in for ``sklearn.mixture.GaussianMixture(covariance_type="full")``:
    the same EM updates, stopping rule, restarts, method names and fitted
    attributes, computed with batched torch linear algebra on any device.

    Parameters
    ----------
    n_components : int, default=1
        Number of mixture components (clusters); at least 1 and at most the
        number of samples.
    tol : float, default=1e-3
        EM stops when the mean log-likelihood (the lower bound) changes by
        less than this between iterations. 1e-3 is scikit-learn's default;
        use 1e-6 or less for parameters accurate to several digits.
    reg_covar : float, default=1e-6
        Added to the diagonal of every covariance so that each stays positive
        definite. Increase it (1e-4 .. 1e-2 for standardised data) if fitting
        fails with an ill-defined covariance.
    max_iter : int, default=100
        Maximum EM iterations per initialisation. 0 returns the initial
        parameters without running EM.
    n_init : int, default=1
        Number of initialisations; the one with the best lower bound is kept.
        The restarts draw from one generator in turn, so the first is the
        ``n_init=1`` fit with the same ``random_state``.
    init_params : {"k-means++", "kmeans", "random_from_data"}, default="k-means++"
        How the initial means are chosen: k-means++ seeding, Lloyd's k-means
        started from k-means++ seeds (scikit-learn's ``"kmeans"``), or
        ``n_components`` distinct random samples. Every sample is then assigned
        to its nearest mean and the weights, means and covariances are the
        M-step of that hard assignment. Ignored when ``means_init`` is given.
    means_init : array-like of shape (n_components, n_features), default=None
        Initial means. Weights and covariances are then estimated from the
        nearest-mean assignment, and ``init_params`` is not used (so every
        restart starts from the same point).
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation. An int gives identical results on the CPU
        from run to run. None draws a seed from numpy's global generator.
    device : str, default="auto"
        ``"auto"`` (CUDA if available, else CPU), ``"cpu"``, ``"cuda"`` or
        ``"cuda:N"``. The data is copied to the device once per fit.
    dtype : {"float64", "float32"}, default="float64"
        Precision of the computation. float64 matches scikit-learn; float32
        is faster on GPUs but full-covariance EM in single precision can fail
        on ill-conditioned covariances (raise ``reg_covar`` if it does).
    verbose : int, default=0
        0 is silent; 1 prints each initialisation; 2 also prints the
        log-likelihood change every 10 iterations with timings.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
        Mixture weights (float64).
    means_ : ndarray of shape (n_components, n_features)
        Component means.
    covariances_ : ndarray of shape (n_components, n_features, n_features)
        Component covariances, including ``reg_covar`` on the diagonal.
    precisions_ : ndarray of shape (n_components, n_features, n_features)
        Inverses of the covariances.
    precisions_cholesky_ : ndarray of shape (n_components, n_features, n_features)
        Upper-triangular Cholesky factors of the precisions
        (``precisions_[k] = P[k] @ P[k].T``).
    converged_ : bool
        Whether the best initialisation converged.
    n_iter_ : int
        EM iterations of the best initialisation.
    lower_bound_ : float
        Mean log-likelihood of the training data at the best initialisation's
        last E-step.
    lower_bounds_ : ndarray of shape (`n_iter_`,)
        The lower bound at each iteration of the best initialisation.
    labels_ : ndarray of shape (n_samples,)
        Component of each training sample (int64), as returned by
        :meth:`fit_predict`. Not in scikit-learn's GaussianMixture; present
        because this is a clusterer (``ClusterMixin``).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Feature names, when ``X`` has string column names.
    device_ : str
        The device the model was fitted on (``"cpu"``, ``"cuda:0"``, ...);
        prediction runs there too (or on the CPU, with a DeviceWarning, if that
        GPU is gone).

    See Also
    --------
    sklearn.mixture.GaussianMixture : The numpy implementation this follows.

    Notes
    -----
    EM follows scikit-learn's ``GaussianMixture`` with ``covariance_type="full"``
    step for step: the E-step whitens the data with the Cholesky factors of the
    precisions (log-determinant from their diagonals) and normalises with
    log-sum-exp; the M-step uses ``nk = resp.sum(0) + 10 * eps``; convergence is
    a change of the mean log-likelihood below ``tol``; a final E-step makes
    ``fit_predict(X)`` equal ``fit(X).predict(X)``. All components are handled in
    batched operations and samples in chunks of at most 256 MB of temporaries.

    The initialisation differs in detail: scikit-learn starts "k-means++" and
    "random_from_data" from one-hot responsibilities on the seed points
    (covariances ``reg_covar * I``), whose first EM step is a hard assignment
    to the nearest seed; this class starts from that hard assignment directly,
    so its ``n_iter_`` can be one lower.

    N2D (McConville et al., 2020, "N2D: (Not Too) Deep Clustering via Clustering
    the Local Manifold of an Autoencoded Embedding", ICPR) clusters its UMAP
    embedding with this model.

    Examples
    --------
    >>> import numpy as np
    >>> from n2d._gmm_torch import TorchGaussianMixture
    >>> X = np.array([[1, 2], [1, 4], [1, 0], [10, 2], [10, 4], [10, 0]], dtype=float)
    >>> gm = TorchGaussianMixture(n_components=2, random_state=0, device="cpu").fit(X)
    >>> sorted(np.round(gm.means_[:, 0], 3).tolist())
    [1.0, 10.0]
    """

    def __init__(
        self,
        n_components=1,
        *,
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="k-means++",
        means_init=None,
        random_state=None,
        device="auto",
        dtype="float64",
        verbose=0,
    ):
        self.n_components = n_components
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.means_init = means_init
        self.random_state = random_state
        self.device = device
        self.dtype = dtype
        self.verbose = verbose

    # -- validation --------------------------------------------------------- #

    def _check_params(self):
        check_int(self, "n_components", self.n_components, 1)
        check_float(self, "tol", self.tol, 0.0)
        check_float(self, "reg_covar", self.reg_covar, 0.0)
        check_int(self, "max_iter", self.max_iter, 0)
        check_int(self, "n_init", self.n_init, 1)
        check_options(self, "init_params", self.init_params, set(INIT_PARAMS))
        check_random_state_param(self, self.random_state)
        check_options(self, "dtype", self.dtype, set(DTYPES))
        if not isinstance(self.verbose, (bool, np.bool_)):
            check_int(self, "verbose", self.verbose, 0)
        return resolve_device(self.device)

    def _check_means_init(self, n_features):
        if self.means_init is None:
            return None
        means = np.asarray(self.means_init, dtype=np.float64)
        expected = (self.n_components, n_features)
        if means.shape != expected:
            raise ValueError(
                f"The parameter 'means_init' should have the shape of {expected}, but got {means.shape}."
            )
        if not np.isfinite(means).all():
            raise ValueError("The parameter 'means_init' contains NaN or infinity.")
        return means

    # -- fitting -------------------------------------------------------------- #

    def fit(self, X, y=None):
        """Estimate the model parameters with the EM algorithm.

        Fits ``n_init`` times and keeps the parameters with the largest lower
        bound. Each run alternates E- and M-steps until the lower bound changes
        by less than ``tol`` or ``max_iter`` is reached (then a
        ``ConvergenceWarning`` is raised).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data, one sample per row.
        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        self : object
            The fitted mixture.
        """
        self.fit_predict(X, y)
        return self

    def fit_predict(self, X, y=None):
        """Estimate the model parameters with EM and return the labels of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data, one sample per row.
        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Component of each sample (int64), identical to
            ``fit(X).predict(X)``.
        """
        device = self._check_params()
        X = validate_data(self, X, dtype=[np.float64, np.float32], ensure_min_samples=2)
        n_samples, n_features = X.shape
        if n_samples < self.n_components:
            raise ValueError(
                "Expected n_samples >= n_components "
                f"but got n_components = {self.n_components}, "
                f"n_samples = {n_samples}"
            )
        means_init = self._check_means_init(n_features)
        dtype = DTYPES[self.dtype]
        if self.random_state is None:
            seed = seed_from(check_random_state(None))
        else:
            seed = seed_from(self.random_state)
        reg_covar = float(self.reg_covar)

        with torch.no_grad():
            Xt = _to_tensor(X, dtype, device)
            # One CPU generator for all restarts (as scikit-learn passes one
            # RandomState): restart 0 is the n_init=1 fit with the same seed.
            gen = torch.Generator().manual_seed(seed)
            best = None
            for init in range(self.n_init):
                t0 = time.perf_counter()
                if self.verbose:
                    print(f"Initialization {init}", flush=True)
                if means_init is not None:
                    start = _to_tensor(means_init, dtype, device)
                    params = _initialize_from_means(Xt, start, reg_covar, keep_means=True)
                else:
                    start = _initial_means(Xt, self.n_components, self.init_params, gen)
                    params = _initialize_from_means(Xt, start, reg_covar)
                if self.max_iter == 0:
                    # scikit-learn: no EM, the (last) initial parameters are kept
                    best = (params, -math.inf, [], 0, False)
                    continue
                result = _run_em(Xt, params, float(self.tol), self.max_iter, reg_covar, self._reporter())
                if self.verbose:
                    status = "converged" if result[4] else "did not converge"
                    extra = f" time lapse {time.perf_counter() - t0:.5f}s\t lower bound {result[1]:.5f}."
                    print(f"Initialization {status}." + (extra if self.verbose >= 2 else ""), flush=True)
                if best is None or result[1] > best[1]:
                    best = result
            params, lower_bound, lower_bounds, n_iter, converged = best

            if not converged and self.max_iter > 0:
                warnings.warn(
                    "Best performing initialization did not converge. "
                    "Try different init parameters, or increase max_iter, "
                    "tol, or check for degenerate data.",
                    ConvergenceWarning,
                    stacklevel=2,
                )
            self._set_fitted(params)
            self.converged_ = bool(converged)
            self.n_iter_ = int(n_iter)
            self.lower_bound_ = float(lower_bound)
            self.lower_bounds_ = np.asarray(lower_bounds, dtype=np.float64)
            self.device_ = str(Xt.device)

            # Always do a final E-step so that the labels returned by
            # fit_predict(X) are consistent with fit(X).predict(X), for any
            # max_iter, tol and random_state (as scikit-learn does).
            _, log_resp = _estimate_log_prob_resp(Xt, params[0], params[1], params[3])
            self.labels_ = log_resp.argmax(1).cpu().numpy()
            return self.labels_

    def _reporter(self):
        if self.verbose < 1:
            return None
        last = [time.perf_counter()]

        def report(n_iter, change):
            if n_iter % _VERBOSE_INTERVAL:
                return
            if self.verbose >= 2:
                now = time.perf_counter()
                print(f"  Iteration {n_iter}\t time lapse {now - last[0]:.5f}s\t ll change {change:.5f}", flush=True)
                last[0] = now
            else:
                print(f"  Iteration {n_iter}", flush=True)

        return report

    def _set_fitted(self, params):
        weights, means, covariances, prec_chol = (p.detach().to("cpu", torch.float64).numpy() for p in params)
        self.weights_ = weights.copy()
        self.means_ = means.copy()
        self.covariances_ = covariances.copy()
        self.precisions_cholesky_ = prec_chol.copy()
        self.precisions_ = prec_chol @ prec_chol.transpose(0, 2, 1)

    # -- prediction ----------------------------------------------------------- #

    def _runtime_device(self) -> torch.device:
        dev = runtime_device(self.device_, "mixture")
        self.device_ = str(dev)
        return dev

    def _weighted_log_prob(self, X) -> torch.Tensor:
        """Validate ``X`` and return its weighted log-probabilities (n, k) as a tensor."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        dev = self._runtime_device()
        dtype = DTYPES.get(self.dtype, torch.float64)
        with torch.no_grad():
            Xt = _to_tensor(X, dtype, dev)
            weights, means, prec_chol = (
                _to_tensor(a, dtype, dev) for a in (self.weights_, self.means_, self.precisions_cholesky_)
            )
            return _estimate_weighted_log_prob(Xt, weights, means, prec_chol)

    def predict(self, X):
        """Predict the component of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples, one per row.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Most probable component of each sample (int64).
        """
        return self._weighted_log_prob(X).argmax(1).cpu().numpy()

    def predict_proba(self, X):
        """Posterior probability of each component for each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples, one per row.

        Returns
        -------
        resp : ndarray of shape (n_samples, n_components)
            Responsibilities (float64); each row sums to 1.
        """
        weighted = self._weighted_log_prob(X)
        log_resp = weighted - torch.logsumexp(weighted, dim=1, keepdim=True)
        return torch.exp(log_resp).to("cpu", torch.float64).numpy()

    def score_samples(self, X):
        """Log-likelihood of each sample under the model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples, one per row.

        Returns
        -------
        log_prob : ndarray of shape (n_samples,)
            ``log p(x)`` of each sample (float64).
        """
        return torch.logsumexp(self._weighted_log_prob(X), dim=1).to("cpu", torch.float64).numpy()

    def score(self, X, y=None):
        """Mean log-likelihood of ``X`` under the model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples, one per row.
        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        log_likelihood : float
            Mean of :meth:`score_samples`.
        """
        return float(np.mean(self.score_samples(X)))

    def _n_parameters(self) -> int:
        """Number of free parameters: means, full covariances, weights (minus one)."""
        n_features = self.means_.shape[1]
        cov_params = self.n_components * n_features * (n_features + 1) / 2.0
        mean_params = n_features * self.n_components
        return int(cov_params + mean_params + self.n_components - 1)

    def bic(self, X):
        """Bayesian information criterion of the model on ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples, one per row.

        Returns
        -------
        bic : float
            ``-2 * log-likelihood + n_parameters * log(n_samples)``; lower is better.
        """
        n = np.shape(X)[0]
        return -2 * self.score(X) * n + self._n_parameters() * math.log(n)

    def aic(self, X):
        """Akaike information criterion of the model on ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples, one per row.

        Returns
        -------
        aic : float
            ``-2 * log-likelihood + 2 * n_parameters``; lower is better.
        """
        n = np.shape(X)[0]
        return -2 * self.score(X) * n + 2 * self._n_parameters()

    # -- persistence hook (n2d.persistence) ------------------------------------ #

    def _n2d_set_state(self, state: dict) -> None:
        for k, v in state.items():
            setattr(self, k, v)
        if isinstance(getattr(self, "device_", None), str):
            self._runtime_device()  # a GPU-fitted mixture loads on the CPU with a DeviceWarning
