import json
import os
import subprocess
import sys

import numpy as np
import pytest

from n2d.cli import main

SMALL = ["--epochs", "2", "--hidden-dims", "16", "--device", "cpu", "-q"]


def _run(*args, cwd=None):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.run([sys.executable, "-m", "n2d.cli", *args], capture_output=True, text=True, cwd=cwd, env=env)


@pytest.fixture(scope="module")
def blob_csv(tmp_path_factory, blobs):
    x, y = blobs
    path = tmp_path_factory.mktemp("csv") / "points.csv"
    header = ",".join([f"f{i}" for i in range(x.shape[1])] + ["kind"])
    names = np.array(["alpha", "beta", "gamma"])[y]
    rows = [",".join([*(f"{v:.5f}" for v in row), n]) for row, n in zip(x, names)]
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


def test_cli_cluster_and_predict_through_subprocess(tmp_path, blob_csv, blobs):
    out = tmp_path / "run"
    proc = _run("cluster", str(blob_csv), "--label-column", "kind", "--out", str(out), *SMALL)
    assert proc.returncode == 0, proc.stderr
    assert "clustering points (300 x 8) into 3 clusters" in proc.stdout
    for stage in ("autoencoder", "manifold", "clusterer", "total"):
        assert stage in proc.stdout
    assert "ACC 1.0000" in proc.stdout or "ACC 0.99" in proc.stdout
    result = json.loads((out / "result.json").read_text())
    assert result["acc"] > 0.95 and set(result["seconds"]) == {"autoencoder", "manifold", "clusterer"}
    lines = (out / "labels.csv").read_text().splitlines()
    assert lines[0] == "index,cluster,true_label" and len(lines) == 301 and lines[1].endswith(("alpha", "beta", "gamma"))

    x, _ = blobs
    np.save(tmp_path / "new.npy", x[:40])
    proc = _run("predict", str(out / "model"), str(tmp_path / "new.npy"), "--out", str(tmp_path / "new.csv"))
    assert proc.returncode == 0, proc.stderr
    predicted = np.loadtxt(tmp_path / "new.csv", delimiter=",", skiprows=1, dtype=int)[:, 1]
    trained = np.loadtxt(out / "labels.csv", delimiter=",", skiprows=1, dtype=str)[:40, 1].astype(int)
    assert (predicted == trained).mean() >= 0.95


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
    err = _error(capsys, ["cluster", str(tmp_path / "x.npy"), "--n-clusters", "3", "--plot", "--out", str(tmp_path / "o"), *SMALL])
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
        ("1,2,3\n4,5\n", "row 2 has 2 fields"),
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


def test_cli_needs_n_clusters_without_labels(capsys, tmp_path, blobs):
    np.save(tmp_path / "x.npy", blobs[0])
    assert "--n-clusters is required" in _error(capsys, ["cluster", str(tmp_path / "x.npy")])


def test_cli_rejects_bad_n_clusters_and_nan(capsys, tmp_path, blobs):
    np.save(tmp_path / "x.npy", blobs[0])
    assert "n_clusters" in _error(capsys, ["cluster", str(tmp_path / "x.npy"), "--n-clusters", "1", *SMALL])
    bad = blobs[0].copy()
    bad[3, 2] = np.nan
    np.save(tmp_path / "nan.npy", bad)
    assert "NaN" in _error(capsys, ["cluster", str(tmp_path / "nan.npy"), "--n-clusters", "3", *SMALL])
    assert "n_init" in _error(capsys, ["cluster", str(tmp_path / "x.npy"), "--n-clusters", "3", "--n-init", "0", *SMALL])


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="checks the no-GPU error")
def test_cli_cuda_without_gpu(capsys, tmp_path, blobs):
    np.save(tmp_path / "x.npy", blobs[0])
    args = ["cluster", str(tmp_path / "x.npy"), "--n-clusters", "3", "--device", "cuda", "--out", str(tmp_path / "o")]
    assert "no CUDA GPU" in _error(capsys, args)
    assert not (tmp_path / "o").exists()


def test_cli_predict_errors(capsys, tmp_path, blobs):
    np.save(tmp_path / "x.npy", blobs[0])
    assert "not an n2d model" in _error(capsys, ["predict", str(tmp_path), str(tmp_path / "x.npy")])
    assert main(["cluster", str(tmp_path / "x.npy"), "--n-clusters", "3", "--out", str(tmp_path / "o"), *SMALL]) == 0
    np.save(tmp_path / "five.npy", blobs[0][:, :5])
    assert "5 features" in _error(capsys, ["predict", str(tmp_path / "o" / "model"), str(tmp_path / "five.npy")])
    arrays = tmp_path / "o" / "model" / "arrays.safetensors"
    arrays.write_bytes(arrays.read_bytes()[:100])
    assert "truncated or corrupted" in _error(capsys, ["predict", str(tmp_path / "o" / "model"), str(tmp_path / "x.npy")])


def test_cli_help_and_version():
    proc = _run("--help")
    assert proc.returncode == 0 and "cluster" in proc.stdout and "predict" in proc.stdout and "datasets" in proc.stdout
    proc = _run("cluster", "--help")
    assert "--epochs" in proc.stdout and "1000" in proc.stdout


SHARED = os.environ.get("N2D_TEST_SHARED_DATA") or str(__import__("pathlib").Path(__file__).resolve().parents[2] / "shared" / "data")


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
