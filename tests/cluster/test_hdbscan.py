"""n2d's HDBSCAN stage: noise, prediction by the nearest clustered point, its parameters."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs

from n2d.cluster import HDBSCANClusterer, finds_k


@pytest.fixture(scope="module")
def blobs_with_outliers():
    x, _ = make_blobs(n_samples=200, centers=[[0, 0], [10, 10], [-10, 10]], cluster_std=0.5, random_state=0)
    outliers = np.array([[100.0, 100.0], [-100.0, 50.0], [50.0, -100.0]])
    return np.vstack([x, outliers])


def test_hdbscan_marks_far_outliers_as_noise(blobs_with_outliers):
    x = blobs_with_outliers
    h = HDBSCANClusterer(min_cluster_size=10).fit(x)
    assert h.labels_.dtype == np.int64 and h.labels_.shape == (203,)
    np.testing.assert_array_equal(h.labels_[-3:], [-1, -1, -1])
    assert h.n_clusters_ == 3 == len(np.unique(h.labels_[h.labels_ >= 0]))  # noise is not a cluster
    assert h.noise_fraction_ == pytest.approx(np.mean(h.labels_ == -1)) and h.noise_fraction_ >= 3 / 203
    kept = h.labels_ >= 0
    assert h.clustered_points_.shape == (kept.sum(), 2)
    np.testing.assert_array_equal(h.clustered_labels_, h.labels_[kept])
    assert finds_k(h) and not finds_k(KMeans())


def test_hdbscan_predict_never_returns_noise(blobs_with_outliers):
    x = blobs_with_outliers
    h = HDBSCANClusterer(min_cluster_size=10).fit(x)
    pred = h.predict(x)
    assert (pred >= 0).all()
    kept = h.labels_ >= 0
    np.testing.assert_array_equal(pred[kept], h.labels_[kept])  # clustered training points keep their cluster
    # a noise point gets the cluster of its nearest clustered training point
    for i in np.flatnonzero(~kept):
        nearest = np.argmin(np.linalg.norm(h.clustered_points_ - x[i], axis=1))
        assert pred[i] == h.clustered_labels_[nearest]
    new = np.array([[0.3, -0.2], [9.5, 10.4], [-10.0, 9.0], [1000.0, 1000.0]])
    expected = [h.clustered_labels_[np.argmin(np.linalg.norm(h.clustered_points_ - p, axis=1))] for p in new]
    np.testing.assert_array_equal(h.predict(new), expected)
    assert len(set(expected[:3])) == 3  # one new point near each blob


def test_hdbscan_default_min_cluster_size_and_errors(blobs_with_outliers):
    x = blobs_with_outliers
    assert HDBSCANClusterer()._resolved_min_cluster_size(203) == 5
    assert HDBSCANClusterer()._resolved_min_cluster_size(70_000) == 350
    with pytest.raises(ValueError, match="min_cluster_size=500 is larger than the 203 samples"):
        HDBSCANClusterer(min_cluster_size=500).fit(x)
    for bad in (1, 0, 2.5, True, "5"):
        with pytest.raises(ValueError, match="'min_cluster_size' parameter of HDBSCANClusterer"):
            HDBSCANClusterer(min_cluster_size=bad).fit(x)
    with pytest.raises(ValueError, match="'min_samples' parameter of HDBSCANClusterer"):
        HDBSCANClusterer(min_samples=0).fit(x)
    all_noise = HDBSCANClusterer(min_cluster_size=20).fit(np.random.RandomState(0).rand(20, 2))
    assert all_noise.n_clusters_ == 0 and all_noise.noise_fraction_ == 1.0
    with pytest.raises(ValueError, match="every point is noise"):
        all_noise.predict(np.zeros((1, 2)))
