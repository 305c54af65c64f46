"""Prediction on Dask: labels and probabilities of a dask array or DataFrame, block by block.

>>> import n2d.dask
>>> labels = n2d.dask.predict("n2d-out/mydata/model", X)   # X: a dask array or DataFrame  # doctest: +SKIP
>>> labels.compute()                                         # on any scheduler or cluster   # doctest: +SKIP

:func:`predict` and :func:`predict_proba` return lazy dask arrays with one
block per row block (partition) of ``X``; each block is computed by
``model.predict`` on that block alone, wherever Dask runs it. Everything that
can be checked without computing ``X`` (its shape, chunks, columns and dtype,
the model) is checked when the graph is built; NaN and inf are found, and
named by partition, when a block is computed.

The model travels without pickle. A path to a saved model directory (the
recommended form on a cluster) is loaded by each worker process with
:meth:`n2d.N2D.load` and kept there, keyed by the path and the checksum in
its manifest, so a model saved again at the same path is reloaded. A fitted
:class:`n2d.N2D` instance is written in n2d's own save format to a temporary
folder; the bytes of its files are shipped once in the graph, and each worker
writes them to its own temporary folder and loads them with
:meth:`n2d.N2D.load`.

Needs the optional dependencies dask and distributed (the extra ``dask``: from a
checkout, ``pip install ".[dask]"``; or ``pip install "dask[array,dataframe]" distributed``).
"""

from __future__ import annotations

try:
    import dask
    import dask.array as da
except ImportError as exc:  # pragma: no cover - exercised by a test that hides dask
    raise ImportError(
        f"n2d.dask needs dask and distributed, which are not installed ({exc}). Install them with: "
        'pip install "dask[array,dataframe]" distributed (from an n2d checkout: pip install ".[dask]")'
    ) from exc

import functools
import hashlib
import json
import os
import socket
import tempfile
import threading
import warnings
from pathlib import Path

import numpy as np

from n2d._util.streaming import check_finite_block
from n2d.estimator import N2D
from n2d.exceptions import ModelFormatError

__all__ = ["predict", "predict_proba"]

_MANIFEST = "manifest.json"
_CACHED_MODELS = 4
"""Models each worker process keeps loaded (least recently used dropped first)."""


# --------------------------------------------------------------------------- #
# Public functions
# --------------------------------------------------------------------------- #


def predict(model, X):
    """Cluster of each row of a dask array or DataFrame, as a lazy dask array.

    Parameters
    ----------
    model : str, path-like or N2D
        A saved model directory (:meth:`n2d.N2D.save`, or ``<out>/model`` of
        ``n2d cluster``), readable at the same path by this process and by
        every worker; or a fitted :class:`n2d.N2D`, shipped to the workers as
        the bytes of its saved files (never pickled).
    X : dask.array.Array or dask.dataframe.DataFrame
        A 2-D array of numbers (float or int) with known chunk sizes and the
        model's number of columns (column blocks are merged into one); or a
        DataFrame whose columns are matched by name to the model's
        ``feature_names_in_`` when the model has them (in any order; missing
        or extra columns are refused), else taken in order.

    Returns
    -------
    labels : dask.array.Array of shape (n_samples,), int64
        Lazy: nothing is computed until ``.compute()`` (or ``persist``,
        ``to_zarr``, ...). One block per row block of an array, or per
        partition of a DataFrame (then the block sizes are unknown until
        computed, as for ``DataFrame.to_dask_array()``).

    Raises
    ------
    ValueError
        At once: ``X`` is not 2-D, has unknown chunk sizes, another number of
        columns than the model, columns of other names, or a dtype that is not
        a number. When computed: a block holds NaN or inf (the message names
        the partition and its rows).
    TypeError
        At once: ``model`` is neither a path nor an N2D, or its clusterer
        cannot ``predict``.
    FileNotFoundError, ModelFormatError
        When computed, if a worker cannot read the model path (the message
        names the path, the worker's host and its reason).

    Notes
    -----
    Each block is exactly ``model.predict(block)``. The torch UMAP places each
    new point from the point and the model alone, so the labels equal one
    ``predict`` of the whole data, however it is partitioned.
    """
    return _build("predict", model, X)


