"""Prediction in blocks of rows, so that data larger than memory can be labelled.

:func:`predict_chunks` runs a fitted model's ``predict`` (or
``predict_proba``) on one block of rows at a time and yields each block's
result; only one block of the input and its result are in memory at once. A
memory-mapped input (``np.load(path, mmap_mode="r")``) is read block by block
and the pages of each block are released after use, so the process's resident
memory stays bounded by the block size, not by the file's size.

Each block is predicted exactly as ``model.predict(block)`` would, and since the
torch UMAP places each new point from the point and the model alone
(:mod:`n2d.manifold._transform`), the labels from blocks equal one ``predict`` of
the whole array, whatever the block size.
"""

from __future__ import annotations

import mmap
import warnings
from collections.abc import Iterator

import numpy as np

__all__ = ["DEFAULT_CHUNK_SIZE", "METHODS", "check_chunk_size", "chunk_bounds", "predict_chunks"]

DEFAULT_CHUNK_SIZE = 65_536
"""Rows per block when none is given: 65,536 rows of 50 float32 features are
13 MB of input, and the model's working memory for such a block (the
autoencoder's batches, the nearest-neighbour blocks, UMAP's refinement) stays
in the hundreds of megabytes."""

METHODS = ("predict", "predict_proba")


def check_chunk_size(value) -> int:
    """``value`` as a number of rows per block: an integer >= 1.

    Parameters
    ----------
    value : int or str
        An integer, or its decimal text (``"65536"``; ``"65_536"`` also reads).

    Returns
    -------
    chunk_size : int

    Raises
    ------
    ValueError
        If ``value`` is not an integer (a bool, a float, other text) or is below 1.
    """
    if isinstance(value, (bool, np.bool_)) or isinstance(value, (float, np.floating)):
        parsed = None
    elif isinstance(value, (int, np.integer)):
        parsed = int(value)
    else:
        try:
            parsed = int(str(value).strip())
        except ValueError:
            parsed = None
    if parsed is None or parsed < 1:
        raise ValueError(f"the chunk size must be an integer >= 1 (rows per block); got {value!r}.")
    return parsed


def chunk_bounds(n_rows: int, chunk_size: int) -> list[tuple[int, int]]:
    """``(start, stop)`` of each block of at most ``chunk_size`` rows, in order; the last may be shorter.

    Parameters
    ----------
    n_rows : int
    chunk_size : int

    Returns
    -------
    bounds : list of (int, int)
    """
    chunk_size = check_chunk_size(chunk_size)
    return [(start, min(start + chunk_size, n_rows)) for start in range(0, n_rows, chunk_size)]


def check_finite_block(block: np.ndarray, start: int, where: str = "X", columns=None) -> None:
    """Raise if a float block holds NaN or inf, naming the block's rows and the first bad value.

    Parameters
    ----------
    block : ndarray of shape (n_rows, n_features)
        The rows ``start .. start + n_rows - 1`` of the input.
    start : int
        Row offset of the block in the whole input (0-based).
    where : str, default="X"
        What the input is called in the message (a file name, say).
    columns : sequence of int, default=None
        The input's column number of each column of ``block`` (when only some
        were taken), for the message.

    Raises
    ------
    ValueError
        Naming the row range of the block, the row and column of the first
        non-finite value, and how many there are in the block.
    """
    if block.dtype.kind != "f":
        return
    bad = ~np.isfinite(block)
    if not bad.any():
        return
    i, j = (int(v) for v in np.argwhere(bad)[0])
    value = block[i, j]
    what = "missing value (NaN)" if np.isnan(value) else f"infinite value ({value})"
    column = j if columns is None else int(columns[j])
    stop = start + block.shape[0] - 1
    raise ValueError(
        f"{where}: {what} in rows {start}..{stop} (0-based), first at row {start + i}, column {column}; "
        f"{int(bad.sum())} non-finite value(s) in these rows. Every feature must be a finite number: fill them "
        "in or leave those rows out."
    )


def _method(model, method: str):
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}; got {method!r}.")
    check = getattr(model, "_clusterer_method", None)
    if check is not None:
        check(method)  # a clusterer without it: TypeError now, before any block
    return getattr(model, method)


def _check_input(model, X, columns) -> None:
    if getattr(X, "ndim", None) != 2:
        raise ValueError(
            f"X must be a 2-D array of shape (n_samples, n_features); got shape {getattr(X, 'shape', None)}."
        )
    width = X.shape[1] if columns is None else len(columns)
    expected = getattr(model, "n_features_in_", None)
    if expected is not None and width != expected:
        raise ValueError(f"X has {width} features, but the model was fitted on {expected}.")


