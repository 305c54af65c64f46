"""The numerics of the torch Gaussian mixture: initialisation (k-means++, Lloyd), the E- and M-steps, EM.

Module-level functions that take and return tensors, so they can be tested on
their own (as scikit-learn's ``_gaussian_mixture.py`` helpers are), on any
device. :class:`n2d.TorchGaussianMixture` (:mod:`n2d.cluster._gmm_torch`)
drives them.
"""

from __future__ import annotations

import math

import numpy as np
import torch

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
