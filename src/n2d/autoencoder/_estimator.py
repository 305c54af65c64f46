"""The N2D autoencoder stage: a scikit-learn transformer around the torch MLP.

The network (:mod:`n2d.autoencoder._networks`) is the paper's d-500-500-2000-k multilayer
perceptron, trained on mean squared error with Adam (:mod:`n2d.autoencoder._training`).

Trained weights are cached as safetensors, keyed by the data, the architecture,
the training settings, the device type and the seed, so a model is never trained
twice by accident; see :class:`Autoencoder`. Each entry also records what it was
made for and a checksum of its tensors, and is used only when both match.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from n2d._util.checks import (
    check_bool,
    check_dims,
    check_epochs,
    check_float,
    check_int,
    check_random_state_param,
    seed_from,
)
from n2d._util.device import resolve_device, runtime_device
from n2d._util.files import cache_root, fingerprint_array, remove_stale_temporaries
from n2d._util.hardware import PRECISIONS, resolve_precision
from n2d.autoencoder._networks import MLPAutoencoder, StackedMLPAutoencoder
from n2d.autoencoder._training import AUTO_FVU, auto_epochs, auto_stop_loss, forward_macs, train_autoencoder
from n2d.autoencoder._weights import _load_state, _read_weights, _read_weights_meta, _write_weights
from n2d.exceptions import CacheWarning

log = logging.getLogger(__name__)

__all__ = ["MLPAutoencoder", "StackedMLPAutoencoder", "Autoencoder", "train_autoencoder", "fit_autoencoders"]

# Bump when the training procedure changes in a way that changes the weights a
# given key produces; old cache entries then simply stop matching.
# 2: fused Adam on the CPU (same rule, other rounding), the precision and device in the key,
#    and entries record what they were made for and a checksum of their tensors.
_CACHE_FORMAT = 2

# --------------------------------------------------------------------------- #
# The scikit-learn stage
# --------------------------------------------------------------------------- #


class Autoencoder(TransformerMixin, BaseEstimator):
    """MLP autoencoder stage: ``fit`` trains it, ``transform`` returns the code.

    Parameters
    ----------
    n_components : int, default=None
        Width of the code. ``None`` is resolved by :class:`n2d.N2D` from its
        ``n_clusters`` and the data (:func:`n2d._util.stages.default_width`:
        k, the paper's choice, where the data supports it); used on its own,
        it must be set.
    hidden_dims : tuple of int, default=(500, 500, 2000)
        Encoder widths; the decoder mirrors them.
    epochs : int or "auto", default="auto"
        Training epochs. ``"auto"`` trains for a number of optimizer steps
        rather than epochs (:func:`~n2d.autoencoder._training.auto_epochs`): 2,000 steps
        from 8,000 to 10,000 rows, fewer on fewer rows (on 2,000 rows or
        fewer, a fixed amount of arithmetic: 400 steps of 256 rows on 64
        features, fewer on wider inputs), more on more rows (as the square
        root of the row count),
        and stops sooner once the reconstruction leaves less than 1% of the
        data's variance unexplained (:func:`~n2d.autoencoder._training.auto_stop_loss`).
        The docs' speed page ("Training length") has the evidence. An int
        trains exactly that many epochs; ``1000`` is the paper's setting.
    precision : {"auto", "float32", "bfloat16"}, default="auto"
        Arithmetic of the training step. ``"bfloat16"`` is mixed precision
        (bfloat16 matrix products under autocast; float32 weights, optimizer
        and loss). ``"auto"`` uses it on CPUs with native bfloat16 instructions
        (AVX512-BF16 or AMX), where it is faster per step without a loss of
        accuracy (the docs' speed page), and float32 elsewhere (GPUs included).
        Encoding (``transform``) is always float32.
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
        :meth:`save_weights` (or found in the cache), a Keras HDF5 file of the
        N2D reference code's autoencoder (its pretrained
        ``<dataset>-1000-ae_weights.h5``: layers ``encoder_0`` ...
        ``decoder_0``; read with h5py (``pip install h5py``);
        see :mod:`n2d.autoencoder._keras`), or a mapping of parameter names to
        arrays. A file is recognised by its content (the HDF5 signature), not
        its name. Every shape must fit ``hidden_dims`` and ``n_components``.
        When given, ``fit`` loads them and trains nothing.
    cache : bool, default=True
        Reuse and store trained weights in the weight cache. Only used when
        ``random_state`` is an int: unseeded training is not reproducible, so it
        is never served from the cache. An entry is used only if the data
        fingerprint, settings and seed recorded in it match and its tensors
        match their checksum; otherwise n2d warns (:class:`~n2d.exceptions.CacheWarning`),
        trains, and rewrites the entry. A failed cache write also only warns.
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
    epochs_ : int
        The most epochs the weights were (or would have been) trained for:
        ``epochs``, or what ``"auto"`` resolved to for this data
        (``len(history_)`` is how many were trained).
    stop_loss_ : float or None
        With ``epochs="auto"``, the epoch loss at which training stops early
        (1% of the data's mean per-feature variance); None otherwise.
    precision_ : {"float32", "bfloat16"}
        The training step's precision.
    weights_source_ : {"trained", "cache", "weights"}
        Where the weights came from.
    cache_path_ : str or None
        The cache entry read or written, if any.
    device_ : str
        The device used for training and encoding.
    n_features_in_ : int
    """

    _n2d_shares = ("device", "verbose")
    """N2D's device and verbose replace this stage's own (it trains where N2D runs)."""

    def __init__(
        self,
        n_components=None,
        *,
        hidden_dims=(500, 500, 2000),
        epochs="auto",
        precision="auto",
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
        self.precision = precision
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
        if self.epochs != "auto":
            check_epochs(self, self.epochs)
        if not isinstance(self.precision, str) or self.precision not in PRECISIONS:
            raise ValueError(
                f"The 'precision' parameter of Autoencoder must be one of {PRECISIONS}. Got {self.precision!r} instead."
            )
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
                "The 'weights' parameter of Autoencoder must be a path to a .safetensors file or a Keras "
                f"HDF5 weights file, a dict of arrays, or None. Got {type(self.weights).__name__} instead."
            )

    # -- cache ------------------------------------------------------------- #

    def _settings(self) -> dict:
        device = getattr(self, "device_", None) or resolve_device(self.device)
        return {
            "format": _CACHE_FORMAT,
            "architecture": "mlp-relu-glorot",
            "hidden_dims": [int(d) for d in self.hidden_dims],
            "n_components": int(self.n_components),
            "epochs": int(self.epochs_),
            "precision": self.precision_,
            "batch_size": int(self.batch_size),
            "lr": float(self.lr),
            "early_stopping": bool(self.early_stopping),
            # Only "auto" stops at a loss; fixed-epoch entries keep their keys.
            **({"stop_fvu": AUTO_FVU} if self.epochs == "auto" else {}),
            "patience": int(self.patience) if self.early_stopping else None,
            "tol": float(self.tol) if self.early_stopping else None,
            # CPU and GPU kernels give different weights for the same seed; the type only,
            # so every GPU (cuda:0, cuda:1) shares entries.
            "device": torch.device(device).type,
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

    def _start(self, X: np.ndarray, fingerprint: str, stop_loss: float | None) -> MLPAutoencoder | None:
        """Set up a fit: initialise the network, then take given or cached weights.

        Returns the initialised network if it still has to be trained, or None
        when weights were loaded (then ``module_`` and ``history_`` are set).
        """
        self.device_ = str(resolve_device(self.device))
        if self.epochs == "auto":
            macs = forward_macs((X.shape[1], *self.hidden_dims, self.n_components))
            self.epochs_ = auto_epochs(X.shape[0], self.batch_size, macs_per_row=macs)
        else:
            self.epochs_ = int(self.epochs)
        self.precision_ = resolve_precision(self.precision, self.device_)
        self.stop_loss_ = stop_loss if self.epochs == "auto" else None
        seed = seed_from(self.random_state)
        self._init_seed = seed if seed is not None else int(np.random.SeedSequence().generate_state(1)[0] & 0x7FFFFFFF)
        module = MLPAutoencoder(X.shape[1], self.hidden_dims, self.n_components)
        module.reset_parameters(torch.Generator().manual_seed(self._init_seed))
        self.cache_path_ = None
        self.n_iter_ = 0
        if self.weights is not None:
            dims = (X.shape[1], *self.hidden_dims, self.n_components)
            state, self.history_ = _read_weights(self.weights, dims=dims)
            _load_state(module, state, source="weights dict" if isinstance(self.weights, dict) else str(self.weights))
            self.weights_source_ = "weights"
        elif self.cache and seed is not None:
            entry = cache_root(self.cache_dir) / "autoencoders" / f"{self._cache_key(fingerprint, seed)}.safetensors"
            self.cache_path_ = str(entry)
            self._made_for = {"data": fingerprint, "seed": seed, "settings": self._settings()}
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
        """Load a verified cache entry into ``module``; False (with a warning if it exists) otherwise.

        The entry must say it was made for this data, these settings and this
        seed, and its tensors must match its checksum (checked on reading);
        anything else is ignored with a :class:`CacheWarning`, and the fit then
        trains and rewrites the entry.
        """
        if not entry.is_file():
            return False
        try:
            state, history, meta = _read_weights_meta(entry)
            _check_made_for(meta, self._made_for, entry)
            _load_state(module, state, source=str(entry))
        except Exception as exc:  # a corrupt or foreign entry must never stop a fit
            warnings.warn(
                f"Ignoring unreadable or unverified autoencoder cache entry {entry}: {exc} "
                "Training instead; the entry will be rewritten.",
                CacheWarning, stacklevel=3,
            )
            return False
        self.history_ = history
        if self.verbose:
            print(f"autoencoder: reusing cached weights ({len(history)} epochs) from {entry}", flush=True)
        log.info("autoencoder weights loaded from cache %s", entry)
        return True

    def _write_cache(self, module, entry: Path) -> None:
        # Any failure (a full disk raises safetensors' SafetensorError, not an OSError)
        # only costs the cache entry, never the trained model.
        try:
            remove_stale_temporaries(entry.parent)  # left by fits killed while writing an entry
            _write_weights(module, entry, self.history_, self._settings(), made_for=self._made_for)
        except Exception as exc:
            warnings.warn(
                f"Could not write autoencoder cache entry {entry} ({type(exc).__name__}: {exc}); "
                "the trained model is kept, but it will not be reused from the cache.",
                CacheWarning, stacklevel=3,
            )

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

    @classmethod
    def _n2d_check_state(cls, params: dict, state: dict, check) -> None:
        """Load-time rules of a saved autoencoder: its weights are exactly those of the declared architecture.

        Checked on torch's meta device, so no memory is allocated from sizes the
        weights do not back (see :mod:`n2d.persistence._state`).
        """
        hidden = check.dims("hidden_dims", params.get("hidden_dims"))
        if params.get("n_components") is not None:
            check.int_("n_components", params["n_components"], low=1)
        weights = state.get("module_state_")
        if weights is None:
            return  # an unfitted stage (a parameter of N2D)
        if not isinstance(weights, dict):
            check.fail(f"module_state_ is a {type(weights).__name__}, expected a mapping of weight names to arrays")
        n_features = check.int_("n_features_in_", state.get("n_features_in_"), low=1)
        n_components = check.int_("n_components", params.get("n_components"), low=1)
        with torch.device("meta"):
            shapes = MLPAutoencoder(n_features, hidden, n_components).state_dict()
            expected = {k: tuple(v.shape) for k, v in shapes.items()}
        missing, extra = sorted(set(expected) - set(weights)), sorted(set(weights) - set(expected))
        if missing or extra:
            check.fail(
                f"its weights do not fit the architecture {n_features}-{'-'.join(map(str, hidden))}-{n_components} "
                f"(missing {missing[:4]}, unexpected {extra[:4]})"
            )
        for name, shape in expected.items():
            check.array(f"weight {name}", weights[name], shape)
        if "history_" in state and not (
            isinstance(state["history_"], list) and all(isinstance(h, (int, float)) for h in state["history_"])
        ):
            check.fail("history_ is not a list of numbers")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags


def _check_made_for(meta: dict, expected: dict, entry: Path) -> None:
    """Raise ValueError unless a cache entry's ``made_for`` metadata equals ``expected``."""
    if "tensors_sha256" not in meta:
        raise ValueError(
            "it records neither what it was made for nor a checksum of its tensors (an entry from an older "
            "n2d, or not written by n2d), so it cannot be verified."
        )
    try:
        recorded = json.loads(meta.get("made_for", "null"))
    except ValueError:
        recorded = None
    if recorded != json.loads(json.dumps(expected)):
        raise ValueError(
            "it was made for other data, settings or seed than its name says (it was copied or renamed), "
            "so its weights are not those this fit would train."
        )


def _fit_together(estimators: list[Autoencoder], X: np.ndarray) -> None:
    """Fit autoencoders that differ only in ``random_state`` on the same data.

    Each first takes given or cached weights; the rest train together, as one
    :class:`StackedMLPAutoencoder` when there are several, with each model's own
    initialisation and shuffling, so every result equals (within float
    rounding) what fitting that estimator alone would give.
    """
    fingerprint = fingerprint_array(X) if any(e.cache for e in estimators) else ""
    # One pass over the data for every estimator: they differ only in random_state.
    stop_loss = auto_stop_loss(X) if estimators[0].epochs == "auto" else None
    pending = [(e, m) for e in estimators if (m := e._start(X, fingerprint, stop_loss)) is not None]
    if not pending:
        return
    first = pending[0][0]
    device = torch.device(first.device_)
    x = torch.from_numpy(X).to(device)
    settings = dict(
        epochs=first.epochs_, batch_size=first.batch_size, lr=first.lr, precision=first.precision_,
        progress=first.verbose > 0, stop_loss=first.stop_loss_,
    )
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