def release_pages(X) -> None:
    """Let the kernel drop the pages of a memory-mapped array from this process's resident memory.

    Pages of a read-only file mapping that were read stay mapped (and counted
    in the process's resident set) until the kernel needs the memory; after
    ``MADV_DONTNEED`` they are read again from the page cache or the file if
    touched again. Does nothing for an array that is not memory-mapped or where
    the platform lacks ``madvise``.
    """
    mm = getattr(X, "_mmap", None)  # numpy.memmap's mapping (numpy keeps it there since 1.x)
    if isinstance(mm, mmap.mmap) and hasattr(mm, "madvise") and hasattr(mmap, "MADV_DONTNEED"):
        try:
            mm.madvise(mmap.MADV_DONTNEED)
        except (OSError, ValueError):  # a closed mapping, or a platform that refuses: memory is not our result
            pass


def predict_chunks(
    model, X, chunk_size: int = DEFAULT_CHUNK_SIZE, method: str = "predict", *, columns=None, where: str = "X",
    progress: bool = False,
) -> Iterator[tuple[int, np.ndarray]]:
    """Predict ``X`` one block of rows at a time; yield ``(start, result)`` for each block, in order.

    Each block is copied out of ``X`` as float32, checked for NaN and inf,
    and given to ``model.predict`` (or ``predict_proba``). Only one block is
    in memory at a time, and the pages of a memory-mapped ``X`` are released
    after each block, so an input larger than memory can be labelled.

    Parameters
    ----------
    model : N2D
        A fitted model (or any fitted estimator with ``method``).
    X : array-like of shape (n_samples, n_features)
        Anything sliced by rows into numbers: an ndarray, a ``numpy.memmap``
        (``np.load(path, mmap_mode="r")``), an h5py dataset.
    chunk_size : int, default=65536
        Rows per block (:data:`DEFAULT_CHUNK_SIZE`).
    method : {"predict", "predict_proba"}, default="predict"
    columns : sequence of int, default=None
        Take only these columns of ``X``, in this order, as the features.
    where : str, default="X"
        What ``X`` is called in error messages (a file name, say).
    progress : bool, default=False
        Show progress on stderr: a tqdm bar (rows done, rows per second) on a terminal, a few plain
        lines in a log (:mod:`n2d._util.progress`).

    Yields
    ------
    start : int
        Row offset of the block.
    result : ndarray
        ``model.predict(block)`` (int64 labels) or ``model.predict_proba(block)``.

    Raises
    ------
    ValueError
        Before any block: ``chunk_size`` is not an integer >= 1, ``X`` is not
        2-D or has another number of features than the model. While iterating:
        a block holds NaN or inf (the message names its rows).
    TypeError
        Before any block: the model's clusterer lacks ``method``.

    Examples
    --------
    >>> X = np.load("big.npy", mmap_mode="r")                        # doctest: +SKIP
    >>> for start, labels in predict_chunks(model, X, 100_000):      # doctest: +SKIP
    ...     out[start:start + len(labels)] = labels
    """
    chunk_size = check_chunk_size(chunk_size)
    predict = _method(model, method)
    _check_input(model, X, columns)
    cols = None if columns is None else np.asarray(columns, dtype=np.intp)
    return _blocks(predict, X, chunk_size, cols, where, progress)


def _blocks(predict, X, chunk_size, cols, where, progress):
    """The generator behind :func:`predict_chunks` (which checks everything before the first block)."""
    from n2d._util.progress import progress as progress_bar

    bounds = chunk_bounds(X.shape[0], chunk_size)
    with progress_bar(total=X.shape[0], desc="predict", unit="row", unit_scale=True, disable=not progress,
              leave=False) as bar:
        for start, stop in bounds:
            block = np.asarray(X[start:stop])
            block = block if cols is None else block[:, cols]
            block = np.array(block, dtype=np.float32)  # a copy: nothing of the mapping stays referenced
            release_pages(X)
            check_finite_block(block, start, where, cols)
            with warnings.catch_warnings():
                # the block's columns are the model's, in its order; an ndarray carries no names
                warnings.filterwarnings("ignore", message="X does not have valid feature names", category=UserWarning)
                result = predict(block)
            bar.update(stop - start)
            yield start, result
