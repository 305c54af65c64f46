"""Tests of n2d.manifold._torch_umap: each numerical step against umap-learn, then the estimator."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.manifold import trustworthiness
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import KNeighborsClassifier, NearestNeighbors
from threadpoolctl import threadpool_limits

from n2d.exceptions import N2DWarning
from n2d.manifold import TorchUMAP
from n2d.manifold._graph import find_ab_params, membership_graph, smooth_knn_dist
from n2d.manifold._knn import knn
from n2d.manifold._layout import make_epochs_per_sample, optimize_layout, spectral_init
from n2d.metrics import cluster_acc

SEEDS = (0, 1)


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


# --------------------------------------------------------------------------- #
# Numerical steps
# --------------------------------------------------------------------------- #


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


@pytest.mark.parametrize("local_connectivity", [0.0, 1.0, 1.5, 2.0])
def test_smooth_knn_dist_matches_umap_learn(exact_knn, local_connectivity):
    from umap.umap_ import smooth_knn_dist as umap_smooth

    dists, _ = exact_knn
    want_sigma, want_rho = umap_smooth(dists, 15.0, local_connectivity=local_connectivity)
    sigma, rho = smooth_knn_dist(torch.from_numpy(dists), 15.0, local_connectivity=local_connectivity)
    assert sigma.dtype == rho.dtype == torch.float32
    np.testing.assert_allclose(rho.numpy(), want_rho, rtol=1e-6)
    np.testing.assert_allclose(sigma.numpy(), want_sigma, rtol=1e-4)


def test_membership_graph_matches_umap_learn_fuzzy_simplicial_set(points, exact_knn):
    from umap.umap_ import fuzzy_simplicial_set

    dists, indices = exact_knn
    want, _, _ = fuzzy_simplicial_set(points, 15, None, "euclidean", knn_indices=indices, knn_dists=dists)
    graph = membership_graph(torch.from_numpy(indices), torch.from_numpy(dists))
    assert graph.is_coalesced() and graph.indices().dtype == torch.int64
    got = graph.to_dense().numpy()
    np.testing.assert_allclose(got, want.toarray(), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(got, got.T)
    assert np.all(np.diag(got) == 0)


def test_membership_graph_keys_do_not_overflow_int32():
    """70,000 points: row * n + col reaches 4.9e9, beyond int32 (torchdr's failure)."""
    n, k = 70_000, 4
    rs = np.random.RandomState(0)
    offsets = np.cumsum(1 + rs.randint(0, 1000, size=(n, k - 1)), axis=1)  # distinct, non-zero
    others = (np.arange(n)[:, None] + offsets) % n
    indices = np.concatenate([np.arange(n)[:, None], others], axis=1).astype(np.int64)
    dists = np.sort(rs.uniform(0.5, 2.0, size=(n, k)), axis=1).astype(np.float32)
    dists[:, 0] = 0.0
    graph = membership_graph(torch.from_numpy(indices), torch.from_numpy(dists))
    idx = graph.indices().numpy()
    assert idx.dtype == np.int64 and 0 <= idx.min() and idx.max() < n
    g = sp.coo_matrix((graph.values().numpy(), (idx[0], idx[1])), shape=(n, n)).tocsr()
    assert abs(g - g.T).max() == 0
    rows = np.repeat(np.arange(n), k - 1)
    assert np.all(np.asarray(g[rows, others.ravel()]).ravel() > 0)  # every kNN edge is present


def test_find_ab_params_matches_umap_learn():
    from umap.umap_ import find_ab_params as umap_ab

    for min_dist in (0.0, 0.1):
        np.testing.assert_allclose(find_ab_params(1.0, min_dist), umap_ab(1.0, min_dist), rtol=1e-6)


def test_spectral_init_spans_umap_learns_eigenvectors(points, exact_knn):
    from scipy.linalg import subspace_angles
    from umap.spectral import spectral_layout

    dists, indices = exact_knn
    graph = membership_graph(torch.from_numpy(indices), torch.from_numpy(dists))
    idx = graph.indices().numpy()
    g = sp.coo_matrix((graph.values().numpy(), (idx[0], idx[1])), shape=graph.shape).tocsr()
    want = spectral_layout(points, g, 3, np.random.RandomState(0))
    coords = spectral_init(graph, 3, torch.Generator().manual_seed(0))
    assert coords.shape == (300, 3) and coords.dtype == torch.float32
    assert abs(float(coords.abs().max()) - 10.0) < 1e-2
    assert np.rad2deg(subspace_angles(coords.numpy().astype(np.float64), want)).max() < 1.0


def _clique_graph(*sizes):
    a = sp.block_diag([np.ones((m, m)) - np.eye(m) for m in sizes]).tocoo()
    return torch.sparse_coo_tensor(
        np.vstack([a.row, a.col]), a.data.astype(np.float32), a.shape, check_invariants=True
    ).coalesce()


def test_spectral_init_lays_out_components_apart():
    """Two 6-cliques: each gets its own region (umap-learn's multi-component layout)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        coords = spectral_init(_clique_graph(6, 6), 2, torch.Generator().manual_seed(0)).numpy()
    assert coords.shape == (12, 2) and np.isfinite(coords).all()
    gap = np.linalg.norm(coords[:6].mean(0) - coords[6:].mean(0))
    spread = max(
        np.linalg.norm(coords[:6] - coords[:6].mean(0), axis=1).max(),
        np.linalg.norm(coords[6:] - coords[6:].mean(0), axis=1).max(),
    )
    assert gap > 1.5 * spread


def test_spectral_init_many_components_uses_centroids():
    rs = np.random.RandomState(0)
    sizes = (6, 7, 8, 9, 10, 2)  # more than 2 * dim components, one too small for a spectral layout
    data = np.vstack([rs.normal(loc=3 * i, size=(m, 3)) for i, m in enumerate(sizes)])
    coords = spectral_init(_clique_graph(*sizes), 2, torch.Generator().manual_seed(0), data=data)
    assert coords.shape == (sum(sizes), 2) and torch.isfinite(coords).all()
    assert abs(float(coords.abs().max()) - 10.0) < 1e-2


def test_spectral_init_falls_back_to_random_when_too_small():
    with pytest.warns(N2DWarning, match="too few"):
        coords = spectral_init(_clique_graph(3), 5, torch.Generator().manual_seed(0))
    assert coords.shape == (3, 5) and torch.isfinite(coords).all()


def test_epochs_per_sample_schedule():
    eps = make_epochs_per_sample(torch.tensor([1.0, 0.5, 0.1, 0.0]), 100)
    np.testing.assert_allclose(eps.numpy(), [1.0, 2.0, 10.0, -1.0])


def test_optimize_layout_keeps_tail_fixed_without_move_other():
    gen = torch.Generator().manual_seed(0)
    head_emb = torch.zeros(2, 2)
    tail_emb = torch.tensor([[3.0, 0.0], [0.0, 3.0], [50.0, 50.0]])
    before = tail_emb.clone()
    head = torch.tensor([0, 1])
    tail = torch.tensor([0, 1])
    optimize_layout(
        head_emb, tail_emb, head, tail, torch.ones(2), 50, 1.9, 0.8, gen, negative_sample_rate=0, move_other=False
    )
    torch.testing.assert_close(tail_emb, before)
    # pure attraction pulls each head point onto its tail
    assert float((head_emb - tail_emb[:2]).norm(dim=1).max()) < 0.5


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


# --------------------------------------------------------------------------- #
# Approximate neighbours (NN-descent) for large fits on the CPU
# --------------------------------------------------------------------------- #


def test_knn_method_auto_is_exact_up_to_the_threshold_and_on_a_gpu():
    from n2d.manifold._nndescent import NNDESCENT_ABOVE, resolve_knn_method

    cpu, gpu = torch.device("cpu"), torch.device("cuda")
    assert resolve_knn_method("auto", NNDESCENT_ABOVE, cpu) == "exact"
    assert resolve_knn_method("auto", NNDESCENT_ABOVE + 1, cpu) == "nndescent"
    assert resolve_knn_method("auto", 10 * NNDESCENT_ABOVE, gpu) == "exact"
    assert resolve_knn_method("nndescent", 100, cpu) == "nndescent"
    assert resolve_knn_method("exact", 10 * NNDESCENT_ABOVE, cpu) == "exact"


@pytest.fixture(scope="module")
def clustered_2k():
    rng = np.random.RandomState(0)
    centres = rng.normal(scale=4.0, size=(5, 6))
    x = np.concatenate([c + rng.normal(size=(400, 6)) for c in centres]).astype(np.float32)
    return x, np.repeat(np.arange(5), 400)


def test_nndescent_neighbours_have_high_recall_sorted_exact_distances(clustered_2k):
    from n2d.manifold._nndescent import nndescent_knn

    x, _ = clustered_2k
    d, i = nndescent_knn(x, 15, seed=0)
    ed, ei = knn(torch.from_numpy(x), 15)
    assert d.shape == i.shape == (len(x), 15) and i.dtype == torch.int64
    recall = np.mean([len(set(a) & set(b)) / 15 for a, b in zip(i.numpy(), ei.numpy())])
    assert recall > 0.95
    assert (i[:, 0] == torch.arange(len(x))).all() and (d[:, 0] == 0).all()  # each point is its own first
    assert (d[:, 1:] >= d[:, :-1]).all()
    exact = torch.linalg.vector_norm(torch.from_numpy(x)[:, None] - torch.from_numpy(x)[i], dim=2)
    torch.testing.assert_close(d, exact)  # the distances are recomputed exactly
    d2, i2 = nndescent_knn(x, 15, seed=0)
    assert torch.equal(i, i2) and torch.equal(d, d2)  # a seed gives the same graph


def test_torch_umap_fitted_with_nndescent_clusters_and_transforms_per_point(clustered_2k, tmp_path):
    from n2d.persistence import load_model, save_model

    x, y = clustered_2k
    m = TorchUMAP(n_components=5, n_epochs=60, random_state=0, device="cpu", knn_method="nndescent").fit(x)
    assert m.knn_method_ == "nndescent" and m.timings_["knn"] > 0
    assert cluster_acc(y, GaussianMixture(5, random_state=0).fit_predict(m.embedding_)) > 0.95
    exact = TorchUMAP(n_components=5, n_epochs=60, random_state=0, device="cpu", knn_method="exact").fit(x)
    assert exact.knn_method_ == "exact"
    new = x[:50] + 0.01
    whole = m.transform(new)
    assert np.array_equal(np.concatenate([m.transform(new[:20]), m.transform(new[20:])]), whole)
    save_model(m, tmp_path / "m")
    back = load_model(tmp_path / "m")
    assert back.knn_method_ == "nndescent" and np.array_equal(back.transform(new), whole)


def test_torch_umap_transform_of_many_rows_runs_in_chunks_with_the_same_result(clustered_2k, monkeypatch):
    import n2d.manifold._torch_umap as umap_torch

    x, _ = clustered_2k
    m = TorchUMAP(n_components=3, n_epochs=30, random_state=0, device="cpu").fit(x[:1000])
    whole = m.transform(x[1000:])
    seen = []
    real = TorchUMAP._place
    monkeypatch.setattr(umap_torch, "TRANSFORM_CHUNK", 300)
    monkeypatch.setattr(TorchUMAP, "_place", lambda self, X: seen.append(len(X)) or real(self, X))
    assert np.array_equal(m.transform(x[1000:]), whole)
    assert seen == [300, 300, 300, 100]
