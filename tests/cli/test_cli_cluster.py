"""``n2d cluster``: data files and datasets, errors before any training, the per-run report and result.json."""

import json
import os
import sys

import numpy as np
import pytest

from n2d.cli import main

SMALL = ["--epochs", "2", "--hidden-dims", "16", "--device", "cpu", "-q"]


@pytest.mark.slow
def test_cli_cluster_pendigits_embedded(tmp_path, capsys):
    code = main(["cluster", "pendigits", "--epochs", "2", "--hidden-dims", "64", "--device", "cpu", "-q",
                 "--out", str(tmp_path / "pd")])
    out = capsys.readouterr().out
    assert code == 0
    assert "pendigits (10992 x 16) into 10 clusters" in out
    acc = float(out.split("ACC ")[1].split()[0])
    assert acc > 0.6, out
    assert (tmp_path / "pd" / "model" / "manifest.json").is_file()


def test_cli_npz_with_labels_and_n_clusters_from_labels_and_plot(tmp_path, blobs, capsys):
    x, y = blobs
    np.savez(tmp_path / "d.npz", x=x, y=y)
    assert main(["cluster", str(tmp_path / "d.npz"), "--out", str(tmp_path / "o"), "--plot", *SMALL]) == 0
    assert "into 3 clusters" in capsys.readouterr().out
    png = (tmp_path / "o" / "clusters.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000


def test_cli_plot_without_matplotlib_fails_before_fitting(tmp_path, blobs, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    np.save(tmp_path / "x.npy", blobs[0])
    err = _error(capsys, ["cluster", str(tmp_path / "x.npy"), "--n-clusters", "3", "--plot",
                          "--out", str(tmp_path / "o"), *SMALL])
    assert "pip install matplotlib" in err and "n2d[plot]" not in err
    assert not (tmp_path / "o").exists()


def test_cli_second_run_reuses_cached_autoencoder(tmp_path, blobs, capsys):
    np.save(tmp_path / "x.npy", blobs[0])
    args = ["cluster", str(tmp_path / "x.npy"), "--n-clusters", "3", "--out", str(tmp_path / "o"), *SMALL]
    assert main(args) == 0
    capsys.readouterr()
    assert main(args) == 0
    assert "reused cached weights" in capsys.readouterr().out


def _error(capsys, args):
    code = main(args)
    err = capsys.readouterr().err
    assert code != 0
    assert err.startswith("n2d: error: ") and "Traceback" not in err
    return err


def test_cli_unknown_dataset(capsys):
    err = _error(capsys, ["cluster", "imagenet"])
    assert "imagenet" in err and "pendigits" in err


def test_cli_missing_file(capsys, tmp_path):
    assert "not found" in _error(capsys, ["cluster", str(tmp_path / "nope.csv")])


@pytest.mark.parametrize(
    "content, match",
    [
        ("a,b\n1,2\n3,x\n", "non-numeric"),
        ("1,2,3\n4,5\n", "line 2 has 2 fields"),
        ("", "empty"),
    ],
)
def test_cli_malformed_csv(capsys, tmp_path, content, match):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    assert match in _error(capsys, ["cluster", str(path), "--n-clusters", "2"])


def test_cli_unreadable_npy_and_wrong_suffix(capsys, tmp_path):
    (tmp_path / "x.npy").write_bytes(b"garbage")
    assert "Cannot read" in _error(capsys, ["cluster", str(tmp_path / "x.npy"), "--n-clusters", "2"])
    (tmp_path / "x.parquet").write_bytes(b"PAR1")
    assert "unsupported file type" in _error(capsys, ["cluster", str(tmp_path / "x.parquet"), "--n-clusters", "2"])
    np.save(tmp_path / "v.npy", np.arange(10.0))
    assert "2-D array" in _error(capsys, ["cluster", str(tmp_path / "v.npy"), "--n-clusters", "2"])


def test_cli_rejects_bad_n_clusters_and_nan(capsys, tmp_path, blobs):
    np.save(tmp_path / "x.npy", blobs[0])
    assert "--n-clusters must be an integer >= 2; got 1" in _error(
        capsys, ["cluster", str(tmp_path / "x.npy"), "--n-clusters", "1", *SMALL]
    )
    bad = blobs[0].copy()
    bad[3, 2] = np.nan
    np.save(tmp_path / "nan.npy", bad)
    assert "missing value (NaN) at row 3, column 2 (0-based)" in _error(
        capsys, ["cluster", str(tmp_path / "nan.npy"), "--n-clusters", "3", *SMALL]
    )
    assert "--n-init must be an integer >= 1; got 0" in _error(
        capsys, ["cluster", str(tmp_path / "x.npy"), "--n-clusters", "3", "--n-init", "0", *SMALL]
    )


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="checks the no-GPU error")
def test_cli_cuda_without_gpu(capsys, tmp_path, blobs):
    np.save(tmp_path / "x.npy", blobs[0])
    args = ["cluster", str(tmp_path / "x.npy"), "--n-clusters", "3", "--device", "cuda", "--out", str(tmp_path / "o")]
    assert "no CUDA GPU" in _error(capsys, args)
    assert not (tmp_path / "o").exists()


SHARED = os.environ.get("N2D_TEST_SHARED_DATA") or str(
    __import__("pathlib").Path(__file__).resolve().parents[3] / "shared" / "data"
)


@pytest.mark.parametrize("name, k", [("mnist", 10), ("mnist-test", 10), ("usps", 10), ("fashion", 10)])
def test_cli_cluster_dataset_from_data_dir(capsys, tmp_path, name, k):
    if not os.path.isdir(os.path.join(SHARED, name.split("-")[0])):
        pytest.skip(f"shared data not found at {SHARED}")
    # Fast settings (1 epoch, tiny AE, k-means on the code): this checks the data path, not quality.
    code = main(["cluster", name, "--data-dir", SHARED, "--epochs", "1", "--hidden-dims", "8", "--manifold", "none",
                 "--clusterer", "kmeans", "--device", "cpu", "-q", "--out", str(tmp_path / name)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"into {k} clusters" in out and "ACC " in out


def test_cli_dataset_missing_from_data_dir(capsys, tmp_path):
    err = _error(capsys, ["cluster", "mnist-test", "--data-dir", str(tmp_path), "--no-download"])
    assert "t10k-images-idx3-ubyte.gz" in err and str(tmp_path) in err


# --------------------------------------------------------------------------- #
# Missing and non-numeric values, feature selection (issue 11 point 9)
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    "content, message",
    [
        ("a,b,c\n1,2,3\n4,,6\n7,8,9\n", "bad.csv: missing value (an empty cell) in column 'b' at line 3."),
        ("a,b\n1,2\nNaN,3\n4,nan\n",
         "bad.csv: missing value ('NaN') in column 'a' at line 3; 2 missing values in all."),
        ("1,2\n\n3,\n", "bad.csv: missing value (an empty cell) in column 1 (0-based) at line 3."),
        ("a,b\n1,2\n3,x\n", "bad.csv: non-numeric value 'x' in column 'b' at line 3."),
        ("a,b\n1,2\n3,inf\n", "bad.csv: infinite value 'inf' in column 'b' at line 3."),
    ],
)
def test_cli_csv_bad_value_names_column_and_line(capsys, tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    err = _error(capsys, ["cluster", str(path), "--n-clusters", "2", "--out", str(tmp_path / "o"), *SMALL])
    assert message in err
    assert err.count("\n") == 1  # one line
    assert "HistGradientBoosting" not in err
    if "missing" in message:
        assert "--label-column" not in err  # no hint about labels for a missing value


def test_read_data_columns_and_drop_columns(tmp_path):
    from n2d._util.datafiles import read_data

    path = tmp_path / "t.csv"
    path.write_text("id,f0,note,f1,kind\n1,0.5,hello,2,a\n2,1.5,,3,b\n")
    d = read_data(path, "kind", drop_columns="id,note")
    assert d.feature_names == ["f0", "f1"] and d.x.tolist() == [[0.5, 2.0], [1.5, 3.0]]
    assert d.y.tolist() == ["a", "b"]
    d = read_data(path, "kind", columns=["f1", "1"])  # names or 0-based indices, in the order given
    assert d.feature_names == ["f1", "f0"] and d.x.tolist() == [[2.0, 0.5], [3.0, 1.5]]
    with pytest.raises(ValueError, match=r"no column 'f9' \(--columns\); columns: id, f0, note, f1, kind"):
        read_data(path, columns="f0,f9")
    with pytest.raises(ValueError, match="--columns names the label column 'kind'"):
        read_data(path, "kind", columns="f0,kind")
    with pytest.raises(ValueError, match="non-numeric value 'hello' in column 'note' at line 2"):
        read_data(path, "kind", drop_columns="id")
    np.save(tmp_path / "a.npy", np.arange(12.0).reshape(3, 4))
    assert read_data(tmp_path / "a.npy", columns="3,0").x.tolist() == [[3, 0], [7, 4], [11, 8]]


# --------------------------------------------------------------------------- #
# Feature names (point 8): none from an array (a CSV's, matched by name: test_cli_predict.py)
# --------------------------------------------------------------------------- #


def test_cli_model_fitted_on_an_array_records_no_feature_names(tmp_path, blobs):
    np.save(tmp_path / "x.npy", blobs[0])
    assert main(["cluster", str(tmp_path / "x.npy"), "--n-clusters", "3", "--out", str(tmp_path / "o"), *SMALL]) == 0
    from n2d import N2D

    assert not hasattr(N2D.load(tmp_path / "o" / "model"), "feature_names_in_")


# --------------------------------------------------------------------------- #
# Per-run report and result.json (points 10 and 11)
# --------------------------------------------------------------------------- #


def test_cli_n_init_reports_what_each_run_trained_or_reused(tmp_path, blobs, capsys, monkeypatch):
    monkeypatch.setenv("N2D_CACHE_DIR", str(tmp_path / "cache"))
    np.save(tmp_path / "x.npy", blobs[0])
    base = ["cluster", str(tmp_path / "x.npy"), "--n-clusters", "3", *SMALL]
    assert main([*base, "--seed", "1", "--out", str(tmp_path / "one")]) == 0  # caches seed 1's autoencoder
    capsys.readouterr()
    assert main([*base, "--seed", "0", "--n-init", "3", "--out", str(tmp_path / "three")]) == 0
    out = capsys.readouterr().out
    assert "autoencoders: run 0 (seed 0) trained 2 epochs; run 1 (seed 1) reused cached weights; " \
           "run 2 (seed 2) trained 2 epochs; kept run" in out
    result = json.loads((tmp_path / "three" / "result.json").read_text())
    assert [(r["seed"], r["autoencoder"], r["epochs_trained"]) for r in result["runs"]] == [
        (0, "trained", 2), (1, "cache", 0), (2, "trained", 2)
    ]


def test_cli_result_json_says_how_the_result_was_made(tmp_path, blobs):
    from n2d._util.provenance import package_versions

    np.save(tmp_path / "x.npy", blobs[0])
    argv = ["cluster", str(tmp_path / "x.npy"), "--n-clusters", "3", "--seed", "4", "--manifold", "none",
            "--clusterer", "kmeans", "--out", str(tmp_path / "o"), *SMALL]
    assert main(argv) == 0
    r = json.loads((tmp_path / "o" / "result.json").read_text())
    s = r["settings"]
    assert (s["epochs"], s["batch_size"], s["hidden_dims"], s["seed"], s["n_init"]) == (2, 256, [16], 4, 1)
    got = (s["manifold"], s["clusterer"], s["device"], s["device_used"], s["cache"])
    assert got == ("none", "kmeans", "cpu", "cpu", True)
    assert r["stages"]["autoencoder"]["class"] == "n2d.autoencoder.Autoencoder"
    assert r["stages"]["autoencoder"]["params"]["hidden_dims"] == [16]
    assert r["stages"]["manifold"] is None
    assert r["stages"]["clusterer"]["params"]["n_clusters"] == 3
    assert set(r["seconds"]) == {"autoencoder", "clusterer"}  # no manifold stage
    assert r["command"].startswith("n2d cluster ") and "--seed 4" in r["command"]
    env = r["environment"]
    assert env["torch"] == package_versions()["torch"] and env["numpy"] and env["cpu"] and env["python"]
    assert r["n_features"] == 8 and r["started"]


@pytest.mark.parametrize(
    "options, expected",
    [
        ([], ("auto", "auto", None)),
        (["--paper"], (1000, "float32", 3)),
        (["--epochs", "7", "--precision", "bfloat16"], (7, "bfloat16", None)),
    ],
)
def test_cli_training_settings_reach_the_autoencoder(tmp_path, blobs, monkeypatch, options, expected):
    """The default is N2D's own (epochs, precision and width follow the data); --paper is the paper's 1000
    float32 epochs and a code width and UMAP dimension of k."""
    from n2d import N2D

    seen = {}

    def fake_fit(self, X, y=None):
        manifold_width = None if isinstance(self.manifold, str) else self.manifold.n_components
        seen["ae"] = (self.autoencoder.epochs, self.autoencoder.precision, self.epochs,
                      self.autoencoder.n_components, manifold_width)
        raise RuntimeError("stopped before training")

    monkeypatch.setattr(N2D, "fit", fake_fit)
    np.save(tmp_path / "x.npy", blobs[0])
    code = main(["cluster", str(tmp_path / "x.npy"), "--n-clusters", "3", "--out", str(tmp_path / "o"), "-q", *options])
    assert code != 0 and "ae" in seen
    ae_epochs, ae_precision, n2d_epochs, code_width, manifold_width = seen["ae"]
    assert (n2d_epochs, ae_precision, code_width) == expected
    assert manifold_width == expected[2]


def test_cli_reports_an_adjusted_setting(tmp_path, capsys):
    """Flat groups make the mixture's covariances singular: the run succeeds and says what it changed."""
    rng = np.random.RandomState(0)
    centers, planes = rng.randn(26, 26) * 10 + 20, rng.randn(26, 2, 26)
    x = np.concatenate([c + rng.randn(40, 2) @ b for c, b in zip(centers, planes)]).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    code = main(["cluster", str(tmp_path / "x.npy"), "--n-clusters", "26", "--manifold", "none", "--hidden-dims", "8",
                 "--epochs", "1", "--device", "cpu", "-q", "--out", str(tmp_path / "o")])
    assert code == 0
    assert "adjusted to run on this data: clusterer.reg_covar = " in capsys.readouterr().out
    adjustments = json.loads((tmp_path / "o" / "result.json").read_text())["adjustments"]
    assert list(adjustments) == ["clusterer.reg_covar"] and adjustments["clusterer.reg_covar"] > 1e-6


def test_cli_auto_k_runs_on_a_few_rows_with_the_default_range(tmp_path, capsys):
    np.save(tmp_path / "x.npy", np.random.RandomState(0).randn(25, 3).astype(np.float32))
    code = main(["cluster", str(tmp_path / "x.npy"), "--epochs", "2", "--hidden-dims", "8", "--device", "cpu", "-q",
                 "--out", str(tmp_path / "o")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "k in 2..12" in out and "adjusted to run on this data: k_range.high = 12" in out
    assert json.loads((tmp_path / "o" / "result.json").read_text())["adjustments"] == {"k_range.high": 12.0}
