"""n2d.manifold._layout: the spectral start and the edge schedule, against umap-learn."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from n2d.exceptions import N2DWarning
from n2d.manifold._graph import membership_graph
from n2d.manifold._layout import make_epochs_per_sample, optimize_layout, spectral_init

SEEDS = (0, 1)


def test_spectral_init_spans_umap_learns_eigenvectors(points, exact_knn):
    from scipy.linalg import subspace_angles
    from umap.spectral import spectral_layout

    dists, indices = exact_knn
    graph = membership_graph(torch.from_numpy(indices), torch.from_numpy(dists))
    idx = graph.indices().numpy()
    g = sp.coo_matrix((graph.values().numpy(), (idx[0], idx[1])), shape=graph.shape).tocsr()
    want = spectral_layout(points, g, 3, np.random.RandomState(0))
    coords = spectral_init(graph, 3, torch.Generator().manual_seed(0))
    assert coords.shape == (300, 3) and coords.dtype == torch.float32
    assert abs(float(coords.abs().max()) - 10.0) < 1e-2
    assert np.rad2deg(subspace_angles(coords.numpy().astype(np.float64), want)).max() < 1.0


def _clique_graph(*sizes):
    a = sp.block_diag([np.ones((m, m)) - np.eye(m) for m in sizes]).tocoo()
    return torch.sparse_coo_tensor(
        np.vstack([a.row, a.col]), a.data.astype(np.float32), a.shape, check_invariants=True
    ).coalesce()


def test_spectral_init_lays_out_components_apart():
    """Two 6-cliques: each gets its own region (umap-learn's multi-component layout)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        coords = spectral_init(_clique_graph(6, 6), 2, torch.Generator().manual_seed(0)).numpy()
    assert coords.shape == (12, 2) and np.isfinite(coords).all()
    gap = np.linalg.norm(coords[:6].mean(0) - coords[6:].mean(0))
    spread = max(
        np.linalg.norm(coords[:6] - coords[:6].mean(0), axis=1).max(),
        np.linalg.norm(coords[6:] - coords[6:].mean(0), axis=1).max(),
    )
    assert gap > 1.5 * spread


def test_spectral_init_many_components_uses_centroids():
    rs = np.random.RandomState(0)
    sizes = (6, 7, 8, 9, 10, 2)  # more than 2 * dim components, one too small for a spectral layout
    data = np.vstack([rs.normal(loc=3 * i, size=(m, 3)) for i, m in enumerate(sizes)])
    coords = spectral_init(_clique_graph(*sizes), 2, torch.Generator().manual_seed(0), data=data)
    assert coords.shape == (sum(sizes), 2) and torch.isfinite(coords).all()
    assert abs(float(coords.abs().max()) - 10.0) < 1e-2


def test_spectral_init_falls_back_to_random_when_too_small():
    with pytest.warns(N2DWarning, match="too few"):
        coords = spectral_init(_clique_graph(3), 5, torch.Generator().manual_seed(0))
    assert coords.shape == (3, 5) and torch.isfinite(coords).all()


def test_epochs_per_sample_schedule():
    eps = make_epochs_per_sample(torch.tensor([1.0, 0.5, 0.1, 0.0]), 100)
    np.testing.assert_allclose(eps.numpy(), [1.0, 2.0, 10.0, -1.0])


def test_optimize_layout_keeps_tail_fixed_without_move_other():
    gen = torch.Generator().manual_seed(0)
    head_emb = torch.zeros(2, 2)
    tail_emb = torch.tensor([[3.0, 0.0], [0.0, 3.0], [50.0, 50.0]])
    before = tail_emb.clone()
    head = torch.tensor([0, 1])
    tail = torch.tensor([0, 1])
    optimize_layout(
        head_emb, tail_emb, head, tail, torch.ones(2), 50, 1.9, 0.8, gen, negative_sample_rate=0, move_other=False
    )
    torch.testing.assert_close(tail_emb, before)
    # pure attraction pulls each head point onto its tail
    assert float((head_emb - tail_emb[:2]).norm(dim=1).max()) < 0.5
