import numpy as np
import pytest
import torch
from sklearn.cluster import KMeans, SpectralClustering
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.manifold import Isomap
from sklearn.mixture import GaussianMixture

from n2d import N2D, UMAP, Autoencoder, TorchUMAP, evaluate


@pytest.mark.slow
def test_n2d_on_pendigits_reaches_a_sensible_accuracy(pendigits):
    """Full pendigits, paper architecture, 5 epochs only.

    The paper reports ACC .885 after 1000 epochs; at 30 epochs a plain reference
    gets .879 (shared/BASELINES.md), and our 5-epoch smoke run gave about .88.
    0.80 leaves room for seed-to-seed spread while still failing if any stage
    is broken (raw-data GMM sits near .65, k-means near .70).
    """
    x, y = pendigits
    model = N2D(n_clusters=10, epochs=5, random_state=0, device="cpu", verbose=0)
    labels = model.fit_predict(x)
    scores = evaluate(y, labels)
    assert scores["acc"] >= 0.80, scores
    assert scores["nmi"] >= 0.75, scores
    # out-of-sample path on the training data agrees with the fit (>= 98%: UMAP re-places a training point near,
    # not exactly at, its fitted position)
    agree = (model.predict(x) == labels).mean()
    assert agree >= 0.98, f"predict agrees with labels_ on only {agree:.3%}"
    assert set(model.timings_) == {"autoencoder", "manifold", "clusterer"}


def test_n2d_fit_sets_fitted_attributes(tiny_n2d, blobs):
    x, _ = blobs
    model = tiny_n2d().fit(x)
    assert model.labels_.shape == (300,) and model.labels_.dtype == np.int64
    assert model.embedding_.shape == (300, 3)
    assert isinstance(model.autoencoder_, Autoencoder) and model.autoencoder_.n_components == 3
    assert isinstance(model.manifold_, TorchUMAP) and model.manifold_.n_components == 3
    assert model.manifold_.device == "cpu" and model.manifold_.min_dist == 0.0
    assert isinstance(model.clusterer_, GaussianMixture) and model.clusterer_.n_components == 3
    assert model.clusterer_.covariance_type == "full"
    assert model.n_features_in_ == 8 and model.device_ == "cpu"
    proba = model.predict_proba(x[:5])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert model.transform(x[:5]).shape == (5, 3)


def test_n2d_defaults_are_the_papers():
    m = N2D()
    assert (m.autoencoder, m.manifold, m.clusterer) == ("mlp", "umap", "gmm")
    ae = N2D._named_stage("autoencoder", "mlp", 10, None)
    # the paper's architecture, batch and learning rate; training length by optimizer steps
    assert (ae.hidden_dims, ae.epochs, ae.batch_size, ae.lr) == ((500, 500, 2000), "auto", 256, 1e-3)
    assert ae.precision == "auto"
    um = N2D._named_stage("manifold", "umap", 10, None)
    assert (um.n_neighbors, um.min_dist) == (20, 0.0)


def test_n2d_is_deterministic_on_cpu(tiny_n2d, blobs):
    x, _ = blobs
    a = tiny_n2d().fit(x)
    b = tiny_n2d().fit(x)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_array_equal(a.embedding_, b.embedding_)


def test_n2d_seeds_reach_every_stage(tiny_n2d, blobs):
    model = tiny_n2d(random_state=7).fit(blobs[0])
    seeds = [model.autoencoder_.random_state, model.manifold_.random_state, model.clusterer_.random_state]
    assert all(isinstance(s, int) for s in seeds) and len(set(seeds)) == 3


def test_set_params_reaches_a_named_stage():
    m = N2D().set_params(manifold__n_neighbors=30, autoencoder__epochs=7)
    assert isinstance(m.manifold, TorchUMAP) and m.manifold.n_neighbors == 30
    assert m.get_params(deep=True)["manifold__n_neighbors"] == 30
    assert m.autoencoder.epochs == 7


