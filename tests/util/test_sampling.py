"""Fitting the manifold and the clusterer on a sample of the rows (``N2D(fit_sample=...)``)."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_blobs

from n2d import N2D, evaluate
from n2d._util.sampling import AUTO_FIT_SAMPLE, predict_rest, resolve_fit_sample, sample_rows, transform_rest


@pytest.fixture(scope="module")
def many_blobs():
    x, y = make_blobs(n_samples=2500, centers=3, n_features=8, cluster_std=1.0, random_state=0)
    return x.astype(np.float32), y


def test_resolve_fit_sample():
    assert resolve_fit_sample("auto", 70_000) is None  # the paper's datasets are never sampled
    assert resolve_fit_sample("auto", AUTO_FIT_SAMPLE) is None
    assert resolve_fit_sample("auto", AUTO_FIT_SAMPLE + 1) == AUTO_FIT_SAMPLE
    assert resolve_fit_sample(None, 10**7) is None
    assert resolve_fit_sample(2000, 1500) is None and resolve_fit_sample(2000, 2001) == 2000


def test_sample_rows_is_a_sorted_seeded_sample():
    a = sample_rows(10_000, 1000, 3)
    assert a.shape == (1000,) and np.all(np.diff(a) > 0) and a.max() < 10_000
    np.testing.assert_array_equal(a, sample_rows(10_000, 1000, 3))
    assert not np.array_equal(a, sample_rows(10_000, 1000, 4))


def test_rest_helpers_fill_every_row_and_keep_the_sample():
    data = np.arange(20, dtype=np.float32).reshape(10, 2)
    sample = np.array([1, 4, 7])
    fitted = np.full((3, 2), -1.0, dtype=np.float32)
    out = transform_rest(lambda d: d * 2, data, fitted, sample, progress=False, chunk=3)
    np.testing.assert_array_equal(out[sample], fitted)
    rest = np.setdiff1d(np.arange(10), sample)
    np.testing.assert_array_equal(out[rest], data[rest] * 2)
    labels = predict_rest(lambda e: (e[:, 0] > 10).astype(int), data, np.array([5, 5, 5]), sample, progress=False,
                          chunk=2)
    assert labels.dtype == np.int64 and list(labels[sample]) == [5, 5, 5]
    np.testing.assert_array_equal(labels[rest], (data[rest, 0] > 10).astype(int))


def test_fit_on_a_sample_places_and_labels_the_other_rows(tiny_n2d, many_blobs):
    x, y = many_blobs
    model = tiny_n2d(fit_sample=1000).fit(x)
    assert model.fit_sample_size_ == 1000
    assert model.manifold_.embedding_.shape == (1000, 3)  # the manifold saw the sample only
    assert model.clusterer_.n_features_in_ == 3
    assert model.labels_.shape == (2500,) and model.embedding_.shape == (2500, 3)
    assert np.isfinite(model.embedding_).all() and model.labels_.min() >= 0
    assert set(model.timings_) == {"autoencoder", "manifold", "placement", "clusterer"}
    assert evaluate(y, model.labels_)["acc"] >= 0.95
    # rows outside the sample were labelled exactly the way predict labels new data
    inside = np.zeros(2500, dtype=bool)
    inside[sample_rows(2500, 1000, _manifold_seed(model))] = True
    np.testing.assert_array_equal(model.predict(x[~inside]), model.labels_[~inside])


def _manifold_seed(model):
    from n2d.estimator import stage_seeds

    return stage_seeds(model.random_state)[1]


def test_small_data_and_none_fit_every_row(tiny_n2d, blobs):
    x, _ = blobs
    for value in ("auto", None, 5000):
        model = tiny_n2d(fit_sample=value).fit(x)
        assert model.fit_sample_size_ == 300 and "placement" not in model.timings_
        assert model.manifold_.embedding_.shape[0] == 300


def test_a_clusterer_without_predict_fits_every_row(tiny_n2d, many_blobs):
    x, _ = many_blobs
    model = tiny_n2d(fit_sample=1000, clusterer="agglomerative").fit(x[:1500])
    assert model.manifold_.embedding_.shape[0] == 1000  # the manifold still used the sample
    assert model.clusterer_.labels_.shape == (1500,)
    np.testing.assert_array_equal(model.clusterer_.labels_, model.labels_)


def test_a_sampled_model_saves_and_loads(tiny_n2d, many_blobs, tmp_path):
    x, _ = many_blobs
    model = tiny_n2d(fit_sample=1000).fit(x)
    model.save(tmp_path / "m")
    loaded = N2D.load(tmp_path / "m")
    assert loaded.fit_sample == 1000 and loaded.fit_sample_size_ == 1000
    np.testing.assert_array_equal(loaded.predict(x[:200]), model.predict(x[:200]))
    assert clone(model).get_params()["fit_sample"] == 1000


@pytest.mark.parametrize("bad", [0, 999, -5, 1500.0, "all", True, [1000]])
def test_bad_fit_sample_is_refused_before_training(tiny_n2d, blobs, bad):
    x, _ = blobs
    with pytest.raises(ValueError, match="'fit_sample' parameter of N2D must be 'auto', None"):
        tiny_n2d(fit_sample=bad, epochs=10**6).fit(x)  # would train for hours if the check came late


@pytest.mark.parametrize("option, expected", [("1000", 1000), ("all", 2500)])
def test_cli_fit_sample_option(tmp_path, many_blobs, option, expected):
    import json

    from n2d.cli import main

    path = tmp_path / "x.npy"
    np.save(path, many_blobs[0])
    out = tmp_path / "out"
    argv = ["cluster", str(path), "--n-clusters", "3", "--epochs", "2", "--hidden-dims", "16", "--device", "cpu",
            "--fit-sample", option, "--out", str(out), "-q"]
    assert main(argv) == 0
    settings = json.loads((out / "result.json").read_text())["settings"]
    assert settings["fit_sample_size"] == expected
    assert settings["fit_sample"] == (None if option == "all" else int(option))
