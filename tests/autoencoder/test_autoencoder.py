import numpy as np
import pytest
import torch

from n2d.autoencoder import Autoencoder, MLPAutoencoder, train_autoencoder
from n2d.exceptions import CacheWarning


def _ae(tmp_path, **kw):
    params = dict(n_components=4, hidden_dims=(32, 16), epochs=4, batch_size=64, device="cpu",
                  random_state=0, verbose=0, cache_dir=tmp_path)
    params.update(kw)
    return Autoencoder(**params)


def test_mlp_autoencoder_architecture_is_the_papers():
    m = MLPAutoencoder(784, (500, 500, 2000), 10)
    enc = [(layer.in_features, layer.out_features) for layer in m.encoder if isinstance(layer, torch.nn.Linear)]
    dec = [(layer.in_features, layer.out_features) for layer in m.decoder if isinstance(layer, torch.nn.Linear)]
    assert enc == [(784, 500), (500, 500), (500, 2000), (2000, 10)]
    assert dec == [(10, 2000), (2000, 500), (500, 500), (500, 784)]
    # ReLU between layers, linear code and output
    assert isinstance(m.encoder[-1], torch.nn.Linear) and isinstance(m.decoder[-1], torch.nn.Linear)
    assert sum(isinstance(layer, torch.nn.ReLU) for layer in m.encoder) == 3


