"""``k_criterion="consensus"``: the code graph's votes (Louvain, modularity merging) and their median with the
BIC knee."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import sparse
from sklearn.datasets import make_blobs
from sklearn.mixture import GaussianMixture

from n2d import N2D
from n2d.cli import main
from n2d.cluster._graph_k import graph_votes, knn_graph, louvain_labels, modularity_merge
from n2d.cluster._select_k import CRITERIA, VOTES, choose_k, describe_k_evidence, preference, search_k

SMALL = dict(hidden_dims=(16,), epochs=2, device="cpu", random_state=0, verbose=0)


def _cliques(sizes, bridges=1):
    """Cliques of ``sizes`` joined in a chain by ``bridges`` edges each: a graph with obvious communities."""
    n = sum(sizes)
    a = np.zeros((n, n))
    start = 0
    for size in sizes:
        a[start:start + size, start:start + size] = 1
        start += size
    start = 0
    for size in sizes[:-1]:
        for b in range(bridges):
            i, j = start + b, start + size + b
            a[i, j] = a[j, i] = 1
        start += size
    np.fill_diagonal(a, 0)
    return sparse.csr_matrix(a)


def test_modularity_merge_joins_the_pieces_of_each_community():
    graph = _cliques([20, 20, 20])
    pieces = np.repeat(np.arange(6), 10)  # each clique cut in two
    merged, history = modularity_merge(graph, pieces)
    assert len(np.unique(merged)) == 3
    for clique in range(3):  # each clique whole, in one cluster of its own
        assert len(np.unique(merged[clique * 20:(clique + 1) * 20])) == 1
    assert len(history) == 6  # no merge, then one per merge down to a single cluster
    assert max(history) == history[3] > history[0] and history[-1] == pytest.approx(0.0, abs=1e-12)


def test_louvain_finds_the_cliques_and_is_seeded():
    graph = _cliques([15, 15, 15, 15])
    labels = louvain_labels(graph, random_state=0)
    assert len(np.unique(labels)) == 4
    assert np.array_equal(labels, louvain_labels(graph, random_state=0))


def test_knn_graph_is_symmetric_with_unit_weights():
    x = np.random.default_rng(0).normal(size=(50, 3)).astype(np.float32)
    g = knn_graph(x, n_neighbors=5)
    assert g.shape == (50, 50) and (g != g.T).nnz == 0 and set(np.unique(g.data)) == {1.0}
    assert g.diagonal().sum() == 0 and (np.asarray(g.sum(axis=1)).ravel() >= 5).all()


def test_knn_graph_has_no_self_loops_on_duplicate_rows():
    # rows repeated many times (integer tables): a duplicate can be listed before the row itself, and dropping
    # the first neighbour as "self" then left the row its own neighbour
    x = np.repeat(np.arange(12, dtype=np.float32).reshape(6, 2), 8, axis=0)
    g = knn_graph(x, n_neighbors=5)
    assert g.diagonal().sum() == 0
    assert (np.asarray((g != 0).sum(axis=1)).ravel() >= 5).all()


def test_graph_votes_count_well_separated_groups():
    x, _ = make_blobs(n_samples=600, centers=5, n_features=6, cluster_std=0.4, random_state=3)
    votes = graph_votes(x.astype(np.float32), x.astype(np.float32), random_state=0)
    assert votes == {"louvain": 5, "merge": 5}


def test_consensus_is_the_median_vote():
    # the curve counts the votes at or below each k; votes 3, 5 and 9
    curve = {k: float(sum(v <= k for v in (3, 5, 9))) for k in range(2, 12)}
    assert choose_k("consensus", curve) == 5
    assert choose_k("louvain", {k: float(k == 7) for k in range(2, 12)}) == 7
    assert preference("consensus", curve) == {}  # one answer: no runners-up to find


def test_search_k_consensus_needs_the_code_and_says_so_before_fitting():
    x, _ = make_blobs(n_samples=200, centers=3, n_features=2, random_state=1)
    fits = []

    def make(k):
        fits.append(k)
        return GaussianMixture(n_components=k)

    with pytest.raises(ValueError, match="consensus.*needs the code"):
        search_k(x, make, (2, 5), "consensus")
    with pytest.raises(ValueError, match="consensus.*needs the code"):
        search_k(x, make, (2, 5), "consensus", code=x[:10])
    assert fits == []


def test_search_k_consensus_keeps_each_vote_as_evidence():
    x, _ = make_blobs(n_samples=500, centers=4, n_features=5, cluster_std=0.5, random_state=2)
    x = x.astype(np.float32)
    search = search_k(x, lambda k: GaussianMixture(n_components=k, random_state=0), (2, 8), "consensus",
                      random_state=0, code=x)
    assert search.n_clusters == 4 and search.criterion == "consensus" and search.greater_is_better
    for name in VOTES:
        assert sorted(search.all_scores[name].values()) == [0.0] * 6 + [1.0]  # one vote, inside the range
    assert search.scores == search.all_scores["consensus"] and max(search.scores.values()) == 3.0


def test_consensus_is_a_selectable_criterion_that_needs_a_mixture(monkeypatch):
    import n2d.autoencoder

    assert "consensus" in CRITERIA

    def no_training(*args, **kwargs):
        raise AssertionError("the autoencoder trained before the criterion was checked")

    monkeypatch.setattr(n2d.autoencoder.Autoencoder, "fit", no_training)
    with pytest.raises(ValueError, match="consensus.*needs a mixture"):
        N2D(n_clusters="auto", k_range=(2, 5), clusterer="kmeans", k_criterion="consensus", **SMALL).fit(
            np.random.default_rng(0).normal(size=(50, 4)))


@pytest.fixture(scope="module")
def consensus_model():
    x, y = make_blobs(n_samples=400, centers=4, n_features=8, cluster_std=1.0, random_state=0)
    model = N2D(n_clusters="auto", k_range=(2, 8), k_criterion="consensus", **SMALL).fit(x.astype(np.float32))
    return model, x.astype(np.float32)


def test_n2d_consensus_fit_reports_every_vote_and_survives_a_save(consensus_model, tmp_path):
    model, x = consensus_model
    assert model.k_criterion_ == "consensus" and 2 <= model.n_clusters_ <= 8
    evidence = model.k_evidence_
    assert {"bic-knee", "louvain", "merge"} <= set(evidence["other_criteria"])
    votes = sorted(evidence["other_criteria"][name] for name in ("bic-knee", "louvain", "merge"))
    assert model.n_clusters_ == votes[1]  # the median
    assert "louvain prefers" in describe_k_evidence(evidence)
    model.save(tmp_path / "m")
    again = N2D.load(tmp_path / "m")
    assert again.k_criterion_ == "consensus" and again.k_evidence_ == evidence
    assert np.array_equal(again.predict(x[:20]), model.predict(x[:20]))


def test_cli_consensus_writes_the_votes_into_result_json(tmp_path):
    x, _ = make_blobs(n_samples=300, centers=3, n_features=6, random_state=4)
    data = tmp_path / "x.npy"
    np.save(data, x.astype(np.float32))
    out = tmp_path / "out"
    code = main(["cluster", str(data), "--k-criterion", "consensus", "--out", str(out), "--epochs", "2",
                 "--hidden-dims", "16", "--device", "cpu", "-q"])
    assert code == 0
    record = json.loads((out / "result.json").read_text())["k_search"]
    assert record["criterion"] == "consensus" and record["chosen"] == record["candidates"][
        next(i for i, v in enumerate(record["scores"]) if v >= 2)]
    assert {"louvain", "merge", "bic-knee"} <= set(record["other_criteria"])


def test_plot_k_scores_draws_the_bic_curve_and_each_vote(consensus_model, tmp_path):
    pytest.importorskip("matplotlib")
    from n2d.plotting import plot_k_scores

    model, _ = consensus_model
    fig = plot_k_scores(model, path=tmp_path / "k.png")
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    for name in ("bic-knee", "louvain", "merge"):
        k = model.k_evidence_["other_criteria"][name]
        assert f"{name} votes {k}" in labels
    assert f"chosen k = {model.n_clusters_}" in labels
    np.testing.assert_allclose(ax.lines[0].get_ydata(), model.k_all_scores_["bic"])  # the BIC curve, not the votes
    assert (tmp_path / "k.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
