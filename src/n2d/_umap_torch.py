"""UMAP in torch: one code path for the CPU and a GPU.

:class:`TorchUMAP` is a drop-in for :class:`n2d.manifold.UMAP` (same
constructor, methods and fitted attributes) that runs every step of UMAP
(McInnes, Healy & Melville, 2018) as a handful of tensor operations, so the same
code runs on the CPU and, much faster, on a GPU. The numerical steps are
module-level functions on tensors that can be tested on their own, in the order
a fit uses them:

1. :func:`knn` -- exact k nearest neighbours by blocked matrix products
   (int64 indices, bounded memory; no ``n_samples**2`` index anywhere).
2. :func:`smooth_knn_dist` -- each point's ``rho`` and ``sigma``, by a binary
   search run for all points at once.
3. :func:`membership_strengths` / :func:`membership_graph` -- the fuzzy
   simplicial set: local memberships, then the fuzzy union
   ``A + A^T - A * A^T`` as a coalesced sparse COO tensor.
4. :func:`find_ab_params` -- the low-dimensional similarity curve
   ``1 / (1 + a d^(2b))``.
5. :func:`spectral_init` -- the spectral embedding of the normalised graph
   Laplacian (scipy's ARPACK on the CPU, as umap-learn).
6. :func:`optimize_layout` -- UMAP's negative-sampling SGD with umap-learn's
   edge schedule, vectorised over the edges due in each epoch.

Each follows umap-learn 0.5's numerics (``umap/umap_.py``, ``umap/spectral.py``,
``umap/layouts.py``); the differences are listed in :class:`TorchUMAP`'s Notes.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
import warnings

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from ._utils import (
    torch_threads,
    check_float,
    check_int,
    check_options,
    check_random_state_param,
    resolve_device,
    runtime_device,
    seed_from,
)
from .exceptions import N2DWarning

log = logging.getLogger(__name__)

__all__ = [
    "TorchUMAP",
    "UMAPBase",
    "find_ab_params",
    "knn",
    "make_epochs_per_sample",
    "membership_graph",
    "membership_strengths",
    "optimize_layout",
    "smooth_knn_dist",
    "spectral_init",
]


KNN_BLOCK_FLOATS = 2**26
"""Largest block of the distance matrix built at once by :func:`knn`, in elements
(2**26 float32 = 256 MiB). 70,000 points take 73 blocks of 958 rows."""

SMOOTH_K_TOLERANCE = 1e-5
MIN_K_DIST_SCALE = 1e-3
"""Constants of umap-learn's ``smooth_knn_dist`` (``umap/umap_.py``)."""

_DENSE_EIGH_MAX = 256
"""Graphs with at most this many vertices get a dense eigendecomposition."""

_LAYOUT_CONCURRENCY = 1.0
"""Updates a point receives at once in :func:`optimize_layout` (see there)."""


# --------------------------------------------------------------------------- #
# Nearest neighbours
# --------------------------------------------------------------------------- #


