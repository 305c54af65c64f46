"""Loading the datasets (n2d.datasets._load): shapes, dtypes, ranges, class counts, names, errors."""

from __future__ import annotations

import dataclasses
import gzip
import sys

import numpy as np
import pytest
from datasets_helpers import (
    DIGITS,
    FASHION_NAMES,
    HAR_NAMES,
    HAR_TRAIN_COUNTS,
    MNIST_TEST_COUNTS,
    MNIST_TRAIN_COUNTS,
    PEN_TEST_COUNTS,
    PEN_TRAIN_COUNTS,
    USPS_JF,
    USPS_TEST_COUNTS,
    USPS_TRAIN_COUNTS,
    check_common,
    counts,
    har_features_present,
    make_har,
    need,
    patch_har_hashes,
)

import n2d.datasets as ds
from n2d.datasets import _local
from n2d.exceptions import ChecksumError, DatasetNotFoundError


def test_load_mnist_is_train_plus_test_scaled_to_unit_range(load_shared):
    d = load_shared("mnist")
    check_common(d, "mnist", 70000, 784, DIGITS)
    assert d.x.min() == 0.0 and d.x.max() == 1.0
    assert counts(d.y[:60000], 10) == MNIST_TRAIN_COUNTS
    assert counts(d.y[60000:], 10) == MNIST_TEST_COUNTS
    # pixel values are k/255 exactly as in the reference code (x / 255.)
    assert np.allclose(np.round(d.x[:100] * 255), d.x[:100] * 255, atol=1e-4)


def test_load_mnist_test_is_the_t10k_part(load_shared):
    d = load_shared("mnist-test")
    check_common(d, "mnist-test", 10000, 784, DIGITS)
    assert counts(d.y, 10) == MNIST_TEST_COUNTS
    full = load_shared("mnist")
    np.testing.assert_array_equal(d.x, full.x[60000:])
    np.testing.assert_array_equal(d.y, full.y[60000:])


def test_load_fashion(load_shared):
    d = load_shared("fashion")
    check_common(d, "fashion", 70000, 784, FASHION_NAMES)
    assert d.x.min() == 0.0 and d.x.max() == 1.0
    assert counts(d.y[:60000], 10) == [6000] * 10
    assert counts(d.y[60000:], 10) == [1000] * 10


def test_load_usps_from_h5_uses_the_papers_jf_scale(load_shared, shared_data):
    h5py = pytest.importorskip("h5py")
    d = load_shared("usps")
    check_common(d, "usps", 9298, 256, DIGITS)
    assert d.x.min() == 0.0 and d.x.max() == 2.0
    assert counts(d.y[:7291], 10) == USPS_TRAIN_COUNTS
    assert counts(d.y[7291:], 10) == USPS_TEST_COUNTS
    with h5py.File(shared_data / "usps" / "usps.h5", "r") as f:
        raw = np.concatenate([f["train"]["data"][:], f["test"]["data"][:]])
    np.testing.assert_array_equal(d.x, raw * np.float32(2))


def test_load_usps_from_jf_matches_h5(load_shared, shared_data, tmp_path):
    need(shared_data, *USPS_JF)
    home = tmp_path / "data"
    (home / "usps").mkdir(parents=True)
    for rel in USPS_JF:  # only the .jf form present
        (home / rel).symlink_to(shared_data / rel)
    d = ds.load_dataset("usps", data_home=home, download=False)
    check_common(d, "usps", 9298, 256, DIGITS)
    assert d.x.min() == 0.0 and d.x.max() == 2.0
    assert counts(d.y[:7291], 10) == USPS_TRAIN_COUNTS
    assert counts(d.y[7291:], 10) == USPS_TEST_COUNTS
    # first training row, read by hand from the text file
    second_line = (shared_data / "usps" / "usps_train.jf").read_text().split("\n")[1].split()
    assert d.y[0] == int(second_line[0])
    np.testing.assert_array_equal(d.x[0], np.array(second_line[1:], dtype=np.float32))
    if (shared_data / "usps" / "usps.h5").is_file() and _local.module_available("h5py"):
        h5 = load_shared("usps")
        np.testing.assert_array_equal(d.y, h5.y)
        np.testing.assert_allclose(d.x, h5.x, rtol=0, atol=1e-6)