def predict_proba(model, X):
    """Probability of each cluster for each row of a dask array or DataFrame, as a lazy dask array.

    Parameters
    ----------
    model : str, path-like or N2D
        As in :func:`predict`. Its clusterer needs ``predict_proba`` (the
        default Gaussian mixture has it).
    X : dask.array.Array or dask.dataframe.DataFrame
        As in :func:`predict`.

    Returns
    -------
    proba : dask.array.Array of shape (n_samples, n_clusters), float64
        Lazy; one block per row block (partition) of ``X`` and one block of
        columns.

    Raises
    ------
    ValueError, TypeError, FileNotFoundError, ModelFormatError
        As in :func:`predict`.
    """
    return _build("predict_proba", model, X)


# --------------------------------------------------------------------------- #
# Building the graph: every check that needs no data first
# --------------------------------------------------------------------------- #


def _build(method: str, model, X):
    local, ref = _model_reference(model)
    local._clusterer_method(method)  # TypeError now, not on the workers
    _check_can_place(local)
    width = _proba_width(local) if method == "predict_proba" else None
    if _is_dataframe(X):
        return _on_dataframe(method, local, ref, X, width)
    if not isinstance(X, da.Array):
        raise TypeError(
            f"X must be a dask array or a dask DataFrame; got {type(X).__module__}.{type(X).__qualname__}. "
            "For data in memory, use model.predict; for a .npy file, n2d predict --chunk-size."
        )
    return _on_array(method, local, ref, X, width)


def _model_reference(model):
    """The model here (to check ``X`` against) and what the workers get.

    That is ``("path", path, checksum)``, the resolved path and the arrays'
    sha256 its manifest records now, or ``("bytes", _Files)``.
    """
    if isinstance(model, N2D):
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(model, "labels_")
        return model, ("bytes", _Files.of(model))
    if isinstance(model, (str, os.PathLike)):
        path = Path(model).expanduser().resolve()
        local = N2D.load(path)
        return local, ("path", str(path), _manifest_checksum(str(path)))
    raise TypeError(
        f"model must be a path to a saved model directory or a fitted n2d.N2D; got {type(model).__qualname__}."
    )


def _check_can_place(model) -> None:
    manifold = model.manifold_
    if manifold is not None and not hasattr(manifold, "transform"):
        raise TypeError(
            f"The model's manifold stage {type(manifold).__name__} cannot place new points (it has no transform), "
            "so the model cannot predict new data."
        )


def _proba_width(model) -> int:
    """Columns of ``predict_proba``: the mixture's components (or the model's clusters)."""
    clusterer = model.clusterer_
    weights = getattr(clusterer, "weights_", None)
    if weights is not None:
        return int(np.shape(weights)[0])
    return int(getattr(clusterer, "n_components", model.n_clusters_))


def _check_dtype(dtype, what: str) -> None:
    try:
        number = np.dtype(dtype).kind in "iuf"
    except TypeError:  # a pandas extension dtype: nullable Int64 or Float64, string, category, ...
        from pandas.api.types import is_bool_dtype, is_numeric_dtype

        number = is_numeric_dtype(dtype) and not is_bool_dtype(dtype)
    if not number:
        raise ValueError(f"{what} must hold numbers (float or int); got dtype {dtype}.")


def _on_array(method, local, ref, X, width):
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-D dask array of shape (n_samples, n_features); got shape {X.shape}.")
    if any(np.isnan(c) for c in X.chunks[0]) or np.isnan(X.shape[1]):
        raise ValueError(
            "X has unknown chunk sizes (nan in X.chunks), so its rows cannot be located. Call "
            "X.compute_chunk_sizes() first, or, for an array made from a DataFrame, df.to_dask_array(lengths=True); "
            "or pass the DataFrame itself."
        )
    _check_dtype(X.dtype, "X")
    if X.shape[1] != local.n_features_in_:
        raise ValueError(f"X has {X.shape[1]} columns, but the model was fitted on {local.n_features_in_} features.")
    if len(X.chunks[1]) > 1:
        X = X.rechunk({1: -1})
    model_arg = dask.delayed(ref, pure=True)  # one key, shipped once to each worker that needs it
    token = f"n2d-{method.replace('_', '-')}"  # the keys' prefix; dask adds a hash of the inputs
    if width is None:
        return da.map_blocks(_array_block, X, model_arg, method, dtype=np.int64, drop_axis=1, token=token)
    return da.map_blocks(_array_block, X, model_arg, method, width, dtype=np.float64,
                         chunks=(X.chunks[0], (width,)), token=token)


