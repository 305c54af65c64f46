"""Issue 17's GPU defects shown on the CPU.

The captured training step runs against a simulated CUDA runtime
(``cuda_sim``: streams, devices and graphs that record capture and replay);
the torch UMAP and GMM are checked for operations CUDA refuses under
``torch.use_deterministic_algorithms(True)``; the kNN runs under emulated TF32
matmuls. The ``gpu``-marked tests that show the same on a real GPU sit beside
the other tests of each module (test_autoencoder, test_estimator,
test_umap_torch, test_gmm_torch).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

import cuda_sim
from n2d.autoencoder import MLPAutoencoder, StackedMLPAutoencoder, _training
from n2d.exceptions import CUDAGraphWarning

N_ROWS, BATCH, EPOCHS = 1100, 256, 4  # 4 full batches and a partial one per epoch
FULL_BATCHES = EPOCHS * (N_ROWS // BATCH)


@pytest.fixture
def sim(monkeypatch):
    return cuda_sim.install(monkeypatch)


@pytest.fixture
def data(pendigits_small):
    return torch.from_numpy(pendigits_small[0][:N_ROWS])


def _train(x, *, stacked=False, cuda_graph=None, epochs=EPOCHS, batch_size=BATCH):
    """Train one model (seed 1) or a stack of two (seeds 1, 2); return the histories and the final weights."""
    mods = []
    for seed in (1, 2):
        m = MLPAutoencoder(x.shape[1], (32, 16), 4)
        m.reset_parameters(torch.Generator().manual_seed(seed))
        mods.append(m)
    module = StackedMLPAutoencoder.from_modules(mods) if stacked else mods[0]
    gens = [torch.Generator().manual_seed(s) for s in (5, 6)]
    hist = _training.train_autoencoder(
        module, x, epochs=epochs, batch_size=batch_size, lr=1e-3,
        generator=gens if stacked else gens[0], progress=False, cuda_graph=cuda_graph,
    )
    return np.asarray(hist), [p.detach().clone() for p in module.parameters()]


def _assert_same_training(a, b):
    np.testing.assert_array_equal(a[0], b[0])
    for pa, pb in zip(a[1], b[1]):
        assert torch.equal(pa, pb)


# --------------------------------------------------------------------------- #
# 1, 2, 8: capture on the data's device, replay, and the replays do the training
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("stacked", [False, True])
def test_simulated_graph_training_replays_and_equals_the_eager_loop(sim, data, graph_steps, stacked):
    eager = _train(data, stacked=stacked, cuda_graph=False)
    assert sim.replays == 0 and not sim.graphs
    graphed = _train(data, stacked=stacked)
    (step,) = graph_steps[1:]
    assert step.graph is not None and len(step.graph.ops) > 0
    assert step.replays == sim.replays == FULL_BATCHES - _training._Step.WARMUP
    _assert_same_training(graphed, eager)


def test_capture_runs_on_a_stream_and_under_the_device_of_the_data(sim, data, graph_steps):
    """Data on another GPU than the current one (issue 17, point 1)."""
    _train(data)
    (graph,) = sim.graphs
    assert str(graph.stream.device) == str(sim.data_device)
    assert graph.device_at_capture == str(sim.data_device)
    assert graph.stream is graph_steps[0].stream  # the step's own side stream, not torch's default one
    # torch.cuda.graph synchronizes the current device before capturing: it must be the data's.
    before = sim.events[: sim.events.index(("capture_begin", "cpu"))]
    assert ("synchronize", "cpu") in before
    # Everything is back to how it was: the current device and its stream.
    assert str(sim.current_device) == "cuda:0"
    assert sim.current_stream(sim.data_device) is sim.default_stream(sim.data_device)


def test_simulation_sees_a_capture_on_another_devices_stream(sim, data, graph_steps, monkeypatch):
    """The check above can fail: without ``stream=``, torch.cuda.graph captures on its class-wide default stream.

    That stream was made on whichever device was current when the process first
    captured (here cuda:0), so the graph records nothing while the step runs
    unrecorded: replays are counted, but they do not train.
    """
    monkeypatch.setattr(torch.cuda.graph, "default_capture_stream", sim.Stream("cuda:0"))
    real_graph = torch.cuda.graph

    def graph_without_stream(cuda_graph, stream=None, **kwargs):
        return real_graph(cuda_graph, **kwargs)

    monkeypatch.setattr(torch.cuda, "graph", graph_without_stream)
    eager = _train(data, cuda_graph=False)
    graphed = _train(data)
    assert graph_steps[1].replays > 0 and len(sim.graphs[0].ops) == 0
    assert not np.array_equal(graphed[0], eager[0])


@pytest.mark.parametrize("previous", [False, True])
def test_the_end_to_end_gpu_test_settings_replay_the_graph(sim, blobs, gpu_fit_settings, graph_steps, tmp_path,
                                                           monkeypatch, previous):
    """Issue 17, point 8: the settings of test_n2d_on_gpu_... replay; the previous ones spent all on warm-ups."""
    from n2d import N2D

    monkeypatch.setenv("N2D_CACHE_DIR", str(tmp_path))  # train, do not load
    settings = dict(gpu_fit_settings)
    if previous:  # tiny_n2d's: 300 points, batch 256, 3 epochs: three full batches
        settings.update(hidden_dims=(16,), epochs=3, batch_size=None)
    N2D(device="cpu", **settings).fit(blobs[0])
    (step,) = graph_steps
    assert step.replays == sim.replays == (0 if previous else 5 * (300 // 32) - step.WARMUP)


# --------------------------------------------------------------------------- #
# 2: the fallback has its own warning category, which turns `gpu` tests into failures
# --------------------------------------------------------------------------- #


def _conftest_of_these_tests(pytester) -> None:
    from pathlib import Path

    pytester.makeconftest((Path(__file__).parent / "conftest.py").read_text())
    pytester.makeini("[pytest]\nmarkers =\n    gpu: needs a CUDA device\n")


def test_gpu_tests_fail_when_capture_falls_back(pytester, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # so the gpu test below runs
    _conftest_of_these_tests(pytester)
    pytester.makepyfile(
        """
        import warnings
        import pytest
        from n2d.exceptions import CUDAGraphWarning

        @pytest.mark.gpu
        def test_falls_back():
            warnings.warn("CUDA graph capture failed (simulated)", CUDAGraphWarning)

        def test_not_gpu():
            warnings.warn("CUDA graph capture failed (simulated)", CUDAGraphWarning)
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1, warnings=1)
    result.stdout.fnmatch_lines(["E*CUDAGraphWarning: CUDA graph capture failed*", "FAILED*::test_falls_back*"])


