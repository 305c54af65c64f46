"""TorchGaussianMixture: agreement with scikit-learn's GaussianMixture(full), API, errors."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import torch
from scipy.stats import multivariate_normal
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.mixture import GaussianMixture
from sklearn.utils.estimator_checks import parametrize_with_checks
from threadpoolctl import threadpool_limits

from n2d.cluster import TorchGaussianMixture, _gmm_em
from n2d.cluster._gmm_em import (
    _compute_precision_cholesky,
    _estimate_gaussian_parameters,
    _estimate_log_prob,
    _initialize_from_means,
    _kmeans_lloyd,
    _kmeans_pp,
    _nearest,
)
from n2d.exceptions import DeviceWarning
from n2d.metrics import cluster_acc
from n2d.persistence import load_model, save_model

_NAME = "TorchGaussianMixture"
FITTED = ("weights_", "means_", "covariances_", "precisions_cholesky_", "precisions_", "labels_")


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Run torch and BLAS single-threaded here, restoring the settings afterwards.

    These problems are small, and on a shared, oversubscribed host multi-threaded
    OpenMP spins: one EM iteration on 2,000 x 5 took 50 ms with two torch threads
    and 0.5 ms with one. Results do not depend on the thread count.
    """
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(1):
        yield
    torch.set_num_threads(old)


@pytest.fixture(scope="module")
def separated():
    """2,000 x 5, four well-separated blobs, and initial means near the true centres."""
    x, y, centers = make_blobs(n_samples=2000, n_features=5, centers=4, random_state=0, return_centers=True)
    means = centers + np.random.RandomState(1).normal(0, 0.5, centers.shape)
    return x, y, means


@pytest.fixture(scope="module")
def overlapping():
    """3,000 x 4, five heavily overlapping blobs (several EM local optima), and random initial means."""
    x, y = make_blobs(n_samples=3000, n_features=4, centers=5, cluster_std=2.5, random_state=3)
    means = x[np.random.RandomState(2).choice(len(x), 5, replace=False)]
    return x, y, means


def _sklearn(**kw):
    return GaussianMixture(covariance_type="full", random_state=0, **kw)


# --------------------------------------------------------------------------- #
# Agreement with scikit-learn
# --------------------------------------------------------------------------- #


def test_gmm_matches_sklearn_given_means_init_on_separated_blobs(separated):
    x, _, means = separated
    ref = _sklearn(n_components=4, means_init=means, tol=1e-6, max_iter=500).fit(x)
    est = TorchGaussianMixture(4, means_init=means, tol=1e-6, max_iter=500, device="cpu").fit(x)
    assert est.score(x) == pytest.approx(ref.score(x), rel=1e-4)
    assert est.lower_bound_ == pytest.approx(ref.lower_bound_, rel=1e-4)
    np.testing.assert_allclose(est.weights_, ref.weights_, atol=1e-5)
    np.testing.assert_allclose(est.means_, ref.means_, atol=1e-5)
    np.testing.assert_allclose(est.covariances_, ref.covariances_, atol=1e-5)
    # the same initial means give the same component order, so labels agree exactly
    np.testing.assert_array_equal(est.predict(x), ref.predict(x))
    assert est.converged_ and ref.converged_


def test_gmm_matches_sklearn_step_for_step_on_overlapping_data(overlapping):
    # With overlapping components the optimum EM reaches depends on the initial
    # weights and covariances, not only the means. scikit-learn derives them from
    # a (random) k-means run, so hand it this class's initial state explicitly;
    # then both run the same EM and must agree to rounding at every step.
    x, _, means = overlapping
    weights0, _, cov0, _ = _initialize_from_means(torch.from_numpy(x), torch.from_numpy(means), 1e-6, keep_means=True)
    ref = _sklearn(
        n_components=5,
        means_init=means,
        weights_init=weights0.numpy(),
        precisions_init=np.linalg.inv(cov0.numpy()),
        tol=1e-6,
        max_iter=500,
    ).fit(x)
    est = TorchGaussianMixture(5, means_init=means, tol=1e-6, max_iter=500, device="cpu").fit(x)
    assert est.n_iter_ == ref.n_iter_
    assert est.converged_ == ref.converged_
    assert est.lower_bound_ == pytest.approx(ref.lower_bound_, rel=1e-10)
    np.testing.assert_allclose(est.lower_bounds_, ref.lower_bounds_, rtol=1e-10)
    np.testing.assert_allclose(est.score(x), ref.score(x), rtol=1e-10)
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_", "precisions_"):
        np.testing.assert_allclose(getattr(est, name), getattr(ref, name), atol=1e-8, err_msg=name)
    np.testing.assert_array_equal(est.predict(x), ref.predict(x))


