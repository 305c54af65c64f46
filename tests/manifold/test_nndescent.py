"""n2d.manifold._nndescent: NN-descent neighbours for large CPU fits, and TorchUMAP fitted with them."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.mixture import GaussianMixture

from n2d.manifold import TorchUMAP
from n2d.manifold._knn import knn
from n2d.metrics import cluster_acc

SEEDS = (0, 1)


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
