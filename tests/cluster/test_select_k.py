"""Choosing the number of clusters without labels (``N2D(n_clusters="auto")``), N2D with HDBSCAN, and their CLI.

Kept small on purpose (a few hundred rows, 2 epochs, a 16-wide autoencoder):
the fitted models are shared per module and the whole file runs in well under
a minute on a 2-core CPU.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import io
import json
import shutil
import time
from typing import ClassVar

import numpy as np
import pytest
from sklearn.cluster import DBSCAN, KMeans
from sklearn.datasets import make_blobs
from sklearn.mixture import GaussianMixture

import n2d.autoencoder
from n2d import N2D, Autoencoder, TorchUMAP, cluster_acc, evaluate
from n2d.cli import main
from n2d.cluster import CLUSTERERS, HDBSCANClusterer
from n2d.cluster._select_k import (
    AUTO_WIDTH,
    CRITERIA,
    DEFAULT_CRITERION,
    K_RANGE,
    KSearch,
    best_k,
    check_criterion,
    check_k_range,
    describe_k_evidence,
    search_k,
)
from n2d.exceptions import ModelFormatError

SMALL = dict(hidden_dims=(16,), epochs=2, device="cpu", random_state=0, verbose=0)
CLI_SMALL = ["--epochs", "2", "--hidden-dims", "16", "--device", "cpu", "-q"]
PNG = b"\x89PNG\r\n\x1a\n"
K_ATTRS = ("k_candidates_", "k_scores_", "k_criterion_", "k_all_scores_")
OTHER_CRITERION = next(c for c in ("icl", "bic") if c != DEFAULT_CRITERION)  # a criterion that is not the default


# -- shared data and fitted models --------------------------------------------------- #


@pytest.fixture(scope="module")
def blobs4():
    """400 points in 4 well-separated blobs, 8 features."""
    x, y = make_blobs(n_samples=400, centers=4, n_features=8, cluster_std=1.0, random_state=0)
    return x.astype(np.float32), y


@pytest.fixture(scope="module")
def auto_fit(blobs4):
    """An auto-k model (silhouette, k in 2..8) and what was called while it fitted."""
    calls = {"autoencoder": 0, "manifold": 0, "gmm_k": [], "gmm_rows": []}
    real_ae_fit, real_umap, real_gmm = Autoencoder.fit, TorchUMAP.fit_transform, GaussianMixture.fit_predict

    def ae_fit(self, *a, **k):
        calls["autoencoder"] += 1
        return real_ae_fit(self, *a, **k)

    def umap_fit_transform(self, *a, **k):
        calls["manifold"] += 1
        return real_umap(self, *a, **k)

    def gmm_fit_predict(self, X, *a, **k):
        calls["gmm_k"].append(self.n_components)
        calls["gmm_rows"].append(len(X))
        return real_gmm(self, X, *a, **k)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Autoencoder, "fit", ae_fit)
        mp.setattr(TorchUMAP, "fit_transform", umap_fit_transform)
        mp.setattr(GaussianMixture, "fit_predict", gmm_fit_predict)
        model = N2D(n_clusters="auto", k_range=(2, 8), k_criterion="silhouette", **SMALL).fit(blobs4[0])
    return model, calls


@pytest.fixture(scope="module")
def auto_model(auto_fit):
    return auto_fit[0]


@pytest.fixture(scope="module")
def hdbscan_model(blobs):
    return N2D(n_clusters="auto", clusterer="hdbscan", **SMALL).fit(blobs[0])


@pytest.fixture
def no_training(monkeypatch):
    """Any autoencoder training fails the test: errors must come before it."""

    def trained(self, *a, **k):
        raise AssertionError("trained")

    monkeypatch.setattr(n2d.autoencoder.Autoencoder, "fit", trained)


# -- 1: bad input is a ValueError before the autoencoder trains ----------------------- #


@pytest.mark.parametrize(
    "params, rows, match",
    [
        (dict(k_range=(5, 3)), None, r"'k_range' parameter of N2D is empty: low 5 > high 3"),
        (dict(k_range=(1, 5)), None, r"'k_range'.*must start at 2 or more clusters"),
        (dict(k_range=(2, 301)), None, r"'k_range'.*goes up to 301 clusters, more than the 300 samples"),
        (dict(k_range=5), None, r"'k_range'.*must be 'auto' or a pair \(low, high\)"),
        (dict(k_range=(2, 3, 4)), None, r"'k_range'.*must be 'auto' or a pair \(low, high\)"),
        (dict(k_range="wide"), None, r"'k_range'.*must be 'auto' or a pair \(low, high\).*got 'wide'"),
        (dict(k_range=(2, 5.0)), None, r"'k_range'.*must hold two ints"),
        (dict(k_range=("2", "5")), None, r"'k_range'.*must hold two ints"),
        (dict(k_range=(True, 5)), None, r"'k_range'.*must hold two ints"),
        (dict(k_range=(5, 8)), 4,
         r"n_clusters='auto' needs at least as many samples as the smallest candidate k.*4 samples"),
        (dict(clusterer=DBSCAN()), None, r"DBSCAN takes no number of clusters \(no 'n_clusters' or 'n_components'"),
        (dict(clusterer="kmeans", k_criterion="bic"), None,
         r"k_criterion='bic' needs a mixture.*KMeans.*k_criterion='silhouette'"),
        (dict(clusterer=KMeans(n_init=1), k_criterion="icl"), None,
         r"k_criterion='icl' needs a mixture.*KMeans.*'silhouette'"),
        (dict(k_criterion="aic"), None, r"'k_criterion' parameter of N2D must be 'auto' or one of.*'aic'"),
        (dict(n_clusters="Auto"), None, r"'n_clusters' parameter of N2D.*'Auto'"),
        (dict(n_clusters="10"), None, r"'n_clusters' parameter of N2D.*'10'"),
    ],
)
def test_bad_auto_k_input_fails_before_training(no_training, blobs, params, rows, match):
    x = blobs[0] if rows is None else blobs[0][:rows]
    kw = dict(SMALL, n_clusters="auto")
    kw.update(params)
    with pytest.raises(ValueError, match=match):
        N2D(**kw).fit(x)


def test_no_training_fixture_really_stops_training(no_training, blobs):
    """The guard above is live: a valid auto model reaches the autoencoder and trips it."""
    with pytest.raises(AssertionError, match="trained"):
        N2D(n_clusters="auto", k_range=(2, 4), **SMALL).fit(blobs[0])


def test_bad_n_clusters_string_message_mentions_auto(no_training, blobs):
    with pytest.raises(ValueError, match="'auto'"):
        N2D(n_clusters="Auto", **SMALL).fit(blobs[0])


def test_hdbscan_auto_is_not_limited_by_the_unused_k_range(blobs):
    x = blobs[0][:24]  # fewer rows than the default k_range's 30
    model = N2D(n_clusters="auto", clusterer=HDBSCANClusterer(min_cluster_size=5), **SMALL).fit(x)
    assert model.labels_.shape == (24,) and model.n_clusters_ >= 1


# -- 2: the same through the CLI: one line, nothing written, no training ------------- #


@pytest.fixture
def unlabeled_npy(tmp_path, blobs):
    path = tmp_path / "x.npy"
    np.save(path, blobs[0])
    return path


@pytest.mark.parametrize(
    "args, option",
    [
        (["--n-clusters", "auto", "--k-range", "5,3"], "--k-range"),
        (["--n-clusters", "auto", "--k-range", "2,x"], "--k-range"),
        (["--n-clusters", "auto", "--k-range", "2,3,4"], "--k-range"),
        (["--n-clusters", "auto", "--k-range", "1,5"], "--k-range"),
        (["--n-clusters", "auto", "--k-range", "2,301"], "--k-range"),  # above the file's 300 rows
        (["--n-clusters", "auto", "--k-criterion", "aic"], "--k-criterion"),
        (["--n-clusters", "3", "--k-range", "2,5"], "--k-range"),
        (["--n-clusters", "3", "--k-criterion", OTHER_CRITERION], "--k-criterion"),
        (["--n-clusters", "auto", "--k-criterion", "bic", "--clusterer", "kmeans"], "--k-criterion bic"),
        (["--n-clusters", "Auto"], "--n-clusters"),
    ],
)
def test_cli_bad_auto_k_options_fail_fast(no_training, capsys, tmp_path, unlabeled_npy, args, option):
    out = tmp_path / "o"
    t0 = time.perf_counter()
    code = main(["cluster", str(unlabeled_npy), *args, "--out", str(out), *CLI_SMALL])
    took = time.perf_counter() - t0
    err = capsys.readouterr().err
    assert code != 0
    assert err.startswith("n2d: error: ") and err.strip().count("\n") == 0, err
    assert option in err and "trained" not in err and "Traceback" not in err
    assert not out.exists()
    assert took < 5, took
    if "kmeans" in args:
        assert "silhouette" in err


def test_cli_implicit_auto_with_kmeans_and_bic_fails_before_training(no_training, capsys, tmp_path, unlabeled_npy):
    """A file without labels and no --n-clusters is auto mode: the criterion is still checked before training."""
    out = tmp_path / "o"
    code = main(["cluster", str(unlabeled_npy), "--k-criterion", "bic", "--clusterer", "kmeans", "--out", str(out),
                 *CLI_SMALL])
    err = capsys.readouterr().err
    assert code != 0 and err.startswith("n2d: error: ") and err.strip().count("\n") == 0
    assert "bic" in err and "silhouette" in err and "trained" not in err
    assert not out.exists()


def test_cli_mixture_criterion_accepts_the_clusterer_name_in_any_case():
    from n2d.cli import build_parser
    from n2d.cli.cluster import check_options

    args = build_parser().parse_args(["cluster", "x.npy", "--n-clusters", "auto", "--k-criterion", "bic",
                                      "--clusterer", "GMM", "--device", "cpu"])
    assert check_options(args)["clusterer"] == "gmm"


def test_cli_unknown_clusterer_in_auto_mode_says_so(capsys, unlabeled_npy, tmp_path):
    code = main(["cluster", str(unlabeled_npy), "--n-clusters", "auto", "--k-criterion", "icl", "--clusterer", "gmn",
                 "--out", str(tmp_path / "o"), *CLI_SMALL])
    err = capsys.readouterr().err
    assert code != 0
    assert "--clusterer must be one of" in err, err


# -- 3: the search on well-separated blobs -------------------------------------------- #


def test_auto_finds_the_true_k_and_reports_the_search(auto_model, blobs4):
    x, y = blobs4
    m = auto_model
    assert m.n_clusters == "auto" and m.n_clusters_ == 4
    np.testing.assert_array_equal(m.k_candidates_, np.arange(2, 9))
    assert m.k_candidates_.dtype == np.int64
    assert m.k_scores_.shape == (7,) and np.isfinite(m.k_scores_).all()
    assert m.k_criterion_ == "silhouette"
    assert int(m.k_candidates_[np.argmax(m.k_scores_)]) == m.n_clusters_  # the best silhouette wins
    assert set(m.k_all_scores_) == set(CRITERIA) - {"consensus"}  # a mixture yields these; the votes need consensus
    for name, scores in m.k_all_scores_.items():
        assert scores.shape == (7,), name
    np.testing.assert_array_equal(m.k_all_scores_["silhouette"], m.k_scores_)
    assert (m.k_all_scores_["icl"] >= m.k_all_scores_["bic"] - 1e-6).all()  # ICL = BIC + 2 * entropy
    assert set(m.timings_) == {"autoencoder", "manifold", "k search"}
    assert len(np.unique(m.labels_)) == m.n_clusters_ and m.labels_.min() == 0
    assert m.clusterer_.n_components == 4
    assert evaluate(y, m.labels_)["acc"] > 0.95
    pred = m.predict(x)
    assert pred.shape == (400,) and (pred == m.labels_).mean() > 0.95
    assert m.predict_proba(x[:5]).shape == (5, 4)


def test_auto_uses_the_fixed_width_for_code_and_manifold(auto_model):
    assert AUTO_WIDTH == 10
    assert auto_model.autoencoder_.n_components == AUTO_WIDTH
    assert auto_model.manifold_.n_components == AUTO_WIDTH
    assert auto_model.embedding_.shape == (400, AUTO_WIDTH)


def test_auto_trains_the_autoencoder_and_manifold_once(auto_fit):
    _, calls = auto_fit
    assert calls["autoencoder"] == 1 and calls["manifold"] == 1
    # every candidate, then the chosen k refitted on all points
    assert calls["gmm_k"] == [2, 3, 4, 5, 6, 7, 8, 4]
    assert calls["gmm_rows"] == [400] * 8


def test_auto_keeps_the_stages_own_widths(blobs):
    ae = Autoencoder(n_components=6, hidden_dims=(16,), epochs=2, random_state=0, verbose=0)
    model = N2D(n_clusters="auto", autoencoder=ae, manifold=TorchUMAP(n_components=4), k_range=(2, 5),
                k_criterion="silhouette", **SMALL).fit(blobs[0])
    assert model.autoencoder_.n_components == 6
    assert model.manifold_.n_components == 4 and model.embedding_.shape == (300, 4)
    assert model.clusterer_.n_features_in_ == 4
    assert 2 <= model.n_clusters_ <= 5


def test_default_search_settings():
    assert N2D().k_range == "auto" and K_RANGE == (2, 30) and N2D().k_criterion == DEFAULT_CRITERION
    assert set(CRITERIA) == {"bic-knee", "icl", "bic", "silhouette", "consensus"} and DEFAULT_CRITERION == "auto"
    assert "hdbscan" in CLUSTERERS


# -- 4: a refit without a search drops the search's attributes ------------------------ #


def test_refit_with_int_n_clusters_drops_k_attributes(auto_model, blobs4):
    model = copy.deepcopy(auto_model)
    assert all(hasattr(model, a) for a in K_ATTRS)
    model.set_params(n_clusters=3).fit(blobs4[0])
    for attr in K_ATTRS:
        assert not hasattr(model, attr), attr
    assert model.n_clusters_ == 3 and "k search" not in model.timings_
    assert model.autoencoder_.n_components == 3  # width follows n_clusters again


# -- 5: persistence -------------------------------------------------------------------- #


def test_auto_model_save_load_round_trip(auto_model, blobs4, tmp_path):
    x = blobs4[0]
    loaded = N2D.load(auto_model.save(tmp_path / "m"))
    assert loaded.n_clusters == "auto" and tuple(loaded.k_range) == (2, 8) and loaded.k_criterion == "silhouette"
    assert loaded.n_clusters_ == auto_model.n_clusters_ and loaded.k_criterion_ == "silhouette"
    np.testing.assert_array_equal(loaded.k_candidates_, auto_model.k_candidates_)
    np.testing.assert_array_equal(loaded.k_scores_, auto_model.k_scores_)
    assert set(loaded.k_all_scores_) == set(auto_model.k_all_scores_)
    for name, scores in auto_model.k_all_scores_.items():
        np.testing.assert_array_equal(loaded.k_all_scores_[name], scores)
    np.testing.assert_array_equal(loaded.predict(x), auto_model.predict(x))
    assert loaded.k_evidence_ == auto_model.k_evidence_  # derived from the saved scores


def test_hdbscan_model_save_load_round_trip(hdbscan_model, blobs, tmp_path):
    x = blobs[0]
    loaded = N2D.load(hdbscan_model.save(tmp_path / "m"))
    assert isinstance(loaded.clusterer_, HDBSCANClusterer)
    assert loaded.n_clusters_ == hdbscan_model.n_clusters_
    np.testing.assert_array_equal(loaded.clusterer_.clustered_labels_, hdbscan_model.clusterer_.clustered_labels_)
    np.testing.assert_array_equal(loaded.predict(x), hdbscan_model.predict(x))


def _tamper(path, manifest_fn=None, arrays_fn=None):
    """Edit a saved model's manifest and/or arrays, keeping the checksum and declared shapes valid."""
    from safetensors.numpy import load_file, save_file

    manifest = json.loads((path / "manifest.json").read_text())
    if arrays_fn is not None:
        arrays = load_file(str(path / "arrays.safetensors"))
        changed = arrays_fn(arrays)
        save_file(arrays, str(path / "arrays.safetensors"), metadata={"format": "n2d-model"})
        manifest["arrays_sha256"] = hashlib.sha256((path / "arrays.safetensors").read_bytes()).hexdigest()

        def walk(v):  # declare the edited arrays' new shapes, so only the cross-checks can catch them
            if isinstance(v, dict):
                if v.get("__array__") in changed:
                    v["shape"] = list(arrays[v["__array__"]].shape)
                    v["dtype"] = arrays[v["__array__"]].dtype.str
                for item in v.values():
                    walk(item)
            elif isinstance(v, list):
                for item in v:
                    walk(item)

        walk(manifest)
    if manifest_fn is not None:
        manifest_fn(manifest)
    (path / "manifest.json").write_text(json.dumps(manifest))