def test_gmm_inference_matches_sklearn_with_the_same_parameters(overlapping):
    x, _, _ = overlapping
    est = TorchGaussianMixture(5, random_state=0, device="cpu").fit(x)
    ref = GaussianMixture(5, covariance_type="full")
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_", "precisions_", "n_features_in_"):
        setattr(ref, name, getattr(est, name))
    new = x[:500] + np.random.RandomState(0).normal(0, 1.0, (500, x.shape[1]))
    np.testing.assert_allclose(est.score_samples(new), ref.score_samples(new), rtol=1e-10)
    np.testing.assert_allclose(est.predict_proba(new), ref.predict_proba(new), atol=1e-10)
    np.testing.assert_array_equal(est.predict(new), ref.predict(new))
    assert est.score(new) == pytest.approx(ref.score(new), rel=1e-10)
    assert est.bic(new) == pytest.approx(ref.bic(new), rel=1e-10)
    assert est.aic(new) == pytest.approx(ref.aic(new), rel=1e-10)
    np.testing.assert_allclose(est.precisions_, np.linalg.inv(est.covariances_), rtol=1e-8, atol=1e-10)


@pytest.mark.slow
def test_gmm_quality_on_pendigits_is_close_to_sklearn(pendigits):
    # Raw pendigits (10,992 x 16, 10 classes) is not Gaussian, so EM ends in
    # different local optima depending on its starting partition: the two
    # libraries start differently (k-means++ seeds here, k-means labels in
    # scikit-learn), and across seeds each library alone varies by about
    # 0.5 nats/sample and 0.1 ACC. The thresholds allow that much, and no more.
    x, y = pendigits
    ref = GaussianMixture(10, covariance_type="full", n_init=3, random_state=0).fit(x)
    est = TorchGaussianMixture(10, n_init=3, random_state=0, device="cpu").fit(x)
    ref_ll, est_ll = ref.score(x), est.score(x)
    ref_acc, est_acc = cluster_acc(y, ref.predict(x)), cluster_acc(y, est.predict(x))
    assert est_ll > ref_ll - 0.5, (est_ll, ref_ll)
    assert est_acc > ref_acc - 0.1, (est_acc, ref_acc)
    assert est_acc > 0.6


# --------------------------------------------------------------------------- #
# Numerical helpers
# --------------------------------------------------------------------------- #


def test_estimate_log_prob_matches_scipy_logpdf():
    rng = np.random.RandomState(0)
    x = rng.normal(size=(50, 3))
    means = rng.normal(size=(2, 3))
    a = rng.normal(size=(2, 3, 3))
    covs = a @ a.transpose(0, 2, 1) + 0.5 * np.eye(3)
    prec_chol = _compute_precision_cholesky(torch.from_numpy(covs))
    got = _estimate_log_prob(torch.from_numpy(x), torch.from_numpy(means), prec_chol).numpy()
    want = np.stack([multivariate_normal(means[k], covs[k]).logpdf(x) for k in range(2)], axis=1)
    np.testing.assert_allclose(got, want, rtol=1e-10)
    p = prec_chol.numpy()
    np.testing.assert_allclose(p @ p.transpose(0, 2, 1), np.linalg.inv(covs), rtol=1e-8)
    assert np.allclose(np.tril(p, -1), 0)  # upper triangular, as scikit-learn's


