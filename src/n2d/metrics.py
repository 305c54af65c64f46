"""Clustering scores used by the N2D paper: accuracy under the best matching, NMI, ARI.

All functions accept any hashable labels (ints, strings, ...) and any number of
predicted clusters, including more clusters than classes.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.metrics.cluster import contingency_matrix

__all__ = ["cluster_acc", "nmi", "ari", "evaluate", "best_label_map"]


def _check_pair(y_true, y_pred):
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if y_true.ndim != 1 or y_pred.ndim != 1:
        raise ValueError(
            f"y_true and y_pred must be 1-D label arrays; got shapes {y_true.shape} and {y_pred.shape}."
        )
    if y_true.shape[0] != y_pred.shape[0]:
        raise ValueError(
            f"y_true and y_pred must have the same length; got {y_true.shape[0]} and {y_pred.shape[0]}."
        )
    if y_true.shape[0] == 0:
        raise ValueError("y_true and y_pred are empty; at least one label is needed.")
    return y_true, y_pred


def _hungarian(y_true, y_pred):
    """Classes, clusters, their contingency table and its maximum-weight matching."""
    classes, true_idx = np.unique(y_true, return_inverse=True)
    clusters, pred_idx = np.unique(y_pred, return_inverse=True)
    table = contingency_matrix(true_idx, pred_idx)  # (n_classes, n_clusters)
    rows, cols = linear_sum_assignment(table, maximize=True)
    return classes, clusters, table, rows, cols


def best_label_map(y_true, y_pred) -> dict:
    """The one-to-one map from predicted clusters to classes that maximises agreement.

    Found with the Hungarian algorithm (``scipy.optimize.linear_sum_assignment``) on
    the contingency table. With more clusters than classes, the surplus clusters
    stay unmatched and are absent from the map.

    Returns
    -------
    mapping : dict
        ``{predicted_label: true_label}`` for every matched cluster.
    """
    classes, clusters, _, rows, cols = _hungarian(*_check_pair(y_true, y_pred))
    classes, clusters = classes.tolist(), clusters.tolist()
    return {clusters[c]: classes[r] for r, c in zip(rows, cols)}


def cluster_acc(y_true, y_pred) -> float:
    """Unsupervised clustering accuracy.

    The fraction of samples whose cluster, mapped one-to-one onto a class by the
    best matching (Hungarian algorithm), equals their true class. Samples in
    clusters left unmatched (more clusters than classes) count as errors.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Ground-truth labels, any hashable values.
    y_pred : array-like of shape (n_samples,)
        Predicted cluster labels, any hashable values.

    Returns
    -------
    acc : float
        In [0, 1]; 1 means the clustering equals the classes up to renaming.

    Examples
    --------
    >>> from n2d import cluster_acc
    >>> cluster_acc([0, 0, 1, 1], [1, 1, 0, 0])
    1.0
    """
    y_true, y_pred = _check_pair(y_true, y_pred)
    _, _, table, rows, cols = _hungarian(y_true, y_pred)
    return float(table[rows, cols].sum() / y_true.shape[0])


def nmi(y_true, y_pred) -> float:
    """Normalised mutual information (arithmetic normalisation, scikit-learn's default)."""
    y_true, y_pred = _check_pair(y_true, y_pred)
    return float(normalized_mutual_info_score(y_true, y_pred))


def ari(y_true, y_pred) -> float:
    """Adjusted Rand index."""
    y_true, y_pred = _check_pair(y_true, y_pred)
    return float(adjusted_rand_score(y_true, y_pred))


def evaluate(y_true, y_pred, metrics=None) -> dict[str, float]:
    """ACC, NMI and ARI of a clustering against known classes, and any other scores you name.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Ground-truth labels, any hashable values.
    y_pred : array-like of shape (n_samples,)
        Predicted cluster labels, any hashable values.
    metrics : mapping of str to callable, default=None
        Extra scores, by name: each is called as ``fn(y_true, y_pred)`` (the
        arrays as given, after the length check) and must return one number,
        e.g. scikit-learn's ``adjusted_mutual_info_score`` or ``v_measure_score``.
        Names must differ from ``"acc"``, ``"nmi"`` and ``"ari"``.

    Returns
    -------
    scores : dict
        ``{"acc": float, "nmi": float, "ari": float}``, then one float per
        extra metric, in the order given.

    Raises
    ------
    ValueError
        If the label arrays do not match, a metric name is taken, or a metric
        does not return one number.
    TypeError
        If ``metrics`` is not a mapping, a name is not a string, or a metric
        is not callable.

    Examples
    --------
    >>> from n2d import evaluate
    >>> evaluate(["a", "a", "b", "b"], [0, 0, 1, 1])
    {'acc': 1.0, 'nmi': 1.0, 'ari': 1.0}

    Any ``(y_true, y_pred) -> float`` can be added by name:

    >>> from sklearn.metrics import adjusted_mutual_info_score
    >>> evaluate([0, 0, 1, 1], [0, 0, 1, 1], metrics={"ami": adjusted_mutual_info_score})
    {'acc': 1.0, 'nmi': 1.0, 'ari': 1.0, 'ami': 1.0}
    """
    y_true_in, y_pred_in = y_true, y_pred
    y_true, y_pred = _check_pair(y_true, y_pred)
    scores = {"acc": cluster_acc(y_true, y_pred), "nmi": nmi(y_true, y_pred), "ari": ari(y_true, y_pred)}
    if metrics is None:
        return scores
    if not hasattr(metrics, "items"):
        raise TypeError(
            f"metrics must be a mapping of names to callables, e.g. {{'ami': adjusted_mutual_info_score}}; "
            f"got {type(metrics).__name__}."
        )
    for name, fn in metrics.items():
        if not isinstance(name, str):
            raise TypeError(f"metric names must be strings; got {name!r}.")
        if name in scores:
            raise ValueError(
                f"metric name {name!r} is taken by evaluate's own scores {list(scores)[:3]}; pick another."
            )
        if not callable(fn):
            raise TypeError(f"metric {name!r} must be a callable (y_true, y_pred) -> float; got {type(fn).__name__}.")
        value = fn(y_true_in, y_pred_in)
        try:
            scores[name] = float(np.asarray(value).item())
        except (TypeError, ValueError):
            raise ValueError(
                f"metric {name!r} must return one number; got {type(value).__name__} "
                f"{np.shape(value) if np.ndim(value) else value!r}."
            ) from None
    return scores
