"""Constants and helpers shared by the tests of n2d.datasets (imported as ``datasets_helpers``).

The six datasets are read from the project's shared data folder
(``<root>/../shared/data``, or ``$N2D_TEST_SHARED_DATA``); tests that need it
skip when it is absent. HAR's feature matrices are not in the shared folder, so
HAR is exercised on a tiny generated copy in the original file format
(:func:`make_har`).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

import n2d.datasets as ds
from n2d.cli import datasets as _cli_datasets
from n2d.datasets import _local, _registry

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


def need(root: Path, *relpaths: str) -> None:
    missing = [p for p in relpaths if not (root / p).is_file()]
    if missing:
        pytest.skip(f"shared data lacks {', '.join(missing)} (looked in {root})")


def har_features_present(root: Path) -> bool:
    """HAR's X_train/X_test (plain or .gz) are in ``root/har``."""
    return all(_local.local_file(root, rel) for rel in ("har/X_train.txt", "har/X_test.txt"))


def check_common(d: ds.Dataset, name, n, n_features, names):
    assert d.name == name
    assert d.x.shape == (n, n_features)
    assert d.x.dtype == np.float32 and d.x.flags.c_contiguous
    assert d.y.shape == (n,) and d.y.dtype == np.int64
    assert d.target_names == names
    assert d.n_clusters == len(names)
    assert set(np.unique(d.y).tolist()) == set(range(len(names)))
    assert np.isfinite(d.x).all()
    assert "License" in d.description and "http" in d.description


def counts(y, k):
    return np.bincount(y, minlength=k).tolist()


def patch_entry(monkeypatch, relpath: str, **changes) -> None:
    reg = _registry.registry()
    monkeypatch.setitem(reg, relpath, dataclasses.replace(reg[relpath], **changes))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def git_blob(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def copy_dir(src: Path, dst: Path, names) -> Path:
    dst.mkdir(parents=True, exist_ok=True)
    for n in names:
        shutil.copyfile(src / n, dst / n)
    return dst


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def _har_format(v: float) -> str:
    mantissa, exp = f"{v:.7e}".split("e")
    return f"{mantissa}e{int(exp):+04d}".rjust(16)  # e.g. "  2.8858451e-001"


def make_har(folder: Path, seed: int = 0) -> dict:
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


def patch_har_hashes(monkeypatch, har: dict, url=None) -> None:
    """Point the registry at the generated HAR files (X_train by git blob id)."""
    x_tr, _, xtext_tr, ytext_tr = har["train"]
    _, _, xtext_te, ytext_te = har["test"]
    extra = {} if url is None else {"url": url}
    patch_entry(monkeypatch, "har/X_train.txt", alg="gitblob", digest=git_blob(xtext_tr), **extra)
    patch_entry(monkeypatch, "har/X_test.txt", alg="sha256", digest=sha256(xtext_te), **extra)
    patch_entry(monkeypatch, "har/y_train.txt", digest=sha256(ytext_tr), **extra)
    patch_entry(monkeypatch, "har/y_test.txt", digest=sha256(ytext_te), **extra)
    if url is not None:
        patch_entry(monkeypatch, "har/activity_labels.txt", url=url)


def no_staging_left(folder: Path) -> bool:
    return not list(folder.glob(".n2d-download-*"))


def run_cli(argv) -> int:
    parser = argparse.ArgumentParser(prog="n2d")
    sub = parser.add_subparsers(dest="command", required=True)
    _cli_datasets.add_parser(sub)
    args = parser.parse_args(argv)
    return args.func(args)
