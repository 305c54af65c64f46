"""Reading user data files for the command line: .npy, .npz and .csv."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from n2d.exceptions import DataFileError

SUFFIXES = (".npy", ".npz", ".csv")
_NPZ_X = ("x", "X", "data")
_NPZ_Y = ("y", "labels", "target")
MISSING = ("", "nan", "na", "n/a", "null", "none")
"""CSV cells (stripped, lower case) that mean a missing value."""
_SHOW_COLUMNS = 20


@dataclass
class DataFile:
    """What :func:`read_data` found in a file.

    Attributes
    ----------
    x : ndarray of shape (n_samples, n_features), float32
    y : ndarray of shape (n_samples,) or None
        Labels, if the file has them.
    feature_names : list of str or None
        The CSV header names of the feature columns, in the order of ``x``;
        None for a file without a header (or with repeated names), .npy and .npz.
    """

    x: np.ndarray
    y: np.ndarray | None
    feature_names: list[str] | None = None


def read_data_file(path, label_column=None):
    """Read features (and labels, if any) from a user file; see :func:`read_data`.

    Returns
    -------
    x : ndarray of shape (n_samples, n_features), float32
    y : ndarray of shape (n_samples,) or None
    """
    data = read_data(path, label_column)
    return data.x, data.y


def read_data(path, label_column=None, columns=None, drop_columns=None) -> DataFile:
    """Read features, labels and feature names from a user file.

    - ``.npy``: a 2-D numeric array of features.
    - ``.npz``: features under ``x`` (or ``X``, ``data``), optional labels under
      ``y`` (or ``labels``, ``target``).
    - ``.csv``: numeric columns, with an optional header row. ``label_column``
      (a header name or a 0-based index) is taken out as labels.

    Parameters
    ----------
    path : str or path-like
    label_column : str or int, default=None
        CSV column holding labels (a header name or a 0-based index).
    columns, drop_columns : str or sequence, default=None
        Keep only these feature columns, or all but these; header names or
        0-based indices, as a sequence or one comma-separated string. At most
        one of the two. Indices also work on .npy and .npz files.

    Returns
    -------
    DataFile

    Raises
    ------
    DataFileError
        If the file is missing, unreadable or of another type, or a feature
        value is missing, non-numeric or infinite (the message names the
        column and the line or row).
    """
    path = Path(path)
    suffix = _check_request(path, label_column, columns, drop_columns)
    columns, drop_columns = _split(columns), _split(drop_columns)
    try:
        if suffix == ".csv":
            return _read_csv(path, label_column, columns, drop_columns)
        if suffix == ".npy":
            x, y = np.load(path, allow_pickle=False), None
        else:
            x, y = _read_npz(path)
    except DataFileError:
        raise
    except (ValueError, OSError, EOFError) as exc:
        raise DataFileError(f"Cannot read {path}: {exc}") from exc
    _check_layout(path, x)
    if y is not None and len(y) != len(x):
        raise DataFileError(f"{path}: {len(y)} labels for {len(x)} samples.")
    if columns is not None or drop_columns is not None:
        keep = _select(path, None, x.shape[1], None, columns, drop_columns)
        x = x[:, keep]
    _check_finite_array(path, x)
    return DataFile(np.asarray(x, dtype=np.float32), y)


def map_npy(path, label_column=None, columns=None, drop_columns=None) -> tuple[np.ndarray, list[int] | None]:
    """Open a .npy file memory-mapped, read-only, with :func:`read_data`'s checks but without reading its rows.

    Parameters
    ----------
    path : str or path-like
        A ``.npy`` file holding a 2-D numeric array.
    label_column : None
        Accepted for the same calls as :func:`read_data`; a .npy file has no
        label column, so anything else is refused.
    columns, drop_columns : str or sequence, default=None
        As in :func:`read_data` (0-based indices).

    Returns
    -------
    x : numpy.memmap of shape (n_samples, n_columns)
        The whole array, not read yet (``np.load(path, mmap_mode="r")``).
    keep : list of int or None
        The feature columns of ``x`` in order, or None for all of them.

    Raises
    ------
    DataFileError
        As :func:`read_data`, except that NaN and inf are not looked for
        (that would read the whole file); check each block as it is read.
    """
    path = Path(path)
    suffix = _check_request(path, label_column, columns, drop_columns)
    if suffix != ".npy":
        raise DataFileError(f"Cannot memory-map {path}: only .npy files can be read in blocks.")
    columns, drop_columns = _split(columns), _split(drop_columns)
    try:
        x = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise DataFileError(f"Cannot read {path}: {exc}") from exc
    _check_layout(path, x)
    keep = None
    if columns is not None or drop_columns is not None:
        keep = _select(path, None, x.shape[1], None, columns, drop_columns)
    return x, keep


def _check_request(path: Path, label_column, columns, drop_columns) -> str:
    """The file's suffix, after checking that it exists, is of a known type and the options apply to it."""
    if not path.is_file():
        raise DataFileError(f"Data file not found: {path}")
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise DataFileError(f"Cannot read {path}: unsupported file type {suffix!r}; use one of {', '.join(SUFFIXES)}.")
    if label_column is not None and suffix != ".csv":
        raise DataFileError("--label-column applies to .csv files only; .npz files carry labels under 'y'.")
    if columns is not None and drop_columns is not None:
        raise DataFileError("Give --columns or --drop-columns, not both.")
    return suffix


