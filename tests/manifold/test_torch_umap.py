"""n2d.manifold._torch_umap: TorchUMAP against umap-learn, its fitted state, placement and parameters."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.manifold import trustworthiness
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import KNeighborsClassifier

from n2d.exceptions import N2DWarning
from n2d.manifold import TorchUMAP
from n2d.manifold._knn import knn
from n2d.metrics import cluster_acc

SEEDS = (0, 1)


def test_torch_umap_fit_does_not_depend_on_the_thread_count(blobs):
    x = np.repeat(blobs[0], 10, axis=0) + np.random.RandomState(0).normal(0, 0.1, (3000, blobs[0].shape[1]))
    x = x.astype(np.float32)
    before = torch.get_num_threads()
    try:
        fits = []
        for threads in (1, 2):
            torch.set_num_threads(threads)
            fits.append(TorchUMAP(n_components=3, n_epochs=40, random_state=0, device="cpu").fit(x).embedding_)
    finally:
        torch.set_num_threads(before)
    np.testing.assert_array_equal(fits[0], fits[1])


# --------------------------------------------------------------------------- #
# Estimator: quality against umap-learn on autoencoder codes
# --------------------------------------------------------------------------- #


@pytest.fixture(scope="module")
def codes(pendigits):
    """Codes of an n2d Autoencoder (5 epochs) for a 3,000-point subset of pendigits."""
    from n2d.autoencoder import Autoencoder

    x, y = pendigits
    idx = np.random.RandomState(0).permutation(len(x))[:3000]
    torch.set_num_threads(1)
    ae = Autoencoder(n_components=10, epochs=5, random_state=0, device="cpu", verbose=0, cache=False)
    return ae.fit_transform(x[idx]), y[idx]


def _score(codes, labels, embedding):
    pred = GaussianMixture(10, covariance_type="full", n_init=3, random_state=0).fit_predict(embedding)
    return cluster_acc(labels, pred), trustworthiness(codes, embedding, n_neighbors=10)


@pytest.fixture(scope="module")
def torch_fits(codes):
    c, _ = codes
    torch.set_num_threads(1)  # see _torch_one_thread_again
    return [TorchUMAP(n_components=10, random_state=s, device="cpu").fit(c) for s in SEEDS]


@pytest.mark.slow
def test_torch_umap_quality_matches_umap_learn(codes, torch_fits):
    from n2d.manifold import UMAP

    c, y = codes
    ours = np.array([_score(c, y, m.embedding_) for m in torch_fits])
    theirs = np.array([_score(c, y, UMAP(n_components=10, random_state=s).fit_transform(c)) for s in SEEDS])
    (acc, tw), (ref_acc, ref_tw) = ours.mean(0), theirs.mean(0)
    msg = f"TorchUMAP ACC {acc:.4f} trust {tw:.4f}; umap-learn ACC {ref_acc:.4f} trust {ref_tw:.4f}"
    assert acc >= ref_acc - 0.02, msg
    assert abs(tw - ref_tw) < 0.01, msg


def test_torch_umap_fitted_attributes(codes, torch_fits):
    c, _ = codes
    m = torch_fits[0]
    assert m.embedding_.shape == (3000, 10) and m.embedding_.dtype == np.float32
    assert m.fit_data_.dtype == np.float32 and m.fit_data_.shape == c.shape
    assert isinstance(m.a_, float) and isinstance(m.b_, float) and isinstance(m.transform_seed_, int)
    assert (m.n_neighbors_, m.n_epochs_, m.n_features_in_, m.device_) == (20, 500, 10, "cpu")
    assert set(m.timings_) == {"knn", "graph", "init", "layout"}


def test_torch_umap_fit_is_deterministic_on_cpu(codes, torch_fits):
    c, _ = codes
    again = TorchUMAP(n_components=10, random_state=SEEDS[0], device="cpu").fit_transform(c)
    np.testing.assert_array_equal(again, torch_fits[0].embedding_)
    assert not np.array_equal(torch_fits[0].embedding_, torch_fits[1].embedding_)


def test_torch_umap_transform_of_training_data_keeps_clusters(codes, torch_fits):
    c, _ = codes
    m = torch_fits[0]
    gmm = GaussianMixture(10, covariance_type="full", random_state=0).fit(m.embedding_)
    placed = m.transform(c)
    agree = (gmm.predict(placed) == gmm.predict(m.embedding_)).mean()
    assert agree >= 0.98, f"only {agree:.3f} of re-placed training points keep their cluster"


def test_torch_umap_transform_places_new_points_near_their_class(codes, tmp_path):
    from n2d.persistence import load_model, save_model

    c, y = codes
    train, test = slice(0, 2000), slice(2000, 3000)
    m = TorchUMAP(n_components=10, random_state=0, device="cpu").fit(c[train])
    placed = m.transform(c[test])
    assert placed.shape == (1000, 10) and placed.dtype == np.float32 and np.isfinite(placed).all()
    clf = KNeighborsClassifier(10).fit(m.embedding_, y[train])
    in_embedding = clf.score(placed, y[test])
    in_codes = KNeighborsClassifier(10).fit(c[train], y[train]).score(c[test], y[test])
    assert in_embedding >= in_codes - 0.03, (in_embedding, in_codes)

    np.testing.assert_array_equal(m.transform(c[test]), placed)  # deterministic
    perm = np.random.RandomState(1).permutation(1000)
    np.testing.assert_array_equal(m.transform(c[test][perm]), placed[perm])  # whatever the row order
    save_model(m, tmp_path / "umap")
    loaded = load_model(tmp_path / "umap")
    assert isinstance(loaded, TorchUMAP) and loaded.get_params() == m.get_params()
    np.testing.assert_array_equal(loaded.embedding_, m.embedding_)
    np.testing.assert_array_equal(loaded.transform(c[test]), placed)


def test_torch_umap_transform_of_a_row_does_not_depend_on_the_other_rows(codes):
    """Chunked, streamed or Dask prediction must give the labels of one in-memory call."""
    c, _ = codes
    m = TorchUMAP(n_components=10, random_state=0, device="cpu").fit(c[:1500])
    new = np.vstack([c[1500:1800], c[1600:1610], c[:3]])  # repeats of new rows and of training rows
    whole = m.transform(new)
    chunks = np.vstack([m.transform(new[s : s + 37]) for s in range(0, len(new), 37)])
    np.testing.assert_array_equal(chunks, whole)
    np.testing.assert_array_equal(m.transform(new[5:6]), whole[5:6])
    np.testing.assert_array_equal(whole[300:310], whole[100:110])  # identical rows, identical positions
    assert np.isfinite(whole).all()


def test_place_points_pow_rounds_the_same_anywhere_in_the_tensor():
    from n2d.manifold._transform import _pow

    x = torch.rand(1000, dtype=torch.float32, generator=torch.Generator().manual_seed(0)) * 50
    whole = _pow(x, 0.79)
    pieces = torch.cat([_pow(x[s : s + 7], 0.79) for s in range(0, 1000, 7)])
    assert torch.equal(whole, pieces)


# --------------------------------------------------------------------------- #
# Estimator: parameters and inputs
# --------------------------------------------------------------------------- #


def test_torch_umap_constructor_matches_n2d_umap():
    from n2d.manifold import UMAP

    ours = TorchUMAP().get_params()
    assert ours.pop("device") == "auto"
    assert ours.pop("knn_method") == "auto"
    assert ours == UMAP().get_params()
    assert clone(TorchUMAP(n_components=3, random_state=1)).get_params()["n_components"] == 3


def test_torch_umap_small_data_clips_n_neighbors_and_defaults_to_2d(blobs):
    x, _ = blobs
    with pytest.warns(N2DWarning, match="n_neighbors=20"):
        m = TorchUMAP(n_epochs=20, random_state=0, device="cpu").fit(x[:12])
    assert m.n_neighbors_ == 11 and m.embedding_.shape == (12, 2)
    assert np.isfinite(m.embedding_).all()


def test_torch_umap_separates_blobs(blobs):
    x, y = blobs
    emb = TorchUMAP(n_components=2, n_epochs=100, random_state=0, device="cpu").fit_transform(x)
    assert trustworthiness(x, emb, n_neighbors=10) > 0.9
    pred = GaussianMixture(3, random_state=0).fit_predict(emb)
    assert cluster_acc(y, pred) > 0.95


@pytest.mark.parametrize(
    "params, match",
    [
        ({"metric": "cosine"}, "'metric' parameter of TorchUMAP"),
        ({"n_neighbors": 1}, "'n_neighbors' parameter of TorchUMAP"),
        ({"n_components": 0}, "'n_components' parameter"),
        ({"min_dist": -1.0}, "'min_dist' parameter"),
        ({"learning_rate": 0.0}, "'learning_rate' parameter"),
        ({"n_epochs": 0}, "'n_epochs' parameter"),
        ({"device": "tpu"}, "device must be one of"),
        ({"knn_method": "annoy"}, "'knn_method' parameter of TorchUMAP"),
    ],
)
def test_torch_umap_rejects_bad_parameters(blobs, params, match):
    x, _ = blobs
    with pytest.raises(ValueError, match=match):
        TorchUMAP(**params).fit(x)


def test_torch_umap_rejects_nan_and_wrong_feature_count(blobs):
    x, _ = blobs
    bad = x.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        TorchUMAP(device="cpu").fit(bad)
    with pytest.raises(NotFittedError):
        TorchUMAP().transform(x)
    m = TorchUMAP(n_epochs=10, random_state=0, device="cpu").fit(x)
    with pytest.raises(ValueError, match="features"):
        m.transform(x[:, :3])
    with pytest.raises(ValueError, match="NaN"):
        m.transform(bad)


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
def test_torch_umap_cuda_without_gpu_raises(blobs):
    x, _ = blobs
    with pytest.raises(ValueError, match="no CUDA GPU"):
        TorchUMAP(device="cuda").fit(x)


@pytest.mark.gpu
def test_torch_umap_on_gpu_matches_cpu_quality(codes):
    c, y = codes
    gpu = TorchUMAP(n_components=10, random_state=0, device="cuda").fit(c)
    assert gpu.device_.startswith("cuda")
    cpu = TorchUMAP(n_components=10, random_state=0, device="cpu").fit(c)
    (acc_g, tw_g), (acc_c, tw_c) = _score(c, y, gpu.embedding_), _score(c, y, cpu.embedding_)
    assert abs(tw_g - tw_c) < 0.01 and acc_g > acc_c - 0.05
    placed = gpu.transform(c[:500])
    assert placed.shape == (500, 10) and np.isfinite(placed).all()


@pytest.mark.gpu
def test_torch_umap_on_gpu_with_deterministic_algorithms_is_reproducible(blobs, deterministic_cuda):
    """Issue 17, point 7: the fuzzy union used scatter_reduce(prod), which CUDA refuses in deterministic mode."""
    x, _ = blobs
    fits = [TorchUMAP(n_components=3, n_epochs=50, random_state=0, device="cuda").fit(x) for _ in range(2)]
    np.testing.assert_array_equal(fits[0].embedding_, fits[1].embedding_)
    np.testing.assert_array_equal(fits[0].transform(x[:50]), fits[1].transform(x[:50]))


@pytest.fixture
def tf32_on_cuda():
    before = torch.backends.cuda.matmul.fp32_precision
    torch.backends.cuda.matmul.fp32_precision = "tf32"
    yield
    torch.backends.cuda.matmul.fp32_precision = before


@pytest.mark.gpu
def test_knn_on_gpu_with_tf32_matmuls_finds_the_exact_neighbours(tf32_on_cuda):
    """Issue 17, point 9: TF32 float32 products (~1e-3 relative error) must not choose the neighbours."""
    from sklearn.metrics import pairwise_distances

    rng = np.random.RandomState(0)
    x = rng.normal(size=(400, 8)).astype(np.float32)
    x[:200, 0] += 30.0  # two blobs far apart: |a||b| ~ 900, neighbour gaps ~ 0.1
    x[200:, 0] -= 30.0
    exact = np.argsort(pairwise_distances(x.astype(np.float64)), axis=1, kind="stable")[:, :15]
    xt = torch.from_numpy(x).cuda()
    _, idx = knn(xt, 15)
    assert [set(r) for r in idx.cpu().tolist()] == [set(r) for r in exact]
    if torch.cuda.get_device_capability() >= (8, 0):  # TF32 tensor cores: a plain selection goes wrong
        xc = xt - xt.mean(0)
        sq = (xc * xc).sum(1)
        naive = torch.topk(torch.addmm(sq[None], xc, xc.T, alpha=-2.0) + sq[:, None], 15, largest=False).indices
        assert sum(set(a) != set(b) for a, b in zip(naive.cpu().tolist(), exact)) > 0