def _clusterer_state(manifest):
    return manifest["model"]["state"]["clusterer_"]["state"]


def _cut(key):
    def edit(arrays):
        arrays[key] = np.ascontiguousarray(arrays[key][:-1])
        return {key}
    return edit


def _shift_labels(arrays):
    key = "model.clusterer_.clustered_labels_"
    arrays[key] = arrays[key] + 5
    return {key}


def _narrow_points(arrays):
    key = "model.clusterer_.clustered_points_"
    arrays[key] = np.ascontiguousarray(arrays[key][:, :2])
    return {key}


@pytest.mark.parametrize(
    "manifest_fn, arrays_fn, message",
    [
        (None, _cut("model.clusterer_.clustered_labels_"),
         r"clustered_labels_ has \d+ entries but clustered_points_ has"),
        (None, _shift_labels, r"clustered_labels_ must lie in \[0, 3\)"),
        (lambda m: _clusterer_state(m).__setitem__("n_clusters_", 1), None, r"clustered_labels_ must lie in \[0, 1\)"),
        (lambda m: _clusterer_state(m).__setitem__("n_clusters_", -1), None, r"n_clusters_ is -1"),
        (None, _narrow_points, r"clustered_points_ has shape \(\d+, 2\), expected \(any, 10\)"),
    ],
)
def test_tampered_hdbscan_state_is_a_format_error(hdbscan_model, tmp_path, manifest_fn, arrays_fn, message):
    assert hdbscan_model.n_clusters_ == 3
    path = hdbscan_model.save(tmp_path / "m")
    _tamper(path, manifest_fn, arrays_fn)
    with pytest.raises(ModelFormatError, match=message):
        N2D.load(path)


