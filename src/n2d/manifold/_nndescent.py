"""Approximate nearest neighbours for large fits on the CPU, with pynndescent.

The exact search of :func:`n2d.manifold._knn.knn` costs ``O(n^2 d)``, which is
seconds at the paper's sizes but grows as the square of the points. Above
:data:`NNDESCENT_ABOVE` points on the CPU, :class:`~n2d.manifold._torch_umap.TorchUMAP`
(``knn_method="auto"``) builds its neighbour graph with NN-descent instead,
from pynndescent (the library umap-learn uses, installed with it), with
umap-learn's settings. Its recall against the exact neighbours and its time
are measured by ``benchmarks/knn_recall.py`` (the docs' big-data page,
"Neighbours: exact and NN-descent"). On a GPU the exact search stays
(it is a few large matrix products there). New points (``transform``) are
always searched exactly, so that a point's placement never depends on the
other points passed with it.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["KNN_METHODS", "NNDESCENT_ABOVE", "resolve_knn_method", "nndescent_knn"]

KNN_METHODS = ("auto", "exact", "nndescent")

NNDESCENT_ABOVE = 200_000
"""``knn_method="auto"`` uses NN-descent on the CPU above this many points.

Below it the exact search is faster than NN-descent plus its just-in-time
compilation in a fresh process; above it the exact search's quadratic cost
dominates (``benchmarks/knn_recall.py``; the docs' big-data page).
"""


def resolve_knn_method(method: str, n_samples: int, device: torch.device) -> str:
    """``"exact"`` or ``"nndescent"`` for a fit of ``n_samples`` points on ``device``."""
    if method == "auto":
        return "nndescent" if device.type == "cpu" and n_samples > NNDESCENT_ABOVE else "exact"
    return method


def nndescent_knn(x: np.ndarray, k: int, seed: int, verbose: bool = False):
    """Approximate ``k`` nearest neighbours of every row of ``x`` among the rows of ``x``.

    NN-descent with umap-learn's settings (``n_trees = min(64, 5 + round(sqrt(n) / 20))``,
    ``n_iters = max(5, round(log2(n)))``, ``max_candidates=60``). The
    distances of the neighbours found are then recomputed exactly, and each
    row is sorted by them, as in :func:`n2d.manifold._knn.knn`.

    Parameters
    ----------
    x : ndarray of shape (n_samples, n_features), float32
    k : int
        Neighbours per point, counting the point itself.
    seed : int
        Seeds the random projection trees and the search.
    verbose : bool, default=False

    Returns
    -------
    dists : Tensor of shape (n_samples, k), float32
    indices : Tensor of shape (n_samples, k), int64
    """
    from pynndescent import NNDescent

    n = x.shape[0]
    index = NNDescent(
        x,
        n_neighbors=int(k),
        metric="euclidean",
        n_trees=min(64, 5 + int(round(n**0.5 / 20.0))),
        n_iters=max(5, int(round(np.log2(n)))),
        max_candidates=60,
        low_memory=True,
        random_state=int(seed),
        compressed=True,
        verbose=bool(verbose),
    )
    indices, _ = index.neighbor_graph
    del index
    idx = torch.from_numpy(np.ascontiguousarray(indices, dtype=np.int64))
    if (idx < 0).any():
        # NN-descent leaves -1 where it found fewer than k candidates (tiny or duplicated data).
        raise RuntimeError("NN-descent found fewer than k neighbours for some points; use knn_method='exact'.")
    xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    dists = torch.empty(idx.shape, dtype=torch.float32)
    for start in range(0, n, 65_536):
        stop = min(n, start + 65_536)
        dists[start:stop] = torch.linalg.vector_norm(xt[start:stop].unsqueeze(1) - xt[idx[start:stop]], dim=2)
    dists, order = torch.sort(dists, dim=1, stable=True)
    return dists, idx.gather(1, order)