def test_m_step_statistics_match_weighted_numpy():
    rng = np.random.RandomState(1)
    x = rng.normal(size=(40, 3))
    resp = rng.dirichlet(np.ones(4), size=40)
    nk, means, covs = (
        t.numpy() for t in _estimate_gaussian_parameters(torch.from_numpy(x), torch.from_numpy(resp), 1e-3)
    )
    eps = 10 * np.finfo(np.float64).eps
    np.testing.assert_allclose(nk, resp.sum(0) + eps)
    for k in range(4):
        mu = resp[:, k] @ x / nk[k]
        np.testing.assert_allclose(means[k], mu)
        cov = ((x - mu).T * resp[:, k]) @ (x - mu) / nk[k] + 1e-3 * np.eye(3)
        np.testing.assert_allclose(covs[k], cov, rtol=1e-12)


def test_chunked_computation_equals_unchunked(monkeypatch, overlapping):
    x = torch.from_numpy(overlapping[0])
    resp = torch.from_numpy(np.random.RandomState(0).dirichlet(np.ones(5), size=len(x)))
    nk, means, covs = _estimate_gaussian_parameters(x, resp, 1e-6)
    prec = _compute_precision_cholesky(covs)
    whole = (_estimate_log_prob(x, means, prec), covs, _nearest(x, means))
    monkeypatch.setattr(_gmm_em, "_CHUNK_BYTES", 4096)  # chunks of a few samples
    chunked = (_estimate_log_prob(x, means, prec), _estimate_gaussian_parameters(x, resp, 1e-6)[2], _nearest(x, means))
    torch.testing.assert_close(chunked[0], whole[0], rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(chunked[1], whole[1], rtol=1e-12, atol=1e-12)
    assert torch.equal(chunked[2], whole[2])


def test_kmeans_pp_picks_distinct_rows_deterministically(separated):
    x = torch.from_numpy(separated[0])
    centers, idx = _kmeans_pp(x, 4, torch.Generator().manual_seed(0))
    again, idx2 = _kmeans_pp(x, 4, torch.Generator().manual_seed(0))
    assert torch.equal(idx, idx2) and torch.equal(centers, again)
    assert len(set(idx.tolist())) == 4
    assert torch.equal(centers, x[idx])
    # well-separated blobs: k-means++ puts one seed in each blob
    assert len(set(separated[1][idx.numpy()].tolist())) == 4


def test_kmeans_lloyd_matches_sklearn_kmeans_from_the_same_start(overlapping):
    x = overlapping[0]
    start = x[:5].copy()
    centers, labels, _ = _kmeans_lloyd(torch.from_numpy(x), torch.from_numpy(start), tol=0.0)
    ref = KMeans(5, init=start, n_init=1, algorithm="lloyd", tol=0.0).fit(x)
    np.testing.assert_allclose(centers.numpy(), ref.cluster_centers_, rtol=1e-8)
    np.testing.assert_array_equal(labels.numpy(), ref.labels_)


def test_singular_covariance_raises_with_remedy():
    rng = np.random.RandomState(0)
    x = np.vstack([np.zeros((10, 2)), rng.normal(size=(10, 2)) + 5])  # one component collapses to a point
    est = TorchGaussianMixture(2, reg_covar=0.0, means_init=[[0, 0], [5, 5]], device="cpu")
    with pytest.raises(ValueError, match="decrease the number of components, increase reg_covar, or scale"):
        est.fit(x)
    TorchGaussianMixture(2, means_init=[[0, 0], [5, 5]], device="cpu").fit(x)  # reg_covar=1e-6 suffices


# --------------------------------------------------------------------------- #
# Seeding and restarts
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("init_params", ["k-means++", "kmeans", "random_from_data"])
def test_same_seed_gives_identical_results(init_params, overlapping):
    x = overlapping[0]
    a = TorchGaussianMixture(5, init_params=init_params, n_init=2, random_state=3, device="cpu").fit(x)
    b = TorchGaussianMixture(5, init_params=init_params, n_init=2, random_state=3, device="cpu").fit(x)
    for name in FITTED:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.lower_bound_ == b.lower_bound_ and a.n_iter_ == b.n_iter_


def test_different_seeds_can_differ(overlapping):
    x = overlapping[0]
    fits = [
        TorchGaussianMixture(5, init_params="random_from_data", random_state=s, device="cpu").fit(x) for s in range(4)
    ]
    assert any(not np.allclose(f.means_, fits[0].means_) for f in fits[1:])


def test_random_state_none_follows_numpy_global_seed(separated):
    x = separated[0]
    np.random.seed(5)
    a = TorchGaussianMixture(4, device="cpu").fit(x)
    np.random.seed(5)
    b = TorchGaussianMixture(4, device="cpu").fit(x)
    np.testing.assert_array_equal(a.means_, b.means_)
    c = TorchGaussianMixture(4, random_state=np.random.RandomState(0), device="cpu").fit(x)
    assert c.converged_


def test_n_init_keeps_the_best_lower_bound(overlapping):
    # The restarts draw from one generator in turn, so restart 0 of n_init=5 is
    # exactly the n_init=1 fit: the best of five can only be as good or better.
    x = overlapping[0]
    improved = 0
    for seed in range(4):
        one = TorchGaussianMixture(5, init_params="random_from_data", random_state=seed, device="cpu").fit(x)
        five = TorchGaussianMixture(5, init_params="random_from_data", n_init=5, random_state=seed, device="cpu").fit(x)
        assert five.lower_bound_ >= one.lower_bound_
        improved += five.lower_bound_ > one.lower_bound_ + 1e-9
    assert improved >= 1


# --------------------------------------------------------------------------- #
# API
# --------------------------------------------------------------------------- #


def test_fit_predict_equals_fit_then_predict(overlapping):
    x = overlapping[0]
    # max_iter=2 stops far from convergence, where only the final E-step keeps them equal
    with pytest.warns(ConvergenceWarning):
        labels = TorchGaussianMixture(5, max_iter=2, random_state=0, device="cpu").fit_predict(x)
    with pytest.warns(ConvergenceWarning):
        est = TorchGaussianMixture(5, max_iter=2, random_state=0, device="cpu").fit(x)
    np.testing.assert_array_equal(labels, est.predict(x))
    np.testing.assert_array_equal(labels, est.labels_)
    assert labels.dtype == np.int64


def test_methods_shapes_and_dtypes(separated):
    x = separated[0]
    est = TorchGaussianMixture(4, random_state=0, device="cpu").fit(x.astype(np.float32))
    proba = est.predict_proba(x)
    assert proba.shape == (len(x), 4) and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-12)
    samples = est.score_samples(x[:7])
    assert samples.shape == (7,) and samples.dtype == np.float64
    assert est.score(x) == pytest.approx(est.score_samples(x).mean())
    for name, shape in [
        ("weights_", (4,)), ("means_", (4, 5)), ("covariances_", (4, 5, 5)), ("precisions_cholesky_", (4, 5, 5))
    ]:
        value = getattr(est, name)
        assert isinstance(value, np.ndarray) and value.dtype == np.float64 and value.shape == shape, name
    assert isinstance(est.converged_, bool) and isinstance(est.n_iter_, int) and isinstance(est.lower_bound_, float)
    assert est.n_features_in_ == 5 and est.device_ == "cpu"
    assert est.weights_.sum() == pytest.approx(1.0)


