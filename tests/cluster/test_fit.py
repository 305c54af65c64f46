"""The clusterer stage on degenerate geometry: singular covariances are retried with a larger reg_covar, recorded."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.mixture import GaussianMixture

from n2d import N2D, TorchGaussianMixture
from n2d.cluster import fit_predict
from n2d.cluster._fit import REG_COVAR_FACTOR, REG_COVAR_RETRIES
from n2d.exceptions import AdjustmentWarning, StageError


@pytest.fixture(scope="module")
def flat_groups():
    """26 groups, each on a 2-D plane of a 26-D space: full covariances are singular (as UMAP's tight clumps)."""
    rng = np.random.RandomState(0)
    k, d = 26, 26
    centers = rng.randn(k, d) * 10 + 20
    planes = rng.randn(k, 2, d)
    x = np.concatenate([c + rng.randn(40, 2) @ b for c, b in zip(centers, planes)]).astype(np.float32)
    return x, np.repeat(np.arange(k), 40)


def test_the_fixture_breaks_a_plain_mixture(flat_groups):
    x, _ = flat_groups
    with pytest.raises(ValueError, match="ill-defined empirical covariance"):
        GaussianMixture(26, n_init=1, random_state=0).fit(x)


def test_a_singular_mixture_is_refitted_with_a_larger_reg_covar(flat_groups):
    x, y = flat_groups
    gmm = GaussianMixture(26, n_init=1, random_state=0)
    with pytest.warns(AdjustmentWarning, match=r"reg_covar=1e-06 .*refitted with reg_covar=(1e-0[1-5])"):
        labels = fit_predict(gmm, x)
    assert gmm.reg_covar > 1e-6 and gmm.reg_covar <= 1e-6 * REG_COVAR_FACTOR**REG_COVAR_RETRIES
    assert labels.shape == y.shape and np.unique(labels).size > 1


def test_the_torch_mixture_is_refitted_the_same_way(flat_groups):
    x, _ = flat_groups
    gmm = TorchGaussianMixture(26, n_init=1, random_state=0, device="cpu", reg_covar=1e-12)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        labels = fit_predict(gmm, x)
    assert labels.shape == (x.shape[0],)
    if gmm.reg_covar != 1e-12:  # the torch mixture computes in float64, so it may not need a retry
        assert any(issubclass(w.category, AdjustmentWarning) for w in seen)


class _AlwaysSingular(ClusterMixin, BaseEstimator):
    def __init__(self, n_components=3, reg_covar=1e-6):
        self.n_components = n_components
        self.reg_covar = reg_covar

    def fit_predict(self, X, y=None):
        raise ValueError("Fitting the mixture model failed because some components have ill-defined empirical "
                         "covariance (for instance caused by singleton or collapsed samples).")


def test_what_still_fails_names_the_stage_the_cause_and_the_parameters():
    est = _AlwaysSingular()
    with pytest.raises(StageError, match=r"clusterer stage \(_AlwaysSingular\).*reg_covar from 1e-06 up to 0\.1.*"
                                         r"Lower n_clusters or the manifold's n_components"):
        fit_predict(est, np.zeros((20, 3), dtype=np.float32))


def test_other_errors_are_not_retried():
    class Broken(_AlwaysSingular):
        def fit_predict(self, X, y=None):
            raise ValueError("something else")

    est = Broken()
    with pytest.raises(ValueError, match="something else"):
        fit_predict(est, np.zeros((20, 3), dtype=np.float32))
    assert est.reg_covar == 1e-6


def test_n2d_records_the_adjustment_and_keeps_it_when_saved(flat_groups, tmp_path):
    x, y = flat_groups
    model = N2D(26, autoencoder=None, manifold=None, random_state=0, verbose=0)
    with pytest.warns(AdjustmentWarning):
        model.fit(x)
    assert set(model.adjustments_) == {"clusterer.reg_covar"}
    assert model.adjustments_["clusterer.reg_covar"] == model.clusterer_.reg_covar > 1e-6
    model.save(tmp_path / "m")
    again = N2D.load(tmp_path / "m")
    assert again.adjustments_ == model.adjustments_
    np.testing.assert_array_equal(again.predict(x[:50]), model.predict(x[:50]))


def test_an_unadjusted_fit_records_no_adjustment(blobs):
    x, _ = blobs
    model = N2D(3, autoencoder=None, manifold=None, random_state=0, verbose=0).fit(x)
    assert model.adjustments_ == {}


def test_a_tampered_adjustments_entry_is_a_format_error(blobs, tmp_path):
    from n2d.exceptions import ModelFormatError

    x, _ = blobs
    N2D(3, autoencoder=None, manifold=None, random_state=0, verbose=0).fit(x).save(tmp_path / "m")
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    manifest["model"]["state"]["adjustments_"] = {"__dict__": {"clusterer.reg_covar": "big"}}
    (tmp_path / "m" / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelFormatError, match="adjustments_ is not a mapping"):
        N2D.load(tmp_path / "m")


def test_the_k_search_survives_singular_candidates(flat_groups):
    x, _ = flat_groups
    model = N2D("auto", autoencoder=None, manifold=None, k_range=(20, 28), random_state=0, verbose=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AdjustmentWarning)
        model.fit(x)
    assert 20 <= model.n_clusters_ <= 28


@pytest.mark.parametrize("rows", [5, 25, 59])
def test_auto_k_with_the_default_range_runs_on_a_few_rows(rows):
    x = np.random.RandomState(0).randn(rows, 3).astype(np.float32)
    with pytest.warns(AdjustmentWarning, match=rf"searches k in \(2, {rows // 2}\) on these {rows} rows"):
        model = N2D("auto", epochs=2, hidden_dims=(8,), random_state=0, verbose=0).fit(x)
    assert model.adjustments_ == {"k_range.high": rows // 2}
    assert 2 <= model.n_clusters_ <= rows // 2 and model.k_candidates_.max() == rows // 2


def test_an_explicit_k_range_is_not_adjusted():
    x = np.random.RandomState(0).randn(25, 3).astype(np.float32)
    with pytest.raises(ValueError, match="goes up to 30 clusters, more than the 25 samples"):
        N2D("auto", k_range=(3, 30), epochs=2, random_state=0, verbose=0).fit(x)
    with warnings.catch_warnings():
        warnings.simplefilter("error", AdjustmentWarning)
        model = N2D("auto", k_range=(2, 6), epochs=2, hidden_dims=(8,), random_state=0, verbose=0).fit(x)
    assert model.adjustments_ == {}
