"""The N2D autoencoder: a torch MLP, its training loop, and a scikit-learn stage around it.

The network is the paper's d-500-500-2000-k multilayer perceptron with ReLU
activations and linear code and output layers, trained on mean squared error with
Adam (McConville et al., 2020, following Xie et al.'s DEC autoencoder). Weights
start from Glorot-uniform with zero biases, as in the Keras reference code.

Trained weights are cached as safetensors, keyed by the data, the architecture,
the training settings and the seed, so a model is never trained twice by
accident; see :class:`Autoencoder`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data
from torch import nn
from tqdm.auto import tqdm

from ._utils import (
    atomic_path,
    cache_root,
    check_bool,
    check_dims,
    check_float,
    check_int,
    check_random_state_param,
    fingerprint_array,
    resolve_device,
    runtime_device,
    seed_from,
)
from ._version import __version__
from .exceptions import CacheWarning

log = logging.getLogger(__name__)

__all__ = ["MLPAutoencoder", "StackedMLPAutoencoder", "Autoencoder", "train_autoencoder", "fit_autoencoders"]

# Bump when the training procedure changes in a way that changes the weights a
# given key produces; old cache entries then simply stop matching.
_CACHE_FORMAT = 1


# --------------------------------------------------------------------------- #
# The network
# --------------------------------------------------------------------------- #


def _mlp(dims) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (d_in, d_out) in enumerate(zip(dims[:-1], dims[1:])):
        layers.append(nn.Linear(d_in, d_out))
        if i < len(dims) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class MLPAutoencoder(nn.Module):
    """Symmetric MLP autoencoder: ``n_features -> *hidden_dims -> n_components`` and back.

    ReLU between layers; the code (bottleneck) and the reconstruction are linear.

    Parameters
    ----------
    n_features : int
        Input (and output) width.
    hidden_dims : sequence of int
        Encoder widths between input and code, e.g. ``(500, 500, 2000)``.
    n_components : int
        Width of the code.
    """

    def __init__(self, n_features: int, hidden_dims, n_components: int):
        super().__init__()
        dims = [int(n_features), *map(int, hidden_dims), int(n_components)]
        self.encoder = _mlp(dims)
        self.decoder = _mlp(dims[::-1])

    @torch.no_grad()
    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Glorot-uniform weights and zero biases (Keras' defaults, as in the paper's code)."""
        for m in self.modules():
            if isinstance(m, nn.Linear):
                fan_out, fan_in = m.weight.shape
                bound = math.sqrt(6.0 / (fan_in + fan_out))
                m.weight.uniform_(-bound, bound, generator=generator)
                m.bias.zero_()

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))


# --------------------------------------------------------------------------- #
# Training
# --------------------------------------------------------------------------- #