def test_float32_computation_is_close_to_float64(separated):
    x, _, means = separated
    a = TorchGaussianMixture(4, means_init=means, tol=1e-6, device="cpu").fit(x)
    b = TorchGaussianMixture(4, means_init=means, tol=1e-6, dtype="float32", device="cpu").fit(x)
    assert b.means_.dtype == np.float64
    np.testing.assert_allclose(b.means_, a.means_, atol=1e-3)
    assert b.score(x) == pytest.approx(a.score(x), rel=1e-4)
    np.testing.assert_array_equal(b.predict(x), a.predict(x))


def test_max_iter_zero_returns_the_initialisation_without_warning(separated):
    x, _, means = separated
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est = TorchGaussianMixture(4, means_init=means, max_iter=0, device="cpu").fit(x)
    np.testing.assert_array_equal(est.means_, means)
    assert est.n_iter_ == 0 and not est.converged_ and est.lower_bound_ == -np.inf


def test_non_convergence_warns_with_advice(overlapping):
    with pytest.warns(ConvergenceWarning, match="Try different init parameters, or increase max_iter, tol"):
        est = TorchGaussianMixture(5, max_iter=1, tol=0.0, random_state=0, device="cpu").fit(overlapping[0])
    assert not est.converged_ and est.n_iter_ == 1