def test_shortcuts_override_an_explicit_autoencoder(tiny_n2d, blobs):
    model = tiny_n2d(autoencoder=Autoencoder(epochs=50, hidden_dims=(64,)), epochs=2).fit(blobs[0])
    assert model.autoencoder_.epochs == 2 and model.autoencoder_.hidden_dims == (16,)


@pytest.mark.parametrize(
    "stages, manifold_type, clusterer_type",
    [
        (dict(manifold=None), type(None), GaussianMixture),  # the paper's "AE" row
        (dict(manifold="isomap", clusterer="kmeans"), Isomap, KMeans),
        (dict(manifold=PCA(n_components=2), clusterer=KMeans(n_clusters=5, n_init=2)), PCA, KMeans),
        (dict(autoencoder=None), TorchUMAP, GaussianMixture),
    ],
)
def test_stages_can_be_swapped(tiny_n2d, blobs, stages, manifold_type, clusterer_type):
    x, y = blobs
    model = tiny_n2d(**stages).fit(x)
    assert isinstance(model.manifold_, manifold_type)
    assert isinstance(model.clusterer_, clusterer_type)
    assert evaluate(y, model.labels_)["acc"] > 0.9
    assert model.predict(x[:20]).shape == (20,)
    if isinstance(model.clusterer_, KMeans):
        assert model.clusterer_.n_clusters == 3  # N2D's n_clusters wins


def test_tsne_and_spectral_fit_but_cannot_predict_new_points(tiny_n2d, blobs):
    x, y = blobs
    model = tiny_n2d(manifold="tsne").fit(x)
    assert evaluate(y, model.labels_)["acc"] > 0.9
    with pytest.raises(TypeError, match="no transform"):
        model.predict(x[:5])
    spectral = tiny_n2d(clusterer=SpectralClustering(n_neighbors=10, random_state=0)).fit(x)
    assert spectral.labels_.shape == (300,)
    with pytest.raises(TypeError, match="has no predict"):
        spectral.predict(x[:5])


def test_user_supplied_stage_is_cloned_not_mutated(tiny_n2d, blobs):
    um = UMAP(n_neighbors=10)
    model = tiny_n2d(manifold=um).fit(blobs[0])
    assert model.manifold_ is not um and not hasattr(um, "embedding_") and um.n_components is None


# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "x, match",
    [
        (np.array([[0.0, np.nan], [1.0, 2.0], [3.0, 4.0]]), "NaN"),
        (np.array([[0.0, np.inf], [1.0, 2.0], [3.0, 4.0]]), "infinity"),
        (np.arange(10.0), "Expected 2D array"),
        (np.zeros((4, 2, 2)), "dim 3"),
        (np.zeros((0, 3)), "0 sample"),
    ],
)
def test_n2d_rejects_bad_arrays(tiny_n2d, x, match):
    with pytest.raises(ValueError, match=match):
        tiny_n2d().fit(x)


def test_n2d_rejects_fewer_samples_than_clusters(tiny_n2d):
    with pytest.raises(ValueError, match="n_samples >= n_clusters but got n_clusters = 5, n_samples = 4"):
        tiny_n2d(n_clusters=5).fit(np.random.rand(4, 3))


@pytest.mark.parametrize("k", [1, 0, 2.5, "3", True])
def test_n2d_rejects_bad_n_clusters(tiny_n2d, blobs, k):
    with pytest.raises(ValueError, match=r"'n_clusters' parameter of N2D must be an int in the range \[2, inf\)"):
        tiny_n2d(n_clusters=k).fit(blobs[0])


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(manifold="pca"), "'manifold' parameter"),
        (dict(clusterer="dbscan"), "'clusterer' parameter"),
        (dict(clusterer=None), "None is not allowed"),
        (dict(autoencoder="cnn"), "'autoencoder' parameter"),
        (dict(manifold=object()), "'manifold' parameter"),
        (dict(epochs=-2), "'epochs' parameter"),
        (dict(hidden_dims=(0,)), "'hidden_dims' parameter"),
        (dict(lr=-1.0), "'lr' parameter"),
        (dict(device="gpu"), "device must be one of"),
    ],
)
def test_n2d_rejects_bad_params(tiny_n2d, blobs, params, match):
    with pytest.raises(ValueError, match=match):
        tiny_n2d(**params).fit(blobs[0])