def test_tampered_k_scores_are_a_format_error(auto_model, tmp_path):
    path = auto_model.save(tmp_path / "m")
    _tamper(path, arrays_fn=_cut("model.k_scores_"))
    with pytest.raises(ModelFormatError, match=r"k_scores_ has shape \(6,\), expected \(7,\)"):
        N2D.load(path)


# -- 6: HDBSCAN ------------------------------------------------------------------------ #


def test_n2d_hdbscan_auto_reports_the_clusters_it_found(hdbscan_model, blobs):
    x, y = blobs
    m = hdbscan_model
    found = np.unique(m.labels_[m.labels_ >= 0])
    assert m.n_clusters_ == len(found) == 3
    for attr in K_ATTRS:
        assert not hasattr(m, attr), attr
    assert set(m.timings_) == {"autoencoder", "manifold", "clusterer"}
    assert m.autoencoder_.n_components == AUTO_WIDTH and m.embedding_.shape == (300, AUTO_WIDTH)
    assert (m.predict(x) >= 0).all()
    assert cluster_acc(y, m.labels_) > 0.95


def test_n2d_hdbscan_with_int_n_clusters_reports_what_it_found(blobs):
    x, _ = blobs
    m = N2D(n_clusters=5, clusterer="hdbscan", **SMALL).fit(x)
    assert m.n_clusters == 5 and m.n_clusters_ == len(np.unique(m.labels_[m.labels_ >= 0])) == 3
    assert m.autoencoder_.n_components == 5  # an int still sets the code width
    for attr in K_ATTRS:
        assert not hasattr(m, attr), attr


