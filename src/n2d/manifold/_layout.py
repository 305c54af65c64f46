"""UMAP's embedding in torch: the spectral start and the negative-sampling SGD layout.

Each follows umap-learn 0.5's numerics (``umap/spectral.py``,
``umap/layouts.py``); the differences are listed in
:class:`~n2d.manifold._torch_umap.TorchUMAP`'s Notes.
"""

from __future__ import annotations

import logging
import math
import warnings

import numpy as np
import torch

from n2d.exceptions import N2DWarning

log = logging.getLogger("n2d.manifold._torch_umap")

__all__ = ["make_epochs_per_sample", "optimize_layout", "spectral_init"]

_DENSE_EIGH_MAX = 256
"""Graphs with at most this many vertices get a dense eigendecomposition."""


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
    an epoch, taken in one random order drawn at the start, are cut into
    consecutive batches (random batches that vary with the epoch's due
    edges, without a shuffle per epoch); within a batch all attractive steps
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
    from n2d._util.progress import progress as progress_bar

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
    # One random order of the edges for the whole run: each epoch's due edges,
    # taken in that order and cut into consecutive batches, form random
    # batches without a shuffle per epoch (whose scattered gathers cost more
    # than the schedule itself), as umap-learn walks its edges in one order.
    order = torch.randperm(head.numel(), generator=generator, device=device)
    head, tail, eps = head[order], tail[order], eps[order]
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
    # The steps work on coordinates as rows, (dim, n_points): a batch's
    # distances are then sums over the short outer axis and its gathers and
    # scatters move whole rows of points, several times faster on a CPU than
    # reductions over the 10 or so columns of (n_points, dim).
    head_t = head_emb.t().contiguous()
    tail_t = head_t if same else tail_emb.t().contiguous()
    alpha = float(initial_alpha)
    for n in progress_bar(range(n_epochs), disable=not verbose, desc="UMAP layout", unit="epoch"):
        due = torch.nonzero(next_sample <= n).squeeze(1)
        if due.numel():
            next_sample.index_add_(0, due, eps[due])  # the due edges are distinct: a plain +=
            if eps_neg is not None:
                due_neg, due_eps_neg = next_neg[due], eps_neg[due]
                n_neg = torch.floor((n - due_neg) / due_eps_neg).clamp_(min=0)
                next_neg[due] = due_neg + n_neg * due_eps_neg
                n_neg = n_neg.to(torch.int64)
            else:
                n_neg = torch.zeros_like(due)
            n_batches = math.ceil(due.numel() * updates_per_edge / (n_points * concurrency))
            n_batches = min(n_batches, max(1, due.numel() // int(min_batch)))
            heads, tails = head[due], tail[due]
            for j, k, counts in zip(*(torch.tensor_split(t, n_batches) for t in (heads, tails, n_neg))):
                _layout_step(head_t, tail_t, j, k, counts, a, b, gamma, alpha, move_other, rate, generator)
        alpha = float(initial_alpha) * (1.0 - float(n) / float(n_epochs))
    head_emb.copy_(head_t.t())
    if move_other and not same:
        tail_emb.copy_(tail_t.t())
    return head_emb


def _layout_step(head_t, tail_t, j, k, n_neg, a, b, gamma, alpha, move_other, rate, generator):
    """One batch of :func:`optimize_layout` on (dim, n) coordinates: attract edges ``(j, k)``, then repel ``j``
    from ``n_neg`` uniform samples each."""
    if not j.numel():
        return
    diff = head_t.index_select(1, j) - tail_t.index_select(1, k)
    d2 = diff.square().sum(0, keepdim=True)
    # -2ab d2^(b-1) / (1 + a d2^b), with one power; coincident points (d2 = 0) get no step.
    d2s = d2.clamp_min(np.finfo(np.float32).tiny)
    p = d2s.pow(b - 1.0)  # d2^(b-1), and d2^b = d2^(b-1) * d2
    coeff = (-2.0 * a * b) * p / (p * d2s).mul_(a).add_(1.0)
    coeff.masked_fill_(d2 == 0, 0.0)
    step = diff.mul_(coeff).clamp_(-4.0, 4.0).mul_(alpha)
    head_t.index_add_(1, j, step)
    if move_other:
        tail_t.index_add_(1, k, step.neg_())
    most = int(n_neg.max()) if rate > 0 else 0
    if most > 0:
        # Most edges draw `rate` samples; an edge's first sampling can owe a few
        # more. The common part is a dense (rate x edges) block (masked where an
        # edge owes fewer), the rest a short flat list.
        current = head_t.index_select(1, j)
        rep = _repulsion(current, tail_t, n_neg, min(rate, most), a, b, gamma, generator)
        head_t.index_add_(1, j, rep.mul_(alpha))


def _repulsive_steps(current, others, a, b, gamma, used=None):
    """Clipped repulsive steps of points ``current`` (dim, ...) from ``others`` (dim, ...); ``used`` masks pairs.

    A pair at distance 0 gets a step of 0 (its difference is 0), as in umap-learn.
    """
    diff = current - others
    d2 = diff.square().sum(0, keepdim=True)
    coeff = (2.0 * gamma * b) / (d2 + 0.001).mul_(d2.pow(b).mul_(a).add_(1.0))
    if used is not None:
        coeff.mul_(used)
    return diff.mul_(coeff).clamp_(-4.0, 4.0)


def _repulsion(current, tail_t, counts, width, a, b, gamma, generator):
    """Summed repulsive steps of each column of ``current`` (dim, n) from ``counts`` uniform negative samples."""
    device = current.device
    dim, n_rows = current.shape
    n_vertices = tail_t.shape[1]
    if width > 0:
        # Drawn edge by edge (row-major (n_rows, width)), as the samples of one edge follow each other.
        others = torch.randint(n_vertices, (n_rows * width,), generator=generator, device=device)
        others = others.view(n_rows, width).t().reshape(-1)
        used = None
        if bool((counts < width).any()):
            used = (torch.arange(width, device=device).unsqueeze(1) < counts.unsqueeze(0)).to(current.dtype)
        steps = _repulsive_steps(
            current.unsqueeze(1), tail_t.index_select(1, others).view(dim, width, n_rows), a, b, gamma, used
        )
        total = steps.sum(1)
    else:
        total = torch.zeros_like(current)
    extra = (counts - width).clamp_(min=0)
    n_extra = int(extra.sum())
    if n_extra > 0:
        rows = torch.repeat_interleave(torch.arange(n_rows, device=device), extra)
        others = torch.randint(n_vertices, (n_extra,), generator=generator, device=device)
        steps = _repulsive_steps(current.index_select(1, rows), tail_t.index_select(1, others), a, b, gamma)
        total.index_add_(1, rows, steps)
    return total
