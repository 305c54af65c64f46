"""`n2d reproduce`: end to end through the CLI on tiny settings, resume, plots and bad input."""

from __future__ import annotations

import csv
import dataclasses
import json

import numpy as np
import pytest

from n2d import reproduce as rp
from n2d.cli import main

TINY = ["--datasets", "pendigits", "--epochs", "2", "--n-samples", "600", "-q"]


def _run(out, *extra):
    return main(["reproduce", *TINY, "--out", str(out), *extra])


def _lines(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """One tiny study, shared: pendigits subset, GMM on raw data and N2D, one seed, with plots."""
    pytest.importorskip("matplotlib")
    out = tmp_path_factory.mktemp("study") / "res"
    rc = _run(out, "--methods", "gmm,n2d", "--seeds", "1", "--plot")
    return out, rc


def test_reproduce_cli_writes_every_file(study, capsys):
    out, rc = study
    assert rc == 0
    recs = _lines(out / "runs.jsonl")
    assert [(r["dataset"], r["method"], r["seed"], r["status"]) for r in recs] == [
        ("pendigits", "gmm", 0, "ok"),
        ("pendigits", "n2d", 0, "ok"),
    ]
    for r in recs:
        assert 0 <= r["acc"] <= 1 and 0 <= r["nmi"] <= 1 and -1 <= r["ari"] <= 1
        assert r["n_samples"] == 600 and r["settings"]["epochs"] == 2 and r["device"] == "cpu"
        assert r["versions"]["n2d"] and r["seconds"] > 0
        assert r["stages"]["clusterer"] == "GaussianMixture"
    assert recs[1]["ae_seconds"] > 0 and recs[0]["ae_seconds"] is None

    with open(out / "runs.csv") as f:
        rows = list(csv.DictReader(f))
    assert [(r["method"], r["seed"]) for r in rows] == [("gmm", "0"), ("n2d", "0")]
    assert float(rows[1]["acc"]) == pytest.approx(recs[1]["acc"])

    summary = json.loads((out / "summary.json").read_text())
    n2d_row = next(r for r in summary["summary"] if r["method"] == "n2d")
    assert n2d_row["n_runs"] == 1 and n2d_row["acc"] == pytest.approx(recs[1]["acc"])
    assert n2d_row["paper_acc"] == 0.885 and n2d_row["paper_nmi"] == 0.863

    table = (out / "table.md").read_text()
    assert "| N2D (UMAP) |" in table and "| GMM (raw data, 1 start) |" in table
    assert f"{recs[1]['acc']:.3f} (n=1) [0.885]" in table

    labels = np.load(out / "labels" / "pendigits" / "n2d-seed0.npy")
    assert labels.shape == (600,)
    for m in ("gmm", "n2d"):
        png = out / "plots" / f"pendigits-{m}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    env = json.loads((out / "environment.json").read_text())
    assert env["cores"] >= 1 and "torch" in env


def test_reproduce_rerun_resumes_and_extends(study, capsys):
    out, _ = study
    before = (out / "runs.jsonl").read_bytes()
    assert _run(out, "--methods", "gmm,n2d", "--seeds", "1") == 0
    assert (out / "runs.jsonl").read_bytes() == before  # nothing ran again
    # More seeds: only the new ones run, and the reused autoencoder cache makes it cheap.
    assert _run(out, "--methods", "n2d", "--seeds", "2") == 0
    recs = _lines(out / "runs.jsonl")
    assert [(r["method"], r["seed"]) for r in recs] == [("gmm", 0), ("n2d", 0), ("n2d", 1)]
    assert "(n=2)" in (out / "table.md").read_text()


def test_reproduce_drops_a_half_written_last_line(study, tmp_path, capsys):
    out, _ = study
    copy = tmp_path / "res"
    copy.mkdir()
    for name in ("config.json", "runs.jsonl"):
        (copy / name).write_bytes((out / name).read_bytes())
    recs = _lines(copy / "runs.jsonl")
    first = json.dumps(recs[0]) + "\n"
    (copy / "runs.jsonl").write_text(first + json.dumps(recs[1])[:40])  # killed mid-write
    assert _run(copy, "--methods", "gmm,n2d", "--seeds", "1") == 0
    again = _lines(copy / "runs.jsonl")
    assert [(r["method"], r["seed"]) for r in again] == [("gmm", 0), ("n2d", 0)]
    assert "incomplete last line" in capsys.readouterr().err


def test_reproduce_refuses_to_mix_settings(study, capsys):
    out, _ = study
    before = (out / "runs.jsonl").read_bytes()
    args = ["reproduce", "--datasets", "pendigits", "--epochs", "3", "--n-samples", "600", "-q", "--out", str(out)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "holds runs made with the 'default' setting" in err and "Use another --out" in err
    assert (out / "runs.jsonl").read_bytes() == before


def test_reproduce_rejects_a_corrupt_log_line(study, tmp_path, capsys):
    out, _ = study
    copy = tmp_path / "res"
    copy.mkdir()
    (copy / "config.json").write_bytes((out / "config.json").read_bytes())
    (copy / "runs.jsonl").write_text("not json\n" + (out / "runs.jsonl").read_text())
    assert _run(copy, "--methods", "gmm", "--seeds", "1") == 2
    assert "line 1 is not a run record" in capsys.readouterr().err
    assert (copy / "runs.jsonl").read_text().startswith("not json\n")


@pytest.mark.parametrize(
    "args, match",
    [
        (["--datasets", "nope"], "Unknown dataset 'nope'"),
        (["--datasets", "pendigits", "--methods", "n2d,dec"], "Unknown method 'dec'"),
        (["--datasets", "pendigits", "--seeds", "0"], "seeds must be an integer >= 1"),
        (["--datasets", "pendigits", "--baseline-seeds", "-1"], "baseline_seeds must be an integer >= 1"),
        (["--datasets", " , "], "No dataset given"),
    ],
)
def test_reproduce_bad_arguments(tmp_path, capsys, args, match):
    assert main(["reproduce", *args, "--out", str(tmp_path / "o"), "-q"]) == 2
    assert match in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_reproduce_refuses_a_foreign_folder(tmp_path, capsys):
    (tmp_path / "mine.txt").write_text("keep me")
    assert _run(tmp_path, "--methods", "gmm", "--seeds", "1") == 2
    assert "not an n2d reproduce folder" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.txt"]


def test_reproduce_records_failures_and_skips_then_retries(tmp_path, monkeypatch, capsys):
    small = dataclasses.replace(rp.METHODS["isomap-gmm"], max_samples=100)
    monkeypatch.setitem(rp.METHODS, "isomap-gmm", small)

    def broken(*a, **k):
        raise RuntimeError("boom")

    monkeypatch.setattr(rp.Method, "build", broken)
    assert _run(tmp_path, "--methods", "kmeans,isomap-gmm", "--seeds", "1") == 1
    recs = {r["method"]: r for r in _lines(tmp_path / "runs.jsonl")}
    assert recs["kmeans"]["status"] == "failed" and recs["kmeans"]["reason"] == "RuntimeError: boom"
    assert recs["isomap-gmm"]["status"] == "skipped" and "not run above 100 samples" in recs["isomap-gmm"]["reason"]
    table = (tmp_path / "table.md").read_text()
    assert "| k-means (raw data) | failed" in table and "| Isomap + GMM (raw data) | not run" in table
    assert "failed" in capsys.readouterr().err

    monkeypatch.undo()
    monkeypatch.setitem(rp.METHODS, "isomap-gmm", small)
    assert _run(tmp_path, "--methods", "kmeans,isomap-gmm", "--seeds", "1") == 0
    runs = rp.load_runs(tmp_path)
    assert {(r["method"], r["status"]) for r in runs} == {("kmeans", "ok"), ("isomap-gmm", "skipped")}
    with open(tmp_path / "runs.csv") as f:
        assert len(list(csv.DictReader(f))) == 2  # the retried failure is replaced, not duplicated


def test_paper_results_file_has_the_n2d_row():
    paper = rp.paper_results()
    assert paper[("mnist", "n2d")] == {"acc": 0.979, "nmi": 0.942}
    assert paper[("har", "n2d")] == {"acc": 0.801, "nmi": 0.683}
    assert {m for _, m in paper} <= set(rp.METHODS)
    assert {d for d, _ in paper} == {"mnist", "mnist-test", "usps", "fashion", "pendigits", "har"}


def test_markdown_table_formats_mean_std_and_paper():
    summary = rp.summarize(
        [
            {"dataset": "usps", "method": "n2d", "seed": s, "status": "ok", "acc": a, "nmi": 0.9, "ari": 0.8,
             "seconds": 1.0}
            for s, a in enumerate([0.95, 0.97])
        ]
    )
    table = rp.markdown_table(summary, ["usps"], ["n2d"], "cpu", rp.SETTINGS["cpu"])
    assert "| N2D (UMAP) | 0.960 ± 0.014 (n=2) [0.958] |" in table
    assert "50 autoencoder epochs" in table


def test_methods_build_the_models_the_table_names():
    from sklearn.mixture import GaussianMixture

    from n2d import Autoencoder
    from n2d.manifold import UMAP

    cpu = rp.SETTINGS["cpu"]
    n2d = rp.METHODS["n2d"].build(10, 3, cpu, "cpu")
    assert isinstance(n2d.autoencoder, Autoencoder) and n2d.autoencoder.epochs == 50
    assert isinstance(n2d.manifold, UMAP) and n2d.manifold.n_neighbors == 20 and n2d.manifold.min_dist == 0.0
    assert n2d.clusterer == "gmm" and n2d.n_init == 1 and n2d.random_state == 3
    robust = rp.METHODS["n2d-robust"].build(10, 3, cpu, "cpu")
    assert robust.n_init == cpu["robust_runs"] == 3
    raw = rp.METHODS["gmm"].build(10, 0, cpu, "cpu")
    assert raw.autoencoder is None and raw.manifold is None
    assert isinstance(raw.clusterer, GaussianMixture) and raw.clusterer.n_init == 1
    assert rp.METHODS["ae-gmm"].build(10, 0, rp.SETTINGS["paper"], "cpu").autoencoder.epochs == 1000
    # The main rows get --seeds, the comparisons --baseline-seeds.
    assert {m for m, spec in rp.METHODS.items() if spec.main} == {"ae-gmm", "n2d", "n2d-robust"}


def test_methods_use_the_torch_umap_on_a_gpu():
    from n2d import TorchUMAP

    model = rp.METHODS["n2d"].build(10, 0, rp.SETTINGS["paper"], "cuda:0")
    assert isinstance(model.manifold, TorchUMAP) and model.manifold.device == "cuda:0"
    assert model.manifold.n_neighbors == 20 and model.manifold.min_dist == 0.0


def test_written_files_get_a_normal_files_mode(study):
    import os
    import stat

    out, _ = study
    mask = os.umask(0)
    os.umask(mask)
    for name in ("runs.csv", "table.md", "summary.json", "config.json", "plots/pendigits-n2d.png"):
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o666 & ~mask, name
