"""The fast CPU default: training length by steps, mixed precision, early validation, thread limits."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from sklearn.mixture import GaussianMixture

from n2d import N2D, Autoencoder
from n2d._util import hardware as _hardware
from n2d.autoencoder import MLPAutoencoder
from n2d.autoencoder._training import (
    AUTO_MAX_EPOCHS,
    AUTO_STEPS,
    _Step,
    auto_epochs,
    auto_steps,
    train_autoencoder,
)
from n2d.cluster import fit_predict

# --------------------------------------------------------------------------- #
# epochs="auto"
# --------------------------------------------------------------------------- #


def test_auto_epochs_targets_a_number_of_steps():
    # pendigits (10,992 rows) and MNIST (70,000) at batch 256
    assert auto_epochs(10_992, 256, 2000) == 47
    assert auto_epochs(70_000, 256, 2000) == 8
    # the default target: 2000 steps from 8,000 to 10,000 rows, then growing as sqrt(rows); fewer below 8,000
    assert auto_steps(8_000) == auto_steps(10_000) == AUTO_STEPS
    # 400 batches of 256 up to 2,000 rows, rising linearly to 2,000 steps at 8,000 rows
    assert auto_steps(2_000) == auto_steps(1_000) == auto_steps(256) == 400 and auto_steps(5_000) == 1200
    assert all(auto_steps(n) <= auto_steps(n + 1) for n in range(256, 12_000, 7))  # never fewer for more rows
    # below one batch, each step costs less: the same arithmetic, 102,400 rows through the reference network
    assert auto_steps(178) == 576 and auto_steps(200) == 512 and auto_steps(200, batch_size=100) == 1024


def test_small_sets_train_a_fixed_amount_of_arithmetic():
    """Up to 2,000 rows the budget is multiply-adds: fewer steps on wide inputs, never fewer than 100."""
    from n2d.autoencoder._training import AUTO_MIN_STEPS, AUTO_MIN_WORK, forward_macs

    paper = (500, 500, 2000)
    assert forward_macs((64, *paper, 10)) == 2_604_000 == AUTO_MIN_WORK // (400 * 256)
    assert auto_steps(1797, 256, forward_macs((64, *paper, 10))) == 400  # digits
    wide = forward_macs((1024, *paper, 10))
    assert auto_steps(2000, 256, wide) == auto_steps(400, 256, wide) == 293  # 1,024 pixels
    assert auto_steps(200, 256, forward_macs((1460, *paper, 10))) == 334  # 200 rows: steps of 200
    assert auto_steps(2000, 256, forward_macs((20_000, *paper, 10))) == AUTO_MIN_STEPS
    # continuous into the linear part, and the paper's sets (9,298 rows and more) untouched
    assert auto_steps(2001, 256, wide) in (293, 294) and auto_steps(8000, 256, wide) == AUTO_STEPS
    for n in (9298, 10_000, 10_992, 70_000):
        assert auto_steps(n, 256, forward_macs((784, *paper, 10))) == auto_steps(n)


def test_the_autoencoder_sizes_a_small_training_by_its_own_network(blobs, monkeypatch):
    x, _ = blobs  # 300 rows of 8 features, one batch of 300
    monkeypatch.setattr("n2d.autoencoder._training.AUTO_MIN_WORK", 10 * 300 * 352)  # 10 steps of the (8, 16, 3) net
    monkeypatch.setattr("n2d.autoencoder._training.AUTO_MIN_STEPS", 1)
    monkeypatch.setattr("n2d.autoencoder._training.AUTO_FVU", 0.0)
    params = dict(n_components=3, batch_size=300, epochs="auto", cache=False, random_state=0, verbose=0)
    narrow = Autoencoder(hidden_dims=(16,), **params).fit(x)  # 352 multiply-adds per row
    wide = Autoencoder(hidden_dims=(32,), **params).fit(x)  # 704: half the steps for the same arithmetic
    assert (narrow.epochs_, wide.epochs_) == (10, 5) and (narrow.n_iter_, wide.n_iter_) == (10, 5)
    assert auto_steps(70_000) == 5292 and auto_steps(100_000) == auto_steps(1_000_000) == 6325
    assert auto_epochs(10_992, 256) == 49 and auto_epochs(70_000, 256) == 20
    for n in (1_000, 5_000, 10_992, 70_000, 1_000_000):
        steps = auto_epochs(n, 256) * -(-n // 256)
        # the fewest whole epochs reaching the target
        assert auto_steps(n) <= steps < auto_steps(n) + -(-n // 256)
    assert auto_epochs(100, 256, 2000) == AUTO_MAX_EPOCHS  # tiny data: capped at the paper's 1000 epochs
    assert auto_epochs(10_000_000, 256, steps=1) == 1  # never zero


def test_autoencoder_resolves_auto_epochs_and_caches_by_the_resolved_value(tmp_path, blobs, monkeypatch):
    x, _ = blobs
    params = dict(n_components=3, hidden_dims=(16,), batch_size=64, cache_dir=tmp_path, random_state=0, verbose=0)
    auto = Autoencoder(epochs="auto", **params)
    # 300 rows at batch 64: 5 steps an epoch; cap the target so the test is quick
    # 300 rows: 20 steps of 64 rows through the (8, 16, 3) network's 352 multiply-adds per row
    monkeypatch.setattr("n2d.autoencoder._training.AUTO_MIN_WORK", 20 * 64 * 352)
    monkeypatch.setattr("n2d.autoencoder._training.AUTO_MIN_STEPS", 1)
    monkeypatch.setattr("n2d.autoencoder._training.AUTO_FVU", 0.0)  # never reached: the step budget alone decides
    auto.fit(x)
    assert auto.epochs_ == 4 and auto.n_iter_ == 4 and auto.weights_source_ == "trained"
    assert auto.stop_loss_ == 0.0
    again = Autoencoder(epochs="auto", **params).fit(x)
    assert again.weights_source_ == "cache" and again.epochs_ == 4
    # "auto" may stop at a loss, so a fixed epoch count is another training with its own entry
    fixed = Autoencoder(epochs=4, **params).fit(x)
    assert fixed.weights_source_ == "trained" and fixed.stop_loss_ is None
    assert Autoencoder(epochs=4, **params).fit(x).weights_source_ == "cache"


def test_auto_stop_loss_is_a_fraction_of_the_mean_feature_variance(blobs):
    from n2d.autoencoder._training import AUTO_FVU, auto_stop_loss

    x, _ = blobs
    expected = AUTO_FVU * x.astype(np.float64).var(axis=0).mean()
    assert auto_stop_loss(x) == pytest.approx(expected, rel=1e-12)
    assert auto_stop_loss(x, chunk=7) == pytest.approx(expected, rel=1e-12)  # chunked passes agree
    assert auto_stop_loss(x, fvu=0.5) == pytest.approx(50 * expected, rel=1e-12)
    assert auto_stop_loss(np.ones((10, 3), dtype=np.float32)) == 0.0  # constant data: only a perfect fit stops


def test_auto_epochs_stop_once_the_loss_reaches_the_variance_fraction(blobs, monkeypatch):
    x, _ = blobs
    params = dict(n_components=3, hidden_dims=(16,), batch_size=64, cache=False, random_state=0, verbose=0)
    monkeypatch.setattr("n2d.autoencoder._training.AUTO_MIN_WORK", 200 * 64 * 352)  # 200 steps of 64: 40 epochs
    monkeypatch.setattr("n2d.autoencoder._training.AUTO_FVU", 0.3)  # reached after a few epochs on these blobs
    ae = Autoencoder(epochs="auto", **params).fit(x)
    assert ae.epochs_ == 40 and ae.n_iter_ < ae.epochs_ and len(ae.history_) == ae.n_iter_
    assert ae.history_[-1] <= ae.stop_loss_ < min(ae.history_[:-1])  # stopped at the first epoch reaching it
    # a fixed epoch count trains every epoch, whatever the loss
    fixed = Autoencoder(epochs=ae.epochs_, **params).fit(x)
    assert fixed.n_iter_ == ae.epochs_ and fixed.stop_loss_ is None
    np.testing.assert_allclose(fixed.history_[: ae.n_iter_], ae.history_, rtol=1e-6)


def test_stacked_models_stop_one_by_one_and_equal_their_single_runs(pendigits_small):
    import torch

    from n2d.autoencoder import MLPAutoencoder, StackedMLPAutoencoder, train_autoencoder

    x = torch.from_numpy(pendigits_small[0])
    seeds = [0, 11, 22]
    settings = dict(epochs=12, batch_size=64, lr=1e-3, progress=False)

    def fresh(seed):
        m = MLPAutoencoder(x.shape[1], (32, 16), 4)
        m.reset_parameters(torch.Generator().manual_seed(seed))
        return m

    free = [train_autoencoder(fresh(s), x, generator=torch.Generator().manual_seed(s), **settings) for s in seeds]
    # a threshold each model crosses at a different epoch
    stop = free[0][2]
    crossings = [next(i for i, v in enumerate(h) if v <= stop) + 1 for h in free]
    assert len(set(crossings)) > 1 and max(crossings) < settings["epochs"]
    alone = []
    for s in seeds:
        m = fresh(s)
        alone.append(
            (m, train_autoencoder(m, x, generator=torch.Generator().manual_seed(s), stop_loss=stop, **settings)))
    stacked = StackedMLPAutoencoder.from_modules([fresh(s) for s in seeds])
    histories = train_autoencoder(
        stacked, x, generator=[torch.Generator().manual_seed(s) for s in seeds], stop_loss=stop, **settings
    )
    for (single, h_alone), h_stacked, module, epochs in zip(alone, histories, stacked.to_modules(), crossings):
        assert len(h_alone) == len(h_stacked) == epochs
        np.testing.assert_allclose(h_stacked, h_alone, rtol=1e-4)
        with torch.no_grad():
            np.testing.assert_allclose(module.encode(x).numpy(), single.eval().encode(x).numpy(), rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("bad", ["Auto", "fast", -1, 2.5, True])
def test_bad_epochs_are_refused_with_the_allowed_values(bad, blobs):
    x, _ = blobs
    with pytest.raises(ValueError, match="'epochs'.*'auto' or an int"):
        Autoencoder(3, epochs=bad).fit(x)
    with pytest.raises(ValueError, match="'epochs'.*'auto' or an int"):
        N2D(n_clusters=3, epochs=bad).fit(x)


# --------------------------------------------------------------------------- #
# precision
# --------------------------------------------------------------------------- #


def test_auto_precision_follows_the_cpu(monkeypatch):
    monkeypatch.setattr(_hardware, "cpu_capabilities", lambda: {"avx512_bf16": True})
    assert _hardware.resolve_precision("auto", "cpu") == "bfloat16"
    assert _hardware.resolve_precision("auto", "cuda") == "float32"  # not measured on GPUs yet
    monkeypatch.setattr(_hardware, "cpu_capabilities", lambda: {"avx512_bf16": False, "avx2": True})
    assert _hardware.resolve_precision("auto", "cpu") == "float32"  # emulated bf16 would be slower
    monkeypatch.setattr(_hardware, "cpu_capabilities", lambda: {"amx_bf16": True})
    assert _hardware.resolve_precision("auto", "cpu") == "bfloat16"
    assert _hardware.resolve_precision("float32", "cpu") == "float32"
    with pytest.raises(ValueError, match="precision must be one of"):
        _hardware.resolve_precision("fp16", "cpu")


def test_cpu_capabilities_answer_without_raising():
    caps = _hardware.cpu_capabilities()
    assert isinstance(caps, dict)
    assert isinstance(_hardware.cpu_has_native_bf16(), bool)


def test_bad_precision_is_refused_before_training(blobs):
    x, _ = blobs
    with pytest.raises(ValueError, match="'precision' parameter of Autoencoder must be one of"):
        Autoencoder(3, precision="half").fit(x)


def test_bfloat16_step_keeps_float32_weights_and_learns():
    torch.manual_seed(0)
    x = torch.rand(512, 12)
    losses = {}
    for precision in ("float32", "bfloat16"):
        module = MLPAutoencoder(12, (32,), 4)
        module.reset_parameters(torch.Generator().manual_seed(0))
        hist = train_autoencoder(module, x, epochs=30, batch_size=64, lr=1e-3,
                                 generator=torch.Generator().manual_seed(0), precision=precision, progress=False)
        assert all(p.dtype == torch.float32 for p in module.parameters())
        assert hist[-1] < 0.5 * hist[0]
        losses[precision] = hist[-1]
    # mixed precision follows float32 closely on the same seed
    assert losses["bfloat16"] == pytest.approx(losses["float32"], rel=0.1)


def test_bfloat16_autoencoder_records_its_precision_and_encodes_in_float32(blobs):
    x, _ = blobs
    ae = Autoencoder(3, hidden_dims=(16,), epochs=3, precision="bfloat16", random_state=0, cache=False,
                     verbose=0).fit(x)
    assert ae.precision_ == "bfloat16"
    assert ae.transform(x).dtype == np.float32


def test_precision_is_part_of_the_cache_key(tmp_path, blobs):
    x, _ = blobs
    params = dict(n_components=3, hidden_dims=(16,), epochs=2, cache_dir=tmp_path, random_state=0, verbose=0)
    Autoencoder(precision="float32", **params).fit(x)
    other = Autoencoder(precision="bfloat16", **params).fit(x)
    assert other.weights_source_ == "trained"  # bf16 weights are not float32 weights


def test_step_refuses_an_unknown_precision():
    module = MLPAutoencoder(4, (8,), 2)
    opt = torch.optim.Adam(module.parameters())
    with pytest.raises(ValueError, match="precision must be 'float32' or 'bfloat16'"):
        _Step(module, opt, torch.rand(10, 4), 4, stacked=False, graph=False, precision="float16")


# --------------------------------------------------------------------------- #
# every error before the expensive part
# --------------------------------------------------------------------------- #


class _Spy(Autoencoder):
    """An Autoencoder that records whether it was asked to train."""

    trained = False

    def fit(self, X, y=None):  # pragma: no cover - must not be reached
        type(self).trained = True
        return super().fit(X, y)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"manifold": "umpa"}, "'manifold' parameter of N2D must be one of"),
        ({"clusterer": "gmn"}, "'clusterer' parameter of N2D must be one of"),
        ({"manifold": "umap", "manifold__n_neighbors": -3}, "manifold stage"),
        ({"clusterer": "gmm", "clusterer__covariance_type": "round"}, "clusterer stage"),
    ],
)
def test_stage_errors_come_before_training_and_fast(params, match):
    x = np.random.RandomState(0).rand(3000, 50).astype(np.float32)
    nested = {k: v for k, v in params.items() if "__" in k}
    flat = {k: v for k, v in params.items() if "__" not in k}
    _Spy.trained = False
    model = N2D(n_clusters=3, autoencoder=_Spy(epochs=1000), random_state=0, verbose=0, **flat)
    if nested:
        model.set_params(**nested)
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match=match):
        model.fit(x)
    assert time.perf_counter() - t0 < 5.0
    assert not _Spy.trained


def test_cuda_on_a_cpu_machine_fails_before_training():
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises((ValueError, RuntimeError), match="(?i)cuda"):
        N2D(n_clusters=3, device="cuda", verbose=0).fit(np.random.rand(50, 4).astype(np.float32))


# --------------------------------------------------------------------------- #
# the clusterer stage: progress over starts, thread limits
# --------------------------------------------------------------------------- #


def _three_blobs():
    rs = np.random.RandomState(0)
    x = rs.randn(1500, 6).astype(np.float32)
    x[:500] += 4
    x[500:1000] -= 4
    return x


def test_gmm_starts_with_progress_equal_sklearns_own_restarts():
    x = _three_blobs()
    ref = GaussianMixture(3, n_init=5, random_state=7)
    ref_labels = ref.fit_predict(x)
    ours = GaussianMixture(3, n_init=5, random_state=7)
    labels = fit_predict(ours, x, progress=True)
    np.testing.assert_array_equal(labels, ref_labels)
    np.testing.assert_array_equal(ours.means_, ref.means_)
    assert ours.lower_bound_ == ref.lower_bound_ and ours.n_iter_ == ref.n_iter_
    np.testing.assert_array_equal(ours.predict(x), ref.predict(x))


def test_narrow_clustering_runs_on_one_thread(monkeypatch):
    from threadpoolctl import threadpool_info

    seen = {}

    class Probe:
        def fit_predict(self, X):
            seen["threads"] = {m["user_api"]: m["num_threads"] for m in threadpool_info()}
            return np.zeros(len(X), dtype=int)

    fit_predict(Probe(), np.zeros((10, 5)))
    assert seen["threads"] and all(n == 1 for n in seen["threads"].values())
    before = {m["filepath"]: m["num_threads"] for m in threadpool_info()}
    fit_predict(Probe(), np.zeros((10, 500)))  # wide data keeps the pools as they are
    assert all(n == before.get(path, n) for path, n in
               ((m["filepath"], m["num_threads"]) for m in threadpool_info()))


def test_progress_shows_for_every_long_stage(capsys, blobs, monkeypatch):
    """On a terminal every long stage shows its bar (in a log, lines: tests/util/test_progress.py)."""
    x, _ = blobs
    monkeypatch.setattr("n2d._util.progress._interactive", lambda file: True)
    N2D(n_clusters=3, hidden_dims=(16,), epochs=2, random_state=0, device="cpu", verbose=1).fit(x)
    err = capsys.readouterr().err
    for bar in ("autoencoder", "UMAP layout", "mixture starts"):
        assert bar in err, bar
    N2D(n_clusters=3, hidden_dims=(16,), epochs=2, random_state=0, device="cpu", verbose=0).fit(x)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""
