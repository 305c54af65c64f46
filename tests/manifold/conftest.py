"""Shared by the manifold tests: one thread (small tensors spin on a busy host) and small point sets."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.neighbors import NearestNeighbors
from threadpoolctl import threadpool_limits


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Run torch and BLAS single-threaded here, restoring the settings afterwards.

    The per-epoch tensors are small, and on a shared, oversubscribed host
    multi-threaded OpenMP spins: 50 layout epochs on 3,000 points took 21 s with
    two torch threads and 0.6 s with one. Results do not depend on the thread count.
    """
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(1):
        yield
    torch.set_num_threads(old)


@pytest.fixture(autouse=True)
def _torch_one_thread_again():
    """Re-apply one torch thread before each test.

    umap-learn's parallel numba functions (OpenMP layer) call
    ``omp_set_num_threads`` on the libgomp that torch shares, which silently puts
    torch back to all cores (``torch.get_num_threads()`` reads 2 afterwards).
    """
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def points():
    """300 x 8 Gaussian points with a few exact duplicates (distance-0 neighbours)."""
    x = np.random.RandomState(0).normal(size=(300, 8)).astype(np.float32)
    x[10] = x[11]
    x[20] = x[21] = x[22]
    return x


@pytest.fixture(scope="module")
def exact_knn(points):
    nn = NearestNeighbors(n_neighbors=15, algorithm="brute").fit(points)
    dists, indices = nn.kneighbors(points)
    # Put each point first among its duplicates, as umap-learn's exact search does.
    for i in range(len(points)):
        if indices[i, 0] != i:
            j = int(np.flatnonzero(indices[i] == i)[0])
            indices[i, [0, j]] = indices[i, [j, 0]]
    return dists.astype(np.float32), indices.astype(np.int64)