def _check_layout(path: Path, x: np.ndarray) -> None:
    if x.ndim != 2:
        raise DataFileError(f"{path} must hold a 2-D array of shape (n_samples, n_features); got shape {x.shape}.")
    if x.dtype.kind not in "biuf":
        raise DataFileError(f"{path} must hold numbers; got an array of dtype {x.dtype}.")


def _split(spec):
    if spec is None:
        return None
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    items = [str(s).strip() for s in items if str(s).strip()]
    if not items:
        raise DataFileError("--columns and --drop-columns need at least one column name or index.")
    return items


def _read_npz(path):
    with np.load(path, allow_pickle=False) as z:
        keys = list(z.keys())
        xk = next((k for k in _NPZ_X if k in z), None)
        if xk is None:
            if len(keys) == 1:
                xk = keys[0]
            else:
                raise DataFileError(
                    f"{path} has arrays {keys}; put the features under 'x' (labels optionally under 'y')."
                )
        yk = next((k for k in _NPZ_Y if k in z), None)
        return z[xk], (z[yk] if yk else None)


def _check_finite_array(path, x):
    if x.dtype.kind != "f":
        return
    bad = ~np.isfinite(x)
    if not bad.any():
        return
    i, j = (int(v) for v in np.argwhere(bad)[0])
    what = "missing value (NaN)" if np.isnan(x[i, j]) else f"infinite value ({x[i, j]})"
    raise DataFileError(
        f"{path}: {what} at row {i}, column {j} (0-based); {int(bad.sum())} non-finite value(s) in all. "
        "Every feature must be a finite number: fill them in, or leave the column out with --drop-columns."
    )


def _read_csv(path, label_column, columns, drop_columns) -> DataFile:
    with open(path, newline="") as f:
        reader = csv.reader(f)
        rows, lines = [], []
        for r in reader:
            if r and any(c.strip() for c in r):
                rows.append(r)
                lines.append(reader.line_num)
    if not rows:
        raise DataFileError(f"{path} is empty.")
    header = None
    if _is_header(rows[0]):
        header, rows, lines = [c.strip() for c in rows[0]], rows[1:], lines[1:]
    if not rows:
        raise DataFileError(f"{path} has a header but no data rows.")
    width = len(header) if header is not None else len(rows[0])
    for r, line in zip(rows, lines):
        if len(r) != width:
            raise DataFileError(f"{path}: line {line} has {len(r)} fields, expected {width}.")
    label = _label_index(label_column, header, width, path)
    keep = _select(path, header, width, label, columns, drop_columns)
    y = None
    if label is not None:
        y = np.array([r[label].strip() for r in rows])
        try:
            y = y.astype(np.int64)
        except ValueError:
            pass
    cells = np.array([[r[j] for j in keep] for r in rows], dtype=str)
    try:
        x = cells.astype(np.float64)
    except ValueError:
        x = None
    if x is None or not np.isfinite(x).all():
        _raise_bad_cell(path, cells, keep, header, lines)
    names = None
    if header is not None:
        names = [header[j] for j in keep]
        if len(set(names)) < len(names):
            names = None  # repeated names cannot identify columns
    return DataFile(x, y, names)


