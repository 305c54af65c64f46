"""Downloads (n2d.datasets._download), served from a local HTTP server on 127.0.0.1."""

from __future__ import annotations

import gzip
import io
import shutil
import socket
import zipfile

import numpy as np
import pytest
from datasets_helpers import (
    ACTIVITY_LABELS,
    HAR_NAMES,
    PENDIGITS_FILES,
    copy_dir,
    make_har,
    need,
    no_staging_left,
    patch_entry,
    patch_har_hashes,
    sha256,
)

import n2d.datasets as ds
from n2d.datasets import _catalog, _download
from n2d.exceptions import ChecksumError, DatasetNotFoundError


def test_fetch_downloads_and_checks(shared_data, tmp_path, http_root, monkeypatch):
    need(shared_data, *_catalog.CATALOG["pendigits"].paths)
    root, base = http_root
    for rel in _catalog.CATALOG["pendigits"].paths:
        fname = rel.rsplit("/", 1)[1]
        shutil.copyfile(shared_data / rel, root / fname)
        patch_entry(monkeypatch, rel, url=f"{base}/{fname}")
    home = tmp_path / "data"
    folder = ds.fetch_dataset("pendigits", data_home=home)
    assert folder == home / "pendigits"
    for rel in _catalog.CATALOG["pendigits"].paths:
        assert (home / rel).read_bytes() == (shared_data / rel).read_bytes()
    assert no_staging_left(folder)
    assert ds.load_dataset("pendigits", data_home=home, download=False).x.shape == (10992, 16)


def test_download_with_wrong_hash_raises_and_leaves_nothing(
    shared_data, tmp_path, http_root, monkeypatch
):
    need(shared_data, *PENDIGITS_FILES)
    root, base = http_root
    data = bytearray((shared_data / "pendigits" / "pendigits.tes").read_bytes())
    data[10] ^= 0x01
    (root / "pendigits.tes").write_bytes(bytes(data))
    patch_entry(monkeypatch, "pendigits/pendigits.tes", url=f"{base}/pendigits.tes")
    home = tmp_path / "data"
    # a good file already in place must survive
    good = (
        copy_dir(shared_data / "pendigits", home / "pendigits", ["pendigits.tra"])
        / "pendigits.tra"
    )
    patch_entry(monkeypatch, "pendigits/pendigits.names", url=None)
    with pytest.raises(ChecksumError) as info:
        ds.fetch_dataset("pendigits", data_home=home)
    msg = str(info.value)
    assert f"{base}/pendigits.tes" in msg and sha256(bytes(data)) in msg
    assert not (home / "pendigits" / "pendigits.tes").exists()
    assert no_staging_left(home / "pendigits")
    assert good.read_bytes() == (shared_data / "pendigits" / "pendigits.tra").read_bytes()


def test_network_failure_becomes_dataset_not_found(tmp_path, monkeypatch):
    with socket.socket() as s:  # a port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for var in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    url = f"http://127.0.0.1:{port}/t10k-images-idx3-ubyte.gz"
    for rel in ("mnist/t10k-images-idx3-ubyte.gz", "mnist/t10k-labels-idx1-ubyte.gz"):
        patch_entry(monkeypatch, rel, url=url)
    with pytest.raises(DatasetNotFoundError) as info:
        ds.load_dataset("mnist-test", data_home=tmp_path / "data")
    msg = str(info.value)
    assert url in msg and "failed" in msg and str(tmp_path / "data" / "mnist") in msg
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert no_staging_left(tmp_path / "data" / "mnist")
    assert not list((tmp_path / "data" / "mnist").glob("*.gz"))


def test_unwritable_data_dir_becomes_dataset_not_found(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", kwargs.get("dir"))

    monkeypatch.setattr(_download.tempfile, "mkdtemp", refuse)
    with pytest.raises(DatasetNotFoundError, match="not writable") as info:
        ds.load_dataset("mnist-test", data_home=tmp_path / "data")
    assert "t10k-images-idx3-ubyte.gz" in str(info.value)


def test_har_download_extracts_from_nested_zip(tmp_path, http_root, monkeypatch):
    root, base = http_root
    har = make_har(tmp_path / "src" / "har")
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("UCI HAR Dataset/", "")
        zf.writestr("__MACOSX/UCI HAR Dataset/train/._X_train.txt", b"junk")
        for part in ("train", "test"):
            for stem in ("X", "y"):
                fname = f"{stem}_{part}.txt"
                zf.write(tmp_path / "src" / "har" / fname, f"UCI HAR Dataset/{part}/{fname}")
        zf.writestr("UCI HAR Dataset/activity_labels.txt", ACTIVITY_LABELS)
    with zipfile.ZipFile(root / "har.zip", "w") as zf:
        zf.writestr("UCI HAR Dataset.zip", inner.getvalue())
        zf.writestr("UCI HAR Dataset.names", b"names")
    url = f"{base}/har.zip"
    patch_har_hashes(monkeypatch, har, url=url)
    for rel in (
        "har/README.txt",
        "har/features_info.txt",
        "har/features.txt",
        "har/subject_train.txt",
        "har/subject_test.txt",
    ):
        patch_entry(monkeypatch, rel, url=None)  # not in the small test archive
    home = tmp_path / "data"
    folder = ds.fetch_dataset("har", data_home=home)
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["X_train.txt", "X_test.txt", "y_train.txt", "y_test.txt", "activity_labels.txt"]
    )
    for fname in ("X_train.txt", "y_test.txt"):
        assert (folder / fname).read_bytes() == (tmp_path / "src" / "har" / fname).read_bytes()
    d = ds.load_dataset("har", data_home=home, download=False)
    assert d.x.shape == (18, 561) and d.target_names == HAR_NAMES


def test_usps_jf_download_is_decompressed_and_checked(tmp_path, http_root, monkeypatch):
    root, base = http_root
    rng = np.random.default_rng(1)
    for part, n in (("train", 3), ("test", 2)):
        rows = [
            " ".join([str(i % 10)] + [f"{v:.3f}" for v in rng.uniform(0, 2, 256)]) for i in range(n)
        ]
        text = ("10 256\n" + "\n".join(rows) + "\n-1\n").encode()
        (root / f"usps_{part}.jf.gz").write_bytes(gzip.compress(text))
        patch_entry(
            monkeypatch,
            f"usps/usps_{part}.jf",
            digest=sha256(text),
            url=f"{base}/usps_{part}.jf.gz",
        )
    home = tmp_path / "data"
    d = ds.load_dataset("usps", data_home=home)  # download=True: fetches the .jf form
    assert d.x.shape == (5, 256) and d.y.tolist() == [0, 1, 2, 0, 1]
    assert sorted(p.name for p in (home / "usps").iterdir()) == ["usps_test.jf", "usps_train.jf"]