class StackedMLPAutoencoder(nn.Module):
    """``n_models`` independent MLP autoencoders evaluated as one batched model.

    Layer ``l`` of every model is one weight tensor of shape
    ``(n_models, d_in, d_out)``, applied with a batched matrix product, so S
    seeds cost one kernel launch per layer instead of S: on a GPU, where this
    small MLP is bound by launches, several seeds train for little more than one.
    Input and output have shape ``(n_models, batch, n_features)``. The models
    share nothing: each one's gradient depends only on its own loss term.
    """

    def __init__(self, n_models: int, n_features: int, hidden_dims, n_components: int):
        super().__init__()
        dims = [int(n_features), *map(int, hidden_dims), int(n_components)]
        self.n_models = int(n_models)
        self.dims = dims

        def stack(ds):
            ws = nn.ParameterList(nn.Parameter(torch.empty(n_models, a, b)) for a, b in zip(ds[:-1], ds[1:]))
            bs = nn.ParameterList(nn.Parameter(torch.zeros(n_models, 1, b)) for b in ds[1:])
            return ws, bs

        self.enc_w, self.enc_b = stack(dims)
        self.dec_w, self.dec_b = stack(dims[::-1])

    @classmethod
    def from_modules(cls, modules) -> StackedMLPAutoencoder:
        """Stack trained or freshly initialised :class:`MLPAutoencoder` s (same architecture)."""
        first = modules[0]
        dims = [first.encoder[0].in_features] + [l.out_features for l in first.encoder if isinstance(l, nn.Linear)]
        stacked = cls(len(modules), dims[0], dims[1:-1], dims[-1])
        with torch.no_grad():
            for part, ws, bs in (("encoder", stacked.enc_w, stacked.enc_b), ("decoder", stacked.dec_w, stacked.dec_b)):
                for s, m in enumerate(modules):
                    linears = [l for l in getattr(m, part) if isinstance(l, nn.Linear)]
                    for w, b, lin in zip(ws, bs, linears):
                        w[s].copy_(lin.weight.T)
                        b[s, 0].copy_(lin.bias)
        return stacked

    def to_modules(self) -> list[MLPAutoencoder]:
        """Split back into one :class:`MLPAutoencoder` per model (on the CPU)."""
        out = []
        for s in range(self.n_models):
            m = MLPAutoencoder(self.dims[0], self.dims[1:-1], self.dims[-1])
            with torch.no_grad():
                for part, ws, bs in (("encoder", self.enc_w, self.enc_b), ("decoder", self.dec_w, self.dec_b)):
                    linears = [l for l in getattr(m, part) if isinstance(l, nn.Linear)]
                    for w, b, lin in zip(ws, bs, linears):
                        lin.weight.copy_(w[s].T.cpu())
                        lin.bias.copy_(b[s, 0].cpu())
            out.append(m.eval())
        return out

    @staticmethod
    def _run(x, ws, bs):
        last = len(ws) - 1
        for i, (w, b) in enumerate(zip(ws, bs)):
            x = torch.baddbmm(b, x, w)
            if i < last:
                x = torch.relu(x)
        return x

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self._run(x, self.enc_w, self.enc_b)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._run(self.encode(x), self.dec_w, self.dec_b)


# --------------------------------------------------------------------------- #
# Training
# --------------------------------------------------------------------------- #


def train_autoencoder(
    module: MLPAutoencoder | StackedMLPAutoencoder,
    x: torch.Tensor,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    generator=None,
    early_stopping: bool = False,
    patience: int = 20,
    tol: float = 1e-4,
    progress: bool = True,
    cuda_graph: bool | None = None,
):
    """Train ``module`` to reconstruct ``x`` (MSE, Adam) and return the loss per epoch.

    The data stays on its device: each epoch draws a permutation there and slices
    mini-batches from it, with no DataLoader round trips. The epoch loss is the
    sample-weighted mean of the batch losses, read back once per epoch.

    With a :class:`StackedMLPAutoencoder`, ``generator`` is a list with one
    generator per model: each model draws its own permutation, exactly as its
    single-model run would, and the return value is one loss history per model.
    The total loss is the sum of the models' mean losses, so each model's
    gradient (and Adam update) is the one it would get alone.

    With ``early_stopping`` (single model only), training stops when the epoch
    loss has not improved by a relative ``tol`` for ``patience`` epochs in a row.

    On CUDA, Adam is the fused implementation, and the whole step (gather,
    forward, backward, Adam) of every full batch is replayed from one captured
    CUDA graph: this MLP's step is bound by kernel launches, not arithmetic.
    ``cuda_graph=None`` does so on CUDA only; ``False`` keeps the eager step
    (same arithmetic). If capture fails the loop warns and stays eager.
    """
    stacked = isinstance(module, StackedMLPAutoencoder)
    if stacked and early_stopping:
        raise ValueError("early_stopping is not supported when several autoencoders train at once.")
    generators = list(generator) if stacked else [generator]
    device = x.device
    n = x.shape[0]
    on_gpu = device.type == "cuda"
    use_graph = on_gpu if cuda_graph is None else bool(cuda_graph) and on_gpu
    params = list(module.parameters())
    opt = torch.optim.Adam(params, lr=lr, fused=True, capturable=use_graph) if on_gpu else torch.optim.Adam(params, lr=lr)
    step = _Step(module, opt, x, batch_size, stacked, use_graph)
    history: list = []
    best, stale = math.inf, 0
    module.train()
    bar = tqdm(range(epochs), desc="autoencoder", unit="epoch", disable=not progress, leave=False)
    for _ in bar:
        perm = torch.stack([torch.randperm(n, device=device, generator=g) for g in generators])
        if not stacked:
            perm = perm[0]
        step.total.zero_()
        for start in range(0, n, batch_size):
            step(perm[..., start : start + batch_size])
        epoch_loss = (step.total / n).tolist()
        worst = max(epoch_loss) if stacked else epoch_loss
        if not math.isfinite(worst):
            raise FloatingPointError(
                f"The autoencoder's loss became {worst} after {len(history) + 1} epoch(s). "
                "Lower lr, or scale the input data (e.g. to [0, 1])."
            )
        history.append(epoch_loss)
        bar.set_postfix(loss=f"{worst:.5f}")
        if early_stopping:
            if epoch_loss < best * (1.0 - tol):
                best, stale = epoch_loss, 0
            else:
                stale += 1
                if stale >= patience:
                    log.info("early stop after %d epochs (loss %.6g)", len(history), epoch_loss)
                    break
    bar.close()
    module.eval()
    if stacked:
        return [[h[s] for h in history] for s in range(module.n_models)]
    return history


