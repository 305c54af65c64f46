"""The ``n2d datasets`` sub-command (n2d.cli.datasets): list, verify, fetch."""

from __future__ import annotations

import argparse
import shutil

import pytest
from datasets_helpers import (
    PENDIGITS_FILES,
    copy_dir,
    har_features_present,
    need,
    patch_entry,
    run_cli,
    sha256,
)

import n2d.datasets as ds
from n2d.cli import datasets as _cli_datasets
from n2d.datasets import _catalog


def test_cli_list(shared_data, capsys):
    assert run_cli(["datasets", "list", "--data-dir", str(shared_data)]) == 0
    out = capsys.readouterr().out
    assert str(ds.resolve_data_home(shared_data)) in out
    lines = {line.split()[0]: line for line in out.splitlines()[2:]}
    assert set(lines) == set(ds.DATASET_NAMES)
    assert "70,000" in lines["mnist"] and "784" in lines["mnist"] and lines["mnist"].endswith("yes")
    assert lines["pendigits"].endswith("yes") and "CC BY 4.0" in lines["pendigits"]
    if not har_features_present(shared_data):
        assert lines["har"].endswith("no")


def test_cli_verify_exit_codes(shared_data, tmp_path, capsys):
    need(shared_data, *PENDIGITS_FILES)
    # the shared folder lacks HAR's feature files, so verifying everything fails and says so
    code = run_cli(["datasets", "verify", "--data-dir", str(shared_data)])
    out = capsys.readouterr().out
    assert "mnist/train-images-idx3-ubyte.gz" in out and "mismatched" in out
    assert code == (0 if har_features_present(shared_data) else 1), out
    folder = copy_dir(
        shared_data / "pendigits", tmp_path / "data" / "pendigits", ["pendigits.tra"]
    )
    data = bytearray((folder / "pendigits.tra").read_bytes())
    data[5] ^= 0x01
    (folder / "pendigits.tra").write_bytes(bytes(data))
    assert run_cli(["datasets", "verify", "pendigits", "--data-dir", str(tmp_path / "data")]) == 1
    out = capsys.readouterr().out
    assert "MISMATCH" in out and "1 mismatched" in out
    # a named dataset with missing files is a failure
    assert run_cli(["datasets", "verify", "mnist", "--data-dir", str(tmp_path / "data")]) == 1
    assert "missing" in capsys.readouterr().out
    with pytest.raises(ValueError, match="Unknown dataset"):
        run_cli(["datasets", "verify", "cifar10"])


def test_cli_verify_fails_when_a_named_dataset_is_missing(tmp_path, capsys):
    empty = tmp_path / "empty"
    assert run_cli(["datasets", "verify", "mnist-test", "--data-dir", str(empty)]) == 1
    out = capsys.readouterr().out
    assert "mnist/t10k-images-idx3-ubyte.gz  missing\n" in out
    assert out.rstrip().endswith("not loadable: mnist-test (missing files)")
    # pendigits is embedded, so it is complete anywhere
    assert run_cli(["datasets", "verify", "pendigits", "--data-dir", str(empty)]) == 0
    assert "not loadable" not in capsys.readouterr().out
    # several names at once: one missing is enough to fail
    assert run_cli(["datasets", "verify", "pendigits", "mnist-test", "--data-dir", str(empty)]) == 1
    # no name checks every dataset, and here most are missing
    assert run_cli(["datasets", "verify", "--data-dir", str(empty)]) == 1
    assert "not loadable: mnist, fashion, usps, har" in capsys.readouterr().out.splitlines()[-1]


def test_cli_verify_usps_in_one_form_is_complete(tmp_path, monkeypatch, capsys):
    """The .jf files alone load USPS, so the absent usps.h5 is reported as not needed, not as a failure."""
    home = tmp_path / "data"
    (home / "usps").mkdir(parents=True)
    for part in ("train", "test"):
        data = f"{part}\n".encode()
        (home / "usps" / f"usps_{part}.jf").write_bytes(data)
        patch_entry(monkeypatch, f"usps/usps_{part}.jf", alg="sha256", digest=sha256(data))
    assert run_cli(["datasets", "verify", "usps", "--data-dir", str(home)]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: " ".join(line.split()[1:]) for line in out.splitlines()[1:-1]}
    assert lines["usps/usps.h5"] == "missing (not needed: usps loads from the other files)"
    (home / "usps" / "usps_test.jf").write_bytes(b"changed\n")
    assert run_cli(["datasets", "verify", "usps", "--data-dir", str(home)]) == 1
    assert "MISMATCH" in capsys.readouterr().out


def test_cli_fetch(shared_data, tmp_path, http_root, monkeypatch, capsys):
    need(shared_data, *_catalog.CATALOG["pendigits"].paths)
    root, base = http_root
    for rel in _catalog.CATALOG["pendigits"].paths:
        fname = rel.rsplit("/", 1)[1]
        shutil.copyfile(shared_data / rel, root / fname)
        patch_entry(monkeypatch, rel, url=f"{base}/{fname}")
    monkeypatch.setenv(ds.DATA_ENV, str(tmp_path / "env-data"))
    assert run_cli(["datasets", "fetch", "pendigits"]) == 0
    assert (tmp_path / "env-data" / "pendigits" / "pendigits.tes").is_file()
    assert "ok" in capsys.readouterr().out


def test_cli_data_dir_does_not_clobber_a_main_parser_option(tmp_path):
    parser = argparse.ArgumentParser(prog="n2d")
    parser.add_argument("--data-dir", dest="data_dir", default=None)
    sub = parser.add_subparsers(dest="command", required=True)
    _cli_datasets.add_parser(sub)
    args = parser.parse_args(["--data-dir", str(tmp_path), "datasets", "list"])
    assert args.data_dir == str(tmp_path)
    args = parser.parse_args(["datasets", "list", "--data-dir", "other"])
    assert args.data_dir == "other"