def test_verbose_prints_progress(capsys, separated):
    with pytest.warns(ConvergenceWarning):  # tol=0 never converges; 10 iterations print once
        TorchGaussianMixture(4, n_init=2, verbose=2, tol=0, max_iter=10, random_state=0, device="cpu").fit(separated[0])
    out = capsys.readouterr().out
    assert "Initialization 0" in out and "Initialization 1" in out and "Iteration 10" in out


@parametrize_with_checks([TorchGaussianMixture(n_components=3, random_state=0, device="cpu")])
def test_sklearn_compatible(estimator, check):
    check(estimator)


# --------------------------------------------------------------------------- #
# Errors
# --------------------------------------------------------------------------- #


def test_rejects_nan_input():
    x = np.random.RandomState(0).normal(size=(20, 3))
    x[3, 1] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        TorchGaussianMixture(2, device="cpu").fit(x)


def test_rejects_1d_input():
    with pytest.raises(ValueError, match="Expected 2D array, got 1D array instead"):
        TorchGaussianMixture(2, device="cpu").fit(np.arange(10.0))


def test_rejects_fewer_samples_than_components():
    msg = "Expected n_samples >= n_components but got n_components = 5, n_samples = 3"
    with pytest.raises(ValueError, match=re.escape(msg)):
        TorchGaussianMixture(5, device="cpu").fit(np.random.RandomState(0).normal(size=(3, 2)))


@pytest.mark.parametrize(
    "params, message",
    [
        ({"n_components": 0},
         f"The 'n_components' parameter of {_NAME} must be an int in the range [1, inf). Got 0 instead."),
        ({"reg_covar": -1},
         f"The 'reg_covar' parameter of {_NAME} must be a float in the range [0.0, inf]. Got -1 instead."),
        ({"init_params": "foo"}, "The 'init_params' parameter of TorchGaussianMixture must be a str among"),
        ({"dtype": "float16"},
         f"The 'dtype' parameter of {_NAME} must be a str among {{'float32', 'float64'}}. Got 'float16' instead."),
        ({"tol": -1e-3}, "The 'tol' parameter"),
        ({"max_iter": -1}, "The 'max_iter' parameter"),
        ({"n_init": 0}, "The 'n_init' parameter"),
        ({"random_state": "seed"}, "The 'random_state' parameter"),
        ({"verbose": -1}, "The 'verbose' parameter"),
        ({"device": "tpu"}, "device must be one of"),
        ({"means_init": np.zeros((3, 3))},
         "The parameter 'means_init' should have the shape of (2, 2), but got (3, 3)"),
    ],
)
def test_rejects_bad_parameters_at_fit(params, message):
    est = TorchGaussianMixture(**{"n_components": 2, "device": "cpu", **params})  # __init__ accepts anything
    with pytest.raises(ValueError, match=re.escape(message)):
        est.fit(np.random.RandomState(0).normal(size=(20, 2)))


def test_predict_before_fit_raises_not_fitted():
    with pytest.raises(NotFittedError, match="This TorchGaussianMixture instance is not fitted yet"):
        TorchGaussianMixture(2).predict(np.zeros((3, 2)))


def test_wrong_feature_count_at_predict(separated):
    est = TorchGaussianMixture(4, random_state=0, device="cpu").fit(separated[0])
    with pytest.raises(ValueError, match="X has 3 features, but TorchGaussianMixture is expecting 5 features"):
        est.predict(np.zeros((4, 3)))


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is available")
def test_cuda_without_gpu_fails_clearly():
    with pytest.raises(ValueError, match="no CUDA GPU is available"):
        TorchGaussianMixture(2, device="cuda").fit(np.random.RandomState(0).normal(size=(20, 2)))


# --------------------------------------------------------------------------- #
# Persistence and devices
# --------------------------------------------------------------------------- #