class _Step:
    """One optimisation step on the rows ``idx`` of ``x``; adds the batch loss to ``total``.

    Eager by default. With ``graph``, the first full batches run eagerly on a
    side stream (CUDA graph capture needs warmed-up kernels and optimizer
    state), then the step is captured once with a static index buffer and every
    later full batch is a buffer copy plus one graph replay. Partial batches
    always run eagerly. Warm-up steps are real steps, so the sequence of updates
    is the same as the eager loop's.
    """

    WARMUP = 3

    def __init__(self, module, opt, x, batch_size, stacked, graph):
        self.module, self.opt, self.x, self.batch_size = module, opt, x, batch_size
        self.total = torch.zeros(module.n_models if stacked else (), device=x.device)
        self.graph = None
        self.warm = self.WARMUP if graph else -1
        self.stream = torch.cuda.Stream(device=x.device) if graph else None

    def _eager(self, idx):
        batch = self.x[idx]
        per_model = (self.module(batch) - batch).square().mean(dim=(-2, -1))
        self.opt.zero_grad(set_to_none=True)
        per_model.sum().backward()
        self.opt.step()
        self.total += per_model.detach() * idx.shape[-1]

    def __call__(self, idx):
        if self.graph is not None and idx.shape[-1] == self.batch_size:
            self.static_idx.copy_(idx)
            self.graph.replay()
        elif self.warm > 0 and idx.shape[-1] == self.batch_size:
            self.stream.wait_stream(torch.cuda.current_stream(self.x.device))
            with torch.cuda.stream(self.stream):
                self._eager(idx)
            torch.cuda.current_stream(self.x.device).wait_stream(self.stream)
            self.warm -= 1
            if self.warm == 0:
                self._capture(idx)
        else:
            self._eager(idx)

    def _capture(self, idx):
        try:
            self.static_idx = idx.clone()
            graph = torch.cuda.CUDAGraph()
            self.opt.zero_grad(set_to_none=True)
            with torch.cuda.graph(graph):
                self._eager(self.static_idx)
            # Capture records the step without running it; the replays do the work.
            self.graph = graph
        except Exception as exc:  # an unusual setup must not stop training: stay eager
            warnings.warn(f"CUDA graph capture failed ({exc}); training continues without it.", RuntimeWarning, stacklevel=4)
            self.graph = None


# --------------------------------------------------------------------------- #
# The scikit-learn stage
# --------------------------------------------------------------------------- #