def test_gpu_tests_are_skipped_without_cuda(pytester, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    _conftest_of_these_tests(pytester)
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.gpu
        def test_needs_a_gpu():
            raise AssertionError("ran without a GPU")
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(skipped=1)


# --------------------------------------------------------------------------- #
# 3: a failed capture restores the stream, synchronizes, and training goes on eagerly
# --------------------------------------------------------------------------- #


def test_failed_capture_restores_the_stream_and_trains_eagerly(sim, data, graph_steps):
    eager = _train(data, cuda_graph=False)
    sim.fail_capture = True
    with pytest.warns(CUDAGraphWarning, match="capture failed"):
        graphed = _train(data)
    step = graph_steps[1]
    assert step.graph is None and step.replays == 0 and sim.replays == 0
    # torch.cuda.graph's exit raised before restoring the stream: the step must have done it.
    assert sim.current_stream(sim.data_device) is sim.default_stream(sim.data_device)
    assert str(sim.current_device) == "cuda:0"
    failed_at = sim.events.index(("capture_end", "cpu"))
    assert ("synchronize", "cpu") in sim.events[failed_at:]
    _assert_same_training(graphed, eager)


# --------------------------------------------------------------------------- #
# 4: no warning about Adam's `capturable`, captured or not
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    "epochs, batch_size",
    [(EPOCHS, BATCH), (1, 512)],  # a captured run; a run too short to capture (2 full batches)
)
def test_graph_training_shows_no_capturable_warning(sim, adam_warns, data, graph_steps, epochs, batch_size):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _train(data, epochs=epochs, batch_size=batch_size)
    step = graph_steps[0]
    # Adam's own check raises inside a capture unless the optimizer is capturable there.
    assert step.replays == (FULL_BATCHES - _training._Step.WARMUP if epochs == EPOCHS else 0)
    assert all(not g["capturable"] for g in step.opt.param_groups)


