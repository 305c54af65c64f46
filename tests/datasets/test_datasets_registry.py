"""The registry (n2d.datasets._registry): registry.txt, hashes, checking files against it."""

from __future__ import annotations

import pytest
from datasets_helpers import (
    PENDIGITS_FILES,
    copy_dir,
    har_features_present,
    make_har,
    need,
    patch_har_hashes,
    sha256,
    snapshot,
)

import n2d.datasets as ds
from n2d.datasets import _catalog, _registry
from n2d.exceptions import ChecksumError


def test_registry_matches_shared_sha256sums(shared_data):
    sums = shared_data / "SHA256SUMS"
    if not sums.is_file():
        pytest.skip(f"{sums} not found")
    reg = _registry.registry()
    listed = {}
    for line in sums.read_text().splitlines():
        digest, rel = line.split()
        listed[rel] = digest
    for rel, digest in listed.items():
        assert reg[rel].hash_str == f"sha256:{digest}", rel
    assert set(reg) - set(listed) == {"har/X_train.txt", "har/X_test.txt"}
    assert reg["har/X_train.txt"].hash_str == "gitblob:b06f3e4c7cddf435f2f2b102b4824f51ee8a6298"
    assert reg["har/X_test.txt"].hash_str == "gitblob:f3c01cbd355e0000229bce4e38156ee338fa6b08"
    assert [rel for rel, e in reg.items() if e.url is None] == ["usps/usps.h5"]
    for dataset in _catalog.CATALOG.values():
        assert all(rel in reg for rel in dataset.paths)


def test_registry_parser_reports_line_numbers():
    good = "# comment\n\nmnist a/b " + "0" * 64 + " -\n"
    entries = _registry.parse_registry(good)
    assert entries["a/b"].alg == "sha256" and entries["a/b"].url is None
    with pytest.raises(ValueError, match="line 2"):
        _registry.parse_registry("# c\nmnist a/b sha256:1234 -\n")
    with pytest.raises(ValueError, match="line 1.*algorithm"):
        _registry.parse_registry("mnist a/b md5:" + "0" * 32 + " -\n")
    with pytest.raises(ValueError, match="line 1.*4 fields"):
        _registry.parse_registry("mnist a/b\n")


def test_git_blob_id_matches_git_hash_object(tmp_path):
    (tmp_path / "hello").write_bytes(b"hello\n")
    (tmp_path / "empty").write_bytes(b"")
    assert _registry.git_blob_sha1(tmp_path / "hello") == "ce013625030ba8dba906f756967f9e9ca394464a"
    assert _registry.git_blob_sha1(tmp_path / "empty") == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"


def test_har_gitblob_hash_is_checked(tmp_path, monkeypatch):
    har = make_har(tmp_path / "data" / "har")
    patch_har_hashes(monkeypatch, har)
    path = tmp_path / "data" / "har" / "X_train.txt"
    data = bytearray(path.read_bytes())
    data[100] = ord("9") if data[100] != ord("9") else ord("8")
    path.write_bytes(bytes(data))
    with pytest.raises(ChecksumError, match=r"X_train\.txt.*gitblob:"):
        ds.load_dataset("har", data_home=tmp_path / "data", download=False)
    assert path.read_bytes() == bytes(data)


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_corrupted_pendigits_copy_raises_and_is_left_untouched(shared_data, tmp_path, damage):
    need(shared_data, *PENDIGITS_FILES)
    folder = copy_dir(
        shared_data / "pendigits",
        tmp_path / "data" / "pendigits",
        ["pendigits.tra", "pendigits.tes"],
    )
    path = folder / "pendigits.tes"
    data = bytearray(path.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    else:
        data[1000] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(ChecksumError) as info:
        ds.load_dataset("pendigits", data_home=tmp_path / "data")
    msg = str(info.value)
    assert str(path) in msg
    assert _registry.registry()["pendigits/pendigits.tes"].digest in msg
    assert sha256(bytes(data)) in msg
    assert path.read_bytes() == bytes(data)  # never modified, deleted or replaced
    assert sorted(p.name for p in folder.iterdir()) == ["pendigits.tes", "pendigits.tra"]


def test_flipped_mnist_labels_raise_without_download(shared_data, tmp_path):
    need(shared_data, "mnist/t10k-images-idx3-ubyte.gz", "mnist/t10k-labels-idx1-ubyte.gz")
    folder = copy_dir(
        shared_data / "mnist",
        tmp_path / "data" / "mnist",
        ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"],
    )
    path = folder / "t10k-labels-idx1-ubyte.gz"
    data = bytearray(path.read_bytes())
    data[-20] ^= 0xFF
    path.write_bytes(bytes(data))
    before = snapshot(folder)
    with pytest.raises(ChecksumError, match="t10k-labels-idx1-ubyte.gz"):
        ds.load_dataset("mnist-test", data_home=tmp_path / "data")  # download=True
    assert snapshot(folder) == before


def test_verify_dataset_reports_ok_missing_and_mismatch(shared_data, tmp_path):
    need(shared_data, "har/README.txt", *PENDIGITS_FILES)
    results = dict(ds.verify_dataset("har", data_home=shared_data))
    assert results["har/README.txt"] == "ok"
    if not har_features_present(shared_data):
        assert results["har/X_train.txt"] == "missing"
    assert dict(ds.verify_dataset("mnist-test", shared_data)) == {
        "mnist/t10k-images-idx3-ubyte.gz": "ok",
        "mnist/t10k-labels-idx1-ubyte.gz": "ok",
    }
    # pendigits: the embedded copy stands in for files absent from the data dir
    embedded = ds.verify_dataset("pendigits", tmp_path / "empty")
    assert embedded == [(f"{rel} (embedded)", "ok") for rel in _catalog.CATALOG["pendigits"].paths]
    folder = copy_dir(
        shared_data / "pendigits", tmp_path / "data" / "pendigits", ["pendigits.tes"]
    )
    data = bytearray((folder / "pendigits.tes").read_bytes())
    data[0] ^= 0x01
    (folder / "pendigits.tes").write_bytes(bytes(data))
    results = dict(ds.verify_dataset("pendigits", tmp_path / "data"))
    assert results["pendigits/pendigits.tes"].startswith("MISMATCH")
    assert sha256(bytes(data)) in results["pendigits/pendigits.tes"]
    assert results["pendigits/pendigits.tra (embedded)"] == "ok"
    assert (folder / "pendigits.tes").read_bytes() == bytes(data)