def knn(x: torch.Tensor, k: int, block_size: int = KNN_BLOCK_FLOATS, reference: torch.Tensor | None = None):
    """Exact k nearest neighbours (Euclidean) by blocked matrix products.

    Squared distances are computed block by block as ``||a||^2 - 2 a.b + ||b||^2``
    (clamped at 0) and the ``k`` smallest of each row are selected with
    ``torch.topk``. The selected distances are then recomputed exactly as
    ``||a - b||`` (so duplicates are at distance 0, not at the rounding error of
    the expansion) and each row is sorted by them.

    Parameters
    ----------
    x : Tensor of shape (n_queries, n_features)
        Query points (float32 or float64), on any device.
    k : int
        Number of neighbours, ``1 <= k <= n_reference``.
    block_size : int, default=2**26
        Largest number of distance-matrix elements built at once; bounds memory
        (``block_size // n_reference`` query rows per block, at least one).
    reference : Tensor of shape (n_reference, n_features), default=None
        Points to search. ``None`` searches ``x`` itself; each point is then its
        own first neighbour at distance 0, as in umap-learn (nothing is excluded).

    Returns
    -------
    dists : Tensor of shape (n_queries, k)
        Euclidean distances, ascending along each row, in ``x``'s dtype.
    indices : Tensor of shape (n_queries, k)
        Row indices into ``reference`` (or ``x``), int64.
    """
    self_search = reference is None
    ref = x if self_search else reference
    n, m = x.shape[0], ref.shape[0]
    k = int(k)
    if not 1 <= k <= m:
        raise ValueError(f"k must be in [1, {m}] (the number of reference points); got k={k}.")
    if x.shape[1] != ref.shape[1]:
        raise ValueError(f"x has {x.shape[1]} features but reference has {ref.shape[1]}.")
    # Centring reduces the cancellation error of the expanded form.
    centre = ref.mean(0, keepdim=True)
    xc = x - centre
    rc = xc if self_search else ref - centre
    r_sq = (rc * rc).sum(1)
    x_sq = r_sq if self_search else (xc * xc).sum(1)
    # Bound both the distance block (rows x m) and the exact re-computation (rows x k x d).
    rows = max(1, int(block_size) // max(m, k * x.shape[1], 1))
    out_d = torch.empty((n, k), dtype=x.dtype, device=x.device)
    out_i = torch.empty((n, k), dtype=torch.int64, device=x.device)
    for start in range(0, n, rows):
        stop = min(n, start + rows)
        q = xc[start:stop]
        d2 = torch.addmm(r_sq.unsqueeze(0), q, rc.T, beta=1.0, alpha=-2.0)
        d2.add_(x_sq[start:stop].unsqueeze(1)).clamp_(min=0.0)
        if self_search:
            own = torch.arange(start, stop, device=x.device, dtype=torch.int64)
            d2[own - start, own] = -1.0  # each point is its own first neighbour
        idx = torch.topk(d2, k, dim=1, largest=False, sorted=True).indices
        del d2
        dist = torch.linalg.vector_norm(q.unsqueeze(1) - rc[idx], dim=2)
        dist, order = torch.sort(dist, dim=1, stable=True)
        out_d[start:stop] = dist
        out_i[start:stop] = idx.gather(1, order)
    return out_d, out_i


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
    concatenated, ``torch.unique`` merges them, and the sum and the product of
    each merged pair are accumulated by scatter operations. No dense
    ``n x n`` object is built and no index exceeds int64.

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
    keys = torch.cat([rows * n + cols, cols * n + rows])
    both = torch.cat([vals, vals])
    uniq, inverse = torch.unique(keys, sorted=True, return_inverse=True)
    total = torch.zeros(uniq.numel(), dtype=torch.float32, device=device).index_add_(0, inverse, both)
    product = torch.ones(uniq.numel(), dtype=torch.float32, device=device).scatter_reduce_(0, inverse, both, "prod")
    count = torch.zeros(uniq.numel(), dtype=torch.int64, device=device).index_add_(0, inverse, torch.ones_like(inverse))
    union = total - torch.where(count == 2, product, torch.zeros_like(product))
    keep = union > 0
    uniq, union = uniq[keep], union[keep]
    idx = torch.stack([torch.div(uniq, n, rounding_mode="floor"), torch.remainder(uniq, n)])
    return torch.sparse_coo_tensor(idx, union, (n, n), is_coalesced=True, check_invariants=False)


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


# --------------------------------------------------------------------------- #
# Initialisation
# --------------------------------------------------------------------------- #


def _random_coords(n: int, dim: int, generator: torch.Generator, low: float = -10.0, high: float = 10.0) -> np.ndarray:
    u = torch.rand((n, dim), generator=generator, dtype=torch.float64).numpy()
    return low + (high - low) * u


class _SpectralFailure(Exception):
    """A spectral layout could not be computed (the message says why)."""


def _spectral_coords(adj, dim: int, generator: torch.Generator) -> np.ndarray:
    """Eigenvectors of the ``dim`` smallest non-trivial eigenvalues of a connected graph's normalised Laplacian."""
    import scipy.sparse as sp
    from scipy.sparse.linalg import ArpackError, eigsh

    n = adj.shape[0]
    if dim + 1 > n:
        raise _SpectralFailure(f"{n} points are too few for {dim} spectral coordinates")
    deg = np.asarray(adj.sum(axis=0)).ravel()
    inv_sqrt = 1.0 / np.sqrt(deg)
    norm_adj = sp.diags(inv_sqrt) @ adj @ sp.diags(inv_sqrt)
    try:
        if n <= _DENSE_EIGH_MAX:
            values, vectors = np.linalg.eigh(norm_adj.toarray())
        else:
            k = dim + 1
            v0 = torch.randn(n, generator=generator, dtype=torch.float64).numpy()
            values, vectors = eigsh(
                norm_adj, k, which="LA", ncv=max(2 * k + 1, int(np.sqrt(n))), tol=1e-4, v0=v0, maxiter=n * 5
            )
    except (ArpackError, np.linalg.LinAlgError) as exc:
        raise _SpectralFailure(f"the eigensolver failed ({exc})") from exc
    coords = vectors[:, np.argsort(-values)[1 : dim + 1]]
    if not np.all(np.isfinite(coords)) or np.abs(coords).max() == 0:
        raise _SpectralFailure("the eigenvectors are degenerate")
    return coords


def _component_centres(n_parts: int, labels: np.ndarray, dim: int, generator: torch.Generator, data) -> np.ndarray:
    """Positions of the components (umap-learn's ``component_layout``).

    Up to ``2 * dim`` components sit at ``+-e_i``; more are placed by a spectral
    embedding of ``exp(-d^2)`` between their centroids in ``data`` (uniform
    random without data), scaled to a largest coordinate of 1.
    """
    if n_parts <= 2 * dim:
        k = int(np.ceil(n_parts / 2.0))
        base = np.hstack([np.eye(k), np.zeros((k, dim - k))])
        return np.vstack([base, -base])[:n_parts]
    if data is None:
        return _random_coords(n_parts, dim, generator, 0.0, 10.0)
    from sklearn.manifold import SpectralEmbedding
    from sklearn.metrics import pairwise_distances

    data = np.asarray(data, dtype=np.float64)
    counts = np.bincount(labels, minlength=n_parts).astype(np.float64)
    centroids = np.zeros((n_parts, data.shape[1]))
    np.add.at(centroids, labels, data)
    centroids /= counts[:, None]
    affinity = np.exp(-(pairwise_distances(centroids) ** 2))
    seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Graph is not fully connected": expected for far-apart centroids
        centres = SpectralEmbedding(n_components=dim, affinity="precomputed", random_state=seed).fit_transform(affinity)
    return centres / np.abs(centres).max()


def _multi_component_layout(adj, n_parts: int, labels: np.ndarray, dim: int, generator: torch.Generator, data):
    """Spectral layout of each connected component around its component centre (umap-learn's method).

    Each component is laid out within half the distance from its centre to the
    nearest other centre; components too small for a spectral layout (fewer
    than ``2 * dim`` points) are spread uniformly in that box. The graph is
    permuted once so that every component is a contiguous block.
    """
    from sklearn.metrics import pairwise_distances

    centres = _component_centres(n_parts, labels, dim, generator, data)
    gaps = pairwise_distances(centres)
    gaps[gaps <= 0] = np.inf
    half_range = gaps.min(axis=1) / 2.0
    half_range[~np.isfinite(half_range)] = 1.0
    order = np.argsort(labels, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(labels, minlength=n_parts))])
    permuted = adj[order][:, order].tocsr()
    coords = np.empty((adj.shape[0], dim))
    failures = []
    for c in range(n_parts):
        lo, hi = bounds[c], bounds[c + 1]
        size, r = hi - lo, half_range[c]
        block = None
        if size >= 2 * dim and size > dim + 1:
            try:
                block = _spectral_coords(permuted[lo:hi, lo:hi], dim, generator)
                block = block * (r / np.abs(block).max())
            except _SpectralFailure as exc:
                failures.append(str(exc))
        if block is None:
            block = _random_coords(size, dim, generator, -r, r)
        coords[order[lo:hi]] = block + centres[c]
    if failures:
        warnings.warn(
            f"Spectral layout failed for {len(failures)} of {n_parts} graph components ({failures[0]}); "
            "those components start at random positions.",
            N2DWarning,
            stacklevel=3,
        )
    return coords


