"""The N2D estimator: validation and orchestration of the three stages."""

from __future__ import annotations

import logging
import sys
import time
import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin, clone
from sklearn.utils.validation import check_is_fitted, validate_data

from n2d._util.checks import check_dims, check_epochs, check_float, check_int, check_random_state_param
from n2d._util.degenerate import distinct_groups, same_labels_for_same_rows, transform_distinct
from n2d._util.device import resolve_device
from n2d._util.sampling import check_fit_sample, predict_rest, resolve_fit_sample, sample_rows, transform_rest
from n2d._util.stages import StageTimer, check_stage_params, default_width, stage_seeds
from n2d._util.threads import narrow_work_limits
from n2d.autoencoder import AUTOENCODERS, Autoencoder, fit_together, make_autoencoder
from n2d.cluster import CLUSTERERS, consensus_choice, finds_k, fit_predict, make_clusterer, set_n_clusters
from n2d.cluster._select_k import (
    AUTO_WIDTH,
    CRITERIA,
    DEFAULT_CRITERION,
    check_criterion,
    check_k_range,
    data_k_range,
    describe_k_evidence,
    k_ceiling,
    k_evidence,
    search_k,
)
from n2d.exceptions import AdjustmentWarning
from n2d.manifold import MANIFOLDS, make_manifold

log = logging.getLogger(__name__)

__all__ = ["N2D"]  # stage_seeds is importable from here too, as before the package layout

_STAGES = ("autoencoder", "manifold", "clusterer")
_NAMED = {  # stage: (its names, what else the parameter may be)
    "autoencoder": (AUTOENCODERS, ", a transformer with fit/transform, or None"),
    "manifold": (MANIFOLDS, ", an estimator with fit_transform, or None"),
    "clusterer": (CLUSTERERS, " or an object with fit_predict"),
}
_AUTOENCODER_SHORTCUTS = ("hidden_dims", "epochs", "batch_size", "lr")


def _n_found(labels) -> int:
    """Clusters among ``labels``, noise (``-1``) excluded."""
    return int(np.unique(labels[labels >= 0]).size)


@dataclass
class _Run:
    """One whole run's fitted stages and results; ``fit`` keeps the one the consensus of runs chooses."""

    autoencoder: object
    manifold: object
    clusterer: object
    embedding: np.ndarray
    labels: np.ndarray
    n_clusters: int
    search: object  # the k search's result, or None
    fitted_rows: int
    adjustments: dict  # {"stage.parameter": value used} where a stage had to change a setting to run


def _predict_rest(clusterer, emb, fitted_labels, sample, progress):
    """Labels of every row from a clusterer fitted on ``emb[sample]`` (narrow-data thread limits)."""
    with narrow_work_limits(emb.shape[1]):
        return predict_rest(clusterer.predict, emb, fitted_labels, sample, progress=progress)


