"""Choosing the number of clusters without labels: ``N2D(n_clusters="auto")``.

N2D as published needs k three times: the autoencoder's code width, UMAP's
dimension and the mixture's components. In auto mode the first two take a
fixed, documented width (:data:`AUTO_WIDTH`, or the stages' own
``n_components``), and only the clusterer is refit for each candidate k on the
one manifold embedding: the autoencoder and UMAP run once.

Each candidate is scored by a label-free criterion:

``"bic-knee"``
    the knee of the mixture's BIC curve: BIC falls steeply while components
    separate real groups and slowly once they only split groups into pieces;
    the knee is the candidate farthest below the chord from the first to the
    last candidate (Satopaa et al.'s "kneedle" on the normalised curve), so it
    depends on the range: ``k_range="auto"`` grows the candidates until the
    knee lies in their first half (:func:`search_k`);
``"bic"``
    the mixture's Bayesian information criterion (lower is better);
``"icl"``
    BIC plus twice the entropy of the soft assignments (Biernacki et al.'s
    integrated completed likelihood, lower is better): it penalises clusters
    that overlap, where BIC happily splits one non-Gaussian blob in two;
``"silhouette"`` (the default for other clusterers)
    the mean silhouette of the hard labels on a fixed random sample of the
    embedding (higher is better); works with any clusterer that takes k;
``"consensus"`` (the default for a mixture)
    the upper median of four answers: the BIC knee, two votes of the code's
    neighbour graph (:mod:`n2d.cluster._graph_k`: Louvain's community count,
    and the embedding's over-clustered mixture merged by modularity) and
    HDBSCAN's cluster count on the embedding; with ``k_range="auto"`` the
    candidates grow to cover the second-smallest vote (all their median
    needs), up to :func:`k_ceiling`, and a range given as a pair clips them.
    Views that fail on different data: the knee on small sets, the graph
    where classes have several styles, the graph and the knee where classes
    are many, HDBSCAN where dense clumps are not classes.

Which one is the default, and why: :data:`DEFAULT_CRITERION`; the
measurements (``benchmarks/auto_k.py``) are in the docs page "Clustering your
own data".
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "AUTO_WIDTH", "CRITERIA", "DEFAULT_CRITERION", "EVIDENCE_SILHOUETTE_SAMPLE", "GROWING_CRITERIA", "K_CEILING",
    "K_RANGE", "KSearch", "ROWS_PER_CLUSTER", "SEARCH_N_INIT", "SEARCH_SAMPLE", "VOTES",
    "MIXTURE_CRITERIA", "best_k", "resolve_criterion", "check_criterion", "check_k_range", "choose_k",
    "data_k_range", "describe_k_evidence", "k_ceiling", "k_evidence", "knee_distances", "knee_k", "preference",
    "runners_up", "search_k",
]

K_RANGE = (2, 30)
"""Where ``k_range="auto"`` starts: the candidates (inclusive) searched before the range grows with the data."""

GROWING_CRITERIA = ("bic-knee", "consensus")
"""The criteria whose candidates ``k_range="auto"`` grows past :data:`K_RANGE` (:func:`search_k`); the others'
choice does not depend on the range in a way growth could mend (the minima of BIC and ICL run to its top)."""

ROWS_PER_CLUSTER = 10
"""``k_range="auto"`` never grows past one cluster per this many rows (:func:`k_ceiling`)."""

K_CEILING = 120
"""``k_range="auto"`` never grows past this many clusters: each candidate's fit costs about k times a
two-cluster fit, so the search's cost grows with the square of the range's top (:func:`k_ceiling`)."""

AUTO_WIDTH = 10
"""Code width and UMAP dimension in auto mode, where k is unknown.

