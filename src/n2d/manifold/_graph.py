"""UMAP's fuzzy simplicial set in torch: local fuzzy sets, memberships and their fuzzy union.

Also the low-dimensional similarity curve (:func:`find_ab_params`). Each follows
umap-learn 0.5's numerics (``umap/umap_.py``).
"""

from __future__ import annotations

import math

import numpy as np
import torch

__all__ = [
    "MIN_K_DIST_SCALE",
    "SMOOTH_K_TOLERANCE",
    "find_ab_params",
    "membership_graph",
    "membership_strengths",
    "sampled_edges",
    "smooth_knn_dist",
]

SMOOTH_K_TOLERANCE = 1e-5
MIN_K_DIST_SCALE = 1e-3
"""Constants of umap-learn's ``smooth_knn_dist`` (``umap/umap_.py``)."""


# --------------------------------------------------------------------------- #
# Fuzzy simplicial set
# --------------------------------------------------------------------------- #


def _nth_nonzero(d: torch.Tensor, nonzero: torch.Tensor, rank: torch.Tensor, r: int) -> torch.Tensor:
    """Per row, the ``r``-th (1-based) non-zero entry of ``d`` in column order (0 if none)."""
    return torch.where(nonzero & (rank == r), d, torch.zeros((), dtype=d.dtype, device=d.device)).sum(1)


def smooth_knn_dist(
    dists: torch.Tensor, k: float, n_iter: int = 64, local_connectivity: float = 1.0, bandwidth: float = 1.0
):
    """Per-point ``sigma`` and ``rho`` of UMAP's local fuzzy sets, for all points at once.

    ``rho`` is the distance to the ``local_connectivity``-th non-zero neighbour
    (interpolated for fractional values) and ``sigma`` solves
    ``sum_{j>=1} exp(-max(0, d_j - rho) / sigma) = log2(k) * bandwidth`` by
    bisection (the first column, the point itself, is skipped), floored at
    ``1e-3`` times the mean neighbour distance, as umap-learn's
    ``smooth_knn_dist``. The bisection runs on every row at once and freezes
    rows as they converge, so results match umap-learn's per-row loop.

    Parameters
    ----------
    dists : Tensor of shape (n_samples, n_neighbors)
        Distances to each point's neighbours, ascending along rows.
    k : float
        Target cardinality of each fuzzy set (``n_neighbors``).
    n_iter : int, default=64
        Maximum bisection steps.
    local_connectivity : float, default=1.0
        Number of nearest neighbours assumed fully connected.
    bandwidth : float, default=1.0
        Scale of the target.

    Returns
    -------
    sigmas : Tensor of shape (n_samples,)
        float32 normalisation distances.
    rhos : Tensor of shape (n_samples,)
        float32 distances to the ``local_connectivity``-th non-zero neighbour.
    """
    d32 = dists.to(torch.float32)
    d = d32.to(torch.float64)
    n, n_cols = d.shape
    device = d.device
    target = math.log2(k) * bandwidth
    nonzero = d > 0
    rank = torch.cumsum(nonzero.to(torch.int64), dim=1)
    n_nonzero = rank[:, -1] if n_cols else torch.zeros(n, dtype=torch.int64, device=device)

    index = math.floor(local_connectivity)
    interpolation = local_connectivity - index
    if index > 0:
        rho_lc = _nth_nonzero(d, nonzero, rank, index)
        if interpolation > SMOOTH_K_TOLERANCE:
            rho_lc = rho_lc + interpolation * (_nth_nonzero(d, nonzero, rank, index + 1) - rho_lc)
    else:
        rho_lc = interpolation * _nth_nonzero(d, nonzero, rank, 1)
    rho_max = torch.where(nonzero, d, torch.zeros((), dtype=d.dtype, device=device)).amax(1) if n_cols else rho_lc
    rho = torch.where(
        n_nonzero >= local_connectivity,
        rho_lc,
        torch.where(n_nonzero > 0, rho_max, torch.zeros_like(rho_lc)),
    ).to(torch.float32)

    # umap-learn subtracts in float32, then divides and exponentiates in float64.
    excess = (d32[:, 1:] - rho.unsqueeze(1)).to(torch.float64)
    positive = excess > 0
    lo = torch.zeros(n, dtype=torch.float64, device=device)
    hi = torch.full((n,), math.inf, dtype=torch.float64, device=device)
    mid = torch.ones(n, dtype=torch.float64, device=device)
    active = torch.ones(n, dtype=torch.bool, device=device)
    one = torch.ones((), dtype=torch.float64, device=device)
    for _ in range(int(n_iter)):
        psum = torch.where(positive, torch.exp(-(excess / mid.unsqueeze(1))), one).sum(1)
        active &= (psum - target).abs() >= SMOOTH_K_TOLERANCE
        if not bool(active.any()):
            break
        above = psum > target
        hi = torch.where(active & above, mid, hi)
        lo = torch.where(active & ~above, mid, lo)
        new_mid = torch.where(~above & torch.isinf(hi), mid * 2.0, (lo + hi) / 2.0)
        mid = torch.where(active, new_mid, mid)

    mean_row = d32.mean(1).to(torch.float64) if n_cols else torch.zeros(n, dtype=torch.float64, device=device)
    mean_all = d32.mean().to(torch.float64) if d32.numel() else torch.zeros((), dtype=torch.float64, device=device)
    floor = MIN_K_DIST_SCALE * torch.where(rho > 0, mean_row, mean_all)
    sigma = torch.where(mid < floor, floor, mid).to(torch.float32)
    return sigma, rho


