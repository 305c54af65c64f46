"""What N2D does around its stages: their seeds, their parameter checks, and timing them.

Kept apart from :mod:`n2d.estimator` so that the estimator module holds the
N2D class only; :func:`stage_seeds` is also what the benchmarks and
``n2d reproduce`` use to train exactly the autoencoder N2D would.
"""

from __future__ import annotations

import sys
import time

import numpy as np

__all__ = ["WIDTH_CAP", "StageTimer", "check_stage_params", "default_width", "stage_seeds"]

WIDTH_CAP = 10
"""Most dimensions :func:`default_width` gives the code and the UMAP embedding.

Ten is the paper's width on five of its six datasets and the width of
``n_clusters="auto"`` (:data:`n2d.cluster._select_k.AUTO_WIDTH`): a UMAP
embedding with ``min_dist=0`` separates far more than ten clusters in ten
dimensions, while a full-covariance mixture's parameters grow with the square
of the dimension.
"""


def default_width(n_clusters: int, n_features: int) -> int:
    """The code width and UMAP dimension N2D gives its stages for ``n_clusters`` on ``n_features`` features.

    The paper sets both to k. That fits its datasets (k at most 10, more
    features than classes) and fails elsewhere: a code wider than the input
    adds no information, and a wide UMAP embedding with ``min_dist=0`` lets
    clusters collapse onto flat patches whose full covariances are singular
    (26 letters of a 16-feature table crashed the mixture). The rule keeps k
    where the data allows it: ``min(k, WIDTH_CAP, n_features)``, at least 2.

    On the paper's datasets it is k. Stages given their own ``n_components``
    keep it; ``n2d cluster --paper`` and :class:`n2d.compat.n2d` use k. A
    further cap by the rows per cluster (a full covariance's D (D + 3) / 2
    parameters from each cluster's share) was measured and rejected: on 80
    clusters of 10 rows it cost .08 NMI against this rule (the docs page
    "Clustering your own data", from ``benchmarks/width.py``).
    """
    return max(2, min(int(n_clusters), WIDTH_CAP, int(n_features)))


def stage_seeds(random_state) -> tuple:
    """The seeds N2D gives its autoencoder, manifold and clusterer for ``random_state``.

    ``None`` leaves every stage unseeded; an int or a ``RandomState`` draws
    three seeds from it (a ``RandomState`` advances).
    """
    if random_state is None:
        return (None, None, None)
    rs = random_state if isinstance(random_state, np.random.RandomState) else np.random.RandomState(random_state)
    return tuple(int(s) for s in rs.randint(0, 2**31 - 1, size=3))


def check_stage_params(stage: str, est) -> None:
    """Check a stage's own parameters without fitting it; raise ValueError naming the stage.

    n2d's stages check themselves (``_check_params``); scikit-learn estimators
    declare their parameter constraints (``_validate_params``). Anything else is
    taken as it is.
    """
    if est is None:
        return
    owner = next((c for c in type(est).__mro__ if "_check_params" in vars(c)), None)
    if owner is not None and owner.__module__.split(".")[0] == "n2d":
        check = est._check_params
    elif hasattr(est, "_parameter_constraints") and hasattr(est, "_validate_params"):
        check = est._validate_params
    else:
        return
    try:
        check()
    except (ValueError, TypeError) as exc:
        raise type(exc)(f"Invalid parameter of the {stage} stage ({type(est).__name__}): {exc}") from exc


class StageTimer:
    """Runs a stage on some data, says so (with ``verbose``), and sums the seconds per stage."""

    def __init__(self, verbose: int):
        self.verbose = verbose
        self.timings: dict[str, float] = {}

    def run(self, stage: str, name: str, fn, data):
        if self.verbose:
            print(f"[n2d] {stage}: {name} on {data.shape[0]} x {data.shape[1]} ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        out = fn(data)
        took = time.perf_counter() - t0
        self.timings[stage] = self.timings.get(stage, 0.0) + took
        if self.verbose:
            print(f"[n2d] {stage}: done in {took:.1f} s", file=sys.stderr, flush=True)
        return out