# -- 8: plot_k_scores -------------------------------------------------------------------- #


def test_plot_k_scores_writes_a_png(auto_model, tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from n2d.plotting import plot_k_scores

    fig = plot_k_scores(auto_model, path=tmp_path / "k.png")
    assert (tmp_path / "k.png").read_bytes().startswith(PNG)
    ax = fig.axes[0]
    assert "silhouette" in ax.get_ylabel() and "higher is better" in ax.get_ylabel()
    assert ax.get_legend() is not None and "chosen k = 4" in ax.get_legend().get_texts()[0].get_text()
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_plot_k_scores_without_a_search_is_a_clear_error(hdbscan_model):
    from n2d.plotting import plot_k_scores

    for model in (hdbscan_model, N2D()):
        with pytest.raises(ValueError, match="no k search to plot.*n_clusters='auto'"):
            plot_k_scores(model)


# -- 9: the CLI end to end ------------------------------------------------------------------ #


@pytest.fixture(scope="module")
def cli_auto_run(tmp_path_factory, blobs):
    """One ``n2d cluster`` run on a label-free .npy (auto by default) with --plot; its folder and output."""
    pytest.importorskip("matplotlib")
    root = tmp_path_factory.mktemp("cli-auto")
    data = root / "points.npy"
    np.save(data, blobs[0])
    out = root / "out"
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = main(["cluster", str(data), "--k-range", "2,6", "--k-criterion", "silhouette", "--plot",
                     "--out", str(out), *CLI_SMALL])
    assert code == 0, stdout.getvalue()
    return data, out, stdout.getvalue()


def test_cli_auto_end_to_end(cli_auto_run, tmp_path):
    data, out, stdout = cli_auto_run
    result = json.loads((out / "result.json").read_text())
    model = N2D.load(out / "model")
    assert result["n_clusters_requested"] == "auto"
    assert result["n_clusters"] == model.n_clusters_ == 3
    k_search = result["k_search"]
    assert k_search["criterion"] == "silhouette" and k_search["candidates"] == [2, 3, 4, 5, 6]
    assert len(k_search["scores"]) == 5 and max(k_search["scores"]) == k_search["scores"][1]
    labels = np.loadtxt(out / "labels.csv", delimiter=",", skiprows=1, dtype=int)[:, 1]
    assert len(np.unique(labels)) == 3
    assert "into k clusters, k in 2..6 chosen by criterion silhouette" in stdout
    assert "clusters: 3 (chosen by silhouette among 2..6; " in stdout
    evidence = model.k_evidence_
    assert k_search["runners_up"] == evidence["runners_up"]
    assert k_search["other_criteria"] == evidence["other_criteria"] and set(evidence["other_criteria"]) == {
        "bic-knee", "bic", "icl"}
    assert describe_k_evidence(evidence) in stdout
    for png in ("k_scores.png", "clusters.png"):
        assert (out / png).read_bytes().startswith(PNG), png
    assert "k_scores.png" in stdout.split("wrote ")[-1]

    # a second run into (a copy of) the folder without --plot removes both stale plots
    again = tmp_path / "out"
    shutil.copytree(out, again)
    assert main(["cluster", str(data), "--k-range", "2,6", "--k-criterion", "silhouette", "--out", str(again),
                 *CLI_SMALL]) == 0
    assert not (again / "k_scores.png").exists() and not (again / "clusters.png").exists()
    marker = json.loads((again / ".n2d-output.json").read_text())
    assert "k_scores.png" not in marker["files"] and "clusters.png" not in marker["files"]
    assert json.loads((again / "result.json").read_text())["k_search"]["candidates"] == [2, 3, 4, 5, 6]


def test_cli_plot_without_a_search_removes_an_earlier_k_scores_png(cli_auto_run, tmp_path):
    data, out, _ = cli_auto_run
    again = tmp_path / "out"
    shutil.copytree(out, again)
    assert main(["cluster", str(data), "--clusterer", "hdbscan", "--plot", "--out", str(again), *CLI_SMALL]) == 0
    assert json.loads((again / "result.json").read_text())["k_search"] is None
    assert (again / "clusters.png").is_file()
    assert not (again / "k_scores.png").exists()  # it showed the earlier run's search


# -- 10: search_k and best_k directly ---------------------------------------------------------- #


class SpyKMeans(KMeans):
    """KMeans that records the rows and n_init of every fit."""

    fits: ClassVar[list] = []

    def fit(self, X, y=None, sample_weight=None):
        SpyKMeans.fits.append((self.n_clusters, len(X), self.n_init))
        return super().fit(X, y, sample_weight)


@pytest.fixture(scope="module")
def embedding():
    x, y = make_blobs(n_samples=200, centers=3, n_features=2, cluster_std=0.5, random_state=1)
    return x, y


def test_search_k_fits_candidates_on_a_sample_and_the_chosen_k_on_all(embedding):
    x, y = embedding
    SpyKMeans.fits = []
    s = search_k(x, lambda k: SpyKMeans(n_clusters=k, n_init=4, random_state=0), (2, 5), "silhouette",
                 random_state=0, sample_size=60, search_n_init=1, keep_labels=True)
    assert isinstance(s, KSearch) and s.n_clusters == 3 and s.criterion == "silhouette" and s.greater_is_better
    # four candidates on 60 points with one start each, then k=3 on all 200 with its own 4 starts
    assert SpyKMeans.fits == [(2, 60, 1), (3, 60, 1), (4, 60, 1), (5, 60, 1), (3, 200, 4)]
    assert s.sample.shape == (60,) and len(np.unique(s.sample)) == 60 and (np.diff(s.sample) > 0).all()
    assert sorted(s.labels_by_k) == [2, 3, 4, 5]
    assert all(labels.shape == (60,) for labels in s.labels_by_k.values())
    assert s.labels.shape == (200,) and s.labels.dtype == np.int64
    assert s.clusterer.n_init == 4 and s.clusterer.n_clusters == 3
    assert cluster_acc(y, s.labels) == 1.0
    assert set(s.all_scores) == {"silhouette"}  # k-means has no likelihood
    assert s.seconds > 0


def test_search_k_sample_is_reproducible_and_not_kept_by_default(embedding):
    x, _ = embedding

    def make(k):
        return KMeans(n_clusters=k, n_init=1, random_state=0)

    a = search_k(x, make, (2, 4), "silhouette", random_state=3, sample_size=50, keep_labels=True)
    b = search_k(x, make, (2, 4), "silhouette", random_state=3, sample_size=50, keep_labels=True)
    np.testing.assert_array_equal(a.sample, b.sample)
    assert a.scores == b.scores
    plain = search_k(x, make, (2, 4), "silhouette", random_state=3, sample_size=50)
    assert plain.sample is None and plain.labels_by_k == {}


def test_search_k_uses_every_point_when_the_sample_is_smaller_than_the_largest_k(embedding):
    x, _ = embedding
    SpyKMeans.fits = []
    s = search_k(x, lambda k: SpyKMeans(n_clusters=k, n_init=1, random_state=0), (2, 5), "silhouette",
                 sample_size=3, keep_labels=True)
    assert [rows for _, rows, _ in SpyKMeans.fits] == [200] * 5
    np.testing.assert_array_equal(s.sample, np.arange(200))


def test_search_k_with_a_mixture_scores_all_criteria(embedding):
    x, _ = embedding
    s = search_k(x, lambda k: GaussianMixture(n_components=k, n_init=3, random_state=0), (2, 5), "bic",
                 sample_size=1000)
    assert set(s.all_scores) == set(CRITERIA) - {"consensus"} and not s.greater_is_better  # no code: no votes
    assert s.scores == s.all_scores["bic"] and s.n_clusters == best_k(s.scores, False) == 3
    for k in range(2, 6):
        assert s.all_scores["icl"][k] >= s.all_scores["bic"][k] - 1e-6
    assert s.clusterer.n_init == 3  # the final fit keeps its own starts


def test_search_k_rejects_bad_ranges_and_criteria(embedding):
    x, _ = embedding

    def make(k):
        return KMeans(n_clusters=k, n_init=1)

    with pytest.raises(ValueError, match="more than the 200 samples"):
        search_k(x, make, (2, 201), "silhouette")
    with pytest.raises(ValueError, match="k_criterion='icl' needs a mixture.*KMeans"):
        search_k(x, make, (2, 4), "icl")
    with pytest.raises(ValueError, match="must be .auto. or one of"):
        check_criterion("aic", GaussianMixture())
    check_criterion("icl", GaussianMixture())  # fine
    assert check_k_range((np.int64(2), 5), 10) == (2, 5)
    with pytest.raises(ValueError, match=r"n2d cluster \(--k-range\)"):
        check_k_range((3, 2), owner="n2d cluster (--k-range)")


def test_best_k_ignores_nan_and_prefers_the_smallest_k_on_ties():
    scores = {5: 0.1, 2: float("nan"), 4: 0.5, 3: 0.5, 6: None}
    assert best_k(scores, greater_is_better=True) == 3
    assert best_k(scores, greater_is_better=False) == 5
    assert best_k({2: -1.0, 3: -3.0, 4: -3.0, 5: float("inf")}, greater_is_better=False) == 3
    assert best_k({2: float("nan"), 3: None}, greater_is_better=True) is None
    assert best_k({}, greater_is_better=True) is None


def test_cli_k_options_with_a_labelled_file_are_refused_before_training(tmp_path, blobs, no_training):
    """A labelled file gives k (its classes): --k-range / --k-criterion would be silently ignored, so refuse."""
    x, y = blobs
    np.savez(tmp_path / "labelled.npz", x=x, y=y)
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["cluster", str(tmp_path / "labelled.npz"), "--k-range", "2,6", "--out", str(tmp_path / "o"),
                     *CLI_SMALL])
    assert code != 0
    assert "--k-range and --k-criterion apply only when k is estimated" in err.getvalue()
    assert "--n-clusters auto" in err.getvalue()
    assert not (tmp_path / "o").exists()