class N2D(ClusterMixin, TransformerMixin, BaseEstimator):
    """(Not Too) Deep Clustering: autoencoder, then UMAP manifold, then Gaussian mixture.

    N2D trains an autoencoder, learns the local manifold of its code with UMAP,
    and clusters that manifold with a full-covariance Gaussian mixture
    (McConville et al., 2020). Each stage is a parameter and can be replaced by
    a name, an estimator, or ``None`` to skip it.

    Parameters
    ----------
    n_clusters : int or "auto", default=10
        Number of clusters, at least 2. It also sets the autoencoder's code
        width and the UMAP dimension, as in the paper, where the data supports
        it: at most 10 and at most the number of features
        (:func:`n2d._util.stages.default_width`; k on the paper's datasets).
        Stages given their own ``n_components`` keep it. ``"auto"`` estimates it
        without labels: the code and UMAP take a fixed width
        (:data:`n2d.cluster._select_k.AUTO_WIDTH`, 10, unless the stages set their
        own ``n_components``), the autoencoder and UMAP run once, and the
        clusterer is refit for every k in ``k_range``; the k that
        ``k_criterion`` prefers is kept (``n_clusters_``, ``k_scores_``). A
        clusterer that finds k itself (``"hdbscan"``) is simply run once.
    autoencoder : "mlp", estimator or None, default="mlp"
        ``"mlp"`` is the paper's d-500-500-2000-k autoencoder
        (:class:`n2d.Autoencoder`: ReLU, MSE, Adam lr 1e-3, batch 256,
        ``epochs="auto"``; the paper trained 1000 epochs). Any transformer with ``fit``/``transform`` works. ``None``
        clusters the raw data.
    manifold : {"umap", "tsne", "isomap", "lle"}, estimator or None, default="umap"
        ``"umap"`` is n2d's torch UMAP (:class:`n2d.TorchUMAP`, umap-learn's
        algorithm on any torch device) with ``n_components=n_clusters``,
        ``n_neighbors=20``, ``min_dist=0``; pass :class:`n2d.UMAP` for umap-learn
        itself. ``None`` clusters the autoencoded
        embedding directly (the paper's "AE" row). Prediction on new data needs
        a manifold with ``transform`` (t-SNE has none).
    clusterer : {"gmm", "kmeans", "spectral", "agglomerative", "hdbscan"} or estimator, default="gmm"
        ``"gmm"`` is scikit-learn's full-covariance ``GaussianMixture`` (10
        restarts, best by likelihood). ``"hdbscan"`` is scikit-learn's
        HDBSCAN (:class:`n2d.cluster.HDBSCANClusterer`): it finds the number
        of clusters itself, labels noise ``-1``, and predicts the cluster of
        the nearest clustered training point. Any object with
        ``fit_predict``; its cluster count (``n_clusters`` or
        ``n_components``) is set to ``n_clusters``. ``predict`` needs a
        clusterer with ``predict``.
    k_range : "auto" or (int, int), default="auto"
        Candidate cluster counts (inclusive) when ``n_clusters="auto"``; a pair is used as given. ``"auto"`` starts
        at (2, 30) (half the rows on fewer than 60: an :class:`~n2d.exceptions.AdjustmentWarning`,
        ``adjustments_["k_range.high"]``); with the consensus or BIC-knee criterion it grows where the knee or the
        graph's votes reach past it, to one cluster per 10 rows and 120 at most (``_select_k.search_k``).
    k_criterion : {"auto", "bic-knee", "silhouette", "icl", "bic", "consensus"}, default="auto"
        How ``n_clusters="auto"`` chooses k without labels (see :mod:`n2d.cluster._select_k`): the BIC knee,
        the minimum of BIC or ICL, the median of the knee, two code-graph votes and HDBSCAN's count (these
        four need a mixture clusterer), or the highest mean silhouette (any
        clusterer that takes k). ``"auto"`` is the consensus for a mixture and the silhouette otherwise
        (the docs page "Clustering your own data" has the evidence). Candidates are fit on a fixed sample of
        4,000 points with one start each; the chosen k is refit on all points with the clusterer's own
        settings.
    n_init : int, default=1
        Number of whole N2D runs (autoencoder, manifold, clusterer). With more
        than one, N2D keeps the run that agrees best with the others (highest
        mean adjusted Rand index to the rest; see
        :func:`n2d.cluster.consensus_choice`): a label-free guard against an
        occasional bad run. With an int ``random_state``, run ``i`` is exactly
        the model ``N2D(random_state=random_state + i)`` fits, so cached
        autoencoders are shared with single runs. The autoencoders train
        together as one batched model (:func:`n2d.fit_autoencoders`), which
        on a GPU costs far less than ``n_init`` separate trainings.
    hidden_dims, epochs, batch_size, lr : default=None
        Shortcuts for the autoencoder's parameters. ``None`` keeps the
        autoencoder's own value (``(500, 500, 2000)``, ``"auto"``, 256, 1e-3:
        the paper's architecture, batch and learning rate, and a number of
        optimizer steps instead of its 1000 epochs: 2,000 from 8,000 to
        10,000 rows, fewer below (on 2,000 rows or fewer, a fixed amount of
        arithmetic: 400 steps on 64 features, fewer on wider inputs), growing
        as the square root of the rows above); a value overrides it,
        also on an autoencoder passed explicitly. ``epochs=1000`` is the
        paper's training length.
    random_state : int, RandomState or None, default=None
        Seeds every stage (each gets its own seed drawn from this one). With an
        int, results on the CPU are reproducible and trained autoencoder weights
        are cached and reused. ``None`` is faster (multi-threaded UMAP) but not
        reproducible.
    device : {"auto", "cpu", "cuda", "cuda:N"}, default="auto"
        Where the stages run; ``"auto"`` uses a GPU when one is visible. The
        autoencoder and the torch UMAP run there; ``"gmm"`` is n2d's torch
        Gaussian mixture (:class:`n2d.TorchGaussianMixture`) on a GPU and
        scikit-learn's on the CPU, the faster choice on each.
    fit_sample : "auto", int or None, default="auto"
        Rows the manifold and the clusterer are fitted on, at most. Above it,
        both are fitted on a random sample of that many rows and the other
        rows are placed with the manifold's ``transform`` and labelled with
        the clusterer's ``predict``, in chunks (see :mod:`n2d._util.sampling`);
        the autoencoder always trains on every row. ``"auto"`` is 100,000
        (the paper's datasets are never sampled), ``None`` fits on all rows.
        A stage without ``transform``/``predict`` is fitted on all rows.
    verbose : int, default=1
        0 is silent; 1 shows progress bars and logs time per stage. Bars
        are drawn on a terminal or in a notebook; written to a file or a pipe
        they become a few plain lines per long stage (:mod:`n2d._util.progress`).

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,), int64
        Cluster of each training sample (``-1``: noise, with ``"hdbscan"``).
    n_clusters_ : int
        Number of clusters of the fitted model: ``n_clusters``, the chosen k
        when ``n_clusters="auto"``, or what the clusterer found (noise excluded).
    k_candidates_, k_scores_ : ndarray
        With ``n_clusters="auto"`` and a search: the candidates and the
        criterion's value for each (``nan`` where it could not be computed);
        ``k_criterion_`` names the criterion, ``k_all_scores_`` holds every
        criterion the same fits allowed (``{name: scores}``) and
        ``timings_["k search"]`` the seconds the search took.
        :func:`n2d.plotting.plot_k_scores` draws them.
    embedding_ : ndarray of shape (n_samples, n_dims), float32
        The manifold coordinates of the training data (the autoencoded embedding
        when ``manifold=None``).
    autoencoder_, manifold_, clusterer_ : estimator or None
        The fitted stages (``None`` for a skipped stage).
    n_features_in_ : int
    device_ : str
        The torch device used.
    timings_ : dict
        Seconds spent in each stage during ``fit`` (summed over ``n_init`` runs);
        ``"placement"`` is the manifold's transform of the rows outside the
        fit sample.
    fit_sample_size_ : int
        Rows the manifold and the clusterer were fitted on (all rows unless
        ``fit_sample`` applied).
    adjustments_ : dict
        Settings a stage had to change to run on this data, as
        ``{"stage.parameter": value used}`` (empty when none did), each
        announced by an :class:`~n2d.exceptions.AdjustmentWarning`: e.g.
        ``"clusterer.reg_covar"`` when the mixture's covariances were singular
        and it was refitted with a larger ridge (:mod:`n2d.cluster._fit`).
    init_scores_ : ndarray of shape (n_init,)
        Each run's mean agreement (ARI) with the other runs; the kept run,
        ``best_init_``, has the highest. ``[1.0]`` when ``n_init=1``.
    best_init_ : int
    autoencoder_sources_ : list of str or None
        Where each run's autoencoder weights came from: ``"trained"``,
        ``"cache"`` or ``"weights"`` (given), or None for a skipped stage or an
        autoencoder without ``weights_source_``. ``autoencoder_`` is run
        ``best_init_``'s.
    autoencoder_epochs_ : list of int
        Epochs each run's autoencoder trained during this ``fit`` (0 when its
        weights were reused or given): with ``epochs="auto"`` this can be
        fewer than ``autoencoder_.epochs_``, the budget.

    See Also
    --------
    n2d.autoencoder.Autoencoder, n2d.manifold.UMAP

    Notes
    -----
    R. McConville, R. Santos-Rodriguez, R. J. Piechocki, I. Craddock, "N2D:
    (Not Too) Deep Clustering via Clustering the Local Manifold of an
    Autoencoded Embedding", ICPR 2020, arXiv:1908.05968.

    Examples
    --------
    >>> from n2d import N2D, load_dataset, evaluate
    >>> ds = load_dataset("pendigits")
    >>> model = N2D(n_clusters=10, epochs=2, random_state=0, verbose=0)  # doctest: +SKIP
    >>> labels = model.fit_predict(ds.x)                                  # doctest: +SKIP
    >>> evaluate(ds.y, labels)["acc"] > 0.5                               # doctest: +SKIP
    True
    """

    def __init__(
        self,
        n_clusters=10,
        *,
        autoencoder="mlp",
        manifold="umap",
        clusterer="gmm",
        n_init=1,
        k_range="auto",
        k_criterion=DEFAULT_CRITERION,
        hidden_dims=None,
        epochs=None,
        batch_size=None,
        lr=None,
        random_state=None,
        device="auto",
        fit_sample="auto",
        verbose=1,
    ):
        self.n_clusters = n_clusters
        self.autoencoder = autoencoder
        self.manifold = manifold
        self.clusterer = clusterer
        self.n_init = n_init
        self.k_range = k_range
        self.k_criterion = k_criterion
        self.hidden_dims = hidden_dims
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.random_state = random_state
        self.device = device
        self.fit_sample = fit_sample
        self.verbose = verbose

    # ------------------------------------------------------------------ #
    # parameters
    # ------------------------------------------------------------------ #

    def set_params(self, **params):
        """Set parameters; ``stage__param`` also works on a stage given by name.

        ``N2D().set_params(manifold__n_neighbors=30)`` first turns ``"umap"`` into
        the estimator it names, then sets its parameter.
        """
        for stage in _STAGES:
            nested = any(key.startswith(stage + "__") for key in params)
            if nested and stage not in params and isinstance(getattr(self, stage), str):
                name = getattr(self, stage)
                setattr(self, stage, self._named_stage(stage, name, self._width(), None))
        return super().set_params(**params)

    @staticmethod
    def _named_stage(stage, name, n_clusters, seed, device=None):
        """The estimator a stage name stands for, built by its package's factory for the torch ``device``.

        ``"umap"`` is n2d's torch UMAP (:class:`n2d.TorchUMAP`) on every device
        (the docs' speed page says why); ``"gmm"`` is the torch Gaussian mixture
        (:class:`n2d.TorchGaussianMixture`) on a GPU and scikit-learn's on the CPU.
        """
        names, other = _NAMED[stage]
        if name not in names:
            raise ValueError(f"The {stage!r} parameter of N2D must be one of {names}{other}. Got {name!r} instead.")
        if stage == "autoencoder":
            return make_autoencoder(name, random_state=seed)
        if stage == "manifold":
            k = n_clusters if isinstance(n_clusters, (int, np.integer)) else None
            return make_manifold(name, n_components=None if name == "umap" else k, random_state=seed)
        return make_clusterer(name, n_clusters, random_state=seed, device=device)

    @property
    def k_evidence_(self) -> dict:
        """How sure the search for k was: ``{"runners_up": [k, ...], "other_criteria": {name: k}}``.

        The runners-up are the criterion's other peaks (a second BIC knee, a second
        silhouette maximum), best first, at most two; derived from the saved
        ``k_*`` attributes, so a loaded model has it too. No runner-up and agreeing
        criteria mean a clear answer; otherwise the data supports several k's.
        Only after a search for k (``n_clusters="auto"``).
        """
        if "k_scores_" not in self.__dict__:
            raise AttributeError("k_evidence_ exists only after a search for k (n_clusters='auto').")
        return k_evidence(self.k_criterion_, self.k_candidates_, self.k_scores_, self.k_all_scores_, self.n_clusters_)

    @property
    def _auto_k(self) -> bool:
        return isinstance(self.n_clusters, str) and self.n_clusters == "auto"

    def _width(self, n_features: int | None = None) -> int:
        """What k sets besides the clusterer: the code width and UMAP dimension (on ``n_features`` features).

        ``n_clusters`` capped by what the data supports (:func:`n2d._util.stages.default_width`), or
        :data:`AUTO_WIDTH` when k is estimated; without the data, ``n_clusters`` itself.
        """
        if self._auto_k:
            return AUTO_WIDTH
        if n_features is None:
            return self.n_clusters
        return default_width(self.n_clusters, n_features)

    def _check_params(self):
        if isinstance(self.n_clusters, str) and not self._auto_k:
            raise ValueError(
                f"The 'n_clusters' parameter of N2D must be an int in the range [2, inf) or 'auto'. "
                f"Got {self.n_clusters!r} instead."
            )
        if not self._auto_k:
            check_int(self, "n_clusters", self.n_clusters, 2)
        check_k_range(self.k_range)
        if self.k_criterion != "auto" and self.k_criterion not in CRITERIA:
            raise ValueError(
                f"The 'k_criterion' parameter of N2D must be 'auto' or one of {CRITERIA}. "
                f"Got {self.k_criterion!r} instead."
            )
        check_int(self, "verbose", self.verbose, 0)
        check_int(self, "n_init", self.n_init, 1)
        check_random_state_param(self, self.random_state)
        if self.clusterer is None:
            raise ValueError(
                f"The 'clusterer' parameter of N2D must be one of {CLUSTERERS} or an object with "
                "fit_predict; None is not allowed (a clustering needs a clusterer)."
            )
        for stage, needs in (("autoencoder", "transform"), ("manifold", "fit_transform"), ("clusterer", "fit_predict")):
            value = getattr(self, stage)
            if value is not None and not isinstance(value, str) and not hasattr(value, needs):
                raise ValueError(
                    f"The {stage!r} parameter of N2D must be a name, an estimator with {needs}"
                    f"{'' if stage == 'clusterer' else ', or None'}. Got {type(value).__name__} instead."
                )
        check_dims(self, "hidden_dims", self.hidden_dims, allow_none=True)
        check_epochs(self, self.epochs, allow_none=True)
        check_int(self, "batch_size", self.batch_size, 1, allow_none=True)
        check_float(self, "lr", self.lr, 0, low_open=True, allow_none=True)
        check_fit_sample(self.fit_sample)

    def _resolve_stage(self, stage, seed, device, width):
        """A fresh, configured copy of one stage (None for a skipped stage).

        A stage follows N2D's settings where it has no value of its own (its
        ``n_components``, ``random_state``, a ``device`` of ``"auto"``). A
        class that lists parameters in ``_n2d_shares`` (the autoencoder: device
        and verbose; the torch UMAP: verbose) always takes N2D's values of them.
        """
        value = getattr(self, stage)
        if value is None:
            return None
        est = self._named_stage(stage, value, width, seed, device) if isinstance(value, str) else clone(value)
        params = est.get_params(deep=False) if hasattr(est, "get_params") else {}
        updates = {}
        if stage == "clusterer":
            self._set_clusterer_k(est)
        elif params.get("n_components", 0) is None:
            updates["n_components"] = width
        if "random_state" in params and params["random_state"] is None and seed is not None:
            updates["random_state"] = seed
        if params.get("device") == "auto":  # torch stages follow N2D's device unless given their own
            updates["device"] = device
        shared = {"device": device, "verbose": self.verbose}
        updates.update({name: shared[name] for name in getattr(type(est), "_n2d_shares", ())})
        if stage == "autoencoder" and isinstance(est, Autoencoder):
            given = {name: getattr(self, name) for name in _AUTOENCODER_SHORTCUTS}
            updates.update({name: value for name, value in given.items() if value is not None})
        if updates:
            est.set_params(**updates)
        return est

    def _set_clusterer_k(self, est) -> None:
        """Give the clusterer its k: ``n_clusters``, or the first candidate of an auto-k search."""
        if not self._auto_k:
            set_n_clusters(est, self.n_clusters)
        elif not finds_k(est):
            if set_n_clusters(est, check_k_range(self.k_range)[0]) is None:
                raise ValueError(
                    f"n_clusters='auto' refits the clusterer for every k in k_range, but "
                    f"{type(est).__name__} takes no number of clusters (no 'n_clusters' or 'n_components' "
                    "parameter). Use a clusterer that does ('gmm', 'kmeans', ...), or one that finds k "
                    "itself ('hdbscan')."
                )
            check_criterion(self.k_criterion, est)

    def _build_stages(self, seeds, width) -> tuple:
        """One run's three stages, built and their parameters checked (before anything trains)."""
        stage_set = tuple(
            self._resolve_stage(stage, seed, self.device_, width) for stage, seed in zip(_STAGES, seeds)
        )
        for stage, est in zip(_STAGES, stage_set):
            check_stage_params(stage, est)
        return stage_set

    # ------------------------------------------------------------------ #
    # fit
    # ------------------------------------------------------------------ #

    def fit(self, X, y=None):
        """Fit the three stages on ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data. Scale it the way the autoencoder expects (e.g. pixels
            to [0, 1]); NaN and inf are rejected.
        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        self : object
        """
        X = self._check_fit_data(X)
        k_min = check_k_range(self.k_range)[0] if self._auto_k else self.n_clusters
        k_range, adjustments = self._data_k_range(X.shape[0], warn=True)  # what a search tries, on these rows
        self.device_ = str(resolve_device(self.device))
        run_seeds = self._run_seeds()
        timer = StageTimer(self.verbose)
        # Every stage is built and checked now, before the autoencoder trains: a typo must not cost a training run.
        stages = [self._build_stages(seeds, self._width(X.shape[1])) for seeds in run_seeds]
        groups = distinct_groups(X, k_min)  # warns if fewer distinct rows than clusters
        codes = self._encode([stage_set[0] for stage_set in stages], X, timer)
        size = resolve_fit_sample(self.fit_sample, X.shape[0])
        runs = [
            self._fit_run(stage_set, code, seeds[1], size, groups, k_min, k_range, timer)
            for stage_set, code, seeds in zip(stages, codes, run_seeds)
        ]
        best, scores = self._choose_run(runs, timer)
        self._keep(runs[best], best, scores, adjustments)
        self.timings_ = timer.timings
        return self

    def _check_fit_data(self, X) -> np.ndarray:
        """``X`` as float32 once it and every parameter passed their checks."""
        X = validate_data(self, X, dtype=[np.float32, np.float64], ensure_min_samples=2)
        self._check_params()
        if self._auto_k:
            if not (self.clusterer == "hdbscan" or finds_k(self.clusterer)):  # HDBSCAN finds k itself
                check_k_range(self._data_k_range(X.shape[0])[0], X.shape[0])
        elif X.shape[0] < self.n_clusters:
            raise ValueError(
                f"Expected n_samples >= n_clusters but got n_clusters = {self.n_clusters}, n_samples = {X.shape[0]}."
            )
        return np.asarray(X, dtype=np.float32)

    def _data_k_range(self, n_samples: int, warn: bool = False) -> tuple[tuple, dict]:
        """The k range searched on ``n_samples`` rows, and its adjustment (see ``_select_k.data_k_range``)."""
        low, high = check_k_range(self.k_range)
        if not self._auto_k or self.clusterer == "hdbscan" or finds_k(self.clusterer):
            return (low, high), {}
        searched = data_k_range(self.k_range, n_samples)
        if searched == (low, high):
            return searched, {}
        if warn:
            warnings.warn(
                f"n_clusters='auto' searches k in {searched} on these {n_samples} rows: k_range={self.k_range!r} "
                f"reaches {high} clusters, more than half the rows. Pass k_range to choose the range yourself.",
                AdjustmentWarning, stacklevel=3,
            )
        return searched, {"k_range.high": searched[1]}

    def _encode(self, encoders, X, timer) -> list:
        """Each run's code of ``X``; several torch autoencoders train together as one batched model."""
        if len(encoders) > 1 and all(type(e) is Autoencoder for e in encoders):
            timer.run("autoencoder", f"{len(encoders)} Autoencoders, trained together",
                      lambda d: fit_together(encoders, d), X)
            codes = [e.transform(X) for e in encoders]
        else:
            codes = [
                X if e is None else timer.run("autoencoder", type(e).__name__, e.fit_transform, X) for e in encoders
            ]
        self.autoencoder_sources_ = [getattr(e, "weights_source_", None) for e in encoders]
        self.autoencoder_epochs_ = [int(getattr(e, "n_iter_", 0) or 0) for e in encoders]
        return codes

    def _fit_run(self, stage_set, code, manifold_seed, size, groups, k_min, k_range, timer) -> _Run:
        """One run's manifold and clusterer on its code (on a sample of ``size`` rows, if given)."""
        encoder, manifold, clusterer = stage_set
        code = np.asarray(code, dtype=np.float32)
        sample = None if size is None else sample_rows(code.shape[0], size, manifold_seed)
        emb = self._embed_code(manifold, code, sample, timer)
        # The clusterer sees the sample only if it can label the other rows.
        part = sample if (sample is not None and hasattr(clusterer, "predict")) else None
        reg_covar = getattr(clusterer, "reg_covar", None)
        clusterer, labels, search = self._cluster(clusterer, emb, part, k_range, timer, code)
        adjustments = {}
        if reg_covar is not None and getattr(clusterer, "reg_covar", reg_covar) != reg_covar:
            adjustments["clusterer.reg_covar"] = float(clusterer.reg_covar)  # raised on singular covariances
        labels = same_labels_for_same_rows(groups, code, emb, np.asarray(labels), k_min)
        labels = np.asarray(labels).astype(np.int64, copy=False)
        if search is not None:
            k = search.n_clusters
        elif self._auto_k or finds_k(clusterer):
            k = _n_found(labels)
        else:
            k = self.n_clusters
        fitted_rows = code.shape[0] if sample is None else int(sample.size)
        return _Run(encoder, manifold, clusterer, emb, labels, k, search, fitted_rows, adjustments)

    def _embed_code(self, manifold, code, sample, timer) -> np.ndarray:
        """The manifold coordinates of every row: fitted on the sample and the rest placed, or fitted on all."""
        if manifold is None:
            return np.ascontiguousarray(code, dtype=np.float32)
        name = type(manifold).__name__
        if sample is not None and hasattr(manifold, "transform"):
            fitted = timer.run("manifold", name, manifold.fit_transform, code[sample])
            emb = timer.run(
                "placement", f"{name}.transform of the other rows",
                lambda d: transform_rest(manifold.transform, d, fitted, sample, progress=self.verbose > 0), code,
            )
        else:
            emb = timer.run("manifold", name, manifold.fit_transform, code)
        return np.ascontiguousarray(emb, dtype=np.float32)

    def _cluster(self, clusterer, emb, part, k_range, timer, code):
        """The clusterer fitted on ``emb`` (or ``emb[part]``, the rest predicted): (clusterer, labels, search)."""
        fit_emb = emb if part is None else emb[part]
        search = None
        if self._auto_k and not finds_k(clusterer):
            fit_code = code if part is None else code[part]  # the consensus criterion's graph is on the code
            search = timer.run("k search", f"{type(clusterer).__name__} for k in {k_range}, k_range={self.k_range!r}",
                               lambda d: self._search_k(clusterer, d, k_range, fit_code), fit_emb)
            clusterer, labels = search.clusterer, search.labels
        else:
            labels = timer.run("clusterer", type(clusterer).__name__,
                               lambda d: fit_predict(clusterer, d, progress=self.verbose > 0), fit_emb)
        if part is not None:
            fitted = np.asarray(labels)
            labels = timer.run("placement", f"{type(clusterer).__name__}.predict of the other rows",
                               lambda d: _predict_rest(clusterer, d, fitted, part, self.verbose > 0), emb)
        return clusterer, labels, search

    def _choose_run(self, runs, timer) -> tuple[int, np.ndarray]:
        """The run to keep and each run's mean agreement with the others (``n_init`` > 1)."""
        if self.n_init == 1:
            return 0, np.ones(1)
        t0 = time.perf_counter()
        best, scores = consensus_choice([run.labels for run in runs])
        timer.timings["consensus"] = time.perf_counter() - t0
        if self.verbose:
            print(
                f"[n2d] consensus: kept run {best} of {self.n_init} (mean ARI to the others: "
                + ", ".join(f"{v:.3f}" for v in scores) + ")",
                file=sys.stderr, flush=True,
            )
        return best, scores

    def _keep(self, run: _Run, best: int, scores, adjustments: dict) -> None:
        """Expose the kept run as the fitted attributes, with the fit's own ``adjustments`` beside the run's."""
        self.autoencoder_, self.manifold_, self.clusterer_ = run.autoencoder, run.manifold, run.clusterer
        self.embedding_, self.labels_, self.fit_sample_size_ = run.embedding, run.labels, run.fitted_rows
        self.n_clusters_ = int(run.n_clusters)
        self.adjustments_ = {**adjustments, **run.adjustments}
        for name in ("k_candidates_", "k_scores_", "k_criterion_", "k_all_scores_"):
            self.__dict__.pop(name, None)  # a refit without a search keeps none of an earlier one's
        if run.search is not None:
            self._keep_search(run.search)
        self.best_init_, self.init_scores_ = int(best), np.asarray(scores, dtype=np.float64)

    def _keep_search(self, search) -> None:
        ks = np.asarray(sorted(search.scores), dtype=np.int64)
        self.k_candidates_ = ks
        self.k_scores_ = np.asarray([search.scores[k] for k in ks], dtype=np.float64)
        self.k_criterion_ = search.criterion
        self.k_all_scores_ = {c: np.asarray([v[k] for k in ks], dtype=np.float64) for c, v in search.all_scores.items()}
        if self.verbose:
            print(f"[n2d] k search: chose k = {self.n_clusters_} by {search.criterion}; "
                  f"{describe_k_evidence(self.k_evidence_)}", file=sys.stderr, flush=True)

    def _search_k(self, clusterer, emb, k_range, code):
        def make(k):
            est = clone(clusterer)
            set_n_clusters(est, k)
            return est

        seed = getattr(clusterer, "random_state", None)
        return search_k(emb, make, k_range, self.k_criterion, random_state=seed, progress=self.verbose > 0, code=code,
                        ceiling=k_ceiling(self.k_range, emb.shape[0]))

    def _run_seeds(self) -> list[tuple]:
        """Stage seeds of each of the ``n_init`` runs; run i of an int seed s is that of seed s + i."""
        rs = self.random_state
        if isinstance(rs, (int, np.integer)):
            return [stage_seeds((int(rs) + i) % 2**32) for i in range(self.n_init)]
        if isinstance(rs, np.random.RandomState):
            return [stage_seeds(rs) for _ in range(self.n_init)]
        return [stage_seeds(None)] * self.n_init

    def fit_predict(self, X, y=None):
        """Fit and return the cluster of each training sample (``labels_``).

        Returns
        -------
        labels : ndarray of shape (n_samples,), int64
        """
        return self.fit(X).labels_

    def fit_transform(self, X, y=None):
        """Fit and return the manifold coordinates of the training data (``embedding_``).

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_dims), float32
        """
        return self.fit(X).embedding_

    # ------------------------------------------------------------------ #
    # out-of-sample
    # ------------------------------------------------------------------ #

    def _embed(self, X):
        check_is_fitted(self, "labels_")
        X = validate_data(self, X, dtype=[np.float32, np.float64], reset=False)
        X = np.asarray(X, dtype=np.float32)
        code = X if self.autoencoder_ is None else self.autoencoder_.transform(X)
        if self.manifold_ is None:
            return np.ascontiguousarray(code, dtype=np.float32)
        if not hasattr(self.manifold_, "transform"):
            raise TypeError(
                f"The manifold stage {type(self.manifold_).__name__} cannot place new points (it has no "
                "transform), so this N2D model cannot transform or predict new data. Use a manifold with "
                "transform ('umap', 'isomap', 'lle') or manifold=None."
            )
        return np.ascontiguousarray(transform_distinct(self.manifold_.transform, code), dtype=np.float32)

    def transform(self, X):
        """Manifold coordinates of ``X``: encode, then place in the fitted manifold.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_dims), float32
        """
        return self._embed(X)

    def _clusterer_method(self, method):
        if not hasattr(self.clusterer_, method):
            raise TypeError(
                f"The clusterer {type(self.clusterer_).__name__} has no {method}, so this N2D model cannot "
                f"{method} new data. Use a clusterer with {method} ('gmm', or 'kmeans' for predict)."
            )
        return getattr(self.clusterer_, method)

    def predict(self, X):
        """Cluster of each sample of ``X``: encode, place in the manifold, then the clusterer's predict.

        On the training data this agrees with ``labels_`` on almost every point
        (the manifold placement of a training point is close to, but not exactly,
        its fitted position).

        Returns
        -------
        labels : ndarray of shape (n_samples,), int64
        """
        check_is_fitted(self, "labels_")
        predict = self._clusterer_method("predict")
        emb = self._embed(X)
        with narrow_work_limits(emb.shape[1]):
            return np.asarray(predict(emb)).astype(np.int64, copy=False)

    def predict_proba(self, X):
        """Posterior probability of each cluster for each sample (needs a probabilistic clusterer).

        Returns
        -------
        proba : ndarray of shape (n_samples, n_clusters)
        """
        check_is_fitted(self, "labels_")
        predict_proba = self._clusterer_method("predict_proba")
        emb = self._embed(X)
        with narrow_work_limits(emb.shape[1]):
            return np.asarray(predict_proba(emb))

    # ------------------------------------------------------------------ #
    # persistence
    # ------------------------------------------------------------------ #

    def save(self, path, overwrite: bool = True):
        """Save the fitted model to a directory (JSON manifest + safetensors; no pickle).

        The directory is written under a temporary name and renamed into place,
        so a crash never leaves a half-written model. See :mod:`n2d.persistence`.

        Returns
        -------
        path : pathlib.Path
        """
        from n2d.persistence import save_model

        return save_model(self, path, overwrite=overwrite)

    @classmethod
    def load(cls, path):
        """Load a model written by :meth:`save`. Loading never runs code from the files."""
        from n2d.persistence import load_model

        model = load_model(path)
        if not isinstance(model, cls):
            raise TypeError(f"{path} holds a {type(model).__name__}, not a {cls.__name__}.")
        return model

    @classmethod
    def _n2d_check_state(cls, params: dict, state: dict, check) -> None:
        """Load-time rules of a saved N2D: the stages chain (input, code, manifold rows and width, clusterer input)."""
        if params.get("n_clusters") != "auto":
            check.int_("n_clusters", params.get("n_clusters"), low=2)
        if "labels_" not in state:
            return
        (n,) = check.array("labels_", state["labels_"], (None,), kinds="iu")
        adjustments = state.get("adjustments_", {})
        if not isinstance(adjustments, dict) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in adjustments.values()
        ):
            check.fail("adjustments_ is not a mapping of settings to numbers")
        if "k_candidates_" in state:
            (m,) = check.array("k_candidates_", state["k_candidates_"], (None,), kinds="iu")
            check.array("k_scores_", state.get("k_scores_"), (m,), finite=False)
            for name, scores in (state.get("k_all_scores_") or {}).items():
                check.array(f"k_all_scores_[{name!r}]", scores, (m,), finite=False)
        _, width = check.array("embedding_", state.get("embedding_"), (n, None))
        d = check.int_("n_features_in_", state.get("n_features_in_"), low=1)
        if "init_scores_" in state:
            (n_runs,) = check.array("init_scores_", state["init_scores_"], (None,))
            if "best_init_" in state and check.int_("best_init_", state["best_init_"], low=0) >= n_runs:
                check.fail(f"best_init_ is {state['best_init_']}, but init_scores_ has only {n_runs} runs")
        encoder, manifold, clusterer = (state.get(s) for s in ("autoencoder_", "manifold_", "clusterer_"))
        code_width = d
        if encoder is not None:
            if getattr(encoder, "n_features_in_", d) != d:
                check.fail(f"autoencoder_ takes {encoder.n_features_in_} features but the model takes {d}")
            code_width = getattr(encoder, "n_components", None) or getattr(encoder, "n_components_", None)
        if manifold is not None:
            m_in = getattr(manifold, "n_features_in_", None)
            if code_width is not None and m_in is not None and m_in != code_width:
                check.fail(f"manifold_ takes {m_in} features but the code before it has {code_width}")
            m_emb = getattr(manifold, "embedding_", None)
            # The manifold was fitted on all n rows, or on the fit sample (fit_sample_size_ of them).
            m_rows = n
            if "fit_sample_size_" in state:
                m_rows = check.int_("fit_sample_size_", state["fit_sample_size_"], low=2)
                if m_rows > n:
                    check.fail(f"fit_sample_size_ is {m_rows}, more than the {n} training rows")
            if isinstance(m_emb, np.ndarray) and m_emb.shape not in ((n, width), (m_rows, width)):
                check.fail(
                    f"manifold_.embedding_ has shape {m_emb.shape} but the model's embedding_ has {(n, width)}"
                    + (f" and its fit sample {m_rows} rows" if m_rows != n else "")
                )
        elif code_width is not None and width != code_width:
            check.fail(f"embedding_ has {width} columns but the code has {code_width}")
        c_in = getattr(clusterer, "n_features_in_", None)
        if clusterer is not None and c_in is not None and c_in != width:
            check.fail(f"clusterer_ takes {c_in} features but the embedding has {width}")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