class Autoencoder(TransformerMixin, BaseEstimator):
    """MLP autoencoder stage: ``fit`` trains it, ``transform`` returns the code.

    Parameters
    ----------
    n_components : int, default=None
        Width of the code. ``None`` is resolved by :class:`n2d.N2D` to its
        ``n_clusters`` (the paper's choice); used on its own, it must be set.
    hidden_dims : tuple of int, default=(500, 500, 2000)
        Encoder widths; the decoder mirrors them.
    epochs : int, default=1000
        Training epochs (the paper's setting). Hundreds are needed on image data;
        30 already gives usable codes on small tabular data such as pendigits.
    batch_size : int, default=256
    lr : float, default=1e-3
        Adam learning rate.
    early_stopping : bool, default=False
        Stop when the epoch loss has not improved by a relative ``tol`` for
        ``patience`` consecutive epochs.
    patience : int, default=20
    tol : float, default=1e-4
    weights : str, path or dict, default=None
        Pretrained weights: a ``.safetensors`` file written by
        :meth:`save_weights` (or found in the cache), or a mapping of parameter
        names to arrays. When given, ``fit`` loads them and trains nothing.
    cache : bool, default=True
        Reuse and store trained weights in the weight cache. Only used when
        ``random_state`` is an int: unseeded training is not reproducible, so it
        is never served from the cache.
    cache_dir : str or path, default=None
        Cache root. ``None`` means ``$N2D_CACHE_DIR`` if set, else the user cache
        directory (``~/.cache/n2d`` on Linux). Weights live under
        ``<cache root>/autoencoders/``.
    device : {"auto", "cpu", "cuda", "cuda:N"}, default="auto"
        ``"auto"`` trains on a GPU when one is visible.
    random_state : int, RandomState or None, default=None
        Seeds weight initialisation and shuffling. On the CPU, the same seed gives
        the same weights.
    verbose : int, default=1
        0 is silent; 1 shows a progress bar with the loss.

    Attributes
    ----------
    module_ : MLPAutoencoder
        The trained network (in eval mode, on ``device_``).
    history_ : list of float
        Training loss per epoch (from the cache entry when weights were reused).
    n_iter_ : int
        Epochs trained by this call to ``fit`` (0 when weights were reused).
    weights_source_ : {"trained", "cache", "weights"}
        Where the weights came from.
    cache_path_ : str or None
        The cache entry read or written, if any.
    device_ : str
        The device used for training and encoding.
    n_features_in_ : int
    """

    def __init__(
        self,
        n_components=None,
        *,
        hidden_dims=(500, 500, 2000),
        epochs=1000,
        batch_size=256,
        lr=1e-3,
        early_stopping=False,
        patience=20,
        tol=1e-4,
        weights=None,
        cache=True,
        cache_dir=None,
        device="auto",
        random_state=None,
        verbose=1,
    ):
        self.n_components = n_components
        self.hidden_dims = hidden_dims
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.early_stopping = early_stopping
        self.patience = patience
        self.tol = tol
        self.weights = weights
        self.cache = cache
        self.cache_dir = cache_dir
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    # -- validation -------------------------------------------------------- #

    def _check_params(self):
        if self.n_components is None:
            raise ValueError(
                "The 'n_components' parameter of Autoencoder must be set (an int >= 1); "
                "N2D sets it to n_clusters, but a standalone Autoencoder needs it explicitly."
            )
        check_int(self, "n_components", self.n_components, 1)
        check_dims(self, "hidden_dims", self.hidden_dims)
        check_int(self, "epochs", self.epochs, 0)
        check_int(self, "batch_size", self.batch_size, 1)
        check_float(self, "lr", self.lr, 0, low_open=True)
        check_bool(self, "early_stopping", self.early_stopping)
        check_int(self, "patience", self.patience, 1)
        check_float(self, "tol", self.tol, 0)
        check_bool(self, "cache", self.cache)
        check_int(self, "verbose", self.verbose, 0)
        check_random_state_param(self, self.random_state)
        if self.weights is not None and not isinstance(self.weights, (str, os.PathLike, dict)):
            raise ValueError(
                "The 'weights' parameter of Autoencoder must be a path to a .safetensors file, "
                f"a dict of arrays, or None. Got {type(self.weights).__name__} instead."
            )

    # -- cache ------------------------------------------------------------- #

    def _settings(self) -> dict:
        return {
            "format": _CACHE_FORMAT,
            "architecture": "mlp-relu-glorot",
            "hidden_dims": [int(d) for d in self.hidden_dims],
            "n_components": int(self.n_components),
            "epochs": int(self.epochs),
            "batch_size": int(self.batch_size),
            "lr": float(self.lr),
            "early_stopping": bool(self.early_stopping),
            "patience": int(self.patience) if self.early_stopping else None,
            "tol": float(self.tol) if self.early_stopping else None,
        }

    def _cache_key(self, data_fingerprint: str, seed: int) -> str:
        blob = json.dumps({"data": data_fingerprint, "seed": seed, **self._settings()}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:32]

    # -- fit / transform --------------------------------------------------- #

    def fit(self, X, y=None):
        """Train the autoencoder on ``X`` (or reuse cached or given weights).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        self : object
        """
        fit_together([self], X)
        return self

    def _start(self, X: np.ndarray, fingerprint: str) -> MLPAutoencoder | None:
        """Set up a fit: initialise the network, then take given or cached weights.

        Returns the initialised network if it still has to be trained, or None
        when weights were loaded (then ``module_`` and ``history_`` are set).
        """
        self.device_ = str(resolve_device(self.device))
        seed = seed_from(self.random_state)
        self._init_seed = seed if seed is not None else int(np.random.SeedSequence().generate_state(1)[0] & 0x7FFFFFFF)
        module = MLPAutoencoder(X.shape[1], self.hidden_dims, self.n_components)
        module.reset_parameters(torch.Generator().manual_seed(self._init_seed))
        self.cache_path_ = None
        self.n_iter_ = 0
        if self.weights is not None:
            state, self.history_ = _read_weights(self.weights)
            _load_state(module, state, source="weights dict" if isinstance(self.weights, dict) else str(self.weights))
            self.weights_source_ = "weights"
        elif self.cache and seed is not None:
            entry = cache_root(self.cache_dir) / "autoencoders" / f"{self._cache_key(fingerprint, seed)}.safetensors"
            self.cache_path_ = str(entry)
            if not self._try_cache(module, entry):
                return module
            self.weights_source_ = "cache"
        else:
            return module
        self.module_ = module.to(self.device_).eval()
        return None

    def _finish(self, module: MLPAutoencoder, history: list[float]) -> None:
        """Store a freshly trained network and write it to the cache if enabled."""
        self.history_ = history
        self.n_iter_ = len(history)
        self.weights_source_ = "trained"
        if self.cache_path_ is not None:
            self._write_cache(module, Path(self.cache_path_))
        self.module_ = module.to(self.device_).eval()

    def _try_cache(self, module, entry: Path) -> bool:
        if not entry.is_file():
            return False
        try:
            state, history = _read_weights(entry)
            _load_state(module, state, source=str(entry))
        except Exception as exc:  # a corrupt entry must never stop a fit
            warnings.warn(f"Ignoring unreadable autoencoder cache entry {entry}: {exc}", CacheWarning, stacklevel=3)
            return False
        self.history_ = history
        if self.verbose:
            print(f"autoencoder: reusing cached weights ({len(history)} epochs) from {entry}", flush=True)
        log.info("autoencoder weights loaded from cache %s", entry)
        return True

    def _write_cache(self, module, entry: Path) -> None:
        try:
            _write_weights(module, entry, self.history_, self._settings())
        except OSError as exc:
            warnings.warn(f"Could not write autoencoder cache entry {entry}: {exc}", CacheWarning, stacklevel=3)

    def _runtime_device(self) -> torch.device:
        dev = runtime_device(self.device_, "autoencoder")
        self.device_ = str(dev)
        return dev

    def transform(self, X, batch_size: int = 8192):
        """Encode ``X``: the autoencoder's code, float32 of shape (n_samples, n_components)."""
        check_is_fitted(self, "module_")
        X = validate_data(self, X, dtype=[np.float32, np.float64], reset=False)
        X = np.ascontiguousarray(X, dtype=np.float32)
        dev = self._runtime_device()
        module = self.module_.to(dev)
        out = np.empty((X.shape[0], self.module_.encoder[-1].out_features), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, X.shape[0], batch_size):
                xb = torch.from_numpy(X[start : start + batch_size]).to(dev)
                out[start : start + batch_size] = module.encode(xb).float().cpu().numpy()
        return out

    def reconstruct(self, X, batch_size: int = 8192):
        """Decode the code of ``X`` back to input space (for inspecting the fit)."""
        check_is_fitted(self, "module_")
        X = np.ascontiguousarray(validate_data(self, X, dtype=[np.float32, np.float64], reset=False), dtype=np.float32)
        dev = self._runtime_device()
        module = self.module_.to(dev)
        parts = []
        with torch.inference_mode():
            for start in range(0, X.shape[0], batch_size):
                parts.append(module(torch.from_numpy(X[start : start + batch_size]).to(dev)).cpu().numpy())
        return np.concatenate(parts)

    def save_weights(self, path) -> Path:
        """Write the trained weights (and loss history) to a ``.safetensors`` file.

        The file can be passed back as ``Autoencoder(weights=path)``. It is written
        to a temporary name and renamed into place.
        """
        check_is_fitted(self, "module_")
        path = Path(path)
        _write_weights(self.module_, path, self.history_, self._settings())
        return path

    # -- persistence hooks (n2d.persistence) ------------------------------- #

    def _n2d_get_state(self) -> dict:
        state = {k: v for k, v in vars(self).items() if k.endswith("_") and k != "module_"}
        if hasattr(self, "module_"):  # an unfitted stage (a parameter of N2D) has no network yet
            state["module_state_"] = {k: v.detach().cpu().numpy() for k, v in self.module_.state_dict().items()}
        return state

    def _n2d_set_state(self, state: dict) -> None:
        arrays = state.pop("module_state_", None)
        for k, v in state.items():
            setattr(self, k, v)
        if arrays is None:
            return
        module = MLPAutoencoder(self.n_features_in_, self.hidden_dims, self.n_components)
        _load_state(module, arrays, source="saved model")
        self.module_ = module.to(self._runtime_device()).eval()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags


def _fit_together(estimators: list[Autoencoder], X: np.ndarray) -> None:
    """Fit autoencoders that differ only in ``random_state`` on the same data.

    Each first takes given or cached weights; the rest train together, as one
    :class:`StackedMLPAutoencoder` when there are several, with each model's own
    initialisation and shuffling, so every result equals (within float
    rounding) what fitting that estimator alone would give.
    """
    fingerprint = fingerprint_array(X) if any(e.cache for e in estimators) else ""
    pending = [(e, m) for e in estimators if (m := e._start(X, fingerprint)) is not None]
    if not pending:
        return
    first = pending[0][0]
    device = torch.device(first.device_)
    x = torch.from_numpy(X).to(device)
    settings = dict(epochs=first.epochs, batch_size=first.batch_size, lr=first.lr, progress=first.verbose > 0)
    generators = [torch.Generator(device=device).manual_seed(e._init_seed) for e, _ in pending]
    if len(pending) == 1:
        est, module = pending[0]
        history = train_autoencoder(
            module.to(device), x, generator=generators[0], early_stopping=est.early_stopping,
            patience=est.patience, tol=est.tol, **settings,
        )
        est._finish(module, history)
        return
    stacked = StackedMLPAutoencoder.from_modules([m for _, m in pending]).to(device)
    histories = train_autoencoder(stacked, x, generator=generators, **settings)
    for (est, _), module, history in zip(pending, stacked.to_modules(), histories):
        est._finish(module, history)