def _is_dataframe(X) -> bool:
    try:
        import dask.dataframe as dd
    except ImportError:  # dask without its dataframe extra: X cannot be one
        return False
    return isinstance(X, dd.DataFrame)


def _dataframe_columns(local, X) -> list:
    """The columns of ``X`` to use, in the model's order; refuses missing, extra or non-numeric ones."""
    have = list(X.columns)
    fitted = getattr(local, "feature_names_in_", None)
    if fitted is None:
        if len(have) != local.n_features_in_:
            raise ValueError(
                f"X has {len(have)} columns, but the model was fitted on {local.n_features_in_} features "
                "(the model has no feature names, so the columns are taken in order)."
            )
        use = have
    else:
        names = {str(c): c for c in have}
        fitted = [str(n) for n in fitted]
        missing = [n for n in fitted if n not in names]
        extra = [str(c) for c in have if str(c) not in fitted]
        if missing or extra:
            parts = ([f"missing column(s) {_some(missing)}"] if missing else []) + (
                [f"column(s) {_some(extra)} the model was not fitted on"] if extra else [])
            raise ValueError(
                f"X does not match the model's features: {'; '.join(parts)}. Select the model's columns, "
                "e.g. X[list(model.feature_names_in_)]."
            )
        use = [names[n] for n in fitted]
    for c in use:
        _check_dtype(X.dtypes[c], f"Column {c!r} of X")
    return use


def _some(names, limit: int = 8) -> str:
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def _on_dataframe(method, local, ref, X, width):
    import pandas as pd

    X = X[_dataframe_columns(local, X)]
    model_arg = dask.delayed(ref, pure=True)
    if width is None:
        meta = pd.Series(np.empty(0, dtype=np.int64), index=X._meta.index)
        out = X.map_partitions(_frame_block, model_arg, method, meta=meta, enforce_metadata=False)
    else:
        meta = pd.DataFrame(np.empty((0, width)), index=X._meta.index)
        out = X.map_partitions(_frame_block, model_arg, method, width, meta=meta, enforce_metadata=False)
    return out.to_dask_array()


# --------------------------------------------------------------------------- #
# On the workers
# --------------------------------------------------------------------------- #


def _array_block(block, ref, method, width=None, block_info=None):
    """``model.<method>`` of one block of a dask array; NaN and inf name the block and its rows."""
    index = block_info[0]["chunk-location"][0] if block_info else None
    start = block_info[0]["array-location"][0][0] if block_info else 0
    x = np.require(block, np.float32, ["C", "W"])  # torch takes only writable arrays without a warning
    check_finite_block(x, start, where=f"X, partition {index} (rows from {start})")
    return _run(ref, method, x, width)


def _frame_block(part, ref, method, width=None, partition_info=None):
    """``model.<method>`` of one DataFrame partition, with its index; NaN and inf name the partition and labels."""
    import pandas as pd

    index = partition_info["number"] if partition_info else None
    x = part.to_numpy(dtype=np.float32, na_value=np.nan)  # pandas' missing values (pd.NA) become NaN
    bad = ~np.isfinite(x)
    if bad.any():
        i, j = (int(v) for v in np.argwhere(bad)[0])
        what = "missing value (NaN)" if np.isnan(x[i, j]) else f"infinite value ({x[i, j]})"
        raise ValueError(
            f"X, partition {index}: {what} at row {i} of the partition (index label {part.index[i]!r}), column "
            f"{part.columns[j]!r}; {int(bad.sum())} non-finite value(s) in this partition. Every feature must be a "
            "finite number: fill them in or leave those rows out."
        )
    out = _run(ref, method, x, width)
    if width is None:
        return pd.Series(out, index=part.index)
    return pd.DataFrame(out, index=part.index)


