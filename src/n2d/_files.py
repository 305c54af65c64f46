"""Reading user data files for the command line: .npy, .npz and .csv."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from .exceptions import DataFileError

SUFFIXES = (".npy", ".npz", ".csv")
_NPZ_X = ("x", "X", "data")
_NPZ_Y = ("y", "labels", "target")


def read_data_file(path, label_column=None):
    """Read features (and labels, if any) from a user file.

    - ``.npy``: a 2-D numeric array of features.
    - ``.npz``: features under ``x`` (or ``X``, ``data``), optional labels under
      ``y`` (or ``labels``, ``target``).
    - ``.csv``: numeric columns, with an optional header row. ``label_column``
      (a header name or a 0-based index) is taken out as labels.

    Returns
    -------
    x : ndarray of shape (n_samples, n_features), float32
    y : ndarray of shape (n_samples,) or None
    """
    path = Path(path)
    if not path.is_file():
        raise DataFileError(f"Data file not found: {path}")
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise DataFileError(f"Cannot read {path}: unsupported file type {suffix!r}; use one of {', '.join(SUFFIXES)}.")
    if label_column is not None and suffix != ".csv":
        raise DataFileError("--label-column applies to .csv files only; .npz files carry labels under 'y'.")
    try:
        if suffix == ".npy":
            x, y = np.load(path, allow_pickle=False), None
        elif suffix == ".npz":
            x, y = _read_npz(path)
        else:
            x, y = _read_csv(path, label_column)
    except DataFileError:
        raise
    except (ValueError, OSError, EOFError) as exc:
        raise DataFileError(f"Cannot read {path}: {exc}") from exc
    if x.ndim != 2:
        raise DataFileError(f"{path} must hold a 2-D array of shape (n_samples, n_features); got shape {x.shape}.")
    if x.dtype.kind not in "biuf":
        raise DataFileError(f"{path} must hold numbers; got an array of dtype {x.dtype}.")
    if y is not None and len(y) != len(x):
        raise DataFileError(f"{path}: {len(y)} labels for {len(x)} samples.")
    return np.asarray(x, dtype=np.float32), y


def _read_npz(path):
    with np.load(path, allow_pickle=False) as z:
        keys = list(z.keys())
        xk = next((k for k in _NPZ_X if k in z), None)
        if xk is None:
            if len(keys) == 1:
                xk = keys[0]
            else:
                raise DataFileError(f"{path} has arrays {keys}; put the features under 'x' (labels optionally under 'y').")
        yk = next((k for k in _NPZ_Y if k in z), None)
        return z[xk], (z[yk] if yk else None)


def _read_csv(path, label_column):
    with open(path, newline="") as f:
        rows = [r for r in csv.reader(f) if r and any(c.strip() for c in r)]
    if not rows:
        raise DataFileError(f"{path} is empty.")
    header = None
    if not _is_numeric_row(rows[0]):
        header, rows = [c.strip() for c in rows[0]], rows[1:]
    if not rows:
        raise DataFileError(f"{path} has a header but no data rows.")
    width = len(rows[0])
    for i, r in enumerate(rows):
        if len(r) != width:
            raise DataFileError(f"{path}: row {i + 1 + (header is not None)} has {len(r)} fields, expected {width}.")
    col = _label_index(label_column, header, width, path)
    y = None
    if col is not None:
        y = np.array([r[col].strip() for r in rows])
        try:
            y = y.astype(np.int64)
        except ValueError:
            pass
        rows = [r[:col] + r[col + 1 :] for r in rows]
    try:
        x = np.array([[float(c) for c in r] for r in rows], dtype=np.float64)
    except ValueError as exc:
        raise DataFileError(
            f"{path} has a non-numeric value ({exc}); all feature columns must be numbers "
            "(name a text label column with --label-column)."
        ) from exc
    return x, y


def _is_numeric_row(row) -> bool:
    try:
        [float(c) for c in row]
    except ValueError:
        return False
    return True


def _label_index(label_column, header, width, path):
    if label_column is None:
        return None
    if header is not None and str(label_column) in header:
        return header.index(str(label_column))
    try:
        idx = int(label_column)
    except (TypeError, ValueError):
        names = ", ".join(header) if header else "none (the file has no header)"
        raise DataFileError(f"{path}: no label column {label_column!r}; columns: {names}.") from None
    if not -width <= idx < width:
        raise DataFileError(f"{path}: label column index {idx} is out of range for {width} columns.")
    return idx % width
