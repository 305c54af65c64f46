"""What the two UMAP stages share: parameters, their checks, and the persistence hooks.

:class:`n2d.TorchUMAP` fits in torch and :class:`n2d.UMAP` with umap-learn;
both place new points with the torch transform (:mod:`n2d.manifold._transform`).
"""

from __future__ import annotations

from sklearn.base import BaseEstimator, TransformerMixin

from n2d._util.checks import check_float, check_int, check_options, check_random_state_param


class UMAPBase(TransformerMixin, BaseEstimator):
    """What the UMAP stages share: their parameters, validation, and persistence hooks.

    :class:`n2d.manifold.UMAP` (umap-learn) and :class:`TorchUMAP` (torch) take
    the same parameters with the same meaning; subclasses set ``_METRICS`` (the
    metrics they implement) and ``_TRANSIENT`` (attributes rebuilt on demand,
    never saved or pickled), and implement ``fit`` and ``transform``.
    """

    _METRICS: frozenset = frozenset({"euclidean"})
    _TRANSIENT: tuple = ()

    def __init__(
        self,
        n_components=None,
        *,
        n_neighbors=20,
        min_dist=0.0,
        metric="euclidean",
        n_epochs=None,
        learning_rate=1.0,
        negative_sample_rate=5,
        repulsion_strength=1.0,
        local_connectivity=1.0,
        random_state=None,
        verbose=0,
    ):
        self.n_components = n_components
        self.n_neighbors = n_neighbors
        self.min_dist = min_dist
        self.metric = metric
        self.n_epochs = n_epochs
        self.learning_rate = learning_rate
        self.negative_sample_rate = negative_sample_rate
        self.repulsion_strength = repulsion_strength
        self.local_connectivity = local_connectivity
        self.random_state = random_state
        self.verbose = verbose

    def _check_params(self) -> None:
        check_int(self, "n_components", self.n_components, 1, allow_none=True)
        check_int(self, "n_neighbors", self.n_neighbors, 2)
        check_float(self, "min_dist", self.min_dist, 0)
        check_options(self, "metric", self.metric, self._METRICS)
        check_int(self, "n_epochs", self.n_epochs, 1, allow_none=True)
        check_float(self, "learning_rate", self.learning_rate, 0, low_open=True)
        check_int(self, "negative_sample_rate", self.negative_sample_rate, 0)
        check_float(self, "repulsion_strength", self.repulsion_strength, 0)
        check_float(self, "local_connectivity", self.local_connectivity, 0)
        check_random_state_param(self, self.random_state)

    def fit_transform(self, X, y=None):
        """Fit and return the training embedding.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        embedding : ndarray of shape (n_samples, n_components), float32
            ``embedding_``.
        """
        return self.fit(X).embedding_

    # -- persistence hooks (n2d.persistence) and pickling ---------------------- #

    def _n2d_get_state(self) -> dict:
        return {k: v for k, v in vars(self).items() if k.endswith("_") and not k.startswith("_")}

    def _n2d_set_state(self, state: dict) -> None:
        for k, v in state.items():
            setattr(self, k, v)
        for name in self._TRANSIENT:
            setattr(self, name, None)

    def __getstate__(self):
        state = super().__getstate__()
        for name in self._TRANSIENT:
            state.pop(name, None)
        return state

    @classmethod
    def _n2d_check_state(cls, params: dict, state: dict, check) -> None:
        """Load-time rules of a saved UMAP: its embedding, training data and curve parameters agree."""
        if "embedding_" not in state:
            return
        n, c = check.array("embedding_", state["embedding_"], (None, None))
        if params.get("n_components") is not None and c != check.int_("n_components", params["n_components"], low=1):
            check.fail(f"embedding_ has {c} columns but n_components is {params['n_components']}")
        d = state.get("n_features_in_")
        check.array("fit_data_", state.get("fit_data_"), (n, d))
        if n < 2:
            check.fail(f"embedding_ has {n} rows, expected at least 2")
        k = check.int_("n_neighbors_", state.get("n_neighbors_"), low=1)
        if k >= n:
            check.fail(f"n_neighbors_ is {k}, but the training data has only {n} rows")
        check.float_("a_", state.get("a_"))
        check.float_("b_", state.get("b_"))
        check.int_("transform_seed_", state.get("transform_seed_"), low=0)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