def test_knee_k_finds_the_bend_of_a_falling_curve():
    from n2d.cluster._select_k import choose_k, knee_k

    # steep until 5, then nearly flat: the knee is 5 whatever the tail's length
    falling = {k: (100.0 - 20.0 * k if k <= 5 else 1.0 - 0.5 * k) for k in range(2, 20)}
    assert knee_k(falling) == 5
    assert choose_k("bic-knee", falling) == 5 and choose_k("bic", falling) == 19
    assert knee_k({2: 3.0, 3: float("nan"), 4: 1.0}) == 4  # fewer than three finite points: the minimum
    assert knee_k({2: 1.0, 3: 1.0, 4: 1.0}) == 2  # flat: the smallest k
    assert knee_k({}) is None


def test_runners_up_are_the_other_peaks_of_the_preference_not_the_chosen_k_s_neighbours():
    from n2d.cluster._select_k import preference, runners_up

    # silhouette with its best at 4, a second peak at 9 and a smaller one at 14: neighbours of 4 are no runners-up
    sil = {2: .30, 3: .50, 4: .70, 5: .60, 6: .40, 7: .35, 8: .45, 9: .55, 10: .50, 11: .30, 12: .35, 13: .38,
           14: .40, 15: .20}
    assert runners_up("silhouette", sil, 4) == [9, 14]
    assert runners_up("silhouette", sil, 4, n=1) == [9]
    single = {k: -abs(k - 6) for k in range(2, 12)}
    assert runners_up("silhouette", single, 6) == []
    # BIC and ICL: lower is better, so their peaks are the curve's local minima
    assert preference("bic", {2: 10.0, 3: 5.0}) == {2: -10.0, 3: -5.0}
    assert runners_up("bic", {2: 10.0, 3: 5.0, 4: 8.0, 5: 7.0, 6: 9.0}, 3) == [5]


