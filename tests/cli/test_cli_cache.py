"""`n2d cache info` and `n2d cache clear`: n2d's entries only, never anything else (issue 11 point 12)."""

import json
import os
import time
from datetime import datetime

import numpy as np
import pytest

from n2d import cache
from n2d.cli import main
from n2d.cli.cache import parse_when

OLD = datetime(2020, 6, 1).timestamp()


def _weights(path, d=4):
    from n2d.autoencoder import MLPAutoencoder
    from n2d.autoencoder._weights import _write_weights

    _write_weights(MLPAutoencoder(d, (8,), 2), path, [0.5, 0.25], {"hidden_dims": [8]})
    return path


@pytest.fixture
def root(tmp_path):
    """A cache root with one entry of each kind n2d writes, and things n2d did not write."""
    root = tmp_path / "cache"
    ae = root / "autoencoders"
    ae.mkdir(parents=True)
    _weights(ae / ("a" * 32 + ".safetensors"))
    new = _weights(ae / ("f" * 32 + ".safetensors"))
    os.utime(ae / ("a" * 32 + ".safetensors"), (OLD, OLD))
    os.utime(new, (time.time(), time.time()))
    (ae / ("b" * 32 + ".safetensors")).write_bytes(b"\x10" + b"\x00" * 7 + b'{"x": 1}' + b"\x00" * 8)  # not ours
    (ae / "notes.txt").write_text("mine")
    stale = ae / (".{}.safetensors.k2j3.safetensors.tmp".format("c" * 32))
    stale.write_bytes(b"partial")
    os.utime(stale, (OLD, OLD))
    (ae / (".{}.safetensors.zz91.safetensors.tmp".format("d" * 32))).write_bytes(b"being written now")
    parsed = root / "parsed" / ("pendigits-" + "1" * 24)
    parsed.mkdir(parents=True)
    np.save(parsed / "x.npy", np.zeros((3, 2), np.float32))
    np.save(parsed / "y.npy", np.zeros(3, np.int64))
    (parsed / "meta.json").write_text(json.dumps({"parser": 1, "dataset": "pendigits"}))
    mixed = root / "parsed" / ("mnist-" + "2" * 24)
    mixed.mkdir()
    (mixed / "meta.json").write_text(json.dumps({"parser": 1}))
    (mixed / "my-notes.txt").write_text("not n2d's")
    (root / "parsed" / "mine").mkdir()
    (root / "data" / "mnist").mkdir(parents=True)
    (root / "data" / "mnist" / "t10k-labels-idx1-ubyte.gz").write_bytes(b"z" * 1000)
    (root / "README").write_text("keep")
    return root


def _names(entries):
    return sorted((e.kind, e.path.name) for e in entries)


def test_cache_entries_recognise_only_what_n2d_wrote(root):
    entries, foreign = cache.cache_entries(root)
    assert _names(entries) == [
        ("autoencoder", "a" * 32 + ".safetensors"),
        ("autoencoder", "f" * 32 + ".safetensors"),
        ("parsed", "pendigits-" + "1" * 24),
        ("temporary", ".{}.safetensors.k2j3.safetensors.tmp".format("c" * 32)),
        ("temporary", ".{}.safetensors.zz91.safetensors.tmp".format("d" * 32)),
    ]
    assert sorted(p.name for p in foreign) == ["b" * 32 + ".safetensors", "mine", "mnist-" + "2" * 24, "notes.txt"]


def test_cache_info_counts_and_sizes(root):
    info = cache.cache_info(root)
    entries, _ = cache.cache_entries(root)
    assert info["root"] == str(root) and info["entries"] == 5
    assert info["kinds"]["autoencoder"]["entries"] == 2 and info["kinds"]["parsed"]["entries"] == 1
    assert info["bytes"] == sum(e.bytes for e in entries) > 0
    one = (root / "autoencoders" / ("a" * 32 + ".safetensors")).stat().st_size
    assert info["kinds"]["autoencoder"]["bytes"] == 2 * one
    assert info["data_bytes"] == 1000 and len(info["foreign"]) == 4
    assert info["oldest"] == OLD


