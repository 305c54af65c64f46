"""The parsers (n2d.datasets._parsers), one per file format."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest
from datasets_helpers import (
    HAR_NAMES,
    HAR_TEST_COUNTS,
    HAR_TRAIN_COUNTS,
    counts,
    need,
)

from n2d.datasets import _parsers
from n2d.exceptions import DataFileError


def test_har_real_labels_parse_with_documented_counts(shared_data):
    need(shared_data, "har/y_train.txt", "har/y_test.txt", "har/activity_labels.txt")
    y_train = _parsers.read_har_labels(shared_data / "har" / "y_train.txt")
    y_test = _parsers.read_har_labels(shared_data / "har" / "y_test.txt")
    assert counts(y_train - 1, 6) == HAR_TRAIN_COUNTS
    assert counts(y_test - 1, 6) == HAR_TEST_COUNTS
    assert _parsers.read_har_activities(shared_data / "har" / "activity_labels.txt") == HAR_NAMES


def _write_idx(path, array: np.ndarray) -> None:
    """A gzipped IDX file: images (n, rows, cols) with magic 2051, labels (n,) with 2049."""
    magic = 2051 if array.ndim == 3 else 2049
    header = struct.pack(">II", magic, array.shape[0]) + b"".join(struct.pack(">I", d) for d in array.shape[1:])
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))


def test_parse_idx_puts_train_first_flattens_and_scales(tmp_path):
    rng = np.random.default_rng(0)
    parts = {}
    for part, n in (("train", 3), ("test", 2)):
        images, labels = rng.integers(0, 256, (n, 4, 5)), rng.integers(0, 10, n)
        _write_idx(tmp_path / f"{part}-images", images)
        _write_idx(tmp_path / f"{part}-labels", labels)
        parts[part] = images, labels
    files = {f"{p}-{kind}": tmp_path / f"{p}-{kind}" for p in ("train", "test") for kind in ("images", "labels")}
    x, y, names = _parsers.parse_idx(files)
    images = np.concatenate([parts["train"][0], parts["test"][0]])
    np.testing.assert_array_equal(x, images.reshape(5, 20).astype(np.float32) / np.float32(255))
    np.testing.assert_array_equal(y, np.concatenate([parts["train"][1], parts["test"][1]]))
    assert x.dtype == np.float32 and y.dtype == np.int64 and names is None
    test_only = {k: v for k, v in files.items() if k.startswith("test")}  # mnist-test's form
    x, y, _ = _parsers.parse_idx(test_only)
    np.testing.assert_array_equal(y, parts["test"][1])
    assert x.shape == (2, 20)


def test_idx_errors_name_the_file(tmp_path):
    _write_idx(tmp_path / "labels", np.arange(20) % 10)
    with pytest.raises(DataFileError, match=r"labels: IDX magic number 2049, expected 2051"):
        _parsers.read_idx(tmp_path / "labels", images=True)
    (tmp_path / "short").write_bytes(gzip.compress(b"\0\0\x08\x01\0\0\0\x05ab"))
    with pytest.raises(DataFileError, match=r"short: 2 data bytes, expected 5"):
        _parsers.read_idx(tmp_path / "short", images=False)
    (tmp_path / "plain").write_bytes(b"not gzip")
    with pytest.raises(DataFileError, match="not a readable gzip file"):
        _parsers.read_idx(tmp_path / "plain", images=False)
    _write_idx(tmp_path / "images", np.zeros((2, 2, 2)))
    with pytest.raises(DataFileError, match="has 2 images but .* has 20 labels"):
        _parsers.parse_idx({"test-images": tmp_path / "images", "test-labels": tmp_path / "labels"})


def _jf_text(rows) -> str:
    lines = (" ".join([str(label)] + [repr(float(v)) for v in values]) for label, values in rows)
    return "10 256\n" + "".join(line + "\n" for line in lines) + "-1\n"


def test_parse_usps_jf_keeps_the_values_and_puts_train_first(tmp_path):
    train = [(3, np.full(256, 0.5)), (7, np.linspace(0, 2, 256))]
    test = [(0, np.full(256, 2.0))]
    (tmp_path / "train.jf").write_text(_jf_text(train))
    (tmp_path / "test.jf").write_text(_jf_text(test))
    x, y, names = _parsers.parse_usps_jf({"train": tmp_path / "train.jf", "test": tmp_path / "test.jf"})
    assert x.shape == (3, 256) and x.dtype == np.float32 and names is None
    assert y.tolist() == [3, 7, 0] and y.dtype == np.int64
    np.testing.assert_array_equal(x[1], np.linspace(0, 2, 256).astype(np.float32))
    assert x.max() == 2.0  # unscaled: the paper's input


def test_jf_errors_name_the_file(tmp_path):
    (tmp_path / "a.jf").write_text("9 256\n-1\n")
    with pytest.raises(DataFileError, match=r"a\.jf: first line is '9 256', expected '10 256'"):
        _parsers.read_jf(tmp_path / "a.jf")
    (tmp_path / "b.jf").write_text(_jf_text([(1, np.zeros(256))]).replace("-1\n", ""))
    with pytest.raises(DataFileError, match=r"b\.jf: last line .* expected '-1'"):
        _parsers.read_jf(tmp_path / "b.jf")
    (tmp_path / "c.jf").write_text(_jf_text([(12, np.zeros(256))]))
    with pytest.raises(DataFileError, match="integer labels 0-9"):
        _parsers.read_jf(tmp_path / "c.jf")


def test_parse_pendigits_divides_by_100_and_checks_columns(tmp_path):
    (tmp_path / "tra").write_text("0,100,50,1,2,3,4,5,6,7,8,9,10,11,12,13,4\n")
    (tmp_path / "tes").write_text("100,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,9\n")
    x, y, names = _parsers.parse_pendigits({"train": tmp_path / "tra", "test": tmp_path / "tes"})
    assert x.dtype == np.float32 and x.shape == (2, 16) and names is None
    np.testing.assert_array_equal(x[0, :3], np.float32([0, 100, 50]) / np.float32(100))
    assert y.tolist() == [4, 9] and y.dtype == np.int64
    (tmp_path / "bad").write_text("1,2,3\n")
    with pytest.raises(DataFileError, match="3 columns, expected 17"):
        _parsers.read_pendigits(tmp_path / "bad")


def test_har_readers_check_the_format(tmp_path):
    (tmp_path / "X.txt").write_text(" 1.0e+000 2.0e+000\n")
    with pytest.raises(DataFileError, match="2 numbers in 1 lines, expected 561 per line"):
        _parsers.read_har_matrix(tmp_path / "X.txt")
    (tmp_path / "y.txt").write_text("1\n7\n")
    with pytest.raises(DataFileError, match="activity ids must be 1-6, found 1-7"):
        _parsers.read_har_labels(tmp_path / "y.txt")
    (tmp_path / "labels.txt").write_text("1 WALKING\n")
    with pytest.raises(DataFileError, match="six lines"):
        _parsers.read_har_activities(tmp_path / "labels.txt")
    (tmp_path / "latin.txt").write_bytes("1 GEHEN\xe9\n".encode("latin-1"))
    with pytest.raises(DataFileError, match="not an ASCII text file"):
        _parsers.read_har_activities(tmp_path / "latin.txt")