def test_save_load_round_trip_predicts_identically(tmp_path, overlapping):
    x, _, means = overlapping
    est = TorchGaussianMixture(5, means_init=means, random_state=0, device="cpu").fit(x)
    for name, value in vars(est).items():
        assert not isinstance(value, torch.Tensor), name
    save_model(est, tmp_path / "gmm")
    loaded = load_model(tmp_path / "gmm")
    assert isinstance(loaded, TorchGaussianMixture)
    np.testing.assert_array_equal(loaded.means_init, means)
    assert {k: v for k, v in loaded.get_params().items() if k != "means_init"} == {
        k: v for k, v in est.get_params().items() if k != "means_init"
    }
    new = x + np.random.RandomState(1).normal(0, 0.5, x.shape)
    np.testing.assert_array_equal(loaded.predict(new), est.predict(new))
    np.testing.assert_array_equal(loaded.predict_proba(new), est.predict_proba(new))
    np.testing.assert_array_equal(loaded.score_samples(new), est.score_samples(new))
    for name in FITTED:
        np.testing.assert_array_equal(getattr(loaded, name), getattr(est, name))
    assert (loaded.converged_, loaded.n_iter_, loaded.lower_bound_) == (est.converged_, est.n_iter_, est.lower_bound_)


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is available")
def test_model_fitted_on_a_missing_gpu_predicts_on_cpu(separated):
    x = separated[0]
    est = TorchGaussianMixture(4, random_state=0, device="cpu").fit(x)
    expected = est.predict(x)
    est.device_ = "cuda:0"  # as if fitted on a GPU machine and copied here
    with pytest.warns(DeviceWarning, match="using the CPU"):
        np.testing.assert_array_equal(est.predict(x), expected)
    assert est.device_ == "cpu"


@pytest.mark.gpu
def test_cuda_agrees_with_cpu(overlapping):
    x, _, means = overlapping
    for kw in ({"means_init": means}, {"random_state": 0, "n_init": 3}):
        cpu = TorchGaussianMixture(5, tol=1e-6, max_iter=500, device="cpu", **kw).fit(x)
        gpu = TorchGaussianMixture(5, tol=1e-6, max_iter=500, device="cuda", **kw).fit(x)
        assert gpu.device_.startswith("cuda")
        assert gpu.lower_bound_ == pytest.approx(cpu.lower_bound_, rel=1e-8)
        np.testing.assert_allclose(gpu.means_, cpu.means_, atol=1e-6)
        np.testing.assert_allclose(gpu.covariances_, cpu.covariances_, atol=1e-6)
        assert cluster_acc(cpu.predict(x), gpu.predict(x)) > 0.999


@pytest.mark.gpu
@pytest.mark.parametrize("init_params", ["k-means++", "kmeans"])
def test_cuda_fit_with_deterministic_algorithms_is_reproducible(overlapping, deterministic_cuda, init_params):
    """Issue 17, point 7: k-means++ sampled with a float cumsum, which CUDA refuses in deterministic mode."""
    x, _, _ = overlapping
    fits = [
        TorchGaussianMixture(5, init_params=init_params, n_init=2, random_state=0, device="cuda").fit(x)
        for _ in range(2)
    ]
    np.testing.assert_array_equal(fits[0].means_, fits[1].means_)
    cpu = TorchGaussianMixture(5, init_params=init_params, n_init=2, random_state=0, device="cpu").fit(x)
    np.testing.assert_allclose(fits[0].means_, cpu.means_, atol=1e-6)


def test_weighted_sampling_follows_the_running_sum():
    from n2d.cluster._gmm_em import _sample_by_weight

    w = torch.tensor([0.0, 1.0, 0.0, 3.0, 0.0], dtype=torch.float64)
    u = torch.tensor([0.0, 0.2, 0.25, 0.26, 0.99], dtype=torch.float64)
    # running sums 0, 1, 1, 4, 4 of a total of 4: targets 0, 0.8, 1, 1.04, 3.96
    assert _sample_by_weight(w, w.sum(), u).tolist() == [0, 1, 1, 3, 3]
    zero = torch.zeros((), dtype=torch.float64)
    assert _sample_by_weight(torch.zeros(5, dtype=torch.float64), zero, u).tolist() == [0] * 5
    rng = torch.Generator().manual_seed(0)
    w = torch.rand(10_000, generator=rng, dtype=torch.float64) ** 4
    u = torch.rand(200, generator=rng, dtype=torch.float64)
    float_scan = torch.searchsorted(torch.cumsum(w, 0), u * w.sum()).clamp_(max=w.numel() - 1)
    assert torch.equal(_sample_by_weight(w, w.sum(), u), float_scan)