def _run(ref, method, x, width):
    model = _worker_model(ref)
    with warnings.catch_warnings():
        # the columns were matched to the model's when the graph was built; the block carries no names
        warnings.filterwarnings("ignore", message="X does not have valid feature names", category=UserWarning)
        out = getattr(model, method)(x)
    if width is None:
        return np.asarray(out).astype(np.int64, copy=False)
    out = np.asarray(out, dtype=np.float64)
    if out.shape != (x.shape[0], width):
        raise ValueError(
            f"predict_proba gave shape {out.shape} for a block of {x.shape[0]} rows; expected {width} columns."
        )
    return out


def _worker_model(ref):
    if ref[0] == "bytes":
        return _load_files(ref[1])
    _, path, expected = ref
    try:
        checksum = _manifest_checksum(path)
        if checksum != expected:
            raise ModelFormatError(
                f"its arrays' checksum is {checksum[:12]}..., but the model checked when the graph was built had "
                f"{expected[:12]}...: it was saved again since, or this worker sees another copy"
            )
        return _load_path(path, checksum)
    except FileNotFoundError as exc:
        raise FileNotFoundError(_worker_reason(path, exc)) from exc
    except (OSError, ModelFormatError) as exc:
        raise ModelFormatError(_worker_reason(path, exc)) from exc


def _worker_reason(path, exc) -> str:
    return (
        f"The Dask worker on host {socket.gethostname()} (process {os.getpid()}) cannot load the n2d model at "
        f"{path}: {type(exc).__name__}: {exc}. Every worker needs the saved model directory at this same path "
        "(a shared file system), or pass the fitted N2D instance instead of its path."
    )


def _manifest_checksum(path: str) -> str:
    """The arrays' sha256 recorded in the model's manifest: a new save at the same path gives a new key."""
    manifest = Path(path) / _MANIFEST
    if not Path(path).exists():
        raise FileNotFoundError(f"no such directory: {path}")
    try:
        checksum = json.loads(manifest.read_text()).get("arrays_sha256")
    except (ValueError, AttributeError, UnicodeDecodeError) as exc:
        raise ModelFormatError(f"{manifest} is not an n2d manifest ({exc}).") from exc
    if not isinstance(checksum, str):
        raise ModelFormatError(f"{manifest} records no arrays checksum; it is not an n2d model.")
    return checksum


@functools.lru_cache(maxsize=_CACHED_MODELS)
def _load_path(path: str, checksum: str) -> N2D:
    """The model at ``path``, loaded once per worker process for each checksum of its arrays."""
    return N2D.load(path)


class _Files:
    """A saved model's files as bytes, compared and hashed by their sha256 (the worker's cache key)."""

    def __init__(self, files: dict, token: str):
        self.files = files
        self.token = token

    @classmethod
    def of(cls, model: N2D) -> "_Files":
        """Save ``model`` with :meth:`n2d.N2D.save` to a temporary folder and read its files back."""
        with tempfile.TemporaryDirectory(prefix="n2d-dask-") as tmp:
            folder = model.save(Path(tmp) / "model")
            files = {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}
        digest = hashlib.sha256()
        for name, data in files.items():
            digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
        return cls(files, digest.hexdigest())

    def __reduce__(self):  # plain data only: a dict of bytes and a string
        return (_Files, (self.files, self.token))

    def __hash__(self):
        return hash(self.token)

    def __eq__(self, other):
        return isinstance(other, _Files) and other.token == self.token

    def __repr__(self):
        return f"<n2d model files {self.token[:12]}, {sum(map(len, self.files.values()))} bytes>"

    def __dask_tokenize__(self):
        return self.token


_LOAD_LOCK = threading.Lock()


@functools.lru_cache(maxsize=_CACHED_MODELS)
def _load_files(files: _Files) -> N2D:
    """The model shipped as ``files``: written to a temporary folder of this worker and loaded, once per process."""
    with _LOAD_LOCK, tempfile.TemporaryDirectory(prefix="n2d-dask-") as tmp:
        folder = Path(tmp) / "model"
        folder.mkdir()
        for name, data in files.files.items():
            if Path(name).name != name:  # only plain file names: nothing is written outside the folder
                raise ModelFormatError(f"The shipped model holds a file named {name!r}; only plain names are allowed.")
            (folder / name).write_bytes(data)
        return N2D.load(folder)