def test_glorot_init_and_zero_bias_are_seeded():
    a, b = MLPAutoencoder(20, (30,), 5), MLPAutoencoder(20, (30,), 5)
    a.reset_parameters(torch.Generator().manual_seed(1))
    b.reset_parameters(torch.Generator().manual_seed(1))
    for (ka, va), (_, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(va, vb), ka
    w = a.encoder[0].weight
    assert w.abs().max() <= np.sqrt(6 / (20 + 30)) + 1e-6
    assert torch.count_nonzero(a.encoder[0].bias) == 0


def test_training_reduces_loss(pendigits_small):
    x = torch.from_numpy(pendigits_small[0])
    m = MLPAutoencoder(16, (32,), 4)
    m.reset_parameters(torch.Generator().manual_seed(0))
    hist = train_autoencoder(m, x, epochs=10, batch_size=128, lr=1e-3, generator=torch.Generator().manual_seed(0),
                             progress=False)
    assert len(hist) == 10 and hist[-1] < 0.5 * hist[0]


def test_early_stopping_stops_on_plateau(pendigits_small):
    x = torch.from_numpy(pendigits_small[0])
    m = MLPAutoencoder(16, (8,), 2)
    m.reset_parameters(torch.Generator().manual_seed(0))
    # tol=1.0 means "any epoch that does not halve... " -- nothing counts as improvement after the first
    hist = train_autoencoder(m, x, epochs=50, batch_size=256, lr=1e-3, early_stopping=True, patience=3, tol=0.99,
                             generator=torch.Generator().manual_seed(0), progress=False)
    assert len(hist) == 4


def test_autoencoder_is_deterministic_on_cpu(tmp_path, pendigits_small):
    x = pendigits_small[0]
    z1 = _ae(tmp_path, cache=False).fit_transform(x)
    z2 = _ae(tmp_path, cache=False).fit_transform(x)
    np.testing.assert_array_equal(z1, z2)
    z3 = _ae(tmp_path, cache=False, random_state=1).fit_transform(x)
    assert not np.allclose(z1, z3)


def test_weight_cache_second_fit_trains_zero_epochs(tmp_path, pendigits_small, capsys):
    x = pendigits_small[0]
    first = _ae(tmp_path).fit(x)
    assert first.weights_source_ == "trained" and first.n_iter_ == 4
    assert first.cache_path_ is not None and (tmp_path / "autoencoders").is_dir()
    second = _ae(tmp_path, verbose=1).fit(x)
    assert second.weights_source_ == "cache" and second.n_iter_ == 0
    assert "reusing cached weights" in capsys.readouterr().out
    assert second.history_ == pytest.approx(first.history_)
    np.testing.assert_array_equal(first.transform(x), second.transform(x))


@pytest.mark.parametrize("change", [dict(epochs=5), dict(hidden_dims=(32, 8)), dict(random_state=3), dict(lr=5e-4)])
def test_weight_cache_key_covers_settings_and_seed(tmp_path, pendigits_small, change):
    x = pendigits_small[0]
    _ae(tmp_path).fit(x)
    other = _ae(tmp_path, **change).fit(x)
    assert other.weights_source_ == "trained"


def test_weight_cache_key_covers_data(tmp_path, pendigits_small):
    x = pendigits_small[0]
    _ae(tmp_path).fit(x)
    assert _ae(tmp_path).fit(x[:-1]).weights_source_ == "trained"


def test_unseeded_fit_is_never_cached(tmp_path, pendigits_small):
    ae = _ae(tmp_path, random_state=None).fit(pendigits_small[0])
    assert ae.cache_path_ is None and not (tmp_path / "autoencoders").exists()


def test_corrupt_cache_entry_is_ignored_and_replaced(tmp_path, pendigits_small):
    x = pendigits_small[0]
    entry = tmp_path / "autoencoders"
    first = _ae(tmp_path).fit(x)
    path = first.cache_path_
    with open(path, "r+b") as f:
        f.truncate(100)
    with pytest.warns(CacheWarning, match="unreadable"):
        again = _ae(tmp_path).fit(x)
    assert again.weights_source_ == "trained"
    assert _ae(tmp_path).fit(x).weights_source_ == "cache"  # rewritten whole
    assert not [p for p in entry.iterdir() if p.name.endswith(".tmp")]


def test_cache_dir_from_environment(tmp_path, pendigits_small, monkeypatch):
    monkeypatch.setenv("N2D_CACHE_DIR", str(tmp_path / "envcache"))
    ae = _ae(tmp_path, cache_dir=None).fit(pendigits_small[0])
    assert ae.cache_path_.startswith(str(tmp_path / "envcache"))


def test_explicit_weights_file_and_dict(tmp_path, pendigits_small):
    x = pendigits_small[0]
    trained = _ae(tmp_path, cache=False).fit(x)
    path = trained.save_weights(tmp_path / "w.safetensors")
    from_file = _ae(tmp_path, weights=str(path), random_state=5).fit(x)
    assert from_file.weights_source_ == "weights" and from_file.n_iter_ == 0
    np.testing.assert_array_equal(from_file.transform(x), trained.transform(x))
    state = {k: v.numpy() for k, v in trained.module_.state_dict().items()}
    from_dict = _ae(tmp_path, weights=state).fit(x)
    np.testing.assert_array_equal(from_dict.transform(x), trained.transform(x))


def test_weights_of_wrong_architecture_are_rejected(tmp_path, pendigits_small):
    x = pendigits_small[0]
    path = _ae(tmp_path, cache=False).fit(x).save_weights(tmp_path / "w.safetensors")
    with pytest.raises(ValueError, match="do not fit this architecture"):
        _ae(tmp_path, weights=str(path), hidden_dims=(64, 16)).fit(x)
    with pytest.raises(FileNotFoundError, match="not found"):
        _ae(tmp_path, weights=str(tmp_path / "missing.safetensors")).fit(x)
    (tmp_path / "junk.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ValueError, match="not a valid safetensors"):
        _ae(tmp_path, weights=str(tmp_path / "junk.safetensors")).fit(x)


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(n_components=None), "n_components"),
        (dict(n_components=0), "n_components"),
        (dict(hidden_dims=(10, -1)), "hidden_dims"),
        (dict(epochs=-1), "epochs"),
        (dict(batch_size=0), "batch_size"),
        (dict(lr=0.0), "lr"),
        (dict(device="tpu"), "device"),
    ],
)
def test_autoencoder_rejects_bad_params(tmp_path, pendigits_small, params, match):
    with pytest.raises(ValueError, match=match):
        _ae(tmp_path, **params).fit(pendigits_small[0])


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU error")
def test_cuda_without_gpu_is_a_clear_error(tmp_path, pendigits_small):
    with pytest.raises(ValueError, match="no CUDA GPU is available"):
        _ae(tmp_path, device="cuda").fit(pendigits_small[0])


