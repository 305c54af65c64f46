"""Degenerate data: fewer distinct points than clusters, and identical rows.

N2D labels rows, but a clustering can only tell apart points that differ.
When the data (or the autoencoder's code of it, or its manifold embedding) has
fewer distinct points than ``n_clusters``, some clusters must split identical
points or stay empty; :func:`distinct_groups` and :func:`same_labels_for_same_rows`
warn about that (:class:`~n2d.exceptions.DegenerateDataWarning`) and make
identical input rows share one label. :func:`transform_distinct` does the same
for new data: identical rows are placed once, so they get identical
coordinates, labels and probabilities.
"""

from __future__ import annotations

import warnings

import numpy as np

from n2d.exceptions import DegenerateDataWarning

__all__ = ["distinct_groups", "same_labels_for_same_rows", "transform_distinct"]


def _row_groups(rows):
    """Group identical rows.

    Returns ``(n_distinct, inverse, first)``: the group of each row (groups
    numbered in order of first appearance) and each group's first row, or
    ``None`` for both when all rows differ.
    """
    rows = np.ascontiguousarray(rows)
    if rows.ndim != 2 or rows.shape[0] == 0:
        return rows.shape[0], None, None
    rows = rows + 0.0 if rows.dtype.kind == "f" else rows  # -0.0 and 0.0 are the same point
    keys = rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).ravel()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    if len(first) == len(keys):
        return len(first), None, None
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return len(first), rank[inverse.ravel()], first[order]


def _warn(what: str, n_distinct: int, n_clusters: int, hint: str) -> None:
    warnings.warn(
        f"{what} only {n_distinct} distinct point{'s' if n_distinct != 1 else ''}, fewer than "
        f"n_clusters={n_clusters}: some clusters can only split identical points or stay empty. {hint}",
        DegenerateDataWarning,
        stacklevel=3,
    )


def distinct_groups(X, n_clusters: int):
    """Group identical rows of the training data, warning if there are fewer than ``n_clusters`` groups.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    n_clusters : int

    Returns
    -------
    groups : tuple
        ``(n_distinct, group index per row or None when all rows differ)``, for
        :func:`same_labels_for_same_rows`.
    """
    n_distinct, inverse, _ = _row_groups(X)
    if n_distinct < n_clusters:
        _warn("The data has", n_distinct, n_clusters,
              "Use fewer clusters, or remove duplicate rows to see how many distinct points there are.")
    return n_distinct, inverse


def same_labels_for_same_rows(groups, code, embedding, labels, n_clusters: int) -> np.ndarray:
    """Warn if the code or embedding collapsed below ``n_clusters`` points; give identical input rows one label.

    Identical input rows have identical codes but UMAP places them apart, so
    a clusterer may split them; each group of identical rows then takes the
    label most of its rows got (the smallest such label on ties).

    Parameters
    ----------
    groups : tuple
        From :func:`distinct_groups` on the input data.
    code : ndarray of shape (n_samples, n_code)
        The autoencoder's output (the input itself when there is no autoencoder).
    embedding : ndarray of shape (n_samples, n_dims)
        The manifold coordinates the clusterer saw.
    labels : ndarray of shape (n_samples,)
    n_clusters : int

    Returns
    -------
    labels : ndarray of shape (n_samples,)
    """
    n_distinct, inverse = groups
    if n_distinct >= n_clusters:  # else the input was already reported
        n_code = _row_groups(code)[0] if code is not None else n_distinct
        if n_code < n_clusters:
            _warn("The autoencoder's code of the data has", n_code, n_clusters,
                  "The autoencoder maps different rows to the same code: train it longer or widen its code.")
        elif (n_embedded := _row_groups(embedding)[0]) < n_clusters:
            _warn("The manifold embedding of the data has", n_embedded, n_clusters,
                  "Try another manifold stage or manifold=None.")
    labels = np.asarray(labels)
    if inverse is None:
        return labels
    values, label_index = np.unique(labels, return_inverse=True)
    pair = inverse.astype(np.int64) * len(values) + label_index.ravel()
    pairs, counts = np.unique(pair, return_counts=True)
    group, label = pairs // len(values), pairs % len(values)
    order = np.lexsort((label, -counts, group))  # per group: most rows first, then the smallest label
    first = np.ones(len(order), dtype=bool)
    first[1:] = group[order][1:] != group[order][:-1]
    best = np.empty(n_distinct, dtype=np.int64)
    best[group[order][first]] = label[order][first]
    return values[best[inverse]].astype(labels.dtype, copy=False)


def transform_distinct(transform, rows):
    """``transform(rows)``, computed once per distinct row, so identical rows get identical results.

    When every row differs, this is exactly ``transform(rows)``.
    """
    _, inverse, first = _row_groups(rows)
    if inverse is None:
        return transform(rows)
    return np.asarray(transform(np.ascontiguousarray(rows[first])))[inverse]
