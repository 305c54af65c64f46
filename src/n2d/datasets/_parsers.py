"""One parser per file format, preprocessing as the N2D paper's reference code does.

A parser takes ``{role: path}`` (the roles a catalog :class:`~n2d.datasets._catalog.Form`
names) and returns ``(x, y, target_names)``: float32 features, int64 labels in
``0 .. n_classes - 1``, and the class names, or None when the catalog entry
holds them. Each follows the matching ``load_*`` function of
https://github.com/rymc/n2d (``datasets.py``). A file that does not have the
expected format raises :class:`~n2d.exceptions.DataFileError`.
"""

from __future__ import annotations

import gzip
import struct
import warnings
from pathlib import Path

import numpy as np

from n2d.datasets._errors import short
from n2d.exceptions import DataFileError

__all__ = ["USPS_SCALE", "parse_har", "parse_idx", "parse_pendigits", "parse_usps_h5", "parse_usps_jf"]

USPS_SCALE = 2.0
"""USPS grey values are kept in [0, 2], as the N2D reference code reads the .jf files.

``usps.h5`` stores the same values divided by 2, so it is multiplied by this
factor to give the paper's input; the .jf values are used as they are.
"""


# --------------------------------------------------------------------------------------
# Shared readers
# --------------------------------------------------------------------------------------