def test_cache_clear_all_leaves_foreign_files_data_and_live_writes(root):
    removed = cache.clear_cache(root)
    assert len(removed) == 4  # both weights, the parsed dataset, the stale temporary file
    left = sorted(str(p.relative_to(root)) for p in root.rglob("*"))
    assert left == sorted([
        "README", "autoencoders", "autoencoders/" + "b" * 32 + ".safetensors", "autoencoders/notes.txt",
        "autoencoders/.{}.safetensors.zz91.safetensors.tmp".format("d" * 32),
        "data", "data/mnist", "data/mnist/t10k-labels-idx1-ubyte.gz",
        "parsed", "parsed/mine", "parsed/mnist-" + "2" * 24, "parsed/mnist-" + "2" * 24 + "/meta.json",
        "parsed/mnist-" + "2" * 24 + "/my-notes.txt",
    ])


def test_cache_clear_older_than_and_dry_run(root):
    would = cache.clear_cache(root, older_than=datetime(2021, 1, 1), dry_run=True)
    assert _names(would) == [
        ("autoencoder", "a" * 32 + ".safetensors"),
        ("temporary", ".{}.safetensors.k2j3.safetensors.tmp".format("c" * 32)),
    ]
    assert all(e.path.exists() for e in would)
    removed = cache.clear_cache(root, older_than=datetime(2021, 1, 1))
    assert _names(removed) == _names(would) and not any(e.path.exists() for e in removed)
    assert (root / "autoencoders" / ("f" * 32 + ".safetensors")).exists()


def test_cli_cache_info_and_clear(root, capsys):
    assert main(["cache", "info", "--cache-dir", str(root)]) == 0
    out = capsys.readouterr().out
    assert f"Cache root: {root} (--cache-dir)" in out
    assert "autoencoder weights      2 entries" in out and "parsed datasets          1 entries" in out
    assert "not n2d's, left alone: 4" in out and "downloaded datasets (data/, kept by 'n2d cache clear'): 1.0 kB" in out
    assert main(["cache", "clear", "--older-than", "2021-01-01", "--dry-run", "--cache-dir", str(root)]) == 0
    out = capsys.readouterr().out
    assert "would remove 2 entries last written before 2021-01-01 00:00" in out
    assert (root / "autoencoders" / ("a" * 32 + ".safetensors")).exists()
    assert main(["cache", "clear", "--older-than", "30d", "--cache-dir", str(root)]) == 0
    assert "removed 2 entries" in capsys.readouterr().out
    assert main(["cache", "clear", "--cache-dir", str(root)]) == 0
    assert "removed 2 entries" in capsys.readouterr().out
    assert cache.cache_info(root)["entries"] == 1  # the temporary file of a write in progress


def test_cli_cache_uses_the_environment_root(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("N2D_CACHE_DIR", str(tmp_path / "env-cache"))
    assert main(["cache", "info"]) == 0
    out = capsys.readouterr().out
    assert f"Cache root: {tmp_path / 'env-cache'} ($N2D_CACHE_DIR)" in out and "0 entries" in out


def test_cli_cache_clear_rejects_a_bad_date(capsys):
    assert main(["cache", "clear", "--older-than", "last week"]) == 2
    err = capsys.readouterr().err
    assert "--older-than must be a date such as 2026-01-31" in err and err.count("\n") == 1


def test_parse_when():
    now = datetime(2026, 3, 31, 12, 0)
    assert parse_when("30", now) == datetime(2026, 3, 1, 12, 0) == parse_when("30d", now) == parse_when("30 days", now)
    assert parse_when("2026-01-31") == datetime(2026, 1, 31)
    assert parse_when("2026-01-31T08:30") == datetime(2026, 1, 31, 8, 30)


def test_entries_written_by_a_fit_are_recognised(tmp_path, blobs):
    from n2d.autoencoder import Autoencoder

    ae = Autoencoder(n_components=2, hidden_dims=(8,), epochs=1, device="cpu", verbose=0, random_state=0,
                     cache_dir=tmp_path).fit(blobs[0])
    entries, foreign = cache.cache_entries(tmp_path)
    assert [(e.kind, str(e.path)) for e in entries] == [("autoencoder", ae.cache_path_)] and not foreign


@pytest.mark.parametrize("n_features, expected", [(16, 10_248_104), (784, 13_323_176)])
def test_entry_bytes_of_the_paper_network(n_features, expected):
    """pendigits (16 features) and MNIST (784), k=10: float32 parameters of d-500-500-2000-10 and its decoder."""
    from n2d.autoencoder import MLPAutoencoder

    module = MLPAutoencoder(n_features, (500, 500, 2000), 10)
    assert cache.entry_bytes(n_features) == 4 * sum(p.numel() for p in module.parameters()) == expected