Ten is the paper's width on five of its six datasets; any k in the default
range is separable in ten UMAP dimensions. Set the stages' ``n_components``
to choose another.
"""

CRITERIA = ("bic-knee", "silhouette", "icl", "bic", "consensus")
"""Label-free criteria for choosing k."""

VOTES = ("louvain", "merge", "density")
"""The votes (:func:`n2d.cluster._graph_k.graph_votes`: the code graph's two and HDBSCAN's count on the embedding)
that ``"consensus"`` adds to the evidence, each kept as a curve that is 1 at its k and 0 elsewhere."""

MIXTURE_CRITERIA = ("bic-knee", "icl", "bic", "consensus")
"""Criteria that need a mixture clusterer (one with ``bic`` and ``predict_proba``)."""

DEFAULT_CRITERION = "auto"
"""``k_criterion="auto"``: ``"consensus"`` for a mixture clusterer (``"bic-knee"`` where no code is given, as in
:func:`search_k` on an embedding alone), ``"silhouette"`` for any other.

Why: on N2D's UMAP embedding (``min_dist=0`` packs each group into tight,
often fragmented clumps) a mixture's likelihood keeps improving as components
are added, so the minimum of BIC or ICL runs to the largest candidate, while
the knee of the BIC curve stays nearer the true k. The knee overshoots on small
sets, the code's graph on sets whose classes have several styles, and HDBSCAN
where classes are few; the knee and the graph fall short where classes are
many. Their median errs less often than any one of them on the public panel and the paper sets
(``benchmarks/auto_k_graph.py``). The comparisons are in the docs page
"Clustering your own data".
"""

SEARCH_SAMPLE = 4000
"""Points the candidates are fitted and scored on (a fixed random sample; the silhouette is quadratic)."""

SEARCH_N_INIT = 1
"""Starts per candidate in the search (the chosen k is refitted with the clusterer's own ``n_init``)."""

EVIDENCE_SILHOUETTE_SAMPLE = 1000
"""Points of the search sample the silhouette is computed on where it is evidence, not the criterion: its cost is
quadratic in the points, and on the whole sample it took most of a search's time (the docs page "Clustering your
own data" has the figures)."""


@dataclass
class KSearch:
    """The outcome of :func:`search_k`.

    Attributes
    ----------
    n_clusters : int
        The chosen k.
    criterion : str
        The criterion it was chosen by.
    scores : dict
        ``{k: score}`` for every candidate (``nan`` where a fit failed).
    greater_is_better : bool
        Whether the chosen k maximises (silhouette) or minimises (BIC, ICL) the score.
    clusterer : object
        The clusterer fitted at the chosen k.
    labels : ndarray
        Its labels on the embedding.
    all_scores : dict
        ``{criterion: {k: score}}`` for every criterion that could be computed
        on the same fits (a mixture yields all three): the evidence
        ``benchmarks/auto_k.py`` compares.
    seconds : float
        Time of the whole search.
    labels_by_k : dict
        ``{k: labels}`` on the sample for every candidate, kept only when
        asked (``keep_labels=True``; the benchmark scores every criterion).
    sample : ndarray or None
        Indices of the sample the candidates were fitted on (with ``keep_labels``).
    """

    n_clusters: int
    criterion: str
    scores: dict
    greater_is_better: bool
    clusterer: object
    labels: np.ndarray
    all_scores: dict = field(default_factory=dict)
    seconds: float = 0.0
    labels_by_k: dict = field(default_factory=dict)
    sample: np.ndarray | None = None


def check_k_range(k_range, n_samples: int | None = None, owner: str = "N2D") -> tuple[int, int]:
    """Validate ``k_range`` (``"auto"``, or two ints with 2 <= low <= high <= n_samples) and return it as a tuple.

    ``"auto"`` returns where it starts on ``n_samples`` rows (:func:`data_k_range`), or :data:`K_RANGE`.
    """
    what = f"The 'k_range' parameter of {owner}"
    if isinstance(k_range, str):
        if k_range == "auto":
            return K_RANGE if n_samples is None else check_k_range(data_k_range(k_range, n_samples), n_samples, owner)
        raise ValueError(f"{what} must be 'auto' or a pair (low, high) of cluster counts, e.g. (2, 30); "
                         f"got {k_range!r}.")
    try:
        low, high = k_range
    except (TypeError, ValueError):
        raise ValueError(
            f"{what} must be 'auto' or a pair (low, high) of cluster counts, e.g. (2, 30); got {k_range!r}."
        ) from None
    for v in (low, high):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise ValueError(f"{what} must hold two ints (low, high); got {k_range!r}.")
    low, high = int(low), int(high)
    if low < 2:
        raise ValueError(f"{what} must start at 2 or more clusters (one cluster is no clustering); got {k_range!r}.")
    if low > high:
        raise ValueError(f"{what} is empty: low {low} > high {high}; give (low, high) with low <= high.")
    if n_samples is not None and high > n_samples:
        if low > n_samples:
            raise ValueError(
                f"n_clusters='auto' needs at least as many samples as the smallest candidate k: "
                f"k_range={k_range!r}, but the data has {n_samples} samples."
            )
        raise ValueError(
            f"{what} goes up to {high} clusters, more than the {n_samples} samples; "
            f"use a high end of at most {n_samples}."
        )
    return low, high


def data_k_range(k_range, n_samples: int) -> tuple[int, int]:
    """Where the search on ``n_samples`` rows starts: ``"auto"``'s :data:`K_RANGE` capped at half the rows, any
    other range as given.

    :data:`K_RANGE` reaches 30 clusters, more than a small data set can hold;
    on fewer than 60 rows its high end becomes half the rows (at least its low
    end), so that ``n_clusters="auto"`` runs with the defaults on any data. A
    range the user chose is theirs, and :func:`check_k_range` judges it; the
    pair (2, 30), the default before ``"auto"`` (models saved then carry it),
    is capped as before.
    """
    low, high = check_k_range(k_range)
    if not (isinstance(k_range, str) or tuple(k_range) == K_RANGE) or high <= n_samples // 2:
        return low, high
    return low, max(low, n_samples // 2)


def k_ceiling(k_range, n_samples: int) -> int | None:
    """The most clusters ``k_range`` lets a search on ``n_samples`` rows grow to; None for a range given as a pair.

    ``"auto"``: one cluster per :data:`ROWS_PER_CLUSTER` rows, at most :data:`K_CEILING`, and never below where
    it starts (:func:`data_k_range`). The search grows only where its evidence asks (:func:`search_k`).
    """
    if not isinstance(k_range, str):
        return None
    start = data_k_range(k_range, n_samples)[1]
    return max(start, min(n_samples // ROWS_PER_CLUSTER, K_CEILING))


def _is_mixture(est) -> bool:
    return hasattr(est, "bic") and hasattr(est, "predict_proba")


def resolve_criterion(criterion: str, clusterer, code_known: bool = True) -> str:
    """The criterion ``criterion`` stands for with ``clusterer`` (``"auto"``: see :data:`DEFAULT_CRITERION`)."""
    if criterion == "auto":
        return ("consensus" if code_known else "bic-knee") if _is_mixture(clusterer) else "silhouette"
    return criterion


def check_criterion(criterion, clusterer, owner: str = "N2D") -> None:
    """Raise unless ``criterion`` is known and ``clusterer`` can be scored by it."""
    if criterion != "auto" and criterion not in CRITERIA:
        raise ValueError(
            f"The 'k_criterion' parameter of {owner} must be 'auto' or one of {CRITERIA}; got {criterion!r}."
        )
    if criterion in MIXTURE_CRITERIA and not _is_mixture(clusterer):
        raise ValueError(
            f"k_criterion={criterion!r} needs a mixture clusterer (one with bic and predict_proba, such as "
            f"'gmm'); {type(clusterer).__name__} has none. Use k_criterion='silhouette' with it."
        )


def _icl(gmm, X) -> float:
    from scipy.special import xlogy

    resp = np.asarray(gmm.predict_proba(X), dtype=np.float64)
    entropy = -float(np.sum(xlogy(resp, resp)))  # 0 log 0 = 0
    return float(gmm.bic(X) + 2.0 * entropy)


def _silhouette(X, labels, sample_size: int | None = None, random_state=0) -> float:
    from sklearn.metrics import silhouette_score

    if not 2 <= len(np.unique(labels)) < len(labels):
        return float("nan")
    if sample_size is not None and sample_size >= len(labels):
        sample_size = None
    return float(silhouette_score(X, labels, sample_size=sample_size, random_state=random_state))


def search_k(
    X, make, k_range=K_RANGE, criterion: str = DEFAULT_CRITERION, random_state=None, progress: bool = False,
    sample_size: int = SEARCH_SAMPLE, search_n_init: int = SEARCH_N_INIT, keep_labels: bool = False, code=None,
    ceiling: int | None = None,
) -> KSearch:
    """Score ``make(k)`` for every k in ``k_range``; refit the k the criterion prefers on all of ``X``.

    The candidates are fitted on a fixed random sample of ``sample_size``
    points (all of them if fewer), with at most ``search_n_init`` starts each,
    and scored there; only the chosen k is refitted on the whole embedding
    with the clusterer's own settings. The cost of the search is then nearly
    independent of the number of rows.

    With a ``ceiling`` above ``k_range``'s high end, the knee criteria
    (``"bic-knee"``, ``"consensus"``) let the candidates grow past it: up to
    the second-smallest vote (what the consensus's median needs), and, while the BIC curve's knee lies past half of
    the candidates, up to twice the knee (the iterative refinement of Salvador
    and Chan's L method, run upwards: a knee is judged on a range about twice
    its size), never past ``ceiling``. The other criteria keep ``k_range``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_dims)
        The manifold embedding.
    make : callable
        ``make(k)`` returns an unfitted clusterer for k clusters.
    k_range : (int, int)
        Inclusive range of candidates (where the search starts, with a ``ceiling``).
    criterion : {"auto", "bic-knee", "silhouette", "icl", "bic", "consensus"}
        See the module docstring; ``"auto"`` is ``"consensus"`` for a mixture
        (``"bic-knee"`` without ``code``) and ``"silhouette"`` otherwise.
    random_state : int or None
        Seeds the sample.
    progress : bool
        Show a bar over the candidates.
    sample_size : int
        Points the candidates are fitted and scored on.
    search_n_init : int
        Upper bound on a candidate's ``n_init`` (if it has one).
    keep_labels : bool
        Keep every candidate's labels on the sample (``KSearch.labels_by_k``,
        ``KSearch.sample``).
    code : ndarray of shape (n_samples, n_code), optional
        The rows ``X`` was made from (the autoencoder's code); ``"consensus"``
        builds its neighbour graph on it.
    ceiling : int, optional
        The largest k the candidates may grow to (see above); None keeps ``k_range``.

    Returns
    -------
    KSearch
    """
    import time

    from n2d._util.progress import progress as progress_bar
    from n2d.cluster._fit import fit_predict

    t0 = time.perf_counter()
    if isinstance(k_range, str):  # "auto": where it starts on these rows, and how far it may grow
        ceiling = k_ceiling(k_range, X.shape[0]) if ceiling is None else ceiling
        k_range = data_k_range(k_range, X.shape[0])
    low, high = check_k_range(k_range, X.shape[0])
    ceiling = high if ceiling is None else max(high, min(int(ceiling), X.shape[0]))
    if criterion == "consensus" and (code is None or len(code) != len(X)):
        raise ValueError("k_criterion='consensus' needs the code the embedding was made from, one row per point.")
    first = make(low)
    check_criterion(criterion, first)
    criterion = resolve_criterion(criterion, first, code_known=code is not None)
    rng = np.random.default_rng(random_state if isinstance(random_state, (int, np.integer)) else 0)
    n = X.shape[0]
    sample = np.sort(rng.choice(n, size=n, replace=False)[: min(int(sample_size), n)])
    if sample.size < ceiling:
        sample = np.arange(n)  # every candidate needs at least k points
    Xs = np.ascontiguousarray(X[sample])
    all_scores: dict = {c: {} for c in CRITERIA if c != "bic-knee"}
    by_k: dict = {}
    grows = criterion in GROWING_CRITERIA and ceiling > high
    votes = {}
    if criterion == "consensus":
        from n2d.cluster._graph_k import graph_votes

        votes = {name: min(max(k, low), ceiling if grows else high)
                 for name, k in graph_votes(code, X, random_state).items()}
    # The consensus (the upper median of the knee and the votes) is at most the larger of the knee and the
    # second-smallest vote: covering that vote suffices, and outlying votes do not stretch the curve (nor the knee).
    top = max(high, sorted(votes.values())[_median_rank(len(votes) + 1) - 2]) if grows and votes else high
    done = low - 1
    bar = progress_bar(total=top - low + 1, desc="choosing k", unit="k", disable=not progress, leave=False)
    while True:
        for k in range(done + 1, top + 1):
            _score_candidate(k, make, Xs, criterion, search_n_init, all_scores, by_k if keep_labels else None)
            bar.update(1)
            bar.set_postfix(k=k)
        done = top
        knee = knee_k(all_scores["bic"]) if grows and all_scores["bic"] else None
        if knee is None or 2 * knee <= top or top >= ceiling:
            break
        top = min(ceiling, 2 * knee)
        bar.total = top - low + 1
    bar.close()
    all_scores = {c: v for c, v in all_scores.items() if v}
    if "bic" in all_scores:
        all_scores["bic-knee"] = dict(all_scores["bic"])  # the same curve; only the choice differs
    if criterion == "consensus":
        all_scores.update(_consensus(all_scores["bic"], votes, low, top))
    greater = criterion in ("silhouette", "consensus")
    chosen = choose_k(criterion, all_scores[criterion])
    if chosen is None:
        raise ValueError(f"No candidate k in {k_range!r} could be scored by {criterion!r} (every fit degenerate).")
    final = make(chosen)
    labels = np.asarray(fit_predict(final, X)).astype(np.int64, copy=False)
    return KSearch(
        n_clusters=chosen, criterion=criterion, scores=all_scores[criterion], greater_is_better=greater,
        clusterer=final, labels=labels, all_scores=all_scores, seconds=time.perf_counter() - t0,
        labels_by_k=by_k, sample=sample if keep_labels else None,
    )


def _score_candidate(k: int, make, Xs, criterion: str, search_n_init: int, all_scores: dict, by_k) -> None:
    """Fit ``make(k)`` on the search sample ``Xs`` (at most ``search_n_init`` starts) and add its scores to
    ``all_scores`` (and its labels to ``by_k``, if given)."""
    from sklearn.base import clone

    from n2d.cluster._fit import fit_predict

    est = clone(make(k))
    params = est.get_params(deep=False) if hasattr(est, "get_params") else {}
    if isinstance(params.get("n_init"), (int, np.integer)) and params["n_init"] > search_n_init:
        est.set_params(n_init=int(search_n_init))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a poor candidate may not converge; only the chosen one matters
        labels = np.asarray(fit_predict(est, Xs))
    row = {"silhouette": _silhouette(Xs, labels, None if criterion == "silhouette" else EVIDENCE_SILHOUETTE_SAMPLE)}
    if _is_mixture(est):
        row["bic"] = float(est.bic(Xs))
        row["icl"] = _icl(est, Xs)
    for c, v in row.items():
        all_scores[c][k] = v
    if by_k is not None:
        by_k[k] = labels


def _median_rank(m: int) -> int:
    """The rank (1-based, from the smallest) of the consensus among ``m`` answers: the median, the upper one
    where ``m`` is even."""
    return m // 2 + 1


def _consensus(bic: dict, votes: dict, low: int, high: int) -> dict:
    """The graph's ``votes`` and the consensus as curves over the candidates ``low..high`` (see :data:`VOTES`).

    The consensus curve counts, at each k, the answers (the knee and the votes) at or below it: its first k
    reached by :func:`_median_rank` of them is their (upper) median. A vote's own curve is 0 on every
    candidate where the vote lies past ``high`` (the search covered only what the median needs).
    """
    candidates = range(low, high + 1)
    knee = knee_k(bic)
    # an answer past the candidates counts at the last one, so that the curve's top is the number of answers;
    # the search covered the one the median needs, so where the curve first reaches it does not move
    ks = [min(k, high) for k in (knee, *votes.values()) if k is not None]
    curves = {name: {c: float(c == k) for c in candidates} for name, k in votes.items()}
    curves["consensus"] = {c: float(sum(k <= c for k in ks)) for c in candidates}
    return curves


def choose_k(criterion: str, scores: dict):
    """The k ``criterion`` prefers given its ``{k: score}`` (None if no score is finite)."""
    if criterion == "bic-knee":
        return knee_k(scores)
    if criterion == "consensus":  # the (upper) median answer: the first k that enough answers reach
        answers = int(max((v for v in scores.values() if math.isfinite(v)), default=0.0))
        return next((k for k, v in sorted(scores.items()) if v >= _median_rank(answers)), None)
    if criterion in VOTES:  # 1 at the voted k; a vote past the candidates searched is 0 everywhere
        return next((k for k, v in sorted(scores.items()) if v > 0), None)
    return best_k(scores, criterion == "silhouette")


def knee_distances(scores: dict, scale=None) -> dict:
    """How far each point of a falling curve ``{k: value}`` lies below the chord between its ends.

    Both axes are scaled to [0, 1] first (the "kneedle" of Satopaa et al.,
    2011); the knee is the k of the largest distance. ``scale`` places the
    candidates on the x axis (``math.log``: at log k; None: at k). Non-finite
    values are left out; with fewer than three finite points, or a flat curve,
    the result is empty.
    """
    finite = [(k, v) for k, v in sorted(scores.items()) if v is not None and math.isfinite(v)]
    if len(finite) < 3:
        return {}
    ks = np.array([k for k, _ in finite], dtype=float)
    vs = np.array([v for _, v in finite], dtype=float)
    span = vs.max() - vs.min()
    if span == 0:
        return {}
    pos = ks if scale is None else np.array([scale(k) for k in ks], dtype=float)
    x = (pos - pos[0]) / (pos[-1] - pos[0])
    y = (vs - vs.min()) / span
    below = (1.0 - x) - y if vs[0] >= vs[-1] else x - y  # distance below the chord of a falling (rising) curve
    return {int(k): float(d) for k, d in zip(ks, below)}


def knee_k(scores: dict):
    """The knee of a falling curve ``{k: value}``: the k farthest below the chord between its ends.

    See :func:`knee_distances`; with fewer than three finite points the
    smallest value's k is returned, and on a flat curve the first k.
    """
    distances = knee_distances(scores)
    if distances:
        return max(distances, key=distances.get)  # the first k on ties, as the candidates are sorted
    finite = [k for k, v in sorted(scores.items()) if v is not None and math.isfinite(v)]
    if len(finite) >= 3:
        return int(finite[0])
    return best_k(scores, False)


def preference(criterion: str, scores: dict) -> dict:
    """``{k: how much criterion prefers k}``, higher preferred, over the candidates it could score.

    The knee distance for ``"bic-knee"``, the silhouette for ``"silhouette"``,
    minus the score for ``"bic"`` and ``"icl"``: the value :func:`choose_k`
    takes the largest of.
    """
    if criterion == "bic-knee":
        return knee_distances(scores)
    if criterion in ("consensus", *VOTES):  # one answer each: no curve to find a second peak on
        return {}
    sign = 1.0 if criterion == "silhouette" else -1.0
    return {int(k): sign * float(v) for k, v in sorted(scores.items()) if v is not None and math.isfinite(v)}


def runners_up(criterion: str, scores: dict, chosen: int, n: int = 2) -> list[int]:
    """The other k's ``criterion`` nearly chose: its other local maxima of preference, best first.

    A neighbour of the chosen k always scores close to it and says nothing
    new; a separate peak of the preference curve (a second knee, a second
    silhouette maximum) is a different answer the data also supports. At most
    ``n`` are returned; none when the curve has a single peak.
    """
    pref = preference(criterion, scores)
    ks = sorted(pref)
    peaks = [
        k for i, k in enumerate(ks)
        if k != chosen
        and (i == 0 or pref[k] > pref[ks[i - 1]])
        and (i == len(ks) - 1 or pref[k] >= pref[ks[i + 1]])
    ]
    return sorted(peaks, key=lambda k: -pref[k])[: int(n)]


def k_evidence(criterion: str, candidates, scores, all_scores: dict, chosen: int) -> dict:
    """How sure a search for k is: the runners-up of its criterion and the k every other criterion prefers.

    Parameters
    ----------
    criterion : str
        The criterion that chose.
    candidates : sequence of int
        The candidates, in order.
    scores : sequence of float
        ``criterion``'s score of each candidate (``nan`` where none).
    all_scores : dict
        ``{criterion: scores}`` of every criterion the same fits allowed.
    chosen : int
        The chosen k.

    Returns
    -------
    dict
        ``{"runners_up": [k, ...], "other_criteria": {name: k}}``; a criterion
        that could score no candidate is left out.
    """
    ks = [int(k) for k in candidates]
    others = {}
    for name, values in all_scores.items():
        if name != criterion:
            k = choose_k(name, dict(zip(ks, (float(v) for v in values))))
            if k is not None:
                others[name] = int(k)
    own = dict(zip(ks, (float(v) for v in scores)))
    return {"runners_up": runners_up(criterion, own, int(chosen)), "other_criteria": others}


def k_search_record(model) -> dict | None:
    """A fitted model's search for k as plain values, or None if k was given: what ``result.json`` and the
    report show.

    Returns
    -------
    dict or None
        ``{"criterion", "candidates", "scores", "chosen", "runners_up", "other_criteria"}``: the scores with
        None where the criterion is undefined, and :func:`k_evidence`'s entries.
    """
    if "k_scores_" not in model.__dict__:
        return None
    return {
        "criterion": model.k_criterion_,
        "candidates": [int(k) for k in model.k_candidates_],
        "scores": [float(v) if math.isfinite(v) else None for v in model.k_scores_],
        "chosen": int(model.n_clusters_),
        **model.k_evidence_,
    }


def describe_k_evidence(evidence: dict) -> str:
    """:func:`k_evidence` in words, e.g. ``"runner-up 9; silhouette prefers 12"``.

    The minima of BIC and ICL are left out of the words (they stay in the
    evidence): on N2D's embeddings they run to the top of the range (see
    :data:`DEFAULT_CRITERION`), so they would always disagree and say nothing.
    """
    runners = evidence.get("runners_up") or []
    words = ("runner-up " if len(runners) == 1 else "runners-up ") + ", ".join(str(k) for k in runners)
    if not runners:
        words = "no runner-up"
    others = {name: k for name, k in (evidence.get("other_criteria") or {}).items() if name not in ("bic", "icl")}
    if others:
        words += "; " + ", ".join(f"{name} prefers {k}" for name, k in others.items())
    return words


def best_k(scores: dict, greater_is_better: bool):
    """The candidate with the best finite score (the smallest k on ties); None if none is finite."""
    finite = [(k, v) for k, v in sorted(scores.items()) if v is not None and math.isfinite(v)]
    if not finite:
        return None
    pick = max if greater_is_better else min
    return pick(finite, key=lambda kv: kv[1])[0]