def test_predict_before_fit_is_not_fitted_error(tiny_n2d, blobs):
    for method in ("predict", "predict_proba", "transform"):
        with pytest.raises(NotFittedError, match="not fitted"):
            getattr(tiny_n2d(), method)(blobs[0])


def test_predict_with_wrong_feature_count(tiny_n2d, blobs):
    model = tiny_n2d().fit(blobs[0])
    with pytest.raises(ValueError, match="X has 5 features, but N2D is expecting 8 features"):
        model.predict(np.zeros((3, 5)))


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU error")
def test_cuda_without_gpu_fails_at_fit(tiny_n2d, blobs):
    with pytest.raises(ValueError, match="no CUDA GPU is available"):
        tiny_n2d(device="cuda").fit(blobs[0])


@pytest.mark.gpu
def test_n2d_on_gpu_replays_the_graph_and_agrees_with_the_cpu(blobs, gpu_fit_settings, graph_steps, tmp_path,
                                                             monkeypatch):
    from n2d.metrics import cluster_acc

    x, y = blobs
    monkeypatch.setenv("N2D_CACHE_DIR", str(tmp_path / "gpu"))  # trained here, not read from a cache
    gpu = N2D(device="cuda", **gpu_fit_settings).fit(x)
    assert gpu.device_.startswith("cuda") and gpu.autoencoder_.device_.startswith("cuda")
    (step,) = graph_steps
    assert step.graph is not None and step.replays == 5 * (300 // 32) - step.WARMUP
    monkeypatch.setenv("N2D_CACHE_DIR", str(tmp_path / "cpu"))
    cpu = N2D(device="cpu", **gpu_fit_settings).fit(x)
    # Other random streams on the GPU: the same clusters, not the same numbers.
    assert cluster_acc(y, cpu.labels_) > 0.95 and cluster_acc(y, gpu.labels_) > 0.95
    assert cluster_acc(cpu.labels_, gpu.labels_) > 0.95
    np.testing.assert_allclose(gpu.autoencoder_.history_, cpu.autoencoder_.history_, rtol=0.1)


def test_verbose_reports_each_stage_and_quiet_is_silent(tiny_n2d, blobs, capsys):
    tiny_n2d(verbose=1).fit(blobs[0])
    err = capsys.readouterr().err
    for stage in ("autoencoder: Autoencoder", "manifold: TorchUMAP", "clusterer: GaussianMixture"):
        assert f"[n2d] {stage} on 300 x" in err
    assert err.count("done in") == 3
    tiny_n2d(verbose=0).fit(blobs[0])
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


# --------------------------------------------------------------------------- #
# n_init: several manifold + clusterer runs, the consensus kept
# --------------------------------------------------------------------------- #


def test_consensus_choice_picks_the_medoid_and_ignores_numbering():
    from n2d.cluster import consensus_choice

    good = np.repeat([0, 1, 2], 20)
    relabelled = np.repeat([2, 0, 1], 20)
    bad = np.repeat([0, 0, 1], 20)
    bad[::2] = 2
    best, scores = consensus_choice([bad, good, relabelled])
    assert best == 1 and scores.shape == (3,)
    assert scores[1] == scores[2] > scores[0]
    assert consensus_choice([good]) == (0, np.ones(1))


@pytest.mark.parametrize(
    "labelings, match", [([], "at least one clustering"), ([np.zeros(3), np.zeros(4)], "same points")]
)
def test_consensus_choice_errors(labelings, match):
    from n2d.cluster import consensus_choice

    with pytest.raises(ValueError, match=match):
        consensus_choice(labelings)


def test_n_init_keeps_the_consensus_run(tiny_n2d, blobs):
    x, _ = blobs
    many = tiny_n2d(manifold=None, n_init=3, random_state=4).fit(x)
    assert many.init_scores_.shape == (3,) and 0 <= many.best_init_ < 3
    assert many.best_init_ == int(np.argmax(many.init_scores_))
    assert set(many.timings_) == {"autoencoder", "clusterer", "consensus"}
    np.testing.assert_array_equal(many.predict(x), many.labels_)
    # Run i is the model N2D(random_state=4 + i) fits, autoencoder included.
    alone = tiny_n2d(manifold=None, random_state=4 + many.best_init_).fit(x)
    np.testing.assert_array_equal(alone.labels_, many.labels_)
    np.testing.assert_allclose(alone.embedding_, many.embedding_, rtol=1e-4, atol=1e-5)
    one = tiny_n2d(manifold=None, random_state=4).fit(x)
    np.testing.assert_array_equal(one.init_scores_, [1.0])
    assert one.best_init_ == 0 and "consensus" not in one.timings_


def test_n_init_with_a_manifold_and_an_unseeded_model(tiny_n2d, blobs):
    model = tiny_n2d(n_init=2, random_state=None).fit(blobs[0])
    assert model.init_scores_.shape == (2,) and model.labels_.shape == (300,)
    assert model.predict(blobs[0][:20]).shape == (20,)


@pytest.mark.parametrize("bad", [0, -1, 1.5, "3"])
def test_n_init_must_be_a_positive_int(tiny_n2d, blobs, bad):
    with pytest.raises((ValueError, TypeError), match="n_init"):
        tiny_n2d(n_init=bad).fit(blobs[0])


# --------------------------------------------------------------------------- #
# device selection: what the stage names stand for
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("device", [None, "cpu"])
def test_named_stages_on_the_cpu_are_torch_umap_and_sklearn_gmm(device):
    umap = N2D._named_stage("manifold", "umap", 10, 0, device)
    assert type(umap) is TorchUMAP and umap.device == "auto" and umap.n_components is None
    assert type(N2D._named_stage("clusterer", "gmm", 10, 0, device)) is GaussianMixture


@pytest.mark.parametrize("device", ["cuda", "cuda:1"])
def test_named_stages_on_a_gpu_are_the_torch_ones(device):
    from n2d import TorchGaussianMixture

    umap = N2D._named_stage("manifold", "umap", 10, 3, device)
    gmm = N2D._named_stage("clusterer", "gmm", 10, 3, device)
    assert isinstance(umap, TorchUMAP) and umap.random_state == 3
    assert umap.n_neighbors == 20 and umap.min_dist == 0.0 and umap.n_components is None
    assert isinstance(gmm, TorchGaussianMixture) and gmm.device == device
    assert gmm.n_components == 10 and gmm.n_init == 10 and gmm.random_state == 3
    # Stages other than UMAP and GMM do not change with the device.
    assert isinstance(N2D._named_stage("clusterer", "kmeans", 10, 0, device), KMeans)
    assert isinstance(N2D._named_stage("manifold", "isomap", 10, 0, device), Isomap)


def test_fit_on_the_cpu_uses_torch_umap_and_sklearn_gmm(tiny_n2d, blobs):
    model = tiny_n2d(device="auto" if not torch.cuda.is_available() else "cpu").fit(blobs[0])
    assert model.device_ == "cpu" and model.manifold_.device_ == "cpu"
    assert type(model.manifold_) is TorchUMAP and type(model.clusterer_) is GaussianMixture


def test_torch_stages_follow_n2d_device_unless_given_their_own(tiny_n2d, blobs):
    own = tiny_n2d(manifold=TorchUMAP(device="cpu", n_epochs=20)).fit(blobs[0])
    assert own.manifold_.device == "cpu"
    umap_learn = tiny_n2d(manifold=UMAP(n_epochs=20)).fit(blobs[0])  # umap-learn itself, by choice
    assert type(umap_learn.manifold_) is UMAP


@pytest.mark.gpu
def test_fit_on_a_gpu_uses_the_torch_stages(tiny_n2d, blobs):
    from n2d import TorchGaussianMixture

    model = tiny_n2d(device="cuda").fit(blobs[0])
    assert model.device_.startswith("cuda")
    assert isinstance(model.manifold_, TorchUMAP) and isinstance(model.clusterer_, TorchGaussianMixture)
    np.testing.assert_array_equal(model.predict(blobs[0])[:50], model.labels_[:50])
