"""A full-covariance Gaussian mixture fitted by EM in torch, on the CPU or a GPU.

:class:`TorchGaussianMixture` is a drop-in for
``sklearn.mixture.GaussianMixture(covariance_type="full")``: the same
parameters (those that apply), method names, fitted attributes and EM updates,
with one code path for every device. The numerics are in
:mod:`n2d.cluster._gmm_em`.
"""

from __future__ import annotations

import math
import time
import warnings

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClusterMixin, DensityMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from n2d._util.checks import check_float, check_int, check_options, check_random_state_param, seed_from
from n2d._util.device import resolve_device, runtime_device
from n2d.cluster._gmm_em import (
    _estimate_log_prob_resp,
    _estimate_weighted_log_prob,
    _initial_means,
    _initialize_from_means,
    _run_em,
    _to_tensor,
)
from n2d.persistence._state import check_mixture_state

__all__ = ["TorchGaussianMixture"]

INIT_PARAMS = ("k-means++", "kmeans", "random_from_data")
DTYPES = {"float64": torch.float64, "float32": torch.float32}

_VERBOSE_INTERVAL = 10

# --------------------------------------------------------------------------- #
# The estimator
# --------------------------------------------------------------------------- #


class TorchGaussianMixture(ClusterMixin, DensityMixin, BaseEstimator):
    """Full-covariance Gaussian mixture fitted by EM in torch (CPU or GPU).

    A drop-in for ``sklearn.mixture.GaussianMixture(covariance_type="full")``:
    the same EM updates, stopping rule, restarts, method names and fitted
    attributes, computed with batched torch linear algebra on any device.

    Parameters
    ----------
    n_components : int, default=1
        Number of mixture components (clusters); at least 1 and at most the
        number of samples.
    tol : float, default=1e-3
        EM stops when the mean log-likelihood (the lower bound) changes by
        less than this between iterations. 1e-3 is scikit-learn's default;
        use 1e-6 or less for parameters accurate to several digits.
    reg_covar : float, default=1e-6
        Added to the diagonal of every covariance so that each stays positive
        definite. Increase it (1e-4 .. 1e-2 for standardised data) if fitting
        fails with an ill-defined covariance.
    max_iter : int, default=100
        Maximum EM iterations per initialisation. 0 returns the initial
        parameters without running EM.
    n_init : int, default=1
        Number of initialisations; the one with the best lower bound is kept.
        The restarts draw from one generator in turn, so the first is the
        ``n_init=1`` fit with the same ``random_state``.
    init_params : {"k-means++", "kmeans", "random_from_data"}, default="k-means++"
        How the initial means are chosen: k-means++ seeding, Lloyd's k-means
        started from k-means++ seeds (scikit-learn's ``"kmeans"``), or
        ``n_components`` distinct random samples. Every sample is then assigned
        to its nearest mean and the weights, means and covariances are the
        M-step of that hard assignment. Ignored when ``means_init`` is given.
    means_init : array-like of shape (n_components, n_features), default=None
        Initial means. Weights and covariances are then estimated from the
        nearest-mean assignment, and ``init_params`` is not used (so every
        restart starts from the same point).
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation. An int gives identical results on the CPU
        from run to run. None draws a seed from numpy's global generator.
    device : str, default="auto"
        ``"auto"`` (CUDA if available, else CPU), ``"cpu"``, ``"cuda"`` or
        ``"cuda:N"``. The data is copied to the device once per fit.
    dtype : {"float64", "float32"}, default="float64"
        Precision of the computation. float64 matches scikit-learn; float32
        is faster on GPUs but full-covariance EM in single precision can fail
        on ill-conditioned covariances (raise ``reg_covar`` if it does).
    verbose : int, default=0
        0 is silent; 1 prints each initialisation; 2 also prints the
        log-likelihood change every 10 iterations with timings.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
        Mixture weights (float64).
    means_ : ndarray of shape (n_components, n_features)
        Component means.
    covariances_ : ndarray of shape (n_components, n_features, n_features)
        Component covariances, including ``reg_covar`` on the diagonal.
    precisions_ : ndarray of shape (n_components, n_features, n_features)
        Inverses of the covariances.
    precisions_cholesky_ : ndarray of shape (n_components, n_features, n_features)
        Upper-triangular Cholesky factors of the precisions
        (``precisions_[k] = P[k] @ P[k].T``).
    converged_ : bool
        Whether the best initialisation converged.
    n_iter_ : int
        EM iterations of the best initialisation.
    lower_bound_ : float
        Mean log-likelihood of the training data at the best initialisation's
        last E-step.
    lower_bounds_ : ndarray of shape (`n_iter_`,)
        The lower bound at each iteration of the best initialisation.
    labels_ : ndarray of shape (n_samples,)
        Component of each training sample (int64), as returned by
        :meth:`fit_predict`. Not in scikit-learn's GaussianMixture; present
        because this is a clusterer (``ClusterMixin``).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Feature names, when ``X`` has string column names.
    device_ : str
        The device the model was fitted on (``"cpu"``, ``"cuda:0"``, ...);
        prediction runs there too (or on the CPU, with a DeviceWarning, if that
        GPU is gone).

    See Also
    --------
    sklearn.mixture.GaussianMixture : The numpy implementation this follows.

    Notes
    -----
    EM follows scikit-learn's ``GaussianMixture`` with ``covariance_type="full"``
    step for step: the E-step whitens the data with the Cholesky factors of the
    precisions (log-determinant from their diagonals) and normalises with
    log-sum-exp; the M-step uses ``nk = resp.sum(0) + 10 * eps``; convergence is
    a change of the mean log-likelihood below ``tol``; a final E-step makes
    ``fit_predict(X)`` equal ``fit(X).predict(X)``. All components are handled in
    batched operations and samples in chunks of at most 256 MB of temporaries.

    The initialisation differs in detail: scikit-learn starts "k-means++" and
    "random_from_data" from one-hot responsibilities on the seed points
    (covariances ``reg_covar * I``), whose first EM step is a hard assignment
    to the nearest seed; this class starts from that hard assignment directly,
    so its ``n_iter_`` can be one lower.

    N2D (McConville et al., 2020, "N2D: (Not Too) Deep Clustering via Clustering
    the Local Manifold of an Autoencoded Embedding", ICPR) clusters its UMAP
    embedding with this model.

    Examples
    --------
    >>> import numpy as np
    >>> from n2d.cluster._gmm_torch import TorchGaussianMixture
    >>> X = np.array([[1, 2], [1, 4], [1, 0], [10, 2], [10, 4], [10, 0]], dtype=float)
    >>> gm = TorchGaussianMixture(n_components=2, random_state=0, device="cpu").fit(X)
    >>> sorted(np.round(gm.means_[:, 0], 3).tolist())
    [1.0, 10.0]
    """

    def __init__(
        self,
        n_components=1,
        *,
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="k-means++",
        means_init=None,
        random_state=None,
        device="auto",
        dtype="float64",
        verbose=0,
    ):
        self.n_components = n_components
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.means_init = means_init
        self.random_state = random_state
        self.device = device
        self.dtype = dtype
        self.verbose = verbose

    # -- validation --------------------------------------------------------- #

    def _check_params(self):
        check_int(self, "n_components", self.n_components, 1)
        check_float(self, "tol", self.tol, 0.0)
        check_float(self, "reg_covar", self.reg_covar, 0.0)
        check_int(self, "max_iter", self.max_iter, 0)
        check_int(self, "n_init", self.n_init, 1)
        check_options(self, "init_params", self.init_params, set(INIT_PARAMS))
        check_random_state_param(self, self.random_state)
        check_options(self, "dtype", self.dtype, set(DTYPES))
        if not isinstance(self.verbose, (bool, np.bool_)):
            check_int(self, "verbose", self.verbose, 0)
        return resolve_device(self.device)

    def _check_means_init(self, n_features):
        if self.means_init is None:
            return None
        means = np.asarray(self.means_init, dtype=np.float64)
        expected = (self.n_components, n_features)
        if means.shape != expected:
            raise ValueError(
                f"The parameter 'means_init' should have the shape of {expected}, but got {means.shape}."
            )
        if not np.isfinite(means).all():
            raise ValueError("The parameter 'means_init' contains NaN or infinity.")
        return means

    # -- fitting -------------------------------------------------------------- #

    def fit(self, X, y=None):
        """Estimate the model parameters with the EM algorithm.

        Fits ``n_init`` times and keeps the parameters with the largest lower
        bound. Each run alternates E- and M-steps until the lower bound changes
        by less than ``tol`` or ``max_iter`` is reached (then a
        ``ConvergenceWarning`` is raised).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data, one sample per row.
        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        self : object
            The fitted mixture.
        """
        self.fit_predict(X, y)
        return self

    def fit_predict(self, X, y=None):
        """Estimate the model parameters with EM and return the labels of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data, one sample per row.
        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Component of each sample (int64), identical to
            ``fit(X).predict(X)``.
        """
        device = self._check_params()
        X = validate_data(self, X, dtype=[np.float64, np.float32], ensure_min_samples=2)
        n_samples, n_features = X.shape
        if n_samples < self.n_components:
            raise ValueError(
                "Expected n_samples >= n_components "
                f"but got n_components = {self.n_components}, "
                f"n_samples = {n_samples}"
            )
        means_init = self._check_means_init(n_features)
        dtype = DTYPES[self.dtype]
        if self.random_state is None:
            seed = seed_from(check_random_state(None))
        else:
            seed = seed_from(self.random_state)
        reg_covar = float(self.reg_covar)

        with torch.no_grad():
            Xt = _to_tensor(X, dtype, device)
            # One CPU generator for all restarts (as scikit-learn passes one
            # RandomState): restart 0 is the n_init=1 fit with the same seed.
            gen = torch.Generator().manual_seed(seed)
            best = None
            for init in range(self.n_init):
                t0 = time.perf_counter()
                if self.verbose:
                    print(f"Initialization {init}", flush=True)
                if means_init is not None:
                    start = _to_tensor(means_init, dtype, device)
                    params = _initialize_from_means(Xt, start, reg_covar, keep_means=True)
                else:
                    start = _initial_means(Xt, self.n_components, self.init_params, gen)
                    params = _initialize_from_means(Xt, start, reg_covar)
                if self.max_iter == 0:
                    # scikit-learn: no EM, the (last) initial parameters are kept
                    best = (params, -math.inf, [], 0, False)
                    continue
                result = _run_em(Xt, params, float(self.tol), self.max_iter, reg_covar, self._reporter())
                if self.verbose:
                    status = "converged" if result[4] else "did not converge"
                    extra = f" time lapse {time.perf_counter() - t0:.5f}s\t lower bound {result[1]:.5f}."
                    print(f"Initialization {status}." + (extra if self.verbose >= 2 else ""), flush=True)
                if best is None or result[1] > best[1]:
                    best = result
            params, lower_bound, lower_bounds, n_iter, converged = best

            if not converged and self.max_iter > 0:
                warnings.warn(
                    "Best performing initialization did not converge. "
                    "Try different init parameters, or increase max_iter, "
                    "tol, or check for degenerate data.",
                    ConvergenceWarning,
                    stacklevel=2,
                )
            self._set_fitted(params)
            self.converged_ = bool(converged)
            self.n_iter_ = int(n_iter)
            self.lower_bound_ = float(lower_bound)
            self.lower_bounds_ = np.asarray(lower_bounds, dtype=np.float64)
            self.device_ = str(Xt.device)

            # Always do a final E-step so that the labels returned by
            # fit_predict(X) are consistent with fit(X).predict(X), for any
            # max_iter, tol and random_state (as scikit-learn does).
            _, log_resp = _estimate_log_prob_resp(Xt, params[0], params[1], params[3])
            self.labels_ = log_resp.argmax(1).cpu().numpy()
            return self.labels_

    def _reporter(self):
        if self.verbose < 1:
            return None
        last = [time.perf_counter()]

        def report(n_iter, change):
            if n_iter % _VERBOSE_INTERVAL:
                return
            if self.verbose >= 2:
                now = time.perf_counter()
                print(f"  Iteration {n_iter}\t time lapse {now - last[0]:.5f}s\t ll change {change:.5f}", flush=True)
                last[0] = now
            else:
                print(f"  Iteration {n_iter}", flush=True)

        return report

    def _set_fitted(self, params):
        weights, means, covariances, prec_chol = (p.detach().to("cpu", torch.float64).numpy() for p in params)
        self.weights_ = weights.copy()
        self.means_ = means.copy()
        self.covariances_ = covariances.copy()
        self.precisions_cholesky_ = prec_chol.copy()
        self.precisions_ = prec_chol @ prec_chol.transpose(0, 2, 1)

    # -- prediction ----------------------------------------------------------- #

    def _runtime_device(self) -> torch.device:
        dev = runtime_device(self.device_, "mixture")
        self.device_ = str(dev)
        return dev

    def _weighted_log_prob(self, X) -> torch.Tensor:
        """Validate ``X`` and return its weighted log-probabilities (n, k) as a tensor."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        dev = self._runtime_device()
        dtype = DTYPES.get(self.dtype, torch.float64)
        with torch.no_grad():
            Xt = _to_tensor(X, dtype, dev)
            weights, means, prec_chol = (
                _to_tensor(a, dtype, dev) for a in (self.weights_, self.means_, self.precisions_cholesky_)
            )
            return _estimate_weighted_log_prob(Xt, weights, means, prec_chol)

    def predict(self, X):
        """Predict the component of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples, one per row.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Most probable component of each sample (int64).
        """
        return self._weighted_log_prob(X).argmax(1).cpu().numpy()

    def predict_proba(self, X):
        """Posterior probability of each component for each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples, one per row.

        Returns
        -------
        resp : ndarray of shape (n_samples, n_components)
            Responsibilities (float64); each row sums to 1.
        """
        weighted = self._weighted_log_prob(X)
        log_resp = weighted - torch.logsumexp(weighted, dim=1, keepdim=True)
        return torch.exp(log_resp).to("cpu", torch.float64).numpy()

    def score_samples(self, X):
        """Log-likelihood of each sample under the model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples, one per row.

        Returns
        -------
        log_prob : ndarray of shape (n_samples,)
            ``log p(x)`` of each sample (float64).
        """
        return torch.logsumexp(self._weighted_log_prob(X), dim=1).to("cpu", torch.float64).numpy()

    def score(self, X, y=None):
        """Mean log-likelihood of ``X`` under the model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples, one per row.
        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        log_likelihood : float
            Mean of :meth:`score_samples`.
        """
        return float(np.mean(self.score_samples(X)))

    def _n_parameters(self) -> int:
        """Number of free parameters: means, full covariances, weights (minus one)."""
        n_features = self.means_.shape[1]
        cov_params = self.n_components * n_features * (n_features + 1) / 2.0
        mean_params = n_features * self.n_components
        return int(cov_params + mean_params + self.n_components - 1)

    def bic(self, X):
        """Bayesian information criterion of the model on ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples, one per row.

        Returns
        -------
        bic : float
            ``-2 * log-likelihood + n_parameters * log(n_samples)``; lower is better.
        """
        n = np.shape(X)[0]
        return -2 * self.score(X) * n + self._n_parameters() * math.log(n)

    def aic(self, X):
        """Akaike information criterion of the model on ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples, one per row.

        Returns
        -------
        aic : float
            ``-2 * log-likelihood + 2 * n_parameters``; lower is better.
        """
        n = np.shape(X)[0]
        return -2 * self.score(X) * n + 2 * self._n_parameters()

    # -- persistence hook (n2d.persistence) ------------------------------------ #

    @classmethod
    def _n2d_check_state(cls, params: dict, state: dict, check) -> None:
        """Load-time rules of a saved mixture: the same as scikit-learn's (see :mod:`n2d.persistence._state`)."""
        check_mixture_state(check, params, state)

    def _n2d_set_state(self, state: dict) -> None:
        for k, v in state.items():
            setattr(self, k, v)
        if isinstance(getattr(self, "device_", None), str):
            self._runtime_device()  # a GPU-fitted mixture loads on the CPU with a DeviceWarning