def membership_strengths(
    indices: torch.Tensor, dists: torch.Tensor, sigmas: torch.Tensor, rhos: torch.Tensor, bipartite: bool = False
):
    """Membership strength of each kNN edge, ``exp(-max(0, d - rho) / sigma)``.

    As umap-learn's ``compute_membership_strengths``: 1 when ``d <= rho`` or
    ``sigma == 0``; 0 for a point's edge to itself unless ``bipartite`` (new
    points against training data) and for missing neighbours (index -1).

    Parameters
    ----------
    indices : Tensor of shape (n_samples, n_neighbors)
    dists : Tensor of shape (n_samples, n_neighbors)
    sigmas, rhos : Tensor of shape (n_samples,)
    bipartite : bool, default=False

    Returns
    -------
    strengths : Tensor of shape (n_samples, n_neighbors)
        float32 memberships, aligned with ``indices``.
    """
    d = dists.to(torch.float32)
    excess = d - rhos.to(torch.float32).unsqueeze(1)
    sig = sigmas.to(torch.float32).unsqueeze(1)
    vals = torch.exp(-(excess / sig))
    vals = torch.where((excess <= 0) | (sig == 0), torch.ones_like(vals), vals)
    drop = indices < 0
    if not bipartite:
        own = torch.arange(indices.shape[0], device=indices.device, dtype=indices.dtype).unsqueeze(1)
        drop = drop | (indices == own)
    return torch.where(drop, torch.zeros_like(vals), vals)


def membership_graph(
    knn_indices: torch.Tensor,
    knn_dists: torch.Tensor,
    n_neighbors: float | None = None,
    local_connectivity: float = 1.0,
):
    """UMAP's fuzzy simplicial set of a kNN graph (fuzzy union, ``set_op_mix_ratio=1``).

    Local memberships (:func:`smooth_knn_dist`, :func:`membership_strengths`)
    form a directed graph ``A``; the result is ``A + A^T - A * A^T``. The union
    is index arithmetic on int64 keys ``row * n + col``: both directions are
    concatenated and sorted, and each key found in both directions is merged
    (:func:`_fuzzy_union`). No dense ``n x n`` object is built, no index
    exceeds int64, and no scatter is used, so the graph is the same from run to
    run on a GPU too and ``torch.use_deterministic_algorithms(True)`` is
    honoured.

    Parameters
    ----------
    knn_indices : Tensor of shape (n_samples, n_neighbors)
        int64 neighbour indices, each point first among its own neighbours.
    knn_dists : Tensor of shape (n_samples, n_neighbors)
        The matching distances, ascending along rows.
    n_neighbors : float, default=None
        Target cardinality for :func:`smooth_knn_dist`; ``None`` means
        ``knn_indices.shape[1]``.
    local_connectivity : float, default=1.0

    Returns
    -------
    graph : torch.sparse_coo_tensor of shape (n_samples, n_samples)
        Coalesced (row-major sorted) symmetric float32 graph with int64 indices
        and only positive entries.
    """
    n, k = knn_indices.shape
    device = knn_indices.device
    kk = float(k if n_neighbors is None else n_neighbors)
    sigmas, rhos = smooth_knn_dist(knn_dists, kk, local_connectivity=float(local_connectivity))
    vals = membership_strengths(knn_indices, knn_dists, sigmas, rhos).reshape(-1)
    rows = torch.arange(n, device=device, dtype=torch.int64).repeat_interleave(k)
    cols = knn_indices.reshape(-1).to(torch.int64)
    keep = vals > 0
    rows, cols, vals = rows[keep], cols[keep], vals[keep]
    uniq, union = _fuzzy_union(torch.cat([rows * n + cols, cols * n + rows]), torch.cat([vals, vals]))
    keep = union > 0
    uniq, union = uniq[keep], union[keep]
    idx = torch.stack([torch.div(uniq, n, rounding_mode="floor"), torch.remainder(uniq, n)])
    return torch.sparse_coo_tensor(idx, union, (n, n), is_coalesced=True, check_invariants=False)


