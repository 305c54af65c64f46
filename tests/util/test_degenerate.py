"""Degenerate data (issue #11 point 15): fewer distinct points than clusters, identical rows."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.preprocessing import FunctionTransformer

from n2d import N2D
from n2d._util.degenerate import same_labels_for_same_rows, transform_distinct
from n2d.exceptions import DegenerateDataWarning


def _n2d(**kw):
    params = dict(n_clusters=3, hidden_dims=(16,), epochs=2, device="cpu", random_state=0, verbose=0)
    params.update(kw)
    return N2D(**params)


@pytest.fixture(scope="module")
def overlapping():
    """Blobs that overlap, so some points lie between clusters."""
    x, _ = make_blobs(300, centers=3, n_features=8, cluster_std=3.0, random_state=0)
    x = x.astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DegenerateDataWarning)  # 300 distinct rows: no warning
        model = _n2d().fit(x)
    return model, x


def test_fewer_distinct_rows_than_clusters_warns_and_labels_identical_rows_alike():
    base = np.random.RandomState(0).rand(2, 8).astype(np.float32)
    x = np.repeat(base, 100, axis=0)
    with pytest.warns(DegenerateDataWarning, match="The data has only 2 distinct points, fewer than n_clusters=3"):
        model = _n2d().fit(x)
    assert len(np.unique(model.labels_[:100])) == 1 and len(np.unique(model.labels_[100:])) == 1
    predicted = model.predict(x)
    assert len(np.unique(predicted[:100])) == 1 and len(np.unique(predicted[100:])) == 1


def test_code_with_fewer_distinct_points_than_clusters_warns(overlapping):
    x = overlapping[1]
    two_codes = FunctionTransformer(lambda a: (a[:, :1] > np.median(a[:, 0])).astype(np.float32))
    with pytest.warns(DegenerateDataWarning, match="autoencoder's code of the data has only 2 distinct points"):
        _n2d(autoencoder=two_codes, manifold=None, clusterer="kmeans").fit(x)


def test_identical_rows_get_identical_predictions(overlapping):
    model, x = overlapping
    ambiguous = np.argsort(np.abs(model.predict_proba(x).max(1) - 0.5))[:20]  # points between clusters
    for i in ambiguous:
        copies = np.repeat(x[i : i + 1], 30, axis=0)
        assert len(np.unique(model.predict(copies))) == 1, i
        assert len(np.unique(model.transform(copies), axis=0)) == 1, i
    pairs = x.copy()
    pairs[1::2] = x[0::2]  # every row twice, among other rows
    labels = model.predict(pairs)
    np.testing.assert_array_equal(labels[0::2], labels[1::2])


def test_identical_training_rows_get_identical_labels(overlapping):
    x = overlapping[1].copy()
    x[150:] = x[:150]  # every row twice
    labels = _n2d().fit(x).labels_
    np.testing.assert_array_equal(labels[:150], labels[150:])


def test_data_without_duplicates_is_unchanged(overlapping):
    x = overlapping[1]
    calls = []
    np.testing.assert_array_equal(transform_distinct(lambda a: calls.append(a) or a * 2, x), x * 2)
    assert calls[0] is x or np.shares_memory(calls[0], x)  # the transform saw the data itself


def test_majority_label_of_each_group_wins():
    groups = (3, np.array([0, 0, 0, 1, 1, 2, 0]))
    labels = np.array([5, 7, 7, 1, 2, 9, 5])
    code = emb = np.arange(14, dtype=np.float32).reshape(7, 2)
    out = same_labels_for_same_rows(groups, code, emb, labels, 2)
    # group 0 (rows 0-2, 6): 5, 7, 7, 5 is a tie -> the smaller, 5; group 1: 1 vs 2 -> 1; group 2: 9
    np.testing.assert_array_equal(out, [5, 5, 5, 1, 1, 9, 5])
