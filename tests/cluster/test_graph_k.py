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
    assert votes == {"louvain": 5, "merge": 5, "density": 5}


def test_consensus_is_the_median_vote():
    # the curve counts the votes at or below each k; votes 3, 5 and 9
    curve = {k: float(sum(v <= k for v in (3, 5, 9))) for k in range(2, 12)}
    assert choose_k("consensus", curve) == 5
    assert choose_k("louvain", {k: float(k == 7) for k in range(2, 12)}) == 7
    assert preference("consensus", curve) == {}  # one answer: no runners-up to find
    # four answers (the knee and three votes): the upper median, 9 of 3, 5, 9 and 12
    curve = {k: float(sum(v <= k for v in (3, 5, 9, 12))) for k in range(2, 14)}
    assert choose_k("consensus", curve) == 9


def test_consensus_counts_a_vote_past_the_candidates():
    # the search covers what the median needs; a vote beyond it must still count as an answer, or the median
    # would be taken over the three answers below it instead of all four
    from n2d.cluster._select_k import _consensus

    bic = {k: 1000.0 / k for k in range(2, 11)}  # a smooth curve: its knee is some k in 2..10
    knee = choose_k("bic-knee", bic)
    votes = {"louvain": 4, "merge": 5, "density": 50}
    curves = _consensus(bic, votes, 2, 10)
    assert max(curves["consensus"].values()) == 4.0
    assert choose_k("consensus", curves["consensus"]) == sorted([knee, 4, 5, 50])[2]
    assert sum(curves["density"].values()) == 0.0  # the vote itself lies past the candidates


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
    assert search.scores == search.all_scores["consensus"] and max(search.scores.values()) == 1.0 + len(VOTES)


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
    answers = 1 + len(VOTES)  # the knee and the votes; the consensus is the first k that their median reaches
    assert record["criterion"] == "consensus" and max(record["scores"]) == answers
    assert record["chosen"] == record["candidates"][next(i for i, v in enumerate(record["scores"])
                                                         if v >= answers // 2 + 1)]
    assert {"louvain", "merge", "density", "bic-knee"} <= set(record["other_criteria"])


def test_plot_k_scores_draws_the_bic_curve_and_each_vote(consensus_model, tmp_path):
    pytest.importorskip("matplotlib")
    from n2d.plotting import plot_k_scores

    model, _ = consensus_model
    fig = plot_k_scores(model, path=tmp_path / "k.png")
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    for name in ("bic-knee", *VOTES):
        k = model.k_evidence_["other_criteria"][name]
        assert f"{name} votes {k}" in labels
    assert f"chosen k = {model.n_clusters_}" in labels
    np.testing.assert_allclose(ax.lines[0].get_ydata(), model.k_all_scores_["bic"])  # the BIC curve, not the votes
    assert (tmp_path / "k.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# -- k_range="auto": the candidates grow past (2, 30) where the evidence asks ------------------------- #

def _many_blobs(k=45, per=40):
    x, _ = make_blobs(n_samples=k * per, centers=k, n_features=6, cluster_std=0.5, center_box=(-40, 40),
                      random_state=0)
    return x.astype(np.float32)


def test_auto_range_grows_to_reach_more_classes_than_its_start():
    # 45 separate groups: both graph votes say 45, above the (2, 30) the search starts from; the BIC curve is
    # extended to cover them, and the median of the three votes is 45
    x = _many_blobs()
    model = N2D(n_clusters="auto", autoencoder=None, manifold=None, random_state=0, verbose=0).fit(x)
    assert model.k_range == "auto" and model.n_clusters_ == 45
    assert model.k_candidates_[0] == 2 and model.k_candidates_[-1] >= 45
    assert model.k_evidence_["other_criteria"]["louvain"] == model.k_evidence_["other_criteria"]["merge"] == 45


def test_a_range_given_as_a_pair_does_not_grow():
    x = _many_blobs()
    model = N2D(n_clusters="auto", autoencoder=None, manifold=None, k_range=(2, 30), random_state=0,
                verbose=0).fit(x)
    assert model.n_clusters_ <= 30 and model.k_candidates_[-1] == 30


def test_the_knee_grows_the_range_until_it_lies_in_its_first_half(monkeypatch):
    # no graph votes (criterion bic-knee): a BIC curve that keeps falling steeply up to 40 puts the knee past
    # half of (2, 30), so the candidates grow to twice the knee, and again, until the knee is in the first half
    import n2d.cluster._select_k as select_k

    fitted = []

    class Curve:  # a mixture whose BIC falls ever less steeply down to k = 40, and rises slightly beyond
        def __init__(self, k):
            self.n_components, self.random_state = k, 0

        def get_params(self, deep=False):
            return {"n_components": self.n_components, "random_state": 0}

        def set_params(self, **params):
            return self

        def fit_predict(self, X):
            fitted.append(self.n_components)
            return np.arange(len(X)) % self.n_components

        def bic(self, X):
            m = min(self.n_components, 40)
            return -(1000.0 * m - 12.5 * m * m) + self.n_components

        def predict_proba(self, X):
            return np.eye(self.n_components)[self.fit_predict(X)]

    monkeypatch.setattr(select_k, "_icl", lambda est, X: 0.0)
    monkeypatch.setattr("sklearn.base.clone", lambda est: Curve(est.n_components))
    x = np.random.default_rng(0).normal(size=(2000, 3))
    search = select_k.search_k(x, Curve, (2, 30), criterion="bic-knee", ceiling=200)
    top = max(search.scores)
    assert search.n_clusters > 15 and 30 < top < 200 and 2 * search.n_clusters <= top  # knee in the first half
    assert sorted(search.scores) == list(range(2, top + 1))
    assert fitted[:-1] == list(range(2, top + 1)) and fitted[-1] == search.n_clusters  # each once, then the refit
    assert select_k.search_k(x, Curve, (2, 30), criterion="bic-knee").n_clusters <= 30  # no ceiling: no growth
    assert max(select_k.search_k(x, Curve, (2, 30), criterion="bic-knee", ceiling=40).scores) == 40  # capped


def test_one_outlying_vote_does_not_stretch_the_range(monkeypatch):
    # votes 5 and 90: the median of the knee and the votes is at most max(knee, 5), so the candidates stay at
    # (2, 30) instead of running to 90 (which would move the knee); the far vote is kept out of the evidence
    import n2d.cluster._graph_k as graph_k
    from n2d.cluster._select_k import choose_k

    monkeypatch.setattr(graph_k, "graph_votes", lambda code, X, random_state=0: {"louvain": 5, "merge": 90})
    x, _ = make_blobs(n_samples=2000, centers=5, n_features=4, cluster_std=0.5, random_state=2)
    x = x.astype(np.float32)
    search = search_k(x, lambda k: GaussianMixture(k, random_state=0), (2, 30), criterion="consensus", code=x,
                      ceiling=200)
    assert max(search.scores) == 30 and search.n_clusters == 5
    assert choose_k("louvain", search.all_scores["louvain"]) == 5
    assert choose_k("merge", search.all_scores["merge"]) is None


@pytest.mark.parametrize("rows, start, ceiling", [(40, (2, 20), 20), (300, (2, 30), 30), (450, (2, 30), 45),
                                                  (5_000, (2, 30), 120)])
def test_the_auto_range_starts_at_2_30_and_may_grow_to_a_cluster_per_10_rows(rows, start, ceiling):
    from n2d.cluster._select_k import data_k_range, k_ceiling

    assert data_k_range("auto", rows) == start and k_ceiling("auto", rows) == ceiling
    assert data_k_range((3, 8), rows) == (3, 8) and k_ceiling((3, 8), rows) is None
    assert data_k_range((2, 30), rows) == start  # the default before "auto", as saved models carry it


def test_cli_k_range_auto_can_be_named_and_a_bad_value_is_refused_before_training(tmp_path, capsys):
    x = _many_blobs(k=4, per=40)
    data = tmp_path / "x.npy"
    np.save(data, x)
    args = ["--epochs", "2", "--hidden-dims", "16", "--device", "cpu", "-q"]
    assert main(["cluster", str(data), "--k-range", "auto", "--out", str(tmp_path / "o"), *args]) == 0
    record = json.loads((tmp_path / "o" / "result.json").read_text())["k_search"]
    assert record["candidates"][0] == 2 and record["candidates"][-1] == 30  # 160 rows: no room to grow past 30
    assert main(["cluster", str(data), "--k-range", "wide", "--out", str(tmp_path / "bad"), *args]) != 0
    assert "--k-range must be 'auto' or two integers" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()


def test_search_k_takes_the_auto_range_and_fits_it_to_the_rows():
    from n2d.cluster._select_k import check_k_range

    x, _ = make_blobs(n_samples=20, centers=2, n_features=3, random_state=0)
    search = search_k(x, lambda k: GaussianMixture(k, random_state=0), "auto", criterion="bic-knee")
    assert min(search.scores) == 2 and max(search.scores) == 10  # half the rows
    assert check_k_range("auto", 20) == (2, 10) and check_k_range("auto") == (2, 30)


@pytest.mark.slow
@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="open problem (issue 28): groups smaller than the code graph's 15 neighbours are tied "
                          "together, so the votes and the knee see about 10 of 40 groups")
def test_auto_k_finds_many_groups_smaller_than_the_graphs_neighbour_count():
    # 40 separate groups of 10 rows in 1,024 features, a stand-in for a small face set (10 images a person): the
    # true k gives a perfect partition, the estimate does not yet
    rng = np.random.default_rng(0)
    x = (np.repeat(rng.normal(size=(40, 1024)) * 3, 10, axis=0) + rng.normal(size=(400, 1024))).astype(np.float32)
    y = np.repeat(np.arange(40), 10)
    from n2d.metrics import cluster_acc

    true_k = cluster_acc(y, N2D(n_clusters=40, random_state=0, verbose=0).fit_predict(x))
    found = N2D(n_clusters="auto", random_state=0, verbose=0).fit(x).n_clusters_
    if true_k != 1.0:  # the embedding must hold the 40 groups, or this is not the open problem
        pytest.fail(f"the true k no longer separates the groups (ACC {true_k:.3f})", pytrace=False)
    assert abs(found - 40) <= 8