def test_the_armed_capturable_warning_is_seen(sim, adam_warns):
    """The simulation shows PyTorch's warning for a capturable Adam stepping outside a capture."""
    p = torch.nn.Parameter(torch.ones(3))
    opt = torch.optim.Adam([p], lr=1e-3, fused=True, capturable=True)
    p.grad = torch.ones(3)
    with pytest.warns(UserWarning, match="capturable=False"):
        opt.step()


# --------------------------------------------------------------------------- #
# 5: a diverged model in a stack is reported, and named
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("bad", [0, 1])
def test_stacked_training_names_the_diverged_model(data, bad):
    mods = [MLPAutoencoder(16, (8,), 2) for _ in range(3)]
    for i, m in enumerate(mods):
        m.reset_parameters(torch.Generator().manual_seed(i))
    with torch.no_grad():
        mods[bad].encoder[0].weight.fill_(math.nan)
    stacked = StackedMLPAutoencoder.from_modules(mods)
    gens = [torch.Generator().manual_seed(i) for i in range(3)]
    with pytest.raises(FloatingPointError, match=rf"autoencoder\(s\) {bad} \(nan\) of the 3") as err:
        _training.train_autoencoder(stacked, data, epochs=2, batch_size=256, lr=1e-3, generator=gens, progress=False)
    assert err.value.models == [bad]


def test_stacked_training_with_finite_losses_runs(data):
    mods = [MLPAutoencoder(16, (8,), 2) for _ in range(2)]
    for i, m in enumerate(mods):
        m.reset_parameters(torch.Generator().manual_seed(i))
    hist = _training.train_autoencoder(
        StackedMLPAutoencoder.from_modules(mods), data, epochs=2, batch_size=256, lr=1e-3,
        generator=[torch.Generator().manual_seed(i) for i in range(2)], progress=False,
    )
    assert np.isfinite(hist).all() and np.shape(hist) == (2, 2)


# --------------------------------------------------------------------------- #
# 10: generators on another device than the data
# --------------------------------------------------------------------------- #


def test_a_generator_of_another_device_is_replaced_by_one_seeded_from_it(monkeypatch):
    cpu = torch.Generator().manual_seed(3)
    twin = torch.Generator().manual_seed(3)
    made = []

    class FakeCUDAGenerator:
        def __init__(self, device):
            self.device = torch.device(device)
            made.append(self)

        def manual_seed(self, seed):
            self.seed = seed
            return self

    monkeypatch.setattr(_training.torch, "Generator", FakeCUDAGenerator)
    out = _training._device_generator(cpu, torch.device("cuda:1"))
    assert out is made[0] and out.device == torch.device("cuda:1")
    assert out.seed == int(torch.randint(0, 2**62, (1,), generator=twin))
    assert torch.equal(cpu.get_state(), twin.get_state())  # the draw advanced the given generator


def test_a_generator_of_the_data_device_is_used_as_is():
    g = torch.Generator().manual_seed(0)
    assert _training._device_generator(g, torch.device("cpu")) is g
    assert _training._device_generator(None, torch.device("cpu")) is None


@pytest.mark.parametrize("stacked", [False, True])
def test_training_draws_with_generators_of_the_data_device(monkeypatch, data, stacked):
    asked = []

    def device_generator(generator, device):
        asked.append((generator, device))
        return torch.Generator().manual_seed(0)

    monkeypatch.setattr(_training, "_device_generator", device_generator)
    _train(data, stacked=stacked, epochs=1)
    assert len(asked) == (2 if stacked else 1)
    assert all(isinstance(g, torch.Generator) and d == data.device for g, d in asked)


# --------------------------------------------------------------------------- #
# 7: nothing in the torch UMAP and GMM that CUDA refuses under deterministic algorithms
# --------------------------------------------------------------------------- #


