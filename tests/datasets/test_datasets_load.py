"""Tests of n2d.datasets and the ``n2d datasets`` sub-command.

The six datasets are read from the project's shared data folder
(``<root>/../shared/data``, or ``$N2D_TEST_SHARED_DATA``); tests that need it
skip when it is absent. Nothing is written there or to the user's cache: every
test gets its own ``$N2D_CACHE_DIR`` and works on copies in ``tmp_path``.
HAR's feature matrices are not in the shared folder, so HAR is exercised on a
tiny generated copy in the original file format. Downloads are served from a
local HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import gzip
import hashlib
import http.server
import io
import os
import shutil
import socket
import sys
import threading
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest

import n2d.datasets as ds
from n2d.cli import datasets as _cli_datasets
from n2d.datasets import _cache, _catalog, _download, _local, _parsers, _registry
from n2d.exceptions import CacheWarning, ChecksumError, DatasetNotFoundError

SHARED = Path(
    os.environ.get("N2D_TEST_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data")
)

MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
USPS_TRAIN_COUNTS = [1194, 1005, 731, 658, 652, 556, 664, 645, 542, 644]
USPS_TEST_COUNTS = [359, 264, 198, 166, 200, 160, 170, 147, 166, 177]
PEN_TRAIN_COUNTS = [780, 779, 780, 719, 780, 720, 720, 778, 719, 719]
PEN_TEST_COUNTS = [363, 364, 364, 336, 364, 335, 336, 364, 336, 336]
HAR_TRAIN_COUNTS = [1226, 1073, 986, 1286, 1374, 1407]
HAR_TEST_COUNTS = [496, 471, 420, 491, 532, 537]
HAR_NAMES = (
    "WALKING", "WALKING_UPSTAIRS", "WALKING_DOWNSTAIRS", "SITTING", "STANDING", "LAYING",
)  # fmt: skip
FASHION_NAMES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip
DIGITS = tuple(str(i) for i in range(10))
USPS_H5 = ("usps/usps.h5",)
USPS_JF = ("usps/usps_train.jf", "usps/usps_test.jf")
PENDIGITS_FILES = ("pendigits/pendigits.tra", "pendigits/pendigits.tes")
ACTIVITY_LABELS = (
    b"1 WALKING\n2 WALKING_UPSTAIRS\n3 WALKING_DOWNSTAIRS\n4 SITTING\n5 STANDING\n6 LAYING\n"
)


# --------------------------------------------------------------------------------------
# Fixtures and helpers
# --------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path, monkeypatch):
    """Every test gets its own n2d cache and no $N2D_DATA_DIR."""
    monkeypatch.setenv("N2D_CACHE_DIR", str(tmp_path / "n2d-cache"))
    monkeypatch.delenv(ds.DATA_ENV, raising=False)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED.is_dir():
        pytest.skip(
            f"shared benchmark data not found at {SHARED}; set N2D_TEST_SHARED_DATA to "
            "the folder holding mnist/, fashion/, usps/, pendigits/, har/"
        )
    return SHARED


def _need(root: Path, *relpaths: str) -> None:
    missing = [p for p in relpaths if not (root / p).is_file()]
    if missing:
        pytest.skip(f"shared data lacks {', '.join(missing)} (looked in {root})")


@pytest.fixture(scope="session")
def load_shared(shared_data, tmp_path_factory):
    """Load a dataset from the shared folder at most once per session."""
    cache = tmp_path_factory.mktemp("n2d-session-cache")
    memo: dict[str, ds.Dataset] = {}

    def load(name: str) -> ds.Dataset:
        if name not in memo:
            files = {"usps": USPS_H5, "pendigits": PENDIGITS_FILES}.get(name)
            files = files or _catalog.entry(name).paths
            _need(shared_data, *files)
            with pytest.MonkeyPatch.context() as mp:
                mp.setenv("N2D_CACHE_DIR", str(cache))
                memo[name] = ds.load_dataset(name, data_home=shared_data, download=False)
        return memo[name]

    return load


def _har_features_present(root: Path) -> bool:
    """HAR's X_train/X_test (plain or .gz) are in ``root/har``."""
    return all(_local.local_file(root, rel) for rel in ("har/X_train.txt", "har/X_test.txt"))


def _check_common(d: ds.Dataset, name, n, n_features, names):
    assert d.name == name
    assert d.x.shape == (n, n_features)
    assert d.x.dtype == np.float32 and d.x.flags.c_contiguous
    assert d.y.shape == (n,) and d.y.dtype == np.int64
    assert d.target_names == names
    assert d.n_clusters == len(names)
    assert set(np.unique(d.y).tolist()) == set(range(len(names)))
    assert np.isfinite(d.x).all()
    assert "License" in d.description and "http" in d.description