def _parse_floats(text: str, path: Path) -> np.ndarray:
    """Parse whitespace-separated numbers with numpy's C parser, as float64.

    Parsing stops at the first token that is not a number (older numpy) or
    raises (newer numpy); callers compare the count with the expected one.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return np.fromstring(text, dtype=np.float64, sep=" ")
    except ValueError as exc:
        raise DataFileError(f"{path}: found text that is not a number ({short(exc)}).") from None


def _read_text(path: Path) -> str:
    """Read an ASCII text file, decompressing it if its name ends in ``.gz``."""
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="ascii") as f:
            return f.read()
    except UnicodeDecodeError as exc:
        raise DataFileError(f"{path} is not an ASCII text file ({short(exc)}).") from None


# --------------------------------------------------------------------------------------
# IDX (MNIST, Fashion-MNIST)
# --------------------------------------------------------------------------------------


def read_idx(path: Path, *, images: bool) -> np.ndarray:
    """Read a gzip-compressed IDX file (MNIST format) into a uint8 array."""
    try:
        with gzip.open(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as exc:
        raise DataFileError(f"{path} is not a readable gzip file ({short(exc)}).") from None
    header = 16 if images else 8
    if len(data) < header:
        raise DataFileError(f"{path} is too short to be an IDX file.")
    magic, count = struct.unpack(">II", data[:8])
    expected_magic = 2051 if images else 2049
    if magic != expected_magic:
        raise DataFileError(f"{path}: IDX magic number {magic}, expected {expected_magic}.")
    shape: tuple[int, ...] = (count,)
    if images:
        rows, cols = struct.unpack(">II", data[8:16])
        shape = (count, rows, cols)
    if len(data) != header + int(np.prod(shape)):
        raise DataFileError(
            f"{path}: {len(data) - header} data bytes, expected {int(np.prod(shape))}."
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def _idx_pair(images: Path, labels: Path) -> tuple[np.ndarray, np.ndarray]:
    x = read_idx(images, images=True)
    y = read_idx(labels, images=False)
    if x.shape[0] != y.shape[0]:
        raise DataFileError(
            f"{images} has {x.shape[0]} images but {labels} has {y.shape[0]} labels."
        )
    return x, y


def parse_idx(files: dict[str, Path]):
    """IDX image and label files: the train part then the test part, flattened and divided by 255.

    Follows ``load_mnist``, ``load_mnist_test`` and ``load_fashion`` of the N2D
    reference code: ``x_train`` and ``x_test`` concatenated (train first; a form
    may have only the test part), each image flattened row-major (28x28 -> 784)
    and divided by 255. Returns float32 features in [0, 1] and int64 labels.

    Roles: ``train-images``, ``train-labels`` (optional), ``test-images``,
    ``test-labels``.
    """
    xs, ys = [], []
    for part in ("train", "test"):
        if f"{part}-images" in files:
            x, y = _idx_pair(files[f"{part}-images"], files[f"{part}-labels"])
            xs.append(x)
            ys.append(y)
    imgs = np.concatenate(xs) if len(xs) > 1 else xs[0]
    x = imgs.reshape(imgs.shape[0], -1).astype(np.float32)
    x /= np.float32(255.0)
    return x, np.concatenate(ys).astype(np.int64), None


# --------------------------------------------------------------------------------------
# USPS: usps.h5 and the .jf text files
# --------------------------------------------------------------------------------------


def parse_usps_h5(files: dict[str, Path]):
    """USPS from usps.h5: train + test (9,298 x 256), multiplied by 2.

    usps.h5 holds the .jf grey values divided by 2 (values in [0, 1]); the N2D
    reference code (``load_usps``) uses the .jf values unscaled, in [0, 2], so
    the h5 data is multiplied by :data:`USPS_SCALE` to give the same input.
    Needs h5py (``pip install h5py``). Role: ``h5``.
    """
    path = files["h5"]
    try:
        import h5py
    except ImportError:
        raise ImportError(
            f"Reading {path} needs h5py, which is not installed: pip install h5py. "
            "Alternatively put usps_train.jf and usps_test.jf in "
            "the same folder; n2d reads those without h5py."
        ) from None
    xs, ys = [], []
    try:
        with h5py.File(path, "r") as f:
            for part in ("train", "test"):
                xs.append(np.asarray(f[part]["data"][:], dtype=np.float32))
                ys.append(np.asarray(f[part]["target"][:]).astype(np.int64))
    except (OSError, KeyError) as exc:
        raise DataFileError(
            f"{path} does not have the expected train/test data/target layout ({short(exc)})."
        ) from None
    x = np.concatenate(xs)
    x *= np.float32(USPS_SCALE)
    y = np.concatenate(ys)
    if x.ndim != 2 or x.shape[1] != 256 or x.shape[0] != y.shape[0]:
        raise DataFileError(f"{path}: unexpected shapes x{x.shape}, y{y.shape}.")
    return x, y, None


def read_jf(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One .jf file: a ``10 256`` line, rows of a label and 256 grey values, a ``-1`` line."""
    text = _read_text(path)
    first, _, rest = text.partition("\n")
    if first.split() != ["10", "256"]:
        raise DataFileError(f"{path}: first line is {first!r}, expected '10 256'.")
    body, _, last = rest.rstrip().rpartition("\n")
    if last.strip() != "-1":
        raise DataFileError(f"{path}: last line is {last.strip()!r}, expected '-1'.")
    n_rows = body.count("\n") + 1
    values = _parse_floats(body, path)
    if values.size != n_rows * 257:
        raise DataFileError(
            f"{path}: {values.size} numbers in {n_rows} rows, expected 257 per row."
        )
    values = values.reshape(n_rows, 257)
    labels = values[:, 0]
    if not np.array_equal(labels, np.round(labels)) or labels.min() < 0 or labels.max() > 9:
        raise DataFileError(f"{path}: the first column must hold integer labels 0-9.")
    return values[:, 1:].astype(np.float32), labels.astype(np.int64)


def parse_usps_jf(files: dict[str, Path]):
    """USPS from the .jf text files: train + test (9,298 x 256), values unscaled in [0, 2].

    Follows ``load_usps`` of the N2D reference code: skip the first line
    (``10 256``) and the last (``-1``); each row is a label followed by 256 grey
    values; train and test are concatenated. Values are kept as distributed, in
    [0, 2] (usps.h5 holds them divided by 2). Roles: ``train``, ``test``.
    """
    xs, ys = zip(*(read_jf(files[part]) for part in ("train", "test")), strict=True)
    x = np.concatenate(xs)
    if USPS_SCALE != 2.0:  # the .jf form is the paper's; rescale only if that changes
        x *= np.float32(USPS_SCALE / 2.0)
    return x, np.concatenate(ys), None


