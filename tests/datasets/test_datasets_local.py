"""Local files (n2d.datasets._local): the data directory, .gz and embedded copies, presence."""

from __future__ import annotations

import sys

import n2d.datasets as ds
from n2d.datasets import _catalog, _local


def test_resolve_data_home_precedence(tmp_path, monkeypatch):
    assert ds.resolve_data_home(tmp_path / "arg") == tmp_path / "arg"
    assert ds.resolve_data_home(str(tmp_path / "a" / ".." / "arg")) == tmp_path / "arg"
    monkeypatch.chdir(tmp_path)
    assert ds.resolve_data_home("rel") == tmp_path / "rel"
    assert ds.resolve_data_home() == tmp_path / "n2d-cache" / "data"
    monkeypatch.setenv(ds.DATA_ENV, str(tmp_path / "env"))
    assert ds.resolve_data_home() == tmp_path / "env"
    assert ds.resolve_data_home(tmp_path / "arg") == tmp_path / "arg"


def test_local_file_prefers_the_plain_file_then_a_gz_copy_of_text_files(tmp_path):
    (tmp_path / "har").mkdir()
    assert _local.local_file(tmp_path, "har/X_train.txt") is None
    (tmp_path / "har" / "X_train.txt.gz").write_bytes(b"")
    assert _local.local_file(tmp_path, "har/X_train.txt") == tmp_path / "har" / "X_train.txt.gz"
    (tmp_path / "har" / "X_train.txt").write_bytes(b"")
    assert _local.local_file(tmp_path, "har/X_train.txt") == tmp_path / "har" / "X_train.txt"
    (tmp_path / "usps").mkdir()
    (tmp_path / "usps" / "usps.h5.gz").write_bytes(b"")  # only text files may be gzipped copies
    assert _local.local_file(tmp_path, "usps/usps.h5") is None


def test_embedded_copies_are_pendigits_only():
    for rel in _catalog.CATALOG["pendigits"].paths:
        assert _local.embedded_file(rel).is_file(), rel
    assert _local.embedded_file("mnist/t10k-labels-idx1-ubyte.gz") is None


def test_is_present_needs_one_whole_form(tmp_path):
    usps, mnist = _catalog.CATALOG["usps"], _catalog.CATALOG["mnist-test"]
    (tmp_path / "usps").mkdir()
    (tmp_path / "usps" / "usps_train.jf").write_bytes(b"")
    assert not _local.is_present(usps, tmp_path)
    (tmp_path / "usps" / "usps_test.jf").write_bytes(b"")
    assert _local.is_present(usps, tmp_path)  # the .jf form, without usps.h5
    (tmp_path / "mnist").mkdir()
    (tmp_path / "mnist" / "t10k-images-idx3-ubyte.gz").write_bytes(b"")
    assert not _local.is_present(mnist, tmp_path)
    (tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz").write_bytes(b"")
    assert _local.is_present(mnist, tmp_path)
    assert not _local.is_present(_catalog.CATALOG["mnist"], tmp_path)  # mnist also needs the train files
    assert _local.is_present(_catalog.CATALOG["pendigits"], tmp_path)  # embedded


def test_module_available_sees_a_blocked_import(monkeypatch):
    assert _local.module_available("json")
    monkeypatch.setitem(sys.modules, "h5py", None)
    assert not _local.module_available("h5py")