def test_knee_runners_up_find_a_second_bend():
    from n2d.cluster._select_k import choose_k, knee_distances, knee_k, runners_up

    # steep to 4, a plateau, a second drop to 10, then flat: the knee is one bend, the other its runner-up
    bic = {k: v for k, v in zip(range(2, 21), [100, 60, 20, 19, 18, 17, 16, 9, 2, 1.9, 1.8, 1.7, 1.6, 1.5, 1.4,
                                                   1.3, 1.2, 1.1, 1.0])}
    distances = knee_distances(bic)
    assert set(distances) == set(bic) and max(distances.values()) == distances[choose_k("bic-knee", bic)]
    chosen = choose_k("bic-knee", bic)
    assert {chosen, *runners_up("bic-knee", bic, chosen)} == {4, 10}
    assert knee_distances({2: 1.0, 3: 1.0, 4: 1.0}) == {} and knee_distances({2: 1.0, 3: 0.5}) == {}
    # on a log axis a long tail of candidates weighs less, so the knee of a smooth curve sits at a smaller k
    import math

    smooth = {k: 10 * math.exp(-k / 2) + 1.0 / k for k in range(2, 101)}
    logged = knee_distances(smooth, math.log)
    assert set(logged) == set(smooth) and max(logged, key=logged.get) == 7 and knee_k(smooth) == 10


