"""Synthetic clustered data for the scale benchmarks, any number of rows, generated in chunks.

Ten clusters in a 10-D latent space (Gaussian, centres on a scaled simplex-like
random draw, overlapping a little), carried to ``n_features`` dimensions by a
fixed random two-layer tanh network, plus Gaussian noise. The map is nonlinear,
so the clusters are curved sheets in the feature space rather than blobs: a
plain GMM on the raw features does worse than N2D, and the labels are a
meaningful score. Row ``i`` depends only on ``(seed, i // chunk)``, so any
prefix of a larger set is the smaller set, and a file can be written chunk by
chunk without holding it in memory.
"""

from __future__ import annotations

import numpy as np

N_CLUSTERS = 10
LATENT = 10
CHUNK = 100_000


def _network(n_features: int, seed: int):
    rng = np.random.default_rng([seed, 7919])
    centres = rng.normal(size=(N_CLUSTERS, LATENT)) * 1.3
    w1 = rng.normal(size=(LATENT, 64)) / np.sqrt(LATENT)
    w2 = rng.normal(size=(64, n_features)) / np.sqrt(64)
    return centres, w1, w2


def chunks(n: int, n_features: int = 50, seed: int = 0, chunk: int = CHUNK):
    """Yield ``(X, y)`` blocks of at most ``chunk`` rows, ``n`` rows in all (float32, int64)."""
    centres, w1, w2 = _network(n_features, seed)
    for index, start in enumerate(range(0, n, chunk)):
        m = min(chunk, n - start)
        rng = np.random.default_rng([seed, index])
        y = rng.integers(0, N_CLUSTERS, m)
        z = centres[y] + rng.normal(size=(m, LATENT))
        x = np.tanh(np.tanh(z @ w1) @ w2 * 2.0) + 0.05 * rng.normal(size=(m, n_features))
        yield x.astype(np.float32), y.astype(np.int64)


def make(n: int, n_features: int = 50, seed: int = 0):
    """The whole set in memory: ``X`` of shape (n, n_features) float32 and labels ``y``."""
    parts = list(chunks(n, n_features, seed))
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