def fit_autoencoders(X, random_states, **params) -> list[Autoencoder]:
    """Train one autoencoder per seed, all at once, as one batched model.

    A several-seed study then costs far less than separate runs on a GPU (one
    batched kernel per layer instead of one per seed). Seeds whose weights are
    cached are loaded instead, and every newly trained seed is written to the
    cache, so later ``Autoencoder(random_state=seed)`` or N2D fits reuse it.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    random_states : sequence of int
        One seed per autoencoder.
    **params
        Any other :class:`Autoencoder` parameters, shared by all (early stopping
        is not available here).

    Returns
    -------
    autoencoders : list of Autoencoder
        Fitted, in the order of ``random_states``; each is the same as
        ``Autoencoder(random_state=seed, **params).fit(X)`` within float rounding.
    """
    if not len(random_states):
        raise ValueError("random_states must hold at least one seed.")
    if params.get("early_stopping"):
        raise ValueError("early_stopping is not supported when several autoencoders train at once.")
    estimators = [Autoencoder(random_state=seed, **params) for seed in random_states]
    fit_together(estimators, X)
    return estimators


def fit_together(estimators: list[Autoencoder], X) -> None:
    """Fit autoencoders that differ only in ``random_state`` on the same ``X``, as one batched model.

    Each ends up as if fitted alone (within float rounding); see
    :func:`fit_autoencoders`.
    """
    X = validate_data(estimators[0], X, dtype=[np.float32, np.float64], ensure_min_samples=2)
    for est in estimators:
        est._check_params()
        est.n_features_in_ = estimators[0].n_features_in_
    _fit_together(estimators, np.ascontiguousarray(X, dtype=np.float32))


