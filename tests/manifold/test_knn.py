"""n2d.manifold._knn: exact nearest neighbours by blocked matrix products, against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.neighbors import NearestNeighbors

from n2d.manifold._knn import knn

SEEDS = (0, 1)


def _no_tie_rows(dists, k, eps=1e-4):
    """Rows whose k-th and (k+1)-th exact distances differ (the neighbour set is unique)."""
    return np.abs(dists[:, k] - dists[:, k - 1]) > eps


@pytest.mark.parametrize("block_size", [2**26, 1000])
def test_knn_matches_sklearn_brute_force(block_size):
    rs = np.random.RandomState(1)
    x = rs.normal(size=(500, 10)).astype(np.float32)
    k = 12
    dists, indices = knn(torch.from_numpy(x), k, block_size=block_size)
    assert indices.dtype == torch.int64 and dists.dtype == torch.float32
    assert dists.shape == indices.shape == (500, k)
    ref_d, ref_i = NearestNeighbors(n_neighbors=k + 1, algorithm="brute").fit(x).kneighbors(x)
    np.testing.assert_array_equal(indices[:, 0].numpy(), np.arange(500))  # self first, at 0
    assert float(dists[:, 0].abs().max()) == 0.0
    np.testing.assert_allclose(dists.numpy(), ref_d[:, :k], rtol=1e-5, atol=1e-5)
    ok = _no_tie_rows(ref_d, k)
    assert ok.mean() > 0.95
    for got, want in zip(indices.numpy()[ok], ref_i[ok, :k]):
        assert set(got) == set(want)


def test_knn_against_a_reference_set_in_several_blocks():
    rs = np.random.RandomState(2)
    ref, query = rs.normal(size=(400, 6)).astype(np.float32), rs.normal(size=(70, 6)).astype(np.float32)
    query[3] = ref[17]
    # block_size 500 over 400 reference points: one query row per block (70 blocks)
    dists, indices = knn(torch.from_numpy(query), 9, block_size=500, reference=torch.from_numpy(ref))
    ref_d, ref_i = NearestNeighbors(n_neighbors=10, algorithm="brute").fit(ref).kneighbors(query)
    np.testing.assert_allclose(dists.numpy(), ref_d[:, :9], rtol=1e-5, atol=1e-5)
    ok = _no_tie_rows(ref_d, 9)
    for got, want in zip(indices.numpy()[ok], ref_i[ok, :9]):
        assert set(got) == set(want)
    assert indices[3, 0] == 17 and dists[3, 0] == 0.0


def test_knn_rejects_k_out_of_range():
    with pytest.raises(ValueError, match="k must be in"):
        knn(torch.zeros(5, 2), 6)
