"""Fitting the manifold and the clusterer on a sample of a large training set.

UMAP's layout and a 10-start mixture cost time in proportion to the rows,
while the clusters they find are already fixed by a sample of 100,000 (the
docs' big-data page, from ``benchmarks/scale.py``).
Above :data:`AUTO_FIT_SAMPLE` rows, N2D (``fit_sample="auto"``) therefore fits
both stages on a random sample and places the other rows the way ``predict``
places new data: the manifold's ``transform`` (per point, so the result does
not depend on the chunking) and the clusterer's ``predict``, chunk by chunk,
with a progress bar. The autoencoder always trains on every row.

The paper's datasets (at most 70,000 rows) are never sampled.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "AUTO_FIT_SAMPLE", "MIN_FIT_SAMPLE", "PLACE_CHUNK", "resolve_fit_sample", "sample_rows", "transform_rest",
    "predict_rest",
]

AUTO_FIT_SAMPLE = 100_000
"""``fit_sample="auto"``: rows the manifold and the clusterer are fitted on, at most."""

MIN_FIT_SAMPLE = 1000
"""The smallest ``fit_sample`` accepted (``N2D`` and ``n2d cluster --fit-sample``)."""

PLACE_CHUNK = 65_536
"""Rows placed at once outside the sample (bounds the memory of ``transform``)."""


def resolve_fit_sample(value, n_rows: int) -> int | None:
    """Rows to fit the manifold and clusterer on, or None for all ``n_rows``.

    Parameters
    ----------
    value : "auto", int or None
        The estimator's ``fit_sample``.
    n_rows : int
    """
    size = AUTO_FIT_SAMPLE if isinstance(value, str) and value == "auto" else value
    if size is None or int(size) >= int(n_rows):
        return None
    return int(size)


def check_fit_sample(value) -> None:
    """Raise a clear error for a ``fit_sample`` that is not "auto", None or an int >= 1,000."""
    if value is None or (isinstance(value, str) and value == "auto"):
        return
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or int(value) < MIN_FIT_SAMPLE:
        raise ValueError(
            f"The 'fit_sample' parameter of N2D must be 'auto', None (all rows) or an int >= {MIN_FIT_SAMPLE} "
            f"(rows to fit the manifold and clusterer on). Got {value!r} instead."
        )


def sample_rows(n_rows: int, size: int, seed) -> np.ndarray:
    """Sorted indices of a uniform random sample of ``size`` of ``n_rows`` rows."""
    rng = np.random.default_rng(None if seed is None else int(seed) % 2**32)
    return np.sort(rng.choice(int(n_rows), size=int(size), replace=False))


def _chunks(n: int, chunk: int):
    return [(s, min(n, s + chunk)) for s in range(0, n, chunk)]


def transform_rest(transform, data: np.ndarray, fitted: np.ndarray, sample: np.ndarray, *, progress: bool,
                   chunk: int = PLACE_CHUNK) -> np.ndarray:
    """The embedding of every row: ``fitted`` for the sample, ``transform`` of the others, in chunks."""
    from n2d._util.progress import progress as progress_bar

    rest = np.setdiff1d(np.arange(data.shape[0]), sample, assume_unique=True)
    out = np.empty((data.shape[0], fitted.shape[1]), dtype=np.float32)
    out[sample] = fitted
    spans = _chunks(rest.size, chunk)
    for start, stop in progress_bar(spans, disable=not progress, desc="placing rows outside the sample", unit="chunk"):
        rows = rest[start:stop]
        out[rows] = np.asarray(transform(np.ascontiguousarray(data[rows])), dtype=np.float32)
    return out


def predict_rest(predict, emb: np.ndarray, fitted_labels: np.ndarray, sample: np.ndarray, *, progress: bool,
                 chunk: int = PLACE_CHUNK) -> np.ndarray:
    """Labels of every row: ``fitted_labels`` for the sample, ``predict`` of the others, in chunks."""
    from n2d._util.progress import progress as progress_bar

    rest = np.setdiff1d(np.arange(emb.shape[0]), sample, assume_unique=True)
    out = np.empty(emb.shape[0], dtype=np.int64)
    out[sample] = fitted_labels
    chunks = _chunks(rest.size, chunk)
    desc = "labelling rows outside the sample"
    for start, stop in progress_bar(chunks, disable=not progress, desc=desc, unit="chunk"):
        rows = rest[start:stop]
        out[rows] = np.asarray(predict(emb[rows]), dtype=np.int64)
    return out