def spectral_init(
    graph: torch.Tensor,
    dim: int,
    generator: torch.Generator,
    data=None,
    max_coord: float = 10.0,
    noise: float = 1e-4,
):
    """Spectral embedding of a graph, scaled and jittered as umap-learn does.

    The coordinates are the eigenvectors of the ``dim`` smallest non-trivial
    eigenvalues of the normalised Laplacian ``I - D^-1/2 A D^-1/2``, computed on
    the CPU with scipy: ARPACK (``eigsh``) for the largest eigenvalues of
    ``D^-1/2 A D^-1/2`` (the same vectors; faster to converge than umap-learn's
    ``which="SM"``), or a dense ``eigh`` for graphs of at most 256 vertices.
    They are scaled so that the largest ``|coordinate|`` is ``max_coord`` and
    ``N(0, noise^2)`` noise is added (umap-learn's ``noisy_scale_coords``).

    A disconnected graph is laid out as umap-learn's ``multi_component_layout``
    does: each component spectrally, around its own centre (``+-e_i`` for up to
    ``2 * dim`` components, else a spectral embedding of the components'
    centroids in ``data``). If the graph is too small for ``dim`` vectors or the
    eigensolver fails, a uniform random start in ``[-10, 10]`` is used instead,
    with an :class:`~n2d.exceptions.N2DWarning`.

    Parameters
    ----------
    graph : torch.sparse_coo_tensor of shape (n, n)
        Symmetric non-negative weights (any device; moved to the CPU).
    dim : int
        Embedding dimension.
    generator : torch.Generator
        A CPU generator: eigensolver start vectors, the noise and random
        fallbacks are drawn from it.
    data : array-like of shape (n, n_features), default=None
        The points, used only to place more than ``2 * dim`` components.
    max_coord : float, default=10.0
    noise : float, default=1e-4

    Returns
    -------
    coords : Tensor of shape (n, dim)
        float32 coordinates on the CPU.
    """
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

    g = graph.coalesce()
    n = int(g.shape[0])
    idx = g.indices().cpu().numpy()
    vals = g.values().detach().cpu().to(torch.float64).numpy()
    adj = sp.csr_matrix((vals, (idx[0], idx[1])), shape=(n, n))
    n_parts, labels = connected_components(adj, directed=False)
    try:
        if n_parts > 1:
            log.info("The neighbour graph has %d connected components; laying them out separately.", n_parts)
            coords = _multi_component_layout(adj, n_parts, labels, dim, generator, data)
        else:
            coords = _spectral_coords(adj, dim, generator)
    except _SpectralFailure as exc:
        warnings.warn(
            f"Spectral initialisation failed because {exc}; falling back to a random initialisation.",
            N2DWarning,
            stacklevel=2,
        )
        coords = _random_coords(n, dim, generator)
    coords_t = torch.from_numpy(np.ascontiguousarray(coords, dtype=np.float64))
    expansion = max_coord / coords_t.abs().max().clamp_min(np.finfo(np.float64).tiny)
    coords_t = (coords_t * expansion).to(torch.float32)
    return coords_t + noise * torch.randn(coords_t.shape, generator=generator, dtype=torch.float32)


def _rescale(coords: torch.Tensor, scale: float = 10.0) -> torch.Tensor:
    """Min-max scale each column to ``[0, scale]`` (umap-learn before the layout)."""
    low = coords.amin(0, keepdim=True)
    span = coords.amax(0, keepdim=True) - low
    span = torch.where(span > 0, span, torch.ones_like(span))
    return (scale * (coords - low) / span).to(torch.float32).contiguous()


# --------------------------------------------------------------------------- #
# Layout optimisation
# --------------------------------------------------------------------------- #


def make_epochs_per_sample(weights: torch.Tensor, n_epochs: int) -> torch.Tensor:
    """Epochs between two samplings of each edge, ``w_max / w`` (umap-learn's schedule).

    Edge ``i`` is then sampled ``floor((n_epochs - 1) * w_i / w_max)`` times,
    evenly spread over the epochs. Zero weights get -1 (never sampled here).

    Parameters
    ----------
    weights : Tensor of shape (n_edges,)
    n_epochs : int

    Returns
    -------
    epochs_per_sample : Tensor of shape (n_edges,), float64
    """
    w = weights.to(torch.float64)
    n_samples = float(n_epochs) * (w / w.max())
    return torch.where(n_samples > 0, float(n_epochs) / n_samples, torch.full_like(n_samples, -1.0))


