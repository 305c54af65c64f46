"""n2d.manifold._graph: the fuzzy simplicial set and the curve parameters, against umap-learn."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from n2d.manifold._graph import find_ab_params, membership_graph, smooth_knn_dist

SEEDS = (0, 1)


@pytest.mark.parametrize("local_connectivity", [0.0, 1.0, 1.5, 2.0])
def test_smooth_knn_dist_matches_umap_learn(exact_knn, local_connectivity):
    from umap.umap_ import smooth_knn_dist as umap_smooth

    dists, _ = exact_knn
    want_sigma, want_rho = umap_smooth(dists, 15.0, local_connectivity=local_connectivity)
    sigma, rho = smooth_knn_dist(torch.from_numpy(dists), 15.0, local_connectivity=local_connectivity)
    assert sigma.dtype == rho.dtype == torch.float32
    np.testing.assert_allclose(rho.numpy(), want_rho, rtol=1e-6)
    np.testing.assert_allclose(sigma.numpy(), want_sigma, rtol=1e-4)


def test_membership_graph_matches_umap_learn_fuzzy_simplicial_set(points, exact_knn):
    from umap.umap_ import fuzzy_simplicial_set

    dists, indices = exact_knn
    want, _, _ = fuzzy_simplicial_set(points, 15, None, "euclidean", knn_indices=indices, knn_dists=dists)
    graph = membership_graph(torch.from_numpy(indices), torch.from_numpy(dists))
    assert graph.is_coalesced() and graph.indices().dtype == torch.int64
    got = graph.to_dense().numpy()
    np.testing.assert_allclose(got, want.toarray(), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(got, got.T)
    assert np.all(np.diag(got) == 0)


def test_membership_graph_keys_do_not_overflow_int32():
    """70,000 points: row * n + col reaches 4.9e9, beyond int32 (torchdr's failure)."""
    n, k = 70_000, 4
    rs = np.random.RandomState(0)
    offsets = np.cumsum(1 + rs.randint(0, 1000, size=(n, k - 1)), axis=1)  # distinct, non-zero
    others = (np.arange(n)[:, None] + offsets) % n
    indices = np.concatenate([np.arange(n)[:, None], others], axis=1).astype(np.int64)
    dists = np.sort(rs.uniform(0.5, 2.0, size=(n, k)), axis=1).astype(np.float32)
    dists[:, 0] = 0.0
    graph = membership_graph(torch.from_numpy(indices), torch.from_numpy(dists))
    idx = graph.indices().numpy()
    assert idx.dtype == np.int64 and 0 <= idx.min() and idx.max() < n
    g = sp.coo_matrix((graph.values().numpy(), (idx[0], idx[1])), shape=(n, n)).tocsr()
    assert abs(g - g.T).max() == 0
    rows = np.repeat(np.arange(n), k - 1)
    assert np.all(np.asarray(g[rows, others.ravel()]).ravel() > 0)  # every kNN edge is present


def test_find_ab_params_matches_umap_learn():
    from umap.umap_ import find_ab_params as umap_ab

    for min_dist in (0.0, 0.1):
        np.testing.assert_allclose(find_ab_params(1.0, min_dist), umap_ab(1.0, min_dist), rtol=1e-6)
