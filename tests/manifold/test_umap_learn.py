import numpy as np
import pytest
from sklearn.manifold import trustworthiness

from n2d.exceptions import N2DWarning
from n2d.manifold import UMAP, make_manifold
from n2d.manifold._transform import _weighted_mean_init


@pytest.fixture(scope="module")
def fitted(blobs):
    x, _ = blobs
    return UMAP(n_components=3, random_state=0).fit(x), x


def test_umap_defaults_are_the_papers():
    u = UMAP()
    assert (u.n_neighbors, u.min_dist, u.metric) == (20, 0.0, "euclidean")


def test_umap_embedding_is_trustworthy(fitted):
    model, x = fitted
    assert model.embedding_.shape == (300, 3) and model.embedding_.dtype == np.float32
    t = trustworthiness(x, model.embedding_, n_neighbors=10)
    assert t > 0.9, f"trustworthiness {t:.3f}: the embedding does not preserve neighbourhoods"


def test_umap_transform_places_training_points_near_their_fit(fitted):
    model, x = fitted
    placed = model.transform(x)
    nn_dist = np.linalg.norm(model.embedding_[:, None] - model.embedding_[None], axis=-1)
    np.fill_diagonal(nn_dist, np.inf)
    typical = np.median(nn_dist.min(axis=1))
    moved = np.linalg.norm(placed - model.embedding_, axis=1)
    assert np.median(moved) < 5 * typical + 1e-3


def test_umap_transform_is_deterministic(fitted, blobs):
    model, x = fitted
    noisy = x + np.random.RandomState(1).normal(0, 0.1, x.shape).astype(np.float32)
    np.testing.assert_array_equal(model.transform(noisy), model.transform(noisy))


def test_umap_transform_new_points_land_in_their_cluster(blobs):
    from sklearn.datasets import make_blobs

    x, y = make_blobs(n_samples=400, centers=3, n_features=8, random_state=0)
    model = UMAP(n_components=2, random_state=0).fit(x[:300])
    placed = model.transform(x[300:])
    # each new point's nearest fitted point should carry its class
    d = np.linalg.norm(placed[:, None] - model.embedding_[None], axis=-1)
    agree = (y[:300][d.argmin(axis=1)] == y[300:]).mean()
    assert agree > 0.97


def test_weighted_mean_init_snaps_duplicates():
    emb = np.array([[0.0, 0.0], [10.0, 0.0]], dtype=np.float32)
    w = np.array([[0.5, 0.5], [1.0, 0.2]], dtype=np.float32)
    idx = np.array([[0, 1], [1, 0]])
    import torch

    init = _weighted_mean_init(torch.from_numpy(w), torch.from_numpy(idx), torch.from_numpy(emb)).numpy()
    np.testing.assert_allclose(init, [[5.0, 0.0], [10.0, 0.0]])


def test_umap_clips_n_neighbors_on_tiny_data():
    x = np.random.RandomState(0).normal(size=(8, 3)).astype(np.float32)
    with pytest.warns(N2DWarning, match="n_neighbors=20"):
        model = UMAP(n_components=2, random_state=0).fit(x)
    assert model.n_neighbors_ == 7
    assert model.transform(x).shape == (8, 2)


@pytest.mark.parametrize("params, match", [(dict(n_neighbors=1), "n_neighbors"), (dict(min_dist=-1.0), "min_dist"),
                                           (dict(metric="hamming"), "metric")])
def test_umap_rejects_bad_params(blobs, params, match):
    with pytest.raises(ValueError, match=match):
        UMAP(**params).fit(blobs[0])


@pytest.mark.parametrize("name", ["umap", "tsne", "isomap", "lle"])
def test_make_manifold_builds_each_named_learner(name):
    est = make_manifold(name, n_components=3, random_state=0)
    assert hasattr(est, "fit_transform")
    with pytest.raises(ValueError, match="Unknown manifold"):
        make_manifold("pca")


def test_umap_keeps_its_own_copy_of_the_training_data(blobs):
    x = blobs[0].copy()
    model = UMAP(n_components=2, random_state=0).fit(x)
    before = model.transform(x[:5])
    x[:] = 0.0  # the caller reuses their buffer
    np.testing.assert_array_equal(model.transform(blobs[0][:5]), before)


def test_umap_stage_leaves_torch_thread_count_alone(blobs):
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model = UMAP(n_components=2, random_state=None).fit(blobs[0])  # unseeded: umap-learn runs in parallel
        assert torch.get_num_threads() == 1
        model.transform(blobs[0][:10])
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(old)