def optimize_layout(
    head_emb: torch.Tensor,
    tail_emb: torch.Tensor,
    head: torch.Tensor,
    tail: torch.Tensor,
    weights: torch.Tensor,
    n_epochs: int,
    a: float,
    b: float,
    generator: torch.Generator,
    negative_sample_rate: int = 5,
    initial_alpha: float = 1.0,
    gamma: float = 1.0,
    move_other: bool = True,
    verbose: bool = False,
    concurrency: float = 1.0,
    min_batch: int = 4096,
) -> torch.Tensor:
    """UMAP's negative-sampling SGD, one vectorised step per epoch (updates ``head_emb`` in place).

    The schedule is umap-learn's ``optimize_layout_euclidean``: edge ``i`` is
    due in epoch ``n`` when its ``epoch_of_next_sample <= n`` (starting at
    ``w_max / w_i``, advanced by that much each time it is sampled), and draws
    ``floor((n - epoch_of_next_negative_sample) / epochs_per_negative_sample)``
    negative samples (about ``negative_sample_rate``). For the due edges ``(j, k)``
    with squared distance ``d2`` the attractive step is
    ``clip(-2ab d2^(b-1) / (1 + a d2^b) * (y_j - y_k), -4, 4) * alpha``, added to
    ``y_j`` and, with ``move_other``, subtracted from ``y_k``; each negative
    sample ``m`` (uniform over ``tail_emb``) then moves ``y_j`` by
    ``clip(2 gamma b / ((0.001 + d2)(1 + a d2^b)) * (y_j - y_m), -4, 4) * alpha``.
    ``alpha`` decays linearly from ``initial_alpha`` as in umap-learn.

    umap-learn walks the edges one after another (Hogwild when parallel), each
    update seeing the positions left by the ones before. Here the edges due in
    an epoch are split into random batches; within a batch all attractive steps
    are computed from the same positions and summed (``index_add_``), then all
    repulsive steps from the positions after that attraction. The number of
    batches is chosen so that a point gets about ``concurrency`` summed updates
    per batch (for N2D's settings about 14 batches per epoch with the default 1).
    One batch per epoch (``concurrency=inf``) is fastest on a GPU but its summed
    steps overshoot: on MNIST-test autoencoder codes trustworthiness dropped
    from 0.9920 (umap-learn's sequential loop, same graph and start) to 0.9906,
    while 1.0 gives 0.9919.

    Parameters
    ----------
    head_emb : Tensor of shape (n_head, dim)
        float32 positions being optimised; modified in place.
    tail_emb : Tensor of shape (n_tail, dim)
        Positions of the edges' tails and of negative samples. Pass ``head_emb``
        itself to embed a graph on itself (fit).
    head, tail : Tensor of shape (n_edges,)
        int64 edge endpoints (rows of ``head_emb`` and ``tail_emb``).
    weights : Tensor of shape (n_edges,)
        Positive edge weights.
    n_epochs : int
    a, b : float
        The similarity curve's parameters (:func:`find_ab_params`).
    generator : torch.Generator
        On ``head_emb``'s device; draws the negative samples.
    negative_sample_rate : int, default=5
    initial_alpha : float, default=1.0
    gamma : float, default=1.0
        Repulsion strength.
    move_other : bool, default=True
        Also move the tail of each attracted edge (fit); False keeps
        ``tail_emb`` fixed (placing new points).
    verbose : bool, default=False
        Show a progress bar over epochs.
    concurrency : float, default=1.0
        Average number of updates a point receives at once (per batch): the
        ``n_due`` edges due in an epoch are processed in
        ``ceil(m * n_due / (n_points * concurrency))`` random batches, where
        ``m`` is 2 when both ends move and 1 otherwise. ``inf`` means one
        batch per epoch.
    min_batch : int, default=4096
        Smallest batch worth its per-operation overhead: at most
        ``n_due // min_batch`` batches per epoch (small data then get a higher
        concurrency).

    Returns
    -------
    head_emb : Tensor
        The same tensor, optimised.
    """
    from tqdm.auto import tqdm

    n_epochs = int(n_epochs)
    if head.numel() == 0 or n_epochs <= 0:
        return head_emb
    device = head_emb.device
    a, b, gamma = float(a), float(b), float(gamma)
    head = head.to(device=device, dtype=torch.int64)
    tail = tail.to(device=device, dtype=torch.int64)
    eps = make_epochs_per_sample(weights.to(device), n_epochs)
    sampled = eps > 0
    if not bool(sampled.all()):
        head, tail, eps = head[sampled], tail[sampled], eps[sampled]
    rate = int(negative_sample_rate)
    eps_neg = eps / rate if rate > 0 else None
    next_sample = eps.clone()
    next_neg = eps_neg.clone() if eps_neg is not None else None
    same = head_emb.data_ptr() == tail_emb.data_ptr()
    # Points moved by each sampled edge, and the points that can move.
    updates_per_edge = 2 if (move_other and same) else 1
    n_points = head_emb.shape[0] + (tail_emb.shape[0] if move_other and not same else 0)
    concurrency = float(concurrency)
    if not concurrency > 0:
        raise ValueError(f"concurrency must be positive (or inf); got {concurrency}.")
    alpha = float(initial_alpha)
    for n in tqdm(range(n_epochs), disable=not verbose, desc="UMAP layout", unit="epoch"):
        due = torch.nonzero(next_sample <= n).squeeze(1)
        if due.numel():
            next_sample[due] += eps[due]
            if eps_neg is not None:
                n_neg = torch.floor((n - next_neg[due]) / eps_neg[due]).clamp_(min=0)
                next_neg[due] += n_neg * eps_neg[due]
                n_neg = n_neg.to(torch.int64)
            else:
                n_neg = torch.zeros_like(due)
            n_batches = math.ceil(due.numel() * updates_per_edge / (n_points * concurrency))
            n_batches = min(n_batches, max(1, due.numel() // int(min_batch)))
            batches = [(due, n_neg)]
            if n_batches > 1:
                order = torch.randperm(due.numel(), generator=generator, device=device)
                batches = [(due[part], n_neg[part]) for part in torch.tensor_split(order, n_batches)]
            for edges, counts in batches:
                _layout_step(
                    head_emb,
                    tail_emb,
                    head[edges],
                    tail[edges],
                    counts,
                    a,
                    b,
                    gamma,
                    alpha,
                    move_other,
                    rate,
                    generator,
                )
        alpha = float(initial_alpha) * (1.0 - float(n) / float(n_epochs))
    return head_emb


def _layout_step(head_emb, tail_emb, j, k, n_neg, a, b, gamma, alpha, move_other, rate, generator):
    """One batch of :func:`optimize_layout`: attract edges ``(j, k)``, then repel ``j`` from ``n_neg`` samples each."""
    if not j.numel():
        return
    diff = head_emb.index_select(0, j) - tail_emb.index_select(0, k)
    d2 = (diff * diff).sum(1, keepdim=True)
    pos = d2 > 0
    d2s = torch.where(pos, d2, torch.ones_like(d2))
    coeff = torch.where(pos, -2.0 * a * b * d2s.pow(b - 1.0) / (a * d2s.pow(b) + 1.0), torch.zeros_like(d2))
    step = (coeff * diff).clamp_(-4.0, 4.0).mul_(alpha)
    head_emb.index_add_(0, j, step)
    if move_other:
        tail_emb.index_add_(0, k, step.neg_())
    most = int(n_neg.max()) if rate > 0 else 0
    if most > 0:
        # Most edges draw `rate` samples; an edge's first sampling can owe a few
        # more. The common part is a dense (edges x rate) block (masked where an
        # edge owes fewer), the rest a short flat list.
        current = head_emb.index_select(0, j)
        rep = _repulsion(current, tail_emb, n_neg, min(rate, most), tail_emb.shape[0], a, b, gamma, generator)
        head_emb.index_add_(0, j, rep.mul_(alpha))


def _repulsive_steps(current, others, a, b, gamma):
    """Clipped repulsive steps of points ``current`` (..., d) from ``others`` (..., d)."""
    diff = current - others
    d2 = (diff * diff).sum(-1, keepdim=True)
    coeff = torch.where(d2 > 0, 2.0 * gamma * b / ((0.001 + d2) * (a * d2.pow(b) + 1.0)), torch.zeros_like(d2))
    return (coeff * diff).clamp_(-4.0, 4.0)


def _repulsion(current, tail_emb, counts, width, n_vertices, a, b, gamma, generator):
    """Summed repulsive steps of each row of ``current`` from ``counts`` uniform negative samples."""
    device = current.device
    n_rows, dim = current.shape
    total = torch.zeros_like(current)
    if width > 0:
        others = torch.randint(n_vertices, (n_rows * width,), generator=generator, device=device)
        steps = _repulsive_steps(
            current.unsqueeze(1), tail_emb.index_select(0, others).view(n_rows, width, dim), a, b, gamma
        )
        if bool((counts < width).any()):
            used = torch.arange(width, device=device).unsqueeze(0) < counts.unsqueeze(1)
            steps = steps * used.unsqueeze(2)
        total += steps.sum(1)
    extra = (counts - width).clamp_(min=0)
    n_extra = int(extra.sum())
    if n_extra > 0:
        rows = torch.repeat_interleave(torch.arange(n_rows, device=device), extra)
        others = torch.randint(n_vertices, (n_extra,), generator=generator, device=device)
        steps = _repulsive_steps(current.index_select(0, rows), tail_emb.index_select(0, others), a, b, gamma)
        total.index_add_(0, rows, steps)
    return total


def _weighted_mean_init(weights: torch.Tensor, indices: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
    """Start new points at the membership-weighted mean of their neighbours' positions.

    A point with a neighbour of weight 1 (a duplicate of a training point) starts
    on the first such neighbour, and a point without any weight is NaN, as in
    umap-learn's ``init_graph_transform`` (and :mod:`n2d.manifold`).
    """
    totals = weights.sum(1, keepdim=True)
    safe = torch.where(totals > 0, totals, torch.ones_like(totals))
    init = torch.einsum("nk,nkd->nd", weights / safe, embedding[indices])
    dup = weights >= 1.0
    has_dup = dup.any(1)
    if bool(has_dup.any()):
        first = dup.to(torch.int8).argmax(1)
        on = embedding[indices.gather(1, first.unsqueeze(1)).squeeze(1)]
        init = torch.where(has_dup.unsqueeze(1), on, init)
    init = torch.where(totals > 0, init, torch.full_like(init, float("nan")))
    return init.to(torch.float32).contiguous()


# --------------------------------------------------------------------------- #
# Estimator
# --------------------------------------------------------------------------- #


class UMAPBase(TransformerMixin, BaseEstimator):
    """What the UMAP stages share: their parameters, validation, and persistence hooks.

    :class:`n2d.manifold.UMAP` (umap-learn) and :class:`TorchUMAP` (torch) take
    the same parameters with the same meaning; subclasses set ``_METRICS`` (the
    metrics they implement) and ``_TRANSIENT`` (attributes rebuilt on demand,
    never saved or pickled), and implement ``fit`` and ``transform``.
    """

    _METRICS: frozenset = frozenset({"euclidean"})
    _TRANSIENT: tuple = ()

    def __init__(
        self,
        n_components=None,
        *,
        n_neighbors=20,
        min_dist=0.0,
        metric="euclidean",
        n_epochs=None,
        learning_rate=1.0,
        negative_sample_rate=5,
        repulsion_strength=1.0,
        local_connectivity=1.0,
        random_state=None,
        verbose=0,
    ):
        self.n_components = n_components
        self.n_neighbors = n_neighbors
        self.min_dist = min_dist
        self.metric = metric
        self.n_epochs = n_epochs
        self.learning_rate = learning_rate
        self.negative_sample_rate = negative_sample_rate
        self.repulsion_strength = repulsion_strength
        self.local_connectivity = local_connectivity
        self.random_state = random_state
        self.verbose = verbose

    def _check_params(self) -> None:
        check_int(self, "n_components", self.n_components, 1, allow_none=True)
        check_int(self, "n_neighbors", self.n_neighbors, 2)
        check_float(self, "min_dist", self.min_dist, 0)
        check_options(self, "metric", self.metric, self._METRICS)
        check_int(self, "n_epochs", self.n_epochs, 1, allow_none=True)
        check_float(self, "learning_rate", self.learning_rate, 0, low_open=True)
        check_int(self, "negative_sample_rate", self.negative_sample_rate, 0)
        check_float(self, "repulsion_strength", self.repulsion_strength, 0)
        check_float(self, "local_connectivity", self.local_connectivity, 0)
        check_random_state_param(self, self.random_state)

    def fit_transform(self, X, y=None):
        """Fit and return the training embedding.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        embedding : ndarray of shape (n_samples, n_components), float32
            ``embedding_``.
        """
        return self.fit(X).embedding_

    # -- persistence hooks (n2d.persistence) and pickling ---------------------- #

    def _n2d_get_state(self) -> dict:
        return {k: v for k, v in vars(self).items() if k.endswith("_") and not k.startswith("_")}

    def _n2d_set_state(self, state: dict) -> None:
        for k, v in state.items():
            setattr(self, k, v)
        for name in self._TRANSIENT:
            setattr(self, name, None)

    def __getstate__(self):
        state = super().__getstate__()
        for name in self._TRANSIENT:
            state.pop(name, None)
        return state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags


class TorchUMAP(UMAPBase):
    """UMAP manifold stage in torch: the same code on the CPU and a GPU.

    A drop-in for :class:`n2d.manifold.UMAP` (same parameters, methods and
    fitted attributes) that computes exact neighbours, the fuzzy graph and the
    layout with tensor operations, so fitting 70,000 points takes seconds on a
    GPU. The numerics follow umap-learn 0.5; see Notes for the differences.

    Parameters
    ----------
    n_components : int, default=None
        Embedding dimension. ``None`` is resolved by :class:`n2d.N2D` to its
        ``n_clusters`` (the paper's choice); standalone, ``None`` means 2.
    n_neighbors : int, default=20
        Size of the local neighbourhood, counting the point itself (as
        umap-learn). Larger values give a more global view; 2 to 100 is the
        usual range. N2D uses 20. Clipped to ``n_samples - 1`` with a warning.
    min_dist : float, default=0.0
        Minimum spacing of embedded points. N2D uses 0, which packs clusters
        tightly: good for clustering, not for display.
    metric : {"euclidean"}, default="euclidean"
        Only Euclidean distances are implemented.
    n_epochs : int, default=None
        Layout epochs; ``None`` means 500 for at most 10,000 points and 200
        above (umap-learn's rule). :meth:`transform` runs a third of that
        (``None``: 100 epochs for at most 10,000 new points, else 30).
    learning_rate : float, default=1.0
        Initial SGD step, decayed linearly to 0.
    negative_sample_rate : int, default=5
        Negative samples per sampled edge; 0 disables repulsion.
    repulsion_strength : float, default=1.0
        Weight of the negative samples (``gamma``).
    local_connectivity : float, default=1.0
        Number of nearest neighbours assumed fully connected; at most the local
        intrinsic dimension.
    random_state : int, RandomState or None, default=None
        Seeds the spectral start, the noise and the negative samples. An int
        gives identical results from run to run on the CPU (GPU scatter-adds
        are not bitwise reproducible). None draws a seed from numpy's global
        generator.
    verbose : int, default=0
        0 is silent; 1 prints stage timings and a progress bar over epochs.
    device : str, default="auto"
        ``"auto"`` (CUDA if available, else CPU), ``"cpu"``, ``"cuda"`` or
        ``"cuda:N"``. An explicit GPU that is missing raises ``ValueError``.

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
    n_epochs_ : int
        Layout epochs used by the fit.
    transform_seed_ : int
        Seed of the out-of-sample refinement, so ``transform`` is deterministic.
    n_features_in_ : int
        Number of features seen during fit.
    device_ : str
        Device of the fit (``"cpu"``, ``"cuda:0"``, ...); ``transform`` runs
        there too (or on the CPU, with a DeviceWarning, if that GPU is gone).
    timings_ : dict of str to float
        Seconds spent in each stage of the fit (``knn``, ``graph``, ``init``,
        ``layout``).

    See Also
    --------
    n2d.manifold.UMAP : The umap-learn-backed stage this mirrors.

    Notes
    -----
    N2D (McConville et al., 2020, "N2D: (Not Too) Deep Clustering via Clustering
    the Local Manifold of an Autoencoded Embedding", ICPR) clusters the UMAP
    embedding of an autoencoder's codes with a Gaussian mixture, with
    ``n_neighbors=20``, ``min_dist=0`` and ``n_components = n_clusters``.

    Differences from umap-learn 0.5:

    - *Batched updates.* umap-learn's SGD walks the edges one after another and
      each update sees the positions left by the previous ones (Hogwild when
      parallel). Here the edges due in an epoch are processed in random
      batches sized so that a point gets about one update per batch; within a
      batch the attractive steps are computed from the same positions and
      summed, then the repulsive steps from the positions after attraction.
      The schedule (which edges, how many negative samples, the learning
      rate) is umap-learn's. With a single batch per epoch the summed steps
      overshoot and trustworthiness drops by about 0.0015 (see
      :func:`optimize_layout`).
    - *Neighbours are exact*, by blocked matrix products (umap-learn uses
      NN-descent above 4,096 points), and cost ``O(n^2 d)``.
    - *Spectral start*: ARPACK is asked for the largest eigenvalues of the
      normalised adjacency (the same eigenvectors as umap-learn's smallest of
      the Laplacian), from a seeded random start vector.
    - *Random streams differ*: the same seed does not give umap-learn's
      embedding, and CPU and GPU runs differ from each other.
    - Only the Euclidean metric; no densMAP, ``init`` choices, ``spread``,
      ``set_op_mix_ratio`` or ``inverse_transform``.

    On the CPU the layout runs on one torch thread (its per-epoch tensors are
    small; on a busy machine more OpenMP threads made it 20 to 30 times
    slower), while the neighbour search uses them all.

    Examples
    --------
    >>> import numpy as np
    >>> from n2d._umap_torch import TorchUMAP
    >>> X = np.random.RandomState(0).normal(size=(200, 5)).astype(np.float32)
    >>> emb = TorchUMAP(n_components=2, n_epochs=50, random_state=0, device="cpu").fit_transform(X)
    >>> emb.shape, emb.dtype
    ((200, 2), dtype('float32'))
    """

    def __init__(
        self,
        n_components=None,
        *,
        n_neighbors=20,
        min_dist=0.0,
        metric="euclidean",
        n_epochs=None,
        learning_rate=1.0,
        negative_sample_rate=5,
        repulsion_strength=1.0,
        local_connectivity=1.0,
        random_state=None,
        verbose=0,
        device="auto",
    ):
        super().__init__(
            n_components,
            n_neighbors=n_neighbors,
            min_dist=min_dist,
            metric=metric,
            n_epochs=n_epochs,
            learning_rate=learning_rate,
            negative_sample_rate=negative_sample_rate,
            repulsion_strength=repulsion_strength,
            local_connectivity=local_connectivity,
            random_state=random_state,
            verbose=verbose,
        )
        self.device = device

    _TRANSIENT = ("_cache",)

    def _check_params(self) -> torch.device:
        super()._check_params()
        if not isinstance(self.verbose, (bool, np.bool_)):
            check_int(self, "verbose", self.verbose, 0)
        return resolve_device(self.device)

    def _say(self, msg: str) -> None:
        log.info(msg)
        if self.verbose:
            print(msg, flush=True)

    def fit(self, X, y=None):
        """Fit the UMAP embedding of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; converted to float32.
        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        X = validate_data(self, X, dtype=np.float32, ensure_min_samples=2)
        device = self._check_params()
        X = np.ascontiguousarray(X, dtype=np.float32)
        n = X.shape[0]
        k = min(int(self.n_neighbors), n - 1)
        if k < self.n_neighbors:
            warnings.warn(
                f"n_neighbors={self.n_neighbors} is not below the number of samples ({n}); using {k}.",
                N2DWarning,
                stacklevel=2,
            )
        dim = 2 if self.n_components is None else int(self.n_components)
        seed = seed_from(check_random_state(None)) if self.random_state is None else seed_from(self.random_state)
        init_seed, layout_seed, transform_seed = (int(s) for s in np.random.RandomState(seed).randint(0, 2**31 - 1, 3))
        default_epochs = 500 if n <= 10000 else 200
        n_epochs = default_epochs if self.n_epochs is None else int(self.n_epochs)
        a, b = find_ab_params(1.0, float(self.min_dist))
        timings = {}

        with torch.no_grad():
            t0 = time.perf_counter()
            xt = torch.from_numpy(X).to(device)
            dists, indices = knn(xt, k)
            timings["knn"] = _lap(t0, device)
            self._say(f"TorchUMAP: {k} nearest neighbours of {n} points on {device} in {timings['knn']:.2f} s")

            t0 = time.perf_counter()
            graph = membership_graph(indices, dists, float(k), float(self.local_connectivity))
            del dists, indices
            rows, cols = graph.indices()
            weights = graph.values()
            if weights.numel():
                # umap-learn drops edges too weak to be sampled once.
                cut = weights.max() / float(n_epochs if n_epochs > 10 else default_epochs)
                keep = weights >= cut
                rows, cols, weights = rows[keep], cols[keep], weights[keep]
            graph = torch.sparse_coo_tensor(
                torch.stack([rows, cols]), weights, (n, n), is_coalesced=True, check_invariants=False
            )
            timings["graph"] = _lap(t0, device)
            self._say(f"TorchUMAP: fuzzy graph with {weights.numel()} edges in {timings['graph']:.2f} s")

            t0 = time.perf_counter()
            gen_init = torch.Generator().manual_seed(init_seed)
            init = spectral_init(graph, dim, gen_init, data=X)
            embedding = _rescale(init).to(device)
            timings["init"] = _lap(t0, device)
            self._say(f"TorchUMAP: spectral initialisation in {timings['init']:.2f} s")

            t0 = time.perf_counter()
            gen = torch.Generator(device=device).manual_seed(layout_seed)
            with _layout_threads(device):
                optimize_layout(
                    embedding,
                    embedding,
                    rows,
                    cols,
                    weights,
                    n_epochs,
                    a,
                    b,
                    gen,
                    negative_sample_rate=int(self.negative_sample_rate),
                    initial_alpha=float(self.learning_rate),
                    gamma=float(self.repulsion_strength),
                    move_other=True,
                    verbose=bool(self.verbose),
                    concurrency=_LAYOUT_CONCURRENCY,
                )
            timings["layout"] = _lap(t0, device)
            self._say(f"TorchUMAP: {n_epochs} layout epochs in {timings['layout']:.2f} s")

        self.embedding_ = embedding.cpu().numpy().astype(np.float32, copy=False)
        self.fit_data_ = X
        self.a_ = float(a)
        self.b_ = float(b)
        self.n_neighbors_ = int(k)
        self.n_epochs_ = int(n_epochs)
        self.transform_seed_ = int(transform_seed)
        self.device_ = str(xt.device)
        self.timings_ = {k_: float(v) for k_, v in timings.items()}
        self._cache = None
        return self

    def _runtime_device(self) -> torch.device:
        dev = runtime_device(self.device_, "UMAP")
        self.device_ = str(dev)
        return dev

    def _train_tensors(self, device: torch.device):
        # Kept between transform calls, never saved: cheap to rebuild.
        cache = getattr(self, "_cache", None)
        if cache is None or cache[0] != device:
            data = torch.from_numpy(np.ascontiguousarray(self.fit_data_, dtype=np.float32)).to(device)
            emb = torch.from_numpy(np.ascontiguousarray(self.embedding_, dtype=np.float32)).to(device)
            cache = (device, data, emb)
            self._cache = cache
        return cache[1], cache[2]

    def transform(self, X):
        """Place new points in the fitted embedding, the way umap-learn does.

        For each new point: its ``n_neighbors_`` nearest training points
        (exact), UMAP's membership weights to them (with ``local_connectivity -
        1``), a start at the weighted mean of their embedded positions (or on a
        training point it duplicates), then a short SGD refinement
        (:func:`optimize_layout` with ``move_other=False``, learning rate
        ``learning_rate / 4``) against the fixed training embedding.
        Deterministic for a fitted model on the CPU; a point's placement does
        not depend on the other new points except through the random stream,
        which is drawn for the points in a canonical (sorted) order, so the
        result does not depend on the order of the rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            New data with the training data's features.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components), float32
            Positions in the embedding.
        """
        check_is_fitted(self, "embedding_")
        X = validate_data(self, X, dtype=np.float32, reset=False)
        order = np.lexsort(X.T[::-1])  # a canonical order of the rows
        placed = np.empty((X.shape[0], self.embedding_.shape[1]), dtype=np.float32)
        placed[order] = self._place(np.ascontiguousarray(X[order], dtype=np.float32))
        return placed

    def _place(self, X: np.ndarray) -> np.ndarray:
        device = self._runtime_device()
        n_new = X.shape[0]
        if self.n_epochs is None:
            n_epochs = 100 if n_new <= 10000 else 30
        else:
            n_epochs = max(1, int(self.n_epochs) // 3)
        with torch.no_grad():
            data, emb = self._train_tensors(device)
            xq = torch.from_numpy(X).to(device)
            k = int(self.n_neighbors_)
            dists, indices = knn(xq, k, reference=data)
            sigmas, rhos = smooth_knn_dist(
                dists, float(k), local_connectivity=float(max(0.0, self.local_connectivity - 1.0))
            )
            weights = membership_strengths(indices, dists, sigmas, rhos, bipartite=True)
            embedding = _weighted_mean_init(weights, indices, emb)
            rows = torch.arange(n_new, device=device, dtype=torch.int64).repeat_interleave(k)
            cols = indices.reshape(-1)
            vals = weights.reshape(-1)
            if vals.numel() and float(vals.max()) > 0:
                keep = (vals >= vals.max() / float(n_epochs)) & (vals > 0)
                rows, cols, vals = rows[keep], cols[keep], vals[keep]
                gen = torch.Generator(device=device).manual_seed(int(self.transform_seed_))
                with _layout_threads(device):
                    optimize_layout(
                        embedding,
                        emb,
                        rows,
                        cols,
                        vals,
                        n_epochs,
                        self.a_,
                        self.b_,
                        gen,
                        negative_sample_rate=int(self.negative_sample_rate),
                        initial_alpha=float(self.learning_rate) / 4.0,
                        gamma=float(self.repulsion_strength),
                        move_other=False,
                        concurrency=_LAYOUT_CONCURRENCY,
                    )
        return embedding.cpu().numpy().astype(np.float32, copy=False)

    def _n2d_set_state(self, state: dict) -> None:
        super()._n2d_set_state(state)
        if isinstance(getattr(self, "device_", None), str):
            self._runtime_device()  # a GPU-fitted UMAP loads on the CPU with a DeviceWarning


def _layout_threads(device: torch.device):
    """One torch thread for the layout on the CPU; the GPU's setting untouched.

    The layout's per-epoch tensors are small, so extra OpenMP threads buy
    little, and on a busy machine their spinning barriers made it 20 to 30
    times slower (pendigits: minutes instead of 15 s). The neighbour search
    before it, one large matrix product, keeps every thread.
    """
    return torch_threads(1) if device.type == "cpu" else contextlib.nullcontext()


def _lap(t0: float, device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - t0
