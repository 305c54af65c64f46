"""Shared fixtures: an isolated cache, seeded RNGs, small real data."""

from __future__ import annotations

import os
from pathlib import Path

# scikit-learn's check_array_api_input (numpy namespace) runs only with scipy's
# array-API mode on; set it before scipy is imported so the check is not skipped.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
PENDIGITS = ROOT / "src" / "n2d" / "datasets" / "data" / "pendigits"

pytest_plugins = ["pytester"]  # test_cuda_simulated checks what this file does to `gpu` tests


def pytest_collection_modifyitems(config, items):
    """Every ``gpu``-marked test: skipped without CUDA, and failed by a CUDA graph fallback.

    A failed capture only warns (CUDAGraphWarning) and trains eagerly, so
    without this a GPU test would pass whether or not a graph ever ran.
    """
    has_cuda = torch.cuda.is_available()
    for item in items:
        if item.get_closest_marker("gpu") is None:
            continue
        if not has_cuda:
            item.add_marker(pytest.mark.skip(reason="needs a CUDA GPU"))
        item.add_marker(pytest.mark.filterwarnings("error::n2d.exceptions.CUDAGraphWarning"))


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory):
    """Point n2d's cache at a temporary folder so tests never touch ~/.cache."""
    old = os.environ.get("N2D_CACHE_DIR")
    os.environ["N2D_CACHE_DIR"] = str(tmp_path_factory.mktemp("n2d-cache"))
    yield
    if old is None:
        os.environ.pop("N2D_CACHE_DIR", None)
    else:
        os.environ["N2D_CACHE_DIR"] = old


@pytest.fixture(autouse=True)
def _seed():
    np.random.seed(0)
    torch.manual_seed(0)


def _read_pendigits():
    rows = np.vstack(
        [np.loadtxt(PENDIGITS / f, delimiter=",", dtype=np.int64) for f in ("pendigits.tra", "pendigits.tes")]
    )
    return (rows[:, :16] / 100.0).astype(np.float32), rows[:, 16]


@pytest.fixture
def graph_steps(monkeypatch):
    """The training steps made during a test (``n2d.autoencoder._training._Step``), to count graph replays."""
    from n2d.autoencoder import _training

    made = []

    class RecordedStep(_training._Step):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(_training, "_Step", RecordedStep)
    return made


@pytest.fixture
def gpu_fit_settings():
    """N2D settings for the end-to-end GPU tests: small, but enough full batches to replay the graph.

    300 blobs points in batches of 32 are 9 full batches per epoch, so 5 epochs
    give 42 replays after the 3 warm-up steps.
    """
    return dict(n_clusters=3, hidden_dims=(32,), epochs=5, batch_size=32, random_state=0, verbose=0)


@pytest.fixture
def deterministic_cuda(monkeypatch):
    """torch.use_deterministic_algorithms(True), with the cuBLAS workspace setting CUDA then requires."""
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    before = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    yield
    torch.use_deterministic_algorithms(before)


@pytest.fixture
def adam_warns(monkeypatch):
    """Adam instances whose "capturable=True but not capturing" warning is armed.

    torch 2.13's Optimizer.__init__ sets the warn-once flag before the first
    step, so only optimizers restored by ``__setstate__`` (unpickled, deep
    copied) show it today; arming it keeps the warning observable here.
    """
    init = torch.optim.Adam.__init__

    def armed(self, *args, **kwargs):
        init(self, *args, **kwargs)
        self._warned_capturable_if_run_uncaptured = False

    monkeypatch.setattr(torch.optim.Adam, "__init__", armed)


@pytest.fixture(scope="session")
def pendigits():
    """The full pendigits data (10,992 x 16, scaled to [0, 1]) and labels."""
    return _read_pendigits()


@pytest.fixture(scope="session")
def pendigits_small(pendigits):
    """A stratified-enough 1,500-point slice of pendigits for quick end-to-end tests."""
    x, y = pendigits
    idx = np.random.RandomState(0).permutation(len(x))[:1500]
    return x[idx], y[idx]


@pytest.fixture
def tiny_n2d():
    """An N2D that fits in well under a second (tiny autoencoder, few epochs)."""
    from n2d import N2D

    def make(**kw):
        params = dict(n_clusters=3, hidden_dims=(16,), epochs=3, device="cpu", random_state=0, verbose=0)
        params.update(kw)
        return N2D(**params)

    return make


@pytest.fixture(scope="session")
def blobs():
    from sklearn.datasets import make_blobs

    x, y = make_blobs(n_samples=300, centers=3, n_features=8, cluster_std=1.0, random_state=0)
    return x.astype(np.float32), y