def _counts(y, k):
    return np.bincount(y, minlength=k).tolist()


def _patch_entry(monkeypatch, relpath: str, **changes) -> None:
    reg = _registry.registry()
    monkeypatch.setitem(reg, relpath, dataclasses.replace(reg[relpath], **changes))


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _git_blob(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _copy_dir(src: Path, dst: Path, names) -> Path:
    dst.mkdir(parents=True, exist_ok=True)
    for n in names:
        shutil.copyfile(src / n, dst / n)
    return dst


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def _har_format(v: float) -> str:
    mantissa, exp = f"{v:.7e}".split("e")
    return f"{mantissa}e{int(exp):+04d}".rjust(16)  # e.g. "  2.8858451e-001"


def _make_har(folder: Path, seed: int = 0) -> dict:
    """Write a tiny HAR copy (12 train + 6 test rows) in the original format."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for part, n in (("train", 12), ("test", 6)):
        x = rng.uniform(-1, 1, size=(n, 561))
        x[0, :3] = (-1.0, 1.0, 0.0)
        ids = np.tile(np.arange(1, 7), n // 6)
        xtext = "".join("".join(_har_format(v) for v in row) + "\n" for row in x).encode()
        ytext = "".join(f"{i}\n" for i in ids).encode()
        (folder / f"X_{part}.txt").write_bytes(xtext)
        (folder / f"y_{part}.txt").write_bytes(ytext)
        out[part] = (x, ids, xtext, ytext)
    (folder / "activity_labels.txt").write_bytes(ACTIVITY_LABELS)
    return out


def _patch_har_hashes(monkeypatch, har: dict, url=None) -> None:
    """Point the registry at the generated HAR files (X_train by git blob id)."""
    x_tr, _, xtext_tr, ytext_tr = har["train"]
    _, _, xtext_te, ytext_te = har["test"]
    extra = {} if url is None else {"url": url}
    _patch_entry(monkeypatch, "har/X_train.txt", alg="gitblob", digest=_git_blob(xtext_tr), **extra)
    _patch_entry(monkeypatch, "har/X_test.txt", alg="sha256", digest=_sha256(xtext_te), **extra)
    _patch_entry(monkeypatch, "har/y_train.txt", digest=_sha256(ytext_tr), **extra)
    _patch_entry(monkeypatch, "har/y_test.txt", digest=_sha256(ytext_te), **extra)
    if url is not None:
        _patch_entry(monkeypatch, "har/activity_labels.txt", url=url)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass


@pytest.fixture
def http_root(tmp_path, monkeypatch):
    """Serve tmp_path/www on 127.0.0.1; yields (folder, base URL)."""
    root = tmp_path / "www"
    root.mkdir()
    for var in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _no_staging_left(folder: Path) -> bool:
    return not list(folder.glob(".n2d-download-*"))


def _run_cli(argv) -> int:
    parser = argparse.ArgumentParser(prog="n2d")
    sub = parser.add_subparsers(dest="command", required=True)
    _cli_datasets.add_parser(sub)
    args = parser.parse_args(argv)
    return args.func(args)


# --------------------------------------------------------------------------------------
# Loading the shared datasets: shapes, dtypes, ranges, class counts, names
# --------------------------------------------------------------------------------------


def test_load_mnist_is_train_plus_test_scaled_to_unit_range(load_shared):
    d = load_shared("mnist")
    _check_common(d, "mnist", 70000, 784, DIGITS)
    assert d.x.min() == 0.0 and d.x.max() == 1.0
    assert _counts(d.y[:60000], 10) == MNIST_TRAIN_COUNTS
    assert _counts(d.y[60000:], 10) == MNIST_TEST_COUNTS
    # pixel values are k/255 exactly as in the reference code (x / 255.)
    assert np.allclose(np.round(d.x[:100] * 255), d.x[:100] * 255, atol=1e-4)


def test_load_mnist_test_is_the_t10k_part(load_shared):
    d = load_shared("mnist-test")
    _check_common(d, "mnist-test", 10000, 784, DIGITS)
    assert _counts(d.y, 10) == MNIST_TEST_COUNTS
    full = load_shared("mnist")
    np.testing.assert_array_equal(d.x, full.x[60000:])
    np.testing.assert_array_equal(d.y, full.y[60000:])


def test_load_fashion(load_shared):
    d = load_shared("fashion")
    _check_common(d, "fashion", 70000, 784, FASHION_NAMES)
    assert d.x.min() == 0.0 and d.x.max() == 1.0
    assert _counts(d.y[:60000], 10) == [6000] * 10
    assert _counts(d.y[60000:], 10) == [1000] * 10


def test_load_usps_from_h5_uses_the_papers_jf_scale(load_shared, shared_data):
    h5py = pytest.importorskip("h5py")
    d = load_shared("usps")
    _check_common(d, "usps", 9298, 256, DIGITS)
    assert d.x.min() == 0.0 and d.x.max() == 2.0
    assert _counts(d.y[:7291], 10) == USPS_TRAIN_COUNTS
    assert _counts(d.y[7291:], 10) == USPS_TEST_COUNTS
    with h5py.File(shared_data / "usps" / "usps.h5", "r") as f:
        raw = np.concatenate([f["train"]["data"][:], f["test"]["data"][:]])
    np.testing.assert_array_equal(d.x, raw * np.float32(2))


def test_load_usps_from_jf_matches_h5(load_shared, shared_data, tmp_path):
    _need(shared_data, *USPS_JF)
    home = tmp_path / "data"
    (home / "usps").mkdir(parents=True)
    for rel in USPS_JF:  # only the .jf form present
        (home / rel).symlink_to(shared_data / rel)
    d = ds.load_dataset("usps", data_home=home, download=False)
    _check_common(d, "usps", 9298, 256, DIGITS)
    assert d.x.min() == 0.0 and d.x.max() == 2.0
    assert _counts(d.y[:7291], 10) == USPS_TRAIN_COUNTS
    assert _counts(d.y[7291:], 10) == USPS_TEST_COUNTS
    # first training row, read by hand from the text file
    second_line = (shared_data / "usps" / "usps_train.jf").read_text().split("\n")[1].split()
    assert d.y[0] == int(second_line[0])
    np.testing.assert_array_equal(d.x[0], np.array(second_line[1:], dtype=np.float32))
    if (shared_data / "usps" / "usps.h5").is_file() and _local.module_available("h5py"):
        h5 = load_shared("usps")
        np.testing.assert_array_equal(d.y, h5.y)
        np.testing.assert_allclose(d.x, h5.x, rtol=0, atol=1e-6)


def test_usps_falls_back_to_jf_without_h5py(shared_data, monkeypatch):
    _need(shared_data, *USPS_JF)
    monkeypatch.setitem(sys.modules, "h5py", None)  # import h5py -> ImportError
    d = ds.load_dataset("usps", data_home=shared_data, download=False)
    assert d.x.shape == (9298, 256) and d.x.max() == 2.0


def test_usps_h5_only_without_h5py_names_h5py(shared_data, tmp_path, monkeypatch):
    _need(shared_data, "usps/usps.h5")
    home = tmp_path / "data"
    (home / "usps").mkdir(parents=True)
    (home / "usps" / "usps.h5").symlink_to(shared_data / "usps" / "usps.h5")
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(ImportError, match=r"pip install h5py\. "):
        ds.load_dataset("usps", data_home=home, download=False)


def test_load_pendigits_embedded_offline_and_from_dir(load_shared):
    d = ds.load_dataset("pendigits")  # no data_home, no $N2D_DATA_DIR: embedded copy
    _check_common(d, "pendigits", 10992, 16, DIGITS)
    assert d.x.min() == 0.0 and d.x.max() == 1.0
    # x = integer coordinates / 100 and y = the last field, as in the reference code
    first_line = _local.embedded_file("pendigits/pendigits.tra").read_text().split("\n")[0]
    first_row = [int(v) for v in first_line.split(",")]
    np.testing.assert_array_equal(d.x[0], np.float32(first_row[:16]) / np.float32(100))
    assert d.y[0] == first_row[16]
    assert _counts(d.y[:7494], 10) == PEN_TRAIN_COUNTS
    assert _counts(d.y[7494:], 10) == PEN_TEST_COUNTS
    from_dir = load_shared("pendigits")
    np.testing.assert_array_equal(d.x, from_dir.x)
    np.testing.assert_array_equal(d.y, from_dir.y)


def test_pendigits_embedded_used_when_data_dir_lacks_it(tmp_path):
    d = ds.load_dataset("pendigits", data_home=tmp_path / "empty", download=False)
    assert d.x.shape == (10992, 16)
    assert not (tmp_path / "empty").exists()  # nothing created in the data dir


def test_dataset_repr_is_short_and_instances_are_frozen():
    d = ds.load_dataset("pendigits")
    text = repr(d)
    assert text == "Dataset(name='pendigits', n_samples=10992, n_features=16, n_clusters=10)"
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.name = "other"


# --------------------------------------------------------------------------------------
# HAR
# --------------------------------------------------------------------------------------


def test_har_parser_on_generated_files(tmp_path, monkeypatch):
    har = _make_har(tmp_path / "data" / "har")
    _patch_har_hashes(monkeypatch, har)
    d = ds.load_dataset("har", data_home=tmp_path / "data", download=False)
    assert d.name == "har" and d.n_clusters == 6 and d.target_names == HAR_NAMES
    assert d.x.shape == (18, 561) and d.x.dtype == np.float32 and d.x.flags.c_contiguous
    expected_x = np.concatenate([har["train"][0], har["test"][0]]).astype(np.float32)
    np.testing.assert_allclose(d.x, expected_x, rtol=1e-6, atol=1e-7)
    assert d.x[0, 0] == -1.0 and d.x[0, 1] == 1.0 and d.x[0, 2] == 0.0
    np.testing.assert_array_equal(d.y, np.concatenate([har["train"][1], har["test"][1]]) - 1)
    assert d.y.dtype == np.int64


def test_har_gitblob_hash_is_checked(tmp_path, monkeypatch):
    har = _make_har(tmp_path / "data" / "har")
    _patch_har_hashes(monkeypatch, har)
    path = tmp_path / "data" / "har" / "X_train.txt"
    data = bytearray(path.read_bytes())
    data[100] = ord("9") if data[100] != ord("9") else ord("8")
    path.write_bytes(bytes(data))
    with pytest.raises(ChecksumError, match=r"X_train\.txt.*gitblob:"):
        ds.load_dataset("har", data_home=tmp_path / "data", download=False)
    assert path.read_bytes() == bytes(data)


def test_har_gzip_copies_are_read_and_checked(tmp_path, monkeypatch):
    har = _make_har(tmp_path / "data" / "har")
    _patch_har_hashes(monkeypatch, har)
    folder = tmp_path / "data" / "har"
    for fname in ("X_train.txt", "X_test.txt"):
        plain = folder / fname
        (folder / f"{fname}.gz").write_bytes(gzip.compress(plain.read_bytes()))
        plain.unlink()
    d = ds.load_dataset("har", data_home=tmp_path / "data", download=False)
    assert d.x.shape == (18, 561)
    np.testing.assert_allclose(d.x[:12], har["train"][0].astype(np.float32), rtol=1e-6)
    status = dict(ds.verify_dataset("har", tmp_path / "data"))
    assert status["har/X_train.txt (as X_train.txt.gz)"] == "ok"
    assert status["har/X_test.txt (as X_test.txt.gz)"] == "ok"
    gz = folder / "X_test.txt.gz"
    data = bytearray(gz.read_bytes())
    data[len(data) // 2] ^= 0xFF
    gz.write_bytes(bytes(data))
    with pytest.raises(ChecksumError, match="X_test.txt.gz"):
        ds.load_dataset("har", data_home=tmp_path / "data", download=False)
    assert gz.read_bytes() == bytes(data)


def test_git_blob_id_matches_git_hash_object(tmp_path):
    (tmp_path / "hello").write_bytes(b"hello\n")
    (tmp_path / "empty").write_bytes(b"")
    assert _registry.git_blob_sha1(tmp_path / "hello") == "ce013625030ba8dba906f756967f9e9ca394464a"
    assert _registry.git_blob_sha1(tmp_path / "empty") == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"


def test_har_real_labels_parse_with_documented_counts(shared_data):
    _need(shared_data, "har/y_train.txt", "har/y_test.txt", "har/activity_labels.txt")
    y_train = _parsers.read_har_labels(shared_data / "har" / "y_train.txt")
    y_test = _parsers.read_har_labels(shared_data / "har" / "y_test.txt")
    assert _counts(y_train - 1, 6) == HAR_TRAIN_COUNTS
    assert _counts(y_test - 1, 6) == HAR_TEST_COUNTS
    assert _parsers.read_har_activities(shared_data / "har" / "activity_labels.txt") == HAR_NAMES


def test_har_missing_features_error_names_files_dir_and_url(shared_data):
    _need(shared_data, "har/y_train.txt")
    if _har_features_present(shared_data):
        pytest.skip("HAR feature files are present in the shared data")
    with pytest.raises(DatasetNotFoundError) as info:
        ds.load_dataset("har", data_home=shared_data, download=False)
    msg = str(info.value)
    assert "X_train.txt" in msg and "X_test.txt" in msg
    assert str(ds.resolve_data_home(shared_data) / "har") in msg
    assert "https://archive.ics.uci.edu/static/public/240/" in msg
    assert "data_home=" in msg and "--data-dir" in msg and ds.DATA_ENV in msg


def test_har_full_load_when_features_present(shared_data, tmp_path):
    if not _har_features_present(shared_data):
        pytest.skip(f"shared data lacks the HAR feature files (looked in {shared_data / 'har'})")
    d = ds.load_dataset("har", data_home=shared_data, download=False)
    _check_common(d, "har", 10299, 561, HAR_NAMES)
    assert d.x.min() >= -1.0 and d.x.max() <= 1.0
    assert _counts(d.y[:7352], 6) == HAR_TRAIN_COUNTS


# --------------------------------------------------------------------------------------
# Checksums, missing files, names
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_corrupted_pendigits_copy_raises_and_is_left_untouched(shared_data, tmp_path, damage):
    _need(shared_data, *PENDIGITS_FILES)
    folder = _copy_dir(
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
    assert _sha256(bytes(data)) in msg
    assert path.read_bytes() == bytes(data)  # never modified, deleted or replaced
    assert sorted(p.name for p in folder.iterdir()) == ["pendigits.tes", "pendigits.tra"]


def test_flipped_mnist_labels_raise_without_download(shared_data, tmp_path):
    _need(shared_data, "mnist/t10k-images-idx3-ubyte.gz", "mnist/t10k-labels-idx1-ubyte.gz")
    folder = _copy_dir(
        shared_data / "mnist",
        tmp_path / "data" / "mnist",
        ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"],
    )
    path = folder / "t10k-labels-idx1-ubyte.gz"
    data = bytearray(path.read_bytes())
    data[-20] ^= 0xFF
    path.write_bytes(bytes(data))
    before = _snapshot(folder)
    with pytest.raises(ChecksumError, match="t10k-labels-idx1-ubyte.gz"):
        ds.load_dataset("mnist-test", data_home=tmp_path / "data")  # download=True
    assert _snapshot(folder) == before


def test_missing_files_offline_error(tmp_path):
    home = tmp_path / "empty"
    with pytest.raises(DatasetNotFoundError) as info:
        ds.load_dataset("mnist", data_home=home, download=False)
    assert isinstance(info.value, FileNotFoundError)
    msg = str(info.value)
    for fname in (
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ):
        assert fname in msg
    assert str(home / "mnist") in msg
    assert "https://ossci-datasets.s3.amazonaws.com/mnist/" in msg
    assert "download=False" in msg and ds.DATA_ENV in msg
    assert not home.exists()


def test_missing_usps_names_both_forms_and_manual_h5_source(tmp_path):
    with pytest.raises(DatasetNotFoundError) as info:
        ds.load_dataset("usps", data_home=tmp_path, download=False)
    msg = str(info.value)
    assert "usps.h5" in msg and "usps_train.jf" in msg and "usps_test.jf" in msg
    assert "kaggle" in msg.lower() and "keysers" in msg


def test_unknown_name_lists_valid_names():
    for func in (ds.load_dataset, ds.dataset_info, ds.verify_dataset, ds.fetch_dataset):
        with pytest.raises(ValueError) as info:
            func("cifar10")
        for name in ds.DATASET_NAMES:
            assert name in str(info.value)


def test_names_are_case_insensitive_with_aliases():
    assert ds.dataset_info("MNIST")["name"] == "mnist"
    assert ds.dataset_info("mnist_test")["name"] == "mnist-test"
    assert ds.dataset_info("Fashion-MNIST")["name"] == "fashion"
    assert ds.dataset_info("fmnist")["name"] == "fashion"
    assert ds.load_dataset("PenDigits").name == "pendigits"


def test_dataset_info_fields():
    info = ds.dataset_info("har")
    assert {k: info[k] for k in ("name", "n_samples", "n_features", "n_classes")} == {
        "name": "har",
        "n_samples": 10299,
        "n_features": 561,
        "n_classes": 6,
    }
    assert info["license"] == "CC BY 4.0" and info["source"].startswith(
        "https://archive.ics.uci.edu"
    )
    assert "har/X_train.txt" in info["files"]
    assert [ds.dataset_info(n)["n_samples"] for n in ds.DATASET_NAMES] == [
        70000,
        10000,
        70000,
        9298,
        10992,
        10299,
    ]


# --------------------------------------------------------------------------------------
# Registry, data-home resolution, list and verify
# --------------------------------------------------------------------------------------


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


def test_resolve_data_home_precedence(tmp_path, monkeypatch):
    assert ds.resolve_data_home(tmp_path / "arg") == tmp_path / "arg"
    assert ds.resolve_data_home(str(tmp_path / "a" / ".." / "arg")) == tmp_path / "arg"
    monkeypatch.chdir(tmp_path)
    assert ds.resolve_data_home("rel") == tmp_path / "rel"
    assert ds.resolve_data_home() == tmp_path / "n2d-cache" / "data"
    monkeypatch.setenv(ds.DATA_ENV, str(tmp_path / "env"))
    assert ds.resolve_data_home() == tmp_path / "env"
    assert ds.resolve_data_home(tmp_path / "arg") == tmp_path / "arg"


def test_list_datasets_present_flags(shared_data, tmp_path, monkeypatch):
    rows = ds.list_datasets(tmp_path / "empty")
    assert [r["name"] for r in rows] == list(ds.DATASET_NAMES)
    assert {r["name"]: r["present"] for r in rows} == {
        "mnist": False,
        "mnist-test": False,
        "fashion": False,
        "usps": False,
        "pendigits": True,
        "har": False,
    }
    monkeypatch.setenv(ds.DATA_ENV, str(shared_data))
    present = {r["name"]: r["present"] for r in ds.list_datasets()}
    for name in ("mnist", "mnist-test", "fashion", "usps", "pendigits"):
        assert present[name], name
    assert present["har"] == _har_features_present(shared_data)


def test_verify_dataset_reports_ok_missing_and_mismatch(shared_data, tmp_path):
    _need(shared_data, "har/README.txt", *PENDIGITS_FILES)
    results = dict(ds.verify_dataset("har", data_home=shared_data))
    assert results["har/README.txt"] == "ok"
    if not _har_features_present(shared_data):
        assert results["har/X_train.txt"] == "missing"
    assert dict(ds.verify_dataset("mnist-test", shared_data)) == {
        "mnist/t10k-images-idx3-ubyte.gz": "ok",
        "mnist/t10k-labels-idx1-ubyte.gz": "ok",
    }
    # pendigits: the embedded copy stands in for files absent from the data dir
    embedded = ds.verify_dataset("pendigits", tmp_path / "empty")
    assert embedded == [(f"{rel} (embedded)", "ok") for rel in _catalog.CATALOG["pendigits"].paths]
    folder = _copy_dir(
        shared_data / "pendigits", tmp_path / "data" / "pendigits", ["pendigits.tes"]
    )
    data = bytearray((folder / "pendigits.tes").read_bytes())
    data[0] ^= 0x01
    (folder / "pendigits.tes").write_bytes(bytes(data))
    results = dict(ds.verify_dataset("pendigits", tmp_path / "data"))
    assert results["pendigits/pendigits.tes"].startswith("MISMATCH")
    assert _sha256(bytes(data)) in results["pendigits/pendigits.tes"]
    assert results["pendigits/pendigits.tra (embedded)"] == "ok"
    assert (folder / "pendigits.tes").read_bytes() == bytes(data)


# --------------------------------------------------------------------------------------
# Parsed-array cache
# --------------------------------------------------------------------------------------


def test_parsed_cache_is_used_and_corruption_is_ignored(tmp_path, monkeypatch):
    cache = tmp_path / "n2d-cache"
    first = ds.load_dataset("pendigits")
    entries = list((cache / "parsed").glob("pendigits-*"))
    assert len(entries) == 1
    entry = entries[0]
    assert {p.name for p in entry.iterdir()} == {"x.npy", "y.npy", "meta.json"}

    def boom(paths):
        raise AssertionError("the parser ran although the cache entry is valid")

    with monkeypatch.context() as mp:  # second load: served from the cache
        mp.setattr(_parsers, "parse_pendigits", boom)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            second = ds.load_dataset("pendigits")
    np.testing.assert_array_equal(second.x, first.x)
    np.testing.assert_array_equal(second.y, first.y)
    assert second.target_names == first.target_names

    corruptions = {
        "x.npy": lambda b: b[:-1] + bytes([b[-1] ^ 0x01]),  # a flipped bit in the data
        "y.npy": lambda b: b"not an npy file",
        "meta.json": lambda b: b[: len(b) // 2],
    }
    for fname, corrupt in corruptions.items():
        path = entry / fname
        path.write_bytes(corrupt(path.read_bytes()))
        with pytest.warns(CacheWarning, match="Ignoring the parsed-data cache entry"):
            again = ds.load_dataset("pendigits")
        np.testing.assert_array_equal(again.x, first.x)
        np.testing.assert_array_equal(again.y, first.y)
        with warnings.catch_warnings():  # the entry was rewritten and is valid again
            warnings.simplefilter("error")
            ds.load_dataset("pendigits")


def test_cache_never_written_to_data_home(shared_data, tmp_path):
    _need(shared_data, *PENDIGITS_FILES)
    home = tmp_path / "data"
    _copy_dir(shared_data / "pendigits", home / "pendigits", ["pendigits.tra", "pendigits.tes"])
    before = _snapshot(home)
    ds.load_dataset("pendigits", data_home=home)
    ds.load_dataset("pendigits", data_home=home)
    assert _snapshot(home) == before
    assert list((tmp_path / "n2d-cache" / "parsed").glob("pendigits-*"))


def test_cache_key_depends_on_source_hashes(tmp_path):
    usps = _catalog.CATALOG["usps"]
    a = _cache.cache_dir(usps, "h5", {"usps/usps.h5": "sha256:" + "0" * 64})
    b = _cache.cache_dir(usps, "h5", {"usps/usps.h5": "sha256:" + "1" * 64})
    c = _cache.cache_dir(usps, "jf", {"usps/usps.h5": "sha256:" + "0" * 64})
    assert len({a, b, c}) == 3
    assert a.parent == tmp_path / "n2d-cache" / "parsed"


# --------------------------------------------------------------------------------------
# Downloads (served locally)
# --------------------------------------------------------------------------------------


def test_fetch_downloads_and_checks(shared_data, tmp_path, http_root, monkeypatch):
    _need(shared_data, *_catalog.CATALOG["pendigits"].paths)
    root, base = http_root
    for rel in _catalog.CATALOG["pendigits"].paths:
        fname = rel.rsplit("/", 1)[1]
        shutil.copyfile(shared_data / rel, root / fname)
        _patch_entry(monkeypatch, rel, url=f"{base}/{fname}")
    home = tmp_path / "data"
    folder = ds.fetch_dataset("pendigits", data_home=home)
    assert folder == home / "pendigits"
    for rel in _catalog.CATALOG["pendigits"].paths:
        assert (home / rel).read_bytes() == (shared_data / rel).read_bytes()
    assert _no_staging_left(folder)
    assert ds.load_dataset("pendigits", data_home=home, download=False).x.shape == (10992, 16)


def test_download_with_wrong_hash_raises_and_leaves_nothing(
    shared_data, tmp_path, http_root, monkeypatch
):
    _need(shared_data, *PENDIGITS_FILES)
    root, base = http_root
    data = bytearray((shared_data / "pendigits" / "pendigits.tes").read_bytes())
    data[10] ^= 0x01
    (root / "pendigits.tes").write_bytes(bytes(data))
    _patch_entry(monkeypatch, "pendigits/pendigits.tes", url=f"{base}/pendigits.tes")
    home = tmp_path / "data"
    # a good file already in place must survive
    good = (
        _copy_dir(shared_data / "pendigits", home / "pendigits", ["pendigits.tra"])
        / "pendigits.tra"
    )
    _patch_entry(monkeypatch, "pendigits/pendigits.names", url=None)
    with pytest.raises(ChecksumError) as info:
        ds.fetch_dataset("pendigits", data_home=home)
    msg = str(info.value)
    assert f"{base}/pendigits.tes" in msg and _sha256(bytes(data)) in msg
    assert not (home / "pendigits" / "pendigits.tes").exists()
    assert _no_staging_left(home / "pendigits")
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
        _patch_entry(monkeypatch, rel, url=url)
    with pytest.raises(DatasetNotFoundError) as info:
        ds.load_dataset("mnist-test", data_home=tmp_path / "data")
    msg = str(info.value)
    assert url in msg and "failed" in msg and str(tmp_path / "data" / "mnist") in msg
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert _no_staging_left(tmp_path / "data" / "mnist")
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
    har = _make_har(tmp_path / "src" / "har")
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
    _patch_har_hashes(monkeypatch, har, url=url)
    for rel in (
        "har/README.txt",
        "har/features_info.txt",
        "har/features.txt",
        "har/subject_train.txt",
        "har/subject_test.txt",
    ):
        _patch_entry(monkeypatch, rel, url=None)  # not in the small test archive
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
        _patch_entry(
            monkeypatch,
            f"usps/usps_{part}.jf",
            digest=_sha256(text),
            url=f"{base}/usps_{part}.jf.gz",
        )
    home = tmp_path / "data"
    d = ds.load_dataset("usps", data_home=home)  # download=True: fetches the .jf form
    assert d.x.shape == (5, 256) and d.y.tolist() == [0, 1, 2, 0, 1]
    assert sorted(p.name for p in (home / "usps").iterdir()) == ["usps_test.jf", "usps_train.jf"]


# --------------------------------------------------------------------------------------
# The `n2d datasets` sub-command
# --------------------------------------------------------------------------------------


def test_cli_list(shared_data, capsys):
    assert _run_cli(["datasets", "list", "--data-dir", str(shared_data)]) == 0
    out = capsys.readouterr().out
    assert str(ds.resolve_data_home(shared_data)) in out
    lines = {line.split()[0]: line for line in out.splitlines()[2:]}
    assert set(lines) == set(ds.DATASET_NAMES)
    assert "70,000" in lines["mnist"] and "784" in lines["mnist"] and lines["mnist"].endswith("yes")
    assert lines["pendigits"].endswith("yes") and "CC BY 4.0" in lines["pendigits"]
    if not _har_features_present(shared_data):
        assert lines["har"].endswith("no")


def test_cli_verify_exit_codes(shared_data, tmp_path, capsys):
    _need(shared_data, *PENDIGITS_FILES)
    # the shared folder lacks HAR's feature files, so verifying everything fails and says so
    code = _run_cli(["datasets", "verify", "--data-dir", str(shared_data)])
    out = capsys.readouterr().out
    assert "mnist/train-images-idx3-ubyte.gz" in out and "mismatched" in out
    assert code == (0 if _har_features_present(shared_data) else 1), out
    folder = _copy_dir(
        shared_data / "pendigits", tmp_path / "data" / "pendigits", ["pendigits.tra"]
    )
    data = bytearray((folder / "pendigits.tra").read_bytes())
    data[5] ^= 0x01
    (folder / "pendigits.tra").write_bytes(bytes(data))
    assert _run_cli(["datasets", "verify", "pendigits", "--data-dir", str(tmp_path / "data")]) == 1
    out = capsys.readouterr().out
    assert "MISMATCH" in out and "1 mismatched" in out
    # a named dataset with missing files is a failure
    assert _run_cli(["datasets", "verify", "mnist", "--data-dir", str(tmp_path / "data")]) == 1
    assert "missing" in capsys.readouterr().out
    with pytest.raises(ValueError, match="Unknown dataset"):
        _run_cli(["datasets", "verify", "cifar10"])


def test_cli_verify_fails_when_a_named_dataset_is_missing(tmp_path, capsys):
    empty = tmp_path / "empty"
    assert _run_cli(["datasets", "verify", "mnist-test", "--data-dir", str(empty)]) == 1
    out = capsys.readouterr().out
    assert "mnist/t10k-images-idx3-ubyte.gz  missing\n" in out
    assert out.rstrip().endswith("not loadable: mnist-test (missing files)")
    # pendigits is embedded, so it is complete anywhere
    assert _run_cli(["datasets", "verify", "pendigits", "--data-dir", str(empty)]) == 0
    assert "not loadable" not in capsys.readouterr().out
    # several names at once: one missing is enough to fail
    assert _run_cli(["datasets", "verify", "pendigits", "mnist-test", "--data-dir", str(empty)]) == 1
    # no name checks every dataset, and here most are missing
    assert _run_cli(["datasets", "verify", "--data-dir", str(empty)]) == 1
    assert "not loadable: mnist, fashion, usps, har" in capsys.readouterr().out.splitlines()[-1]


def test_cli_verify_usps_in_one_form_is_complete(tmp_path, monkeypatch, capsys):
    """The .jf files alone load USPS, so the absent usps.h5 is reported as not needed, not as a failure."""
    home = tmp_path / "data"
    (home / "usps").mkdir(parents=True)
    for part in ("train", "test"):
        data = f"{part}\n".encode()
        (home / "usps" / f"usps_{part}.jf").write_bytes(data)
        _patch_entry(monkeypatch, f"usps/usps_{part}.jf", alg="sha256", digest=_sha256(data))
    assert _run_cli(["datasets", "verify", "usps", "--data-dir", str(home)]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: " ".join(line.split()[1:]) for line in out.splitlines()[1:-1]}
    assert lines["usps/usps.h5"] == "missing (not needed: usps loads from the other files)"
    (home / "usps" / "usps_test.jf").write_bytes(b"changed\n")
    assert _run_cli(["datasets", "verify", "usps", "--data-dir", str(home)]) == 1
    assert "MISMATCH" in capsys.readouterr().out


def test_cli_fetch(shared_data, tmp_path, http_root, monkeypatch, capsys):
    _need(shared_data, *_catalog.CATALOG["pendigits"].paths)
    root, base = http_root
    for rel in _catalog.CATALOG["pendigits"].paths:
        fname = rel.rsplit("/", 1)[1]
        shutil.copyfile(shared_data / rel, root / fname)
        _patch_entry(monkeypatch, rel, url=f"{base}/{fname}")
    monkeypatch.setenv(ds.DATA_ENV, str(tmp_path / "env-data"))
    assert _run_cli(["datasets", "fetch", "pendigits"]) == 0
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