def _is_header(row) -> bool:
    """A first row is a header if a non-empty cell in it is not a number."""
    for c in row:
        c = c.strip()
        if c.lower() in MISSING:
            continue
        try:
            float(c)
        except ValueError:
            return True
    return False


def _column(header, j) -> str:
    return f"{header[j]!r}" if header is not None else f"{j} (0-based)"


def _raise_bad_cell(path, cells, keep, header, lines):
    """Raise the error for the first missing, non-numeric or infinite cell (in file order)."""
    stripped = np.char.lower(np.char.strip(cells))
    missing = np.isin(stripped, MISSING)
    n_missing = int(missing.sum())
    for i in range(cells.shape[0]):
        for k in range(cells.shape[1]):
            cell = cells[i, k]
            where = f"in column {_column(header, keep[k])} at line {lines[i]}"
            if missing[i, k]:
                what = "an empty cell" if not cell.strip() else repr(cell.strip())
                more = f"; {n_missing} missing values in all" if n_missing > 1 else ""
                raise DataFileError(
                    f"{path}: missing value ({what}) {where}{more}. Every feature needs a number: fill it in, "
                    "or leave the column out with --drop-columns."
                )
            try:
                value = float(cell)
            except ValueError:
                raise DataFileError(
                    f"{path}: non-numeric value {cell.strip()!r} {where}. Feature columns must hold numbers: "
                    "leave text columns out with --drop-columns (or pick features with --columns), "
                    "or name a label column with --label-column."
                ) from None
            if not np.isfinite(value):
                raise DataFileError(
                    f"{path}: infinite value {cell.strip()!r} {where}. Every feature must be a finite number."
                )
    raise AssertionError("no bad cell found")  # pragma: no cover - only called when one exists


def _names(header, width) -> str:
    if header is None:
        return f"none (the file has no header; use 0-based indices below {width})"
    shown = ", ".join(header[:_SHOW_COLUMNS])
    return shown + (f", ... ({width} in all)" if width > _SHOW_COLUMNS else "")


def _resolve(path, token, header, width, option) -> int:
    """Index of a column given by header name or 0-based index."""
    if header is not None and token in header:
        return header.index(token)
    try:
        idx = int(token)
    except (TypeError, ValueError):
        raise DataFileError(f"{path}: no column {token!r} ({option}); columns: {_names(header, width)}.") from None
    if not -width <= idx < width:
        raise DataFileError(f"{path}: column index {idx} ({option}) is out of range for {width} columns.")
    return idx % width


def _select(path, header, width, label, columns, drop_columns) -> list[int]:
    """Indices of the feature columns: all but the label, narrowed by --columns or --drop-columns."""
    if columns is not None:
        keep = [_resolve(path, c, header, width, "--columns") for c in columns]
        if label is not None and label in keep:
            raise DataFileError(
                f"{path}: --columns names the label column {_column(header, label)}; labels are not features."
            )
        dup = sorted({c for c in keep if keep.count(c) > 1})
        if dup:
            raise DataFileError(f"{path}: --columns names column {_column(header, dup[0])} more than once.")
    else:
        drop = {_resolve(path, c, header, width, "--drop-columns") for c in drop_columns or ()}
        keep = [j for j in range(width) if j != label and j not in drop]
    if not keep:
        raise DataFileError(f"{path}: no feature columns left after --drop-columns and --label-column.")
    return keep


def _label_index(label_column, header, width, path):
    if label_column is None:
        return None
    if header is not None and str(label_column) in header:
        return header.index(str(label_column))
    try:
        idx = int(label_column)
    except (TypeError, ValueError):
        raise DataFileError(f"{path}: no label column {label_column!r}; columns: {_names(header, width)}.") from None
    if not -width <= idx < width:
        raise DataFileError(f"{path}: label column index {idx} is out of range for {width} columns.")
    return idx % width