def test_k_evidence_names_every_other_criterion_s_choice_and_words_leave_out_bic_and_icl():
    from n2d.cluster._select_k import k_evidence

    ks = [2, 3, 4, 5, 6]
    all_scores = {
        "silhouette": [0.2, 0.6, 0.4, 0.5, 0.3],  # best 3, another peak at 5
        "bic": [50.0, 20.0, 10.0, 5.0, 4.0],  # minimum at the top of the range, as on UMAP embeddings
        "icl": [np.nan] * 5,  # no candidate scored: left out
    }
    evidence = k_evidence("silhouette", ks, all_scores["silhouette"], all_scores, 3)
    assert evidence == {"runners_up": [5], "other_criteria": {"bic": 6}}
    assert describe_k_evidence(evidence) == "runner-up 5"
    assert describe_k_evidence({"runners_up": [5, 9], "other_criteria": {}}) == "runners-up 5, 9"
    both = {"runners_up": [], "other_criteria": {"bic-knee": 4, "icl": 30}}
    assert describe_k_evidence(both) == "no runner-up; bic-knee prefers 4"


def test_k_evidence_exists_only_after_a_search(auto_model, hdbscan_model):
    assert set(auto_model.k_evidence_) == {"runners_up", "other_criteria"}
    assert not hasattr(hdbscan_model, "k_evidence_")
    assert not hasattr(N2D(), "k_evidence_")