# --------------------------------------------------------------------------------------
# pendigits: comma-separated integer tables
# --------------------------------------------------------------------------------------


def read_pendigits(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One pendigits file: 16 integer coordinates and the digit per comma-separated row."""
    try:
        data = np.loadtxt(path, delimiter=",", dtype=np.int64, ndmin=2)
    except ValueError as exc:
        raise DataFileError(
            f"{path} is not a comma-separated integer table ({short(exc)})."
        ) from None
    if data.shape[1] != 17:
        raise DataFileError(f"{path}: {data.shape[1]} columns, expected 17.")
    return data[:, :16], data[:, 16]


def parse_pendigits(files: dict[str, Path]):
    """pendigits: .tra + .tes (10,992 x 16), features divided by 100.

    Follows ``load_pendigits`` of the N2D reference code: 16 integer coordinates
    in 0..100 per row, then the digit; the training file first, features divided
    by 100 (float32 in [0, 1]). Roles: ``train``, ``test``.
    """
    xs, ys = zip(*(read_pendigits(files[part]) for part in ("train", "test")), strict=True)
    x = np.concatenate(xs).astype(np.float32)
    x /= np.float32(100.0)
    return x, np.concatenate(ys).astype(np.int64), None


# --------------------------------------------------------------------------------------
# HAR: whitespace-separated text matrices and label files
# --------------------------------------------------------------------------------------


def read_har_matrix(path: Path) -> np.ndarray:
    """One HAR feature file: 561 whitespace-separated numbers per line."""
    text = _read_text(path)
    n_rows = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
    values = _parse_floats(text, path)
    if n_rows == 0 or values.size != n_rows * 561:
        raise DataFileError(
            f"{path}: {values.size} numbers in {n_rows} lines, expected 561 per line."
        )
    return values.reshape(n_rows, 561).astype(np.float32)


def read_har_labels(path: Path) -> np.ndarray:
    """One HAR label file: an activity id 1-6 per line."""
    text = _read_text(path)
    try:
        y = np.array(text.split(), dtype=np.int64)
    except ValueError as exc:
        raise DataFileError(
            f"{path}: expected one integer activity id per line ({short(exc)})."
        ) from None
    if y.size and (y.min() < 1 or y.max() > 6):
        raise DataFileError(f"{path}: activity ids must be 1-6, found {y.min()}-{y.max()}.")
    return y


def read_har_activities(path: Path) -> tuple[str, ...]:
    """HAR's activity_labels.txt: the six activity names, by id."""
    pairs = [line.split() for line in _read_text(path).splitlines() if line.strip()]
    if [p[0] for p in pairs] != [str(i) for i in range(1, 7)] or any(len(p) != 2 for p in pairs):
        raise DataFileError(f"{path}: expected six lines '<id> <NAME>' with ids 1-6.")
    return tuple(p[1] for p in pairs)


def parse_har(files: dict[str, Path]):
    """HAR: X_train + X_test (10,299 x 561) as distributed; labels = activity id - 1.

    Follows ``load_har`` of the N2D reference code: the whitespace-separated
    features (already normalized to [-1, 1] by the dataset authors) are used
    unchanged, train first; the activity ids 1-6 of ``y_*.txt`` become 0-5.
    Class names come from ``activity_labels.txt``. Roles: ``train-features``,
    ``test-features``, ``train-labels``, ``test-labels``, ``class-names``.
    """
    xs, ys = [], []
    for part in ("train", "test"):
        features, labels = files[f"{part}-features"], files[f"{part}-labels"]
        x = read_har_matrix(features)
        y = read_har_labels(labels)
        if x.shape[0] != y.shape[0]:
            raise DataFileError(
                f"{features} has {x.shape[0]} rows but {labels} has {y.shape[0]} labels."
            )
        xs.append(x)
        ys.append(y)
    names = read_har_activities(files["class-names"])
    return np.concatenate(xs), np.concatenate(ys) - 1, names