def sampled_edges(graph: torch.Tensor, n_epochs: int):
    """The edges of a fuzzy ``graph`` that a layout of ``n_epochs`` epochs samples at least once.

    umap-learn drops the edges whose weight is below the largest over ``n_epochs``: they would not be sampled
    once. Returns ``(rows, cols, weights, graph)``, the kept edges and the coalesced graph of them.
    """
    n = graph.shape[0]
    rows, cols = graph.indices()
    weights = graph.values()
    if weights.numel():
        keep = weights >= weights.max() / float(n_epochs)
        rows, cols, weights = rows[keep], cols[keep], weights[keep]
    pruned = torch.sparse_coo_tensor(torch.stack([rows, cols]), weights, (n, n), is_coalesced=True,
                                     check_invariants=False)
    return rows, cols, weights, pruned


def _fuzzy_union(keys: torch.Tensor, vals: torch.Tensor):
    """Merge directed edges into the fuzzy union: ``a + b - a * b`` where both directions exist, else ``a``.

    ``keys`` holds each directed edge (``row * n + col``) at most once per
    direction (a kNN row has distinct neighbours), so a key occurs once or
    twice; after a stable sort its occurrences are adjacent, and the first and
    last of each run are ``a`` and ``b``. Only sorts, gathers, an integer
    cumulative sum and elementwise arithmetic: deterministic on every device,
    where ``scatter_reduce(reduce="prod")`` raises under
    ``torch.use_deterministic_algorithms(True)`` on CUDA and float scatter-adds
    are not reproducible there. The floats are the ones the scatters gave:
    ``a + b`` and ``a * b`` do not depend on the order of the operands.

    Parameters
    ----------
    keys : Tensor of shape (m,)
        int64 edge keys.
    vals : Tensor of shape (m,)
        float32 memberships, aligned with ``keys``.

    Returns
    -------
    unique_keys : Tensor of shape (u,)
        The distinct keys, ascending.
    union : Tensor of shape (u,)
        Their merged memberships.
    """
    sorted_keys, order = torch.sort(keys, stable=True)
    sorted_vals = vals[order]
    unique_keys, counts = torch.unique_consecutive(sorted_keys, return_counts=True)
    last = torch.cumsum(counts, 0) - 1
    a = sorted_vals[last - counts + 1]
    b = sorted_vals[last]
    return unique_keys, torch.where(counts == 2, (a + b) - a * b, a)


def find_ab_params(spread: float = 1.0, min_dist: float = 0.0):
    """Fit ``a, b`` of ``1 / (1 + a x^(2b))`` to UMAP's offset exponential (umap-learn's fit).

    Parameters
    ----------
    spread : float, default=1.0
    min_dist : float, default=0.0

    Returns
    -------
    a, b : float
    """
    from scipy.optimize import curve_fit

    def curve(x, a, b):
        return 1.0 / (1.0 + a * x ** (2 * b))

    xv = np.linspace(0, spread * 3, 300)
    yv = np.zeros(xv.shape)
    yv[xv < min_dist] = 1.0
    yv[xv >= min_dist] = np.exp(-(xv[xv >= min_dist] - min_dist) / spread)
    params, _ = curve_fit(curve, xv, yv)
    return float(params[0]), float(params[1])