def test_bic_knee_is_a_mixture_criterion(no_training, blobs):
    with pytest.raises(ValueError, match="needs a mixture clusterer.*silhouette"):
        N2D(n_clusters="auto", clusterer="kmeans", k_criterion="bic-knee", epochs=2, verbose=0).fit(blobs[0])


def test_search_k_with_bic_knee_reports_the_bic_curve():
    x, _ = make_blobs(n_samples=400, centers=4, n_features=4, cluster_std=0.5, random_state=0)
    s = search_k(x, lambda k: GaussianMixture(k, random_state=0), (2, 12), criterion="bic-knee", random_state=0)
    assert s.scores == s.all_scores["bic"] and not s.greater_is_better
    assert s.n_clusters == 4


def test_auto_criterion_is_the_consensus_for_a_mixture_and_the_silhouette_otherwise():
    from n2d.cluster._select_k import resolve_criterion

    assert resolve_criterion("auto", GaussianMixture(3)) == "consensus"  # N2D passes the code
    assert resolve_criterion("auto", GaussianMixture(3), code_known=False) == "bic-knee"  # an embedding alone
    assert resolve_criterion("auto", KMeans(3)) == "silhouette"
    assert resolve_criterion("icl", KMeans(3)) == "icl"  # an explicit choice is kept (and checked elsewhere)
    x, _ = make_blobs(n_samples=300, centers=3, n_features=4, cluster_std=0.5, random_state=0)
    s = search_k(x, lambda k: KMeans(k, n_init=1, random_state=0), (2, 6), criterion="auto")
    assert s.criterion == "silhouette" and s.n_clusters == 3