# --------------------------------------------------------------------------- #
# Weight files
# --------------------------------------------------------------------------- #


def _write_weights(module: nn.Module, path: Path, history, settings: dict) -> None:
    from safetensors.torch import save_file

    tensors = {k: v.detach().to("cpu").contiguous() for k, v in module.state_dict().items()}
    meta = {
        "format": "n2d-autoencoder-weights",
        "n2d_version": __version__,
        "settings": json.dumps(settings, sort_keys=True),
        "history": json.dumps([float(h) for h in history]),
    }
    with atomic_path(path, suffix=".safetensors") as tmp:
        save_file(tensors, str(tmp), metadata=meta)


def _read_weights(source):
    """Return (state dict of tensors, history) from a safetensors path or a dict of arrays."""
    if isinstance(source, dict):
        return {k: torch.as_tensor(np.asarray(v)) for k, v in source.items()}, []
    from safetensors import safe_open

    path = Path(source)
    if not path.is_file():
        raise FileNotFoundError(f"Autoencoder weights file not found: {path}")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            state = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as exc:
        raise ValueError(f"Could not read autoencoder weights from {path}: not a valid safetensors file ({exc}).") from exc
    history = json.loads(meta.get("history", "[]"))
    return state, [float(h) for h in history]


def _load_state(module: nn.Module, state: dict, source: str) -> None:
    expected = module.state_dict()
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    if missing or extra:
        raise ValueError(
            f"Autoencoder weights from {source} do not fit this architecture: "
            f"missing {missing[:4]}{'...' if len(missing) > 4 else ''}, unexpected {extra[:4]}."
        )
    for k, v in expected.items():
        if tuple(state[k].shape) != tuple(v.shape):
            raise ValueError(
                f"Autoencoder weights from {source} do not fit this architecture: "
                f"{k} has shape {tuple(state[k].shape)}, expected {tuple(v.shape)}."
            )
        if not torch.isfinite(torch.as_tensor(state[k])).all():
            raise ValueError(f"Autoencoder weights from {source} contain NaN or inf in {k}.")
    module.load_state_dict({k: torch.as_tensor(v, dtype=expected[k].dtype) for k, v in state.items()})
