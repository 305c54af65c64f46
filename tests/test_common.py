"""scikit-learn's estimator checks over N2D, with every expected failure and its reason."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from n2d import N2D

_K1 = (
    "the check sets n_clusters=1, which N2D rejects by design (one cluster is not a clustering, "
    "so there is nothing to find); the property it checks is tested at n_clusters=3 by {}"
)

EXPECTED_FAILED = {
    "check_fit2d_1feature": _K1.format("test_n2d_fits_one_feature"),
    "check_dont_overwrite_parameters": _K1.format("test_fit_does_not_overwrite_parameters"),
    "check_fit2d_predict1d": _K1.format("test_methods_reject_1d_input_after_fit"),
    "check_transformer_general": (
        "transform(X_train) re-places the training points in the fitted UMAP embedding (umap-learn's "
        "out-of-sample method, which the torch UMAP follows), which moves them by more than the check's 1e-2; "
        "cluster agreement with labels_ is >= 98% (test_estimator.py)"
    ),
    "check_methods_subset_invariance": _K1.format("test_methods_are_subset_invariant"),
    "check_array_api_input": (
        "N2D does not support array-API dispatch: under it scikit-learn's GaussianMixture refuses "
        "init_params='kmeans' (the paper's GMM start), and the torch stages take numpy arrays"
    ),
    "check_transformer_data_not_an_array": (
        "runs the same fit_transform-versus-transform comparison as check_transformer_general (see there)"
    ),
}


@parametrize_with_checks(
    [N2D(n_clusters=3, hidden_dims=(8,), epochs=2, device="cpu", random_state=0, verbose=0)],
    expected_failed_checks=lambda est: EXPECTED_FAILED,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


# ---------------------------------------------------------------------------
# The properties of the checks that set n_clusters=1, at n_clusters=3
# ---------------------------------------------------------------------------

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from sklearn.base import clone  # noqa: E402


def _small():
    return N2D(n_clusters=3, hidden_dims=(8,), epochs=2, device="cpu", random_state=0, verbose=0)


def test_fit_does_not_overwrite_parameters(blobs):
    est = _small()
    before = {k: (v if not hasattr(v, "get_params") else repr(v)) for k, v in est.get_params().items()}
    public_before = {k for k in vars(est) if not k.startswith("_")}
    est.fit(blobs[0])
    after = {k: (v if not hasattr(v, "get_params") else repr(v)) for k, v in est.get_params().items()}
    assert before == after
    added = {k for k in vars(est) if not k.startswith("_")} - public_before
    assert all(k.endswith("_") for k in added), added


@pytest.mark.parametrize("method", ["predict", "predict_proba", "transform"])
def test_methods_reject_1d_input_after_fit(blobs, method):
    est = _small().fit(blobs[0])
    with pytest.raises(ValueError, match="Expected 2D array"):
        getattr(est, method)(blobs[0][:, 0])


def test_n2d_fits_one_feature():
    x = np.concatenate([np.random.RandomState(0).normal(m, 0.1, 30) for m in (0, 3, 6)])[:, None]
    est = clone(_small()).fit(x.astype(np.float32))
    assert len(np.unique(est.labels_)) == 3


@pytest.mark.parametrize("method", ["predict", "predict_proba", "transform"])
def test_methods_are_subset_invariant(blobs, method):
    """What check_methods_subset_invariance checks, at n_clusters=3: a row's result does not depend on the
    other rows passed with it (the torch UMAP places each new point independently)."""
    est = _small().fit(blobs[0])
    x = blobs[0][:90]
    whole = getattr(est, method)(x)
    parts = np.concatenate([getattr(est, method)(x[s:s + 30]) for s in (60, 0, 30)])
    parts = np.concatenate([parts[30:60], parts[60:], parts[:30]])
    np.testing.assert_allclose(parts, whole, rtol=1e-7, atol=0)