def test_diverging_training_is_reported(tmp_path):
    x = np.full((64, 4), 1e30, dtype=np.float32)
    with pytest.raises(FloatingPointError, match="Lower lr"):
        _ae(tmp_path, cache=False, lr=10.0).fit(x)


@pytest.mark.gpu
def test_autoencoder_trains_on_gpu_like_on_the_cpu(tmp_path, pendigits_small, graph_steps):
    x = pendigits_small[0]
    gpu = _ae(tmp_path, device="cuda", cache=False).fit(x)  # 23 full batches of 64 per epoch
    assert gpu.device_.startswith("cuda") and gpu.transform(x).shape == (1500, 4)
    (step,) = graph_steps
    assert step.graph is not None and step.replays == 4 * (1500 // 64) - step.WARMUP
    # Other permutations on the GPU (its own generator), the same start: on the CPU, other
    # permutations move this history by under 4%.
    cpu = _ae(tmp_path, device="cpu", cache=False).fit(x)
    np.testing.assert_allclose(gpu.history_, cpu.history_, rtol=0.1)
    assert gpu.history_[-1] < 0.5 * gpu.history_[0]


def _graph_and_eager_runs(x, stacked, generators, graph_steps):
    """Train the same models with and without the CUDA graph; the graph run must replay."""
    from n2d.autoencoder import StackedMLPAutoencoder

    results = []
    for graph in (False, True):
        mods = []
        for seed in (1, 2):
            m = MLPAutoencoder(x.shape[1], (64, 64), 4)
            m.reset_parameters(torch.Generator().manual_seed(seed))
            mods.append(m)
        module = (StackedMLPAutoencoder.from_modules(mods) if stacked else mods[0]).to(x.device)
        gens = generators()
        hist = train_autoencoder(
            module, x, epochs=6, batch_size=256, lr=1e-3, generator=gens if stacked else gens[0],
            progress=False, cuda_graph=graph,
        )
        results.append((np.asarray(hist), [p.detach().cpu() for p in module.parameters()]))
    assert graph_steps[-1].replays == 6 * (x.shape[0] // 256) - graph_steps[-1].WARMUP
    return results


def _assert_close_runs(results):
    (h_eager, p_eager), (h_graph, p_graph) = results
    np.testing.assert_allclose(h_graph, h_eager, rtol=1e-4)
    for a, b in zip(p_graph, p_eager):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.gpu
@pytest.mark.parametrize("stacked", [False, True])
def test_cuda_graph_step_matches_the_eager_step(pendigits_small, stacked, graph_steps):
    x = torch.from_numpy(pendigits_small[0][:1100]).cuda()  # 4 full batches and a partial one
    gens = lambda: [torch.Generator(device="cuda").manual_seed(s) for s in (5, 6)]  # noqa: E731
    _assert_close_runs(_graph_and_eager_runs(x, stacked, gens, graph_steps))


@pytest.mark.gpu
@pytest.mark.skipif(torch.cuda.is_available() and torch.cuda.device_count() < 2, reason="needs two GPUs")
@pytest.mark.parametrize("stacked", [False, True])
def test_cuda_graph_on_a_gpu_that_is_not_the_current_one(pendigits_small, stacked, graph_steps):
    """Issue 17, point 1: data on cuda:1 while cuda:0 is current."""
    torch.cuda.set_device(0)
    x = torch.from_numpy(pendigits_small[0][:1100]).to("cuda:1")
    gens = lambda: [torch.Generator(device="cuda:1").manual_seed(s) for s in (5, 6)]  # noqa: E731
    _assert_close_runs(_graph_and_eager_runs(x, stacked, gens, graph_steps))
    assert torch.cuda.current_device() == 0
    assert torch.cuda.current_stream(1) == torch.cuda.default_stream(1)


@pytest.mark.gpu
def test_a_failed_capture_on_gpu_restores_the_stream_and_trains_on(pendigits_small, graph_steps, monkeypatch):
    """Issue 17, points 2 and 3: a capture that fails warns, and leaves no capture stream behind."""
    from n2d.autoencoder import _training
    from n2d.exceptions import CUDAGraphWarning

    eager_step = _training._Step._eager

    def sync_inside_capture(self, idx):
        eager_step(self, idx)
        if torch.cuda.is_current_stream_capturing():
            self.total.item()  # a host sync: not permitted while capturing

    x = torch.from_numpy(pendigits_small[0][:1100]).cuda()
    gens = lambda: [torch.Generator(device="cuda").manual_seed(5)]  # noqa: E731
    before = torch.cuda.current_stream()
    eager = train_autoencoder(_seeded_module(x), x, epochs=3, batch_size=256, lr=1e-3, generator=gens()[0],
                              progress=False, cuda_graph=False)
    monkeypatch.setattr(_training._Step, "_eager", sync_inside_capture)
    with pytest.warns(CUDAGraphWarning, match="capture failed"):
        graphed = train_autoencoder(_seeded_module(x), x, epochs=3, batch_size=256, lr=1e-3, generator=gens()[0],
                                    progress=False)
    assert graph_steps[-1].graph is None and graph_steps[-1].replays == 0
    assert torch.cuda.current_stream() == before
    np.testing.assert_allclose(graphed, eager, rtol=1e-4)


def _seeded_module(x):
    m = MLPAutoencoder(x.shape[1], (64, 64), 4)
    m.reset_parameters(torch.Generator().manual_seed(1))
    return m.to(x.device)


@pytest.mark.gpu
@pytest.mark.parametrize("epochs, batch_size", [(6, 256), (1, 512)])  # captured; too short to capture
def test_gpu_training_shows_no_capturable_warning(pendigits_small, adam_warns, graph_steps, epochs, batch_size):
    """Issue 17, point 4: Adam is capturable only inside the capture, so its warning cannot fire."""
    import warnings

    x = torch.from_numpy(pendigits_small[0][:1100]).cuda()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        train_autoencoder(_seeded_module(x), x, epochs=epochs, batch_size=batch_size, lr=1e-3,
                          generator=torch.Generator(device="cuda").manual_seed(0), progress=False)
    assert graph_steps[0].replays == (6 * 4 - graph_steps[0].WARMUP if epochs == 6 else 0)


@pytest.mark.gpu
def test_stacked_gpu_training_names_the_diverged_model(pendigits_small):
    """Issue 17, point 5, on the captured CUDA path."""
    from n2d.autoencoder import StackedMLPAutoencoder

    x = torch.from_numpy(pendigits_small[0][:1100]).cuda()
    mods = [_seeded_module(x).cpu() for _ in range(3)]
    with torch.no_grad():
        mods[1].encoder[0].weight.fill_(float("nan"))
    stacked = StackedMLPAutoencoder.from_modules(mods).cuda()
    gens = [torch.Generator(device="cuda").manual_seed(s) for s in range(3)]
    with pytest.raises(FloatingPointError, match=r"autoencoder\(s\) 1 \(nan\)") as err:
        train_autoencoder(stacked, x, epochs=6, batch_size=256, lr=1e-3, generator=gens, progress=False)
    assert err.value.models == [1]


@pytest.mark.gpu
def test_a_cpu_generator_works_with_cuda_data(pendigits_small, graph_steps):
    """Issue 17, point 10: the CPU generator seeds a generator on the data's device."""
    x = torch.from_numpy(pendigits_small[0][:1100]).cuda()
    hist = train_autoencoder(_seeded_module(x), x, epochs=6, batch_size=256, lr=1e-3,
                             generator=torch.Generator().manual_seed(0), progress=False)
    seed = int(torch.randint(0, 2**62, (1,), generator=torch.Generator().manual_seed(0)))
    same = train_autoencoder(_seeded_module(x), x, epochs=6, batch_size=256, lr=1e-3,
                             generator=torch.Generator(device="cuda").manual_seed(seed), progress=False)
    np.testing.assert_allclose(hist, same, rtol=1e-5)
    assert graph_steps[0].replays > 0


# ---------------------------------------------------------------------------
# several seeds at once
# ---------------------------------------------------------------------------


def test_stacked_module_round_trips_weights():
    from n2d.autoencoder import StackedMLPAutoencoder

    mods = []
    for seed in (1, 2, 3):
        m = MLPAutoencoder(12, (20, 7), 3)
        m.reset_parameters(torch.Generator().manual_seed(seed))
        mods.append(m)
    stacked = StackedMLPAutoencoder.from_modules(mods)
    x = torch.randn(5, 12)
    with torch.no_grad():
        out = stacked(x.expand(3, 5, 12))
        for s, m in enumerate(mods):
            torch.testing.assert_close(out[s], m(x), rtol=1e-5, atol=1e-6)
            torch.testing.assert_close(stacked.encode(x.expand(3, 5, 12))[s], m.encode(x), rtol=1e-5, atol=1e-6)
    for a, b in zip(stacked.to_modules(), mods):
        for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values()):
            assert torch.equal(va, vb), k


def test_several_seeds_at_once_equal_single_seed_runs(tmp_path, pendigits_small):
    from n2d.autoencoder import fit_autoencoders

    x = pendigits_small[0]
    seeds = [0, 11, 22]
    params = dict(n_components=4, hidden_dims=(32, 16), epochs=4, batch_size=64, device="cpu", verbose=0, cache=False)
    together = fit_autoencoders(x, seeds, **params)
    for seed, ae in zip(seeds, together):
        alone = Autoencoder(random_state=seed, **params).fit(x)
        assert ae.weights_source_ == "trained" and ae.n_iter_ == 4 and ae.random_state == seed
        np.testing.assert_allclose(ae.history_, alone.history_, rtol=1e-4)
        np.testing.assert_allclose(ae.transform(x), alone.transform(x), rtol=1e-3, atol=1e-4)
    # and the seeds really differ from each other
    assert not np.allclose(together[0].transform(x), together[1].transform(x))


def test_several_seeds_fill_and_reuse_the_cache(tmp_path, pendigits_small):
    from n2d.autoencoder import fit_autoencoders

    x = pendigits_small[0]
    params = dict(n_components=4, hidden_dims=(32, 16), epochs=3, batch_size=64, device="cpu", verbose=0,
                  cache_dir=tmp_path)
    first = _ae(tmp_path, epochs=3, random_state=5).fit(x)  # seed 5 cached beforehand
    aes = fit_autoencoders(x, [5, 6], **params)
    assert [a.weights_source_ for a in aes] == ["cache", "trained"]
    np.testing.assert_array_equal(aes[0].transform(x), first.transform(x))
    single = _ae(tmp_path, epochs=3, random_state=6).fit(x)  # written by the batched run
    assert single.weights_source_ == "cache"
    np.testing.assert_array_equal(single.transform(x), aes[1].transform(x))


def test_fit_autoencoders_rejects_bad_requests(pendigits_small):
    from n2d.autoencoder import fit_autoencoders

    with pytest.raises(ValueError, match="at least one seed"):
        fit_autoencoders(pendigits_small[0], [], n_components=2)
    with pytest.raises(ValueError, match="early_stopping"):
        fit_autoencoders(pendigits_small[0], [0, 1], n_components=2, early_stopping=True)
    with pytest.raises(ValueError, match="n_components"):
        fit_autoencoders(pendigits_small[0], [0, 1], n_components=0)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the fallback when no GPU is present")
def test_model_fitted_on_gpu_is_used_on_cpu_with_a_warning(tmp_path, pendigits_small):
    from n2d.exceptions import DeviceWarning

    x = pendigits_small[0]
    ae = _ae(tmp_path, cache=False).fit(x)
    expected = ae.transform(x[:10])
    ae.device_ = "cuda:0"  # as if it had been fitted (or saved) on a GPU machine
    with pytest.warns(DeviceWarning, match="cuda:0, which is not available"):
        got = ae.transform(x[:10])
    np.testing.assert_array_equal(got, expected)
    assert ae.device_ == "cpu"
