"""The ``n2d`` command itself: help and version, one run through ``python -m n2d.cli``, argparse's own checks."""

import json
import os
import subprocess
import sys

import numpy as np

SMALL = ["--epochs", "2", "--hidden-dims", "16", "--device", "cpu", "-q"]


def _run(*args, cwd=None):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.run([sys.executable, "-m", "n2d.cli", *args], capture_output=True, text=True, cwd=cwd, env=env)


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
    assert lines[0] == "index,cluster,true_label" and len(lines) == 301
    assert lines[1].endswith(("alpha", "beta", "gamma"))

    x, _ = blobs
    np.save(tmp_path / "new.npy", x[:40])
    proc = _run("predict", str(out / "model"), str(tmp_path / "new.npy"), "--out", str(tmp_path / "new.csv"))
    assert proc.returncode == 0, proc.stderr
    predicted = np.loadtxt(tmp_path / "new.csv", delimiter=",", skiprows=1, dtype=int)[:, 1]
    trained = np.loadtxt(out / "labels.csv", delimiter=",", skiprows=1, dtype=str)[:40, 1].astype(int)
    assert (predicted == trained).mean() >= 0.95


def test_cli_help_and_version():
    proc = _run("--help")
    assert proc.returncode == 0 and "cluster" in proc.stdout and "predict" in proc.stdout and "datasets" in proc.stdout
    proc = _run("cluster", "--help")
    assert "--epochs" in proc.stdout and "'auto'" in proc.stdout and "--paper" in proc.stdout


def test_cli_columns_options_are_exclusive(tmp_path):
    proc = _run("cluster", "x.csv", "--columns", "a", "--drop-columns", "b")
    assert proc.returncode == 2 and "not allowed with argument" in proc.stderr


def test_every_command_is_a_module_with_add_parser_and_run():
    from n2d.cli import build_parser, cache, cluster, predict, reproduce

    for module in (cluster, predict, reproduce, cache):
        assert callable(module.add_parser) and callable(module.run), module.__name__
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert list(sub.choices) == ["cluster", "predict", "reproduce", "datasets", "cache"]  # the order of --help
    args = build_parser().parse_args(["cache", "info"])
    assert args.func is cache.run
