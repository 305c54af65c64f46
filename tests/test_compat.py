"""The seed library's API (n2d 0.x): ``nd.n2d``, ``nd.UmapGMM`` and their methods, over N2D's stages."""

import sys

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.utils.estimator_checks import parametrize_with_checks

import n2d as nd
from n2d import evaluate, load_dataset

SMALL = dict(hidden_dims=(16,), device="cpu")


@pytest.fixture
def blobs():
    x, y = make_blobs(n_samples=240, centers=3, n_features=8, random_state=0)
    return ((x - x.min()) / (x.max() - x.min())).astype(np.float32), y


@pytest.mark.slow
def test_seed_readme_example_runs_verbatim_on_pendigits(tmp_path, monkeypatch):
    """The seed README's example, on pendigits instead of HAR, with 2 epochs instead of 1000."""
    pytest.importorskip("matplotlib")
    monkeypatch.chdir(tmp_path)
    ds = load_dataset("pendigits")
    x, y, y_names = ds.x, ds.y, ds.target_names

    import n2d as nd

    pendigitscluster = nd.n2d(x, nclust=10)
    pendigitscluster.preTrainEncoder(weight_id="pendigits", pretrain_epochs=2)
    trained = pendigitscluster.autoencoder.transform(x)
    pendigitscluster.preTrainEncoder(weights="pendigits-2-ae_weights.h5")
    manifoldGMM = nd.UmapGMM(10)
    pendigitscluster.predict(manifoldGMM)
    pendigitscluster.visualize(y, y_names, dataset="pendigits", nclust=10)
    scores = pendigitscluster.assess(y)

    # the weights were saved under the seed's name (with n2d's extension) and loaded back by the seed's name
    saved = tmp_path / "weights" / "pendigits-2-ae_weights.safetensors"
    assert saved.is_file()
    assert pendigitscluster.weights_path.resolve() == saved
    assert pendigitscluster.autoencoder.weights_source_ == "weights"
    np.testing.assert_array_equal(pendigitscluster.autoencoder.transform(x), trained)
    # predictions, scores and plots
    assert pendigitscluster.preds.shape == (x.shape[0],)
    assert pendigitscluster.hle.shape == (x.shape[0], 2)
    full = evaluate(y, pendigitscluster.preds)
    assert scores == (round(full["acc"], 5), round(full["nmi"], 5), round(full["ari"], 5))
    assert scores[0] > 0.5  # 2 epochs already cluster pendigits well above chance (0.1)
    for name in ("pendigits-n2d.png", "pendigits-n2d-predicted.png"):
        assert (tmp_path / "viz" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_seed_names_do_not_shadow_the_package():
    assert isinstance(nd.n2d, type) and nd.n2d.__module__ == "n2d.compat"
    assert sys.modules["n2d"] is nd and nd.__name__ == "n2d"
    for name in ("N2D", "Autoencoder", "load_dataset", "evaluate", "UMAP", "TorchUMAP", "UmapGMM", "__version__"):
        assert hasattr(nd, name), name
    import n2d.compat
    import n2d.plotting  # submodules still import

    assert n2d.compat.n2d is nd.n2d
    assert {"n2d", "UmapGMM"} <= set(nd.__all__)


def test_custom_manifold_clusterer_with_predict_hl(blobs):
    """The seed's protocol: any object whose predict(hl) takes the autoencoded embedding and returns labels."""
    x, y = blobs

    class KMeansOnCode:
        def predict(self, hl):
            self.seen = hl
            return KMeans(3, n_init=10, random_state=0).fit_predict(hl)

    cluster = nd.n2d(x, nclust=3, **SMALL)
    cluster.preTrainEncoder(pretrain_epochs=2)
    custom = KMeansOnCode()
    preds = cluster.predict(custom)
    assert custom.seen.shape == (x.shape[0], 3)
    np.testing.assert_array_equal(custom.seen, cluster.autoencoder.transform(x))
    np.testing.assert_array_equal(cluster.preds, preds)
    assert cluster.hle is None  # it has no embedding of its own
    acc, _, _ = cluster.assess(y)
    assert 0 <= acc <= 1 and acc == round(evaluate(y, preds)["acc"], 5)
    # any scikit-learn clusterer works too (its fit_predict is used)
    assert cluster.predict(KMeans(3, n_init=2, random_state=0)).shape == (x.shape[0],)
    with pytest.raises(TypeError, match="neither fit_predict nor predict"):
        cluster.predict(object())


def test_umapgmm_is_a_scikit_learn_clusterer(blobs):
    x, y = blobs
    est = nd.UmapGMM(3, umapN=15, random_state=0)
    assert clone(est).get_params() == est.get_params()
    assert set(est.get_params()) == {"nclust", "umapdim", "umapN", "umapMd", "umapMetric", "random_state"}
    labels = est.fit_predict(x)
    assert labels.shape == (x.shape[0],) and labels.dtype == np.int64
    np.testing.assert_array_equal(est.labels_, labels)
    assert est.embedding_.shape == (x.shape[0], 2) and est.hle is est.embedding_
    assert evaluate(y, labels)["acc"] > 0.9  # three separated blobs
    new = est.predict(x[:20])  # out-of-sample: UMAP placement, then the mixture
    assert new.shape == (20,) and (new == labels[:20]).mean() > 0.8
    with pytest.raises(ValueError, match="'umapMetric' parameter of UmapGMM must be one of"):
        nd.UmapGMM(3, umapMetric="chebyshev").fit(x)


def test_unsupported_loss_or_optimizer_is_a_clear_error(blobs):
    cluster = nd.n2d(blobs[0], nclust=3, **SMALL)
    with pytest.raises(ValueError, match=r"loss='mae' is not supported.*mean squared error"):
        cluster.preTrainEncoder(loss="mae", pretrain_epochs=1)
    with pytest.raises(ValueError, match=r"optimizer='sgd' is not supported.*Adam"):
        cluster.preTrainEncoder(optimizer="sgd", pretrain_epochs=1)
    with pytest.raises(ValueError, match="'pretrain_epochs' parameter of n2d"):
        cluster.preTrainEncoder(pretrain_epochs=0)
    with pytest.raises(ValueError, match="act='tanh' is not supported"):
        nd.n2d(blobs[0], nclust=3, act="tanh")
    with pytest.raises(RuntimeError, match="call preTrainEncoder"):
        cluster.predict(nd.UmapGMM(3))
    with pytest.raises(RuntimeError, match=r"call predict\(manifold_clusterer\) first"):
        cluster.assess(blobs[1])


def test_weight_files_are_found_by_either_name(blobs, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    x, _ = blobs
    cluster = nd.n2d(x, nclust=3, **SMALL)
    cluster.preTrainEncoder(pretrain_epochs=2, weight_id="blobs")
    codes = cluster.autoencoder.transform(x)
    assert (tmp_path / "weights" / "blobs-2-ae_weights.safetensors").is_file()
    for name in ("blobs-2-ae_weights.h5", "blobs-2-ae_weights.safetensors", "weights/blobs-2-ae_weights.h5",
                 str(tmp_path / "weights" / "blobs-2-ae_weights.safetensors")):
        other = nd.n2d(x, nclust=3, **SMALL).preTrainEncoder(weights=name)
        np.testing.assert_array_equal(other.autoencoder.transform(x), codes)
    with pytest.raises(FileNotFoundError, match=r"'nope-1000-ae_weights.h5' not found; "
                                                 r"looked for nope-1000-ae_weights.h5, "
                                                 r"nope-1000-ae_weights.safetensors, weights/nope-1000-ae_weights.h5"):
        cluster.preTrainEncoder(weights="nope-1000-ae_weights.h5")
    # weights for another architecture are refused, naming the layer
    with pytest.raises(ValueError, match="do not fit this architecture"):
        nd.n2d(x, nclust=4, **SMALL).preTrainEncoder(weights="blobs-2-ae_weights.h5")


def test_visualize_writes_the_two_plots_with_class_names(blobs, tmp_path):
    pytest.importorskip("matplotlib")
    x, y = blobs
    cluster = nd.n2d(x, nclust=4, **SMALL)  # one cluster more than classes: one stays unmatched
    cluster.preTrainEncoder(pretrain_epochs=2)
    cluster.predict(KMeans(4, n_init=2, random_state=0))
    paths = cluster.visualize(y, {0: "zero", 1: "one", 2: "two"}, dataset="blobs", save_dir=tmp_path / "v")
    assert [p.name for p in paths] == ["blobs-n2d.png", "blobs-n2d-predicted.png"]
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in paths)


@parametrize_with_checks(
    [nd.UmapGMM(3, umapN=5)],
    expected_failed_checks=lambda est: {
        "check_array_api_input": (
            "under array-API dispatch scikit-learn's GaussianMixture refuses init_params='kmeans' (the paper's "
            "GMM start), as for N2D (test_common.py)"
        ),
    },
)
def test_umapgmm_passes_scikit_learn_checks(estimator, check):
    check(estimator)