def test_usps_falls_back_to_jf_without_h5py(shared_data, monkeypatch):
    need(shared_data, *USPS_JF)
    monkeypatch.setitem(sys.modules, "h5py", None)  # import h5py -> ImportError
    d = ds.load_dataset("usps", data_home=shared_data, download=False)
    assert d.x.shape == (9298, 256) and d.x.max() == 2.0


def test_usps_h5_only_without_h5py_names_h5py(shared_data, tmp_path, monkeypatch):
    need(shared_data, "usps/usps.h5")
    home = tmp_path / "data"
    (home / "usps").mkdir(parents=True)
    (home / "usps" / "usps.h5").symlink_to(shared_data / "usps" / "usps.h5")
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(ImportError, match=r"pip install h5py\. "):
        ds.load_dataset("usps", data_home=home, download=False)


def test_load_pendigits_embedded_offline_and_from_dir(load_shared):
    d = ds.load_dataset("pendigits")  # no data_home, no $N2D_DATA_DIR: embedded copy
    check_common(d, "pendigits", 10992, 16, DIGITS)
    assert d.x.min() == 0.0 and d.x.max() == 1.0
    # x = integer coordinates / 100 and y = the last field, as in the reference code
    first_line = _local.embedded_file("pendigits/pendigits.tra").read_text().split("\n")[0]
    first_row = [int(v) for v in first_line.split(",")]
    np.testing.assert_array_equal(d.x[0], np.float32(first_row[:16]) / np.float32(100))
    assert d.y[0] == first_row[16]
    assert counts(d.y[:7494], 10) == PEN_TRAIN_COUNTS
    assert counts(d.y[7494:], 10) == PEN_TEST_COUNTS
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


def test_har_parser_on_generated_files(tmp_path, monkeypatch):
    har = make_har(tmp_path / "data" / "har")
    patch_har_hashes(monkeypatch, har)
    d = ds.load_dataset("har", data_home=tmp_path / "data", download=False)
    assert d.name == "har" and d.n_clusters == 6 and d.target_names == HAR_NAMES
    assert d.x.shape == (18, 561) and d.x.dtype == np.float32 and d.x.flags.c_contiguous
    expected_x = np.concatenate([har["train"][0], har["test"][0]]).astype(np.float32)
    np.testing.assert_allclose(d.x, expected_x, rtol=1e-6, atol=1e-7)
    assert d.x[0, 0] == -1.0 and d.x[0, 1] == 1.0 and d.x[0, 2] == 0.0
    np.testing.assert_array_equal(d.y, np.concatenate([har["train"][1], har["test"][1]]) - 1)
    assert d.y.dtype == np.int64


def test_har_gzip_copies_are_read_and_checked(tmp_path, monkeypatch):
    har = make_har(tmp_path / "data" / "har")
    patch_har_hashes(monkeypatch, har)
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


def test_har_missing_features_error_names_files_dir_and_url(shared_data):
    need(shared_data, "har/y_train.txt")
    if har_features_present(shared_data):
        pytest.skip("HAR feature files are present in the shared data")
    with pytest.raises(DatasetNotFoundError) as info:
        ds.load_dataset("har", data_home=shared_data, download=False)
    msg = str(info.value)
    assert "X_train.txt" in msg and "X_test.txt" in msg
    assert str(ds.resolve_data_home(shared_data) / "har") in msg
    assert "https://archive.ics.uci.edu/static/public/240/" in msg
    assert "data_home=" in msg and "--data-dir" in msg and ds.DATA_ENV in msg


def test_har_full_load_when_features_present(shared_data, tmp_path):
    if not har_features_present(shared_data):
        pytest.skip(f"shared data lacks the HAR feature files (looked in {shared_data / 'har'})")
    d = ds.load_dataset("har", data_home=shared_data, download=False)
    check_common(d, "har", 10299, 561, HAR_NAMES)
    assert d.x.min() >= -1.0 and d.x.max() <= 1.0
    assert counts(d.y[:7352], 6) == HAR_TRAIN_COUNTS


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
    assert present["har"] == har_features_present(shared_data)