def _refused_on_cuda(func, args, kwargs) -> str | None:
    """Why CUDA raises for this ATen call under ``torch.use_deterministic_algorithms(True)``, else None.

    From the list in ``torch.use_deterministic_algorithms``' documentation of
    operations that "will throw a RuntimeError when mode=True" on CUDA tensors
    and can appear in tensor code like ours (plus ``kthvalue``, whose CUDA
    kernel also alerts).
    """
    name = func.overloadpacket.__name__.rstrip("_")
    overload = func._overloadname

    def arg(i, key, default=None):
        return args[i] if len(args) > i else kwargs.get(key, default)

    if name == "cumsum":
        dtype = kwargs.get("dtype") or arg(0, "self").dtype
        if dtype.is_floating_point or dtype.is_complex:
            return f"cumsum of {dtype}"
    if name == "scatter_reduce" and arg(4, "reduce") == "prod":
        return 'scatter_reduce(reduce="prod")'
    if name in ("put", "histc", "kthvalue"):
        return name
    if name == "bincount" and arg(1, "weights") is not None:
        return "bincount with weights"
    if name in ("median", "nanmedian") and overload.startswith("dim"):
        return f"{name} with indices"
    return None


class _CUDARefusals(torch.utils._python_dispatch.TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        why = _refused_on_cuda(func, args, kwargs)
        if why is not None:
            self.found.append(f"{func}: {why}")
        return func(*args, **kwargs)


def test_the_refusal_list_catches_what_cuda_refuses():
    with _CUDARefusals() as seen:
        torch.cumsum(torch.ones(3, dtype=torch.float64), 0)
        torch.cumsum(torch.ones(3, dtype=torch.int64), 0)
        torch.ones(3).scatter_reduce_(0, torch.tensor([0, 0, 1]), torch.ones(3), "prod")
        torch.ones(3).scatter_reduce_(0, torch.tensor([0, 0, 1]), torch.ones(3), "sum")
    assert len(seen.found) == 2 and "cumsum" in seen.found[0] and "prod" in seen.found[1]


@pytest.mark.parametrize("init_params", ["k-means++", "kmeans"])
def test_torch_umap_and_gmm_use_nothing_cuda_refuses_when_deterministic(blobs, deterministic_cuda, init_params):
    from n2d import Autoencoder, TorchGaussianMixture
    from n2d.manifold import TorchUMAP

    x = blobs[0]
    with _CUDARefusals() as seen:
        Autoencoder(n_components=3, hidden_dims=(16,), epochs=2, batch_size=64, device="cpu", random_state=0,
                    verbose=0, cache=False).fit(x)
        umap = TorchUMAP(n_components=3, n_epochs=30, random_state=0, device="cpu").fit(x)
        umap.transform(x[:40])
        TorchGaussianMixture(3, init_params=init_params, n_init=2, random_state=0, device="cpu").fit(umap.embedding_)
    assert seen.found == []


def test_fuzzy_union_gives_the_scatter_formulation_bit_for_bit():
    from n2d.manifold._graph import _fuzzy_union

    g = torch.Generator().manual_seed(0)
    n = 500
    rows = torch.arange(n).repeat_interleave(10)
    cols = torch.randint(0, n, (n * 10,), generator=g)
    keys = rows * n + cols
    keys = torch.unique(keys)  # each directed edge once, as a kNN graph has it
    vals = torch.rand(keys.numel(), generator=g)
    r, c = keys // n, keys % n
    both_keys, both_vals = torch.cat([r * n + c, c * n + r]), torch.cat([vals, vals])
    # The formulation this replaced (scatter-add and scatter-product).
    uniq, inverse = torch.unique(both_keys, sorted=True, return_inverse=True)
    total = torch.zeros(uniq.numel()).index_add_(0, inverse, both_vals)
    product = torch.ones(uniq.numel()).scatter_reduce_(0, inverse, both_vals, "prod")
    count = torch.zeros(uniq.numel(), dtype=torch.int64).index_add_(0, inverse, torch.ones_like(inverse))
    expected = total - torch.where(count == 2, product, torch.zeros_like(product))
    got_keys, got = _fuzzy_union(both_keys, both_vals)
    assert torch.equal(got_keys, uniq) and torch.equal(got, expected)
    assert (count == 2).sum() > 100  # both directions occur, so the product matters


# --------------------------------------------------------------------------- #
# 9: kNN selection under TF32 float32 matmuls
# --------------------------------------------------------------------------- #


def _tf32(t: torch.Tensor) -> torch.Tensor:
    """Round float32 to TF32 (10 explicit mantissa bits), to nearest."""
    bits = t.contiguous().view(torch.int32)
    rounded = (bits + 0x1000) & ~0x1FFF
    return rounded.view(torch.float32)


_MATMUL_OPERANDS = {"mm": (0, 1), "addmm": (1, 2), "bmm": (0, 1), "baddbmm": (1, 2)}
"""The multiplied operands of the float32 matrix products TF32 applies to."""


class _EmulatedTF32(torch.utils._python_dispatch.TorchDispatchMode):
    """Float32 matrix products on the CPU rounded as TF32 tensor cores round their inputs.

    Active only while torch's CPU matmul setting says "tf32", as CUDA's does
    for ``torch.backends.cuda.matmul.fp32_precision``.
    """

    def __init__(self):
        super().__init__()
        self.rounded = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        operands = _MATMUL_OPERANDS.get(func.overloadpacket.__name__)
        if operands and torch.backends.mkldnn.matmul.fp32_precision == "tf32":
            args = list(args)
            for i in operands:
                if args[i].dtype == torch.float32:
                    args[i] = _tf32(args[i])
                    self.rounded += 1
        return func(*args, **kwargs)


@pytest.fixture
def tf32_on_the_cpu():
    before = torch.backends.mkldnn.matmul.fp32_precision
    torch.backends.mkldnn.matmul.fp32_precision = "tf32"
    with _EmulatedTF32() as mode:
        yield mode
    torch.backends.mkldnn.matmul.fp32_precision = before


def _far_from_the_centre(n=400, d=8, offset=30.0, seed=0):
    """Two blobs far apart: a point's neighbours differ by less than TF32's error on |a| |b| ~ offset**2."""
    rng = np.random.RandomState(seed)
    x = rng.normal(size=(n, d)).astype(np.float32)
    x[: n // 2, 0] += offset
    x[n // 2 :, 0] -= offset
    return x


def _exact_neighbour_sets(x, k, reference=None):
    from sklearn.metrics import pairwise_distances

    ref = x if reference is None else reference
    d = pairwise_distances(x.astype(np.float64), ref.astype(np.float64))
    return [set(row) for row in np.argsort(d, axis=1, kind="stable")[:, :k]]


def test_emulated_tf32_changes_a_float32_selection(tf32_on_the_cpu):
    """The emulation is strong enough to pick wrong neighbours on this data."""
    x = torch.from_numpy(_far_from_the_centre())
    xc = x - x.mean(0)
    sq = (xc * xc).sum(1)
    d2 = torch.addmm(sq.unsqueeze(0), xc, xc.T, alpha=-2.0) + sq.unsqueeze(1)
    picked = [set(r) for r in torch.topk(d2, 15, largest=False).indices.tolist()]
    assert tf32_on_the_cpu.rounded > 0
    assert sum(p != e for p, e in zip(picked, _exact_neighbour_sets(x.numpy(), 15))) > 50


@pytest.mark.parametrize("search", ["self", "reference"])
def test_knn_finds_the_exact_neighbours_with_tf32_matmuls(tf32_on_the_cpu, search):
    from n2d.manifold._knn import knn

    x = _far_from_the_centre()
    if search == "self":
        _, idx = knn(torch.from_numpy(x), 15)
        expected = _exact_neighbour_sets(x, 15)
    else:
        queries = _far_from_the_centre(n=100, seed=1)
        _, idx = knn(torch.from_numpy(queries), 15, reference=torch.from_numpy(x))
        expected = _exact_neighbour_sets(queries, 15, x)
    assert [set(r) for r in idx.tolist()] == expected


def test_matmul_rounding_is_read_from_the_devices_setting(monkeypatch):
    from n2d.manifold._knn import _matmul_may_round

    before = torch.backends.cuda.matmul.fp32_precision
    try:
        torch.backends.cuda.matmul.fp32_precision = "tf32"
        assert _matmul_may_round(torch.device("cuda:1"))
        torch.backends.cuda.matmul.fp32_precision = "ieee"
        assert not _matmul_may_round(torch.device("cuda"))
    finally:
        torch.backends.cuda.matmul.fp32_precision = before

    def refuses():
        raise RuntimeError("you have used mix of the legacy and new APIs")

    monkeypatch.setattr(type(torch.backends.cuda.matmul), "__getattr__", lambda self, name: refuses())
    assert _matmul_may_round(torch.device("cuda"))
