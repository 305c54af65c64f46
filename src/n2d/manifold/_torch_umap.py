"""UMAP in torch: one code path for the CPU and a GPU.

:class:`TorchUMAP` is a drop-in for :class:`n2d.manifold.UMAP` (same
constructor, methods and fitted attributes) that runs every step of UMAP
(McInnes, Healy & Melville, 2018) as a handful of tensor operations, so the same
code runs on the CPU and, much faster, on a GPU. The numerical steps are
module-level functions on tensors that can be tested on their own, in the order
a fit uses them:

1. :func:`knn` -- exact k nearest neighbours by blocked matrix products
   (int64 indices, bounded memory; no ``n_samples**2`` index anywhere).
2. :func:`smooth_knn_dist` -- each point's ``rho`` and ``sigma``, by a binary
   search run for all points at once.
3. :func:`membership_strengths` / :func:`membership_graph` -- the fuzzy
   simplicial set: local memberships, then the fuzzy union
   ``A + A^T - A * A^T`` as a coalesced sparse COO tensor.
4. :func:`find_ab_params` -- the low-dimensional similarity curve
   ``1 / (1 + a d^(2b))``.
5. :func:`spectral_init` -- the spectral embedding of the normalised graph
   Laplacian (scipy's ARPACK on the CPU, as umap-learn).
6. :func:`optimize_layout` -- UMAP's negative-sampling SGD with umap-learn's
   edge schedule, vectorised over the edges due in each epoch.

The steps live in :mod:`n2d.manifold._knn` (1), :mod:`n2d.manifold._graph` (2-4) and
:mod:`n2d.manifold._layout` (5-6); this module keeps the estimator, on the base
it shares with umap-learn's stage (:mod:`n2d.manifold._base`). Each follows umap-learn 0.5's
numerics (``umap/umap_.py``, ``umap/spectral.py``, ``umap/layouts.py``); the
differences are listed in :class:`TorchUMAP`'s Notes.
"""

from __future__ import annotations

import contextlib
import logging
import time
import warnings

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from n2d._util.checks import check_int, check_options, seed_from
from n2d._util.device import resolve_device, runtime_device
from n2d._util.threads import torch_threads
from n2d.exceptions import N2DWarning
from n2d.manifold._base import UMAPBase
from n2d.manifold._graph import (
    find_ab_params,
    membership_graph,
    membership_strengths,
    sampled_edges,
    smooth_knn_dist,
)
from n2d.manifold._knn import knn
from n2d.manifold._layout import _rescale, optimize_layout, spectral_init
from n2d.manifold._nndescent import KNN_METHODS, nndescent_knn, resolve_knn_method
from n2d.manifold._transform import _weighted_mean_init, place_points, placement_epochs

log = logging.getLogger(__name__)

__all__ = ["TorchUMAP"]


_LAYOUT_CONCURRENCY = 1.0
"""Updates a point receives at once in :func:`optimize_layout` (see there)."""


# --------------------------------------------------------------------------- #
# Estimator
# --------------------------------------------------------------------------- #


class TorchUMAP(UMAPBase):
    """UMAP manifold stage in torch: the same code on the CPU and a GPU.

    A drop-in for :class:`n2d.manifold.UMAP` (same parameters, methods and
    fitted attributes) that computes exact neighbours, the fuzzy graph and the
    layout with tensor operations, so fitting 70,000 points takes seconds on a
    GPU. The numerics follow umap-learn 0.5; see Notes for the differences.

    Parameters
    ----------
    n_components : int, default=None
        Embedding dimension. ``None`` is resolved by :class:`n2d.N2D` to its
        ``n_clusters`` (the paper's choice); standalone, ``None`` means 2.
    n_neighbors : int, default=20
        Size of the local neighbourhood, counting the point itself (as
        umap-learn). Larger values give a more global view; 2 to 100 is the
        usual range. N2D uses 20. Clipped to ``n_samples - 1`` with a warning.
    min_dist : float, default=0.0
        Minimum spacing of embedded points. N2D uses 0, which packs clusters
        tightly: good for clustering, not for display.
    metric : {"euclidean"}, default="euclidean"
        Only Euclidean distances are implemented.
    n_epochs : int, default=None
        Layout epochs; ``None`` means 500 for at most 10,000 points and 200
        above (umap-learn's rule). :meth:`transform` runs a third of that
        (``None``: 100 epochs for a model fitted on at most 10,000 points,
        else 30; umap-learn counts the new points instead).
    learning_rate : float, default=1.0
        Initial SGD step, decayed linearly to 0.
    negative_sample_rate : int, default=5
        Negative samples per sampled edge; 0 disables repulsion.
    repulsion_strength : float, default=1.0
        Weight of the negative samples (``gamma``).
    local_connectivity : float, default=1.0
        Number of nearest neighbours assumed fully connected; at most the local
        intrinsic dimension.
    random_state : int, RandomState or None, default=None
        Seeds the spectral start, the noise and the negative samples. An int
        gives identical results from run to run on the CPU; on a GPU the
        layout's scatter-adds are bitwise reproducible only under
        ``torch.use_deterministic_algorithms(True)``, which every step
        supports. None draws a seed from numpy's global generator.
    verbose : int, default=0
        0 is silent; 1 prints stage timings and a progress bar over epochs.
    device : str, default="auto"
        ``"auto"`` (CUDA if available, else CPU), ``"cpu"``, ``"cuda"`` or
        ``"cuda:N"``. An explicit GPU that is missing raises ``ValueError``.
    knn_method : {"auto", "exact", "nndescent"}, default="auto"
        How the training points' neighbours are found: ``"exact"`` (blocked
        matrix products, ``O(n^2 d)``), ``"nndescent"`` (pynndescent's
        approximate NN-descent, umap-learn's method; CPU arrays) or
        ``"auto"``: exact on a GPU and up to 200,000 points on the CPU,
        NN-descent above (:data:`n2d.manifold._nndescent.NNDESCENT_ABOVE`). New points
        in :meth:`transform` are always searched exactly.

    Attributes
    ----------
    embedding_ : ndarray of shape (n_samples, n_components), float32
        The embedding of the training data.
    fit_data_ : ndarray of shape (n_samples, n_features), float32
        The training data, kept for out-of-sample placement.
    a_, b_ : float
        The fitted low-dimensional similarity curve ``1 / (1 + a d^(2b))``.
    n_neighbors_ : int
        ``n_neighbors`` after clipping to the data size.
    n_epochs_ : int
        Layout epochs used by the fit.
    transform_seed_ : int
        Seed of the out-of-sample refinement, so ``transform`` is deterministic.
    knn_method_ : str
        ``"exact"`` or ``"nndescent"``: how the fit found the neighbours.
    n_features_in_ : int
        Number of features seen during fit.
    device_ : str
        Device of the fit (``"cpu"``, ``"cuda:0"``, ...); ``transform`` runs
        there too (or on the CPU, with a DeviceWarning, if that GPU is gone).
    timings_ : dict of str to float
        Seconds spent in each stage of the fit (``knn``, ``graph``, ``init``,
        ``layout``).

    See Also
    --------
    n2d.manifold.UMAP : The umap-learn-backed stage this mirrors.

    Notes
    -----
    N2D (McConville et al., 2020, "N2D: (Not Too) Deep Clustering via Clustering
    the Local Manifold of an Autoencoded Embedding", ICPR) clusters the UMAP
    embedding of an autoencoder's codes with a Gaussian mixture, with
    ``n_neighbors=20``, ``min_dist=0`` and ``n_components = n_clusters``.

    Differences from umap-learn 0.5:

    - *Batched updates.* umap-learn's SGD walks the edges one after another and
      each update sees the positions left by the previous ones (Hogwild when
      parallel). Here the edges due in an epoch are processed in random
      batches sized so that a point gets about one update per batch; within a
      batch the attractive steps are computed from the same positions and
      summed, then the repulsive steps from the positions after attraction.
      The schedule (which edges, how many negative samples, the learning
      rate) is umap-learn's. With a single batch per epoch the summed steps
      overshoot and trustworthiness drops by about 0.0015 (see
      :func:`optimize_layout`).
    - *Neighbours are exact*, by blocked matrix products, up to 200,000
      points on the CPU (and always on a GPU and for new points); umap-learn
      uses NN-descent above 4,096 points. Above, ``knn_method="auto"`` uses
      the same NN-descent (pynndescent).
    - *Spectral start*: ARPACK is asked for the largest eigenvalues of the
      normalised adjacency (the same eigenvectors as umap-learn's smallest of
      the Laplacian), from a seeded random start vector.
    - *Random streams differ*: the same seed does not give umap-learn's
      embedding, and CPU and GPU runs differ from each other.
    - *Transform is per point*: a new point's position depends only on it and
      the model (:mod:`n2d.manifold._transform`), so chunked and distributed
      prediction equal one in-memory call; umap-learn refines the new points
      together, with a batch-dependent schedule and random stream.
    - Only the Euclidean metric; no densMAP, ``init`` choices, ``spread``,
      ``set_op_mix_ratio`` or ``inverse_transform``.

    On the CPU the layout runs on one torch thread (its per-epoch tensors are
    small; on a busy machine more OpenMP threads made it 20 to 30 times
    slower), while the neighbour search uses them all.

    Examples
    --------
    >>> import numpy as np
    >>> from n2d import TorchUMAP
    >>> X = np.random.RandomState(0).normal(size=(200, 5)).astype(np.float32)
    >>> emb = TorchUMAP(n_components=2, n_epochs=50, random_state=0, device="cpu").fit_transform(X)
    >>> emb.shape, emb.dtype
    ((200, 2), dtype('float32'))
    """

    _n2d_shares = ("verbose",)
    """N2D's verbose replaces this stage's own (its layout's progress bar shows with N2D's)."""

    def __init__(
        self,
        n_components=None,
        *,
        n_neighbors=20,
        min_dist=0.0,
        metric="euclidean",
        n_epochs=None,
        learning_rate=1.0,
        negative_sample_rate=5,
        repulsion_strength=1.0,
        local_connectivity=1.0,
        random_state=None,
        verbose=0,
        device="auto",
        knn_method="auto",
    ):
        super().__init__(
            n_components,
            n_neighbors=n_neighbors,
            min_dist=min_dist,
            metric=metric,
            n_epochs=n_epochs,
            learning_rate=learning_rate,
            negative_sample_rate=negative_sample_rate,
            repulsion_strength=repulsion_strength,
            local_connectivity=local_connectivity,
            random_state=random_state,
            verbose=verbose,
        )
        self.device = device
        self.knn_method = knn_method

    _TRANSIENT = ("_cache",)

    def _check_params(self) -> torch.device:
        super()._check_params()
        if not isinstance(self.verbose, (bool, np.bool_)):
            check_int(self, "verbose", self.verbose, 0)
        check_options(self, "knn_method", self.knn_method, KNN_METHODS)
        return resolve_device(self.device)

    def _say(self, msg: str) -> None:
        log.info(msg)
        if self.verbose:
            print(msg, flush=True)

    def fit(self, X, y=None):
        """Fit the UMAP embedding of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; converted to float32.
        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        X = validate_data(self, X, dtype=np.float32, ensure_min_samples=2)
        device = self._check_params()
        X = np.ascontiguousarray(X, dtype=np.float32)
        n = X.shape[0]
        k = min(int(self.n_neighbors), n - 1)
        if k < self.n_neighbors:
            warnings.warn(
                f"n_neighbors={self.n_neighbors} is not below the number of samples ({n}); using {k}.",
                N2DWarning,
                stacklevel=2,
            )
        dim = 2 if self.n_components is None else int(self.n_components)
        seed = seed_from(check_random_state(None)) if self.random_state is None else seed_from(self.random_state)
        init_seed, layout_seed, transform_seed = (int(s) for s in np.random.RandomState(seed).randint(0, 2**31 - 1, 3))
        default_epochs = 500 if n <= 10000 else 200
        n_epochs = default_epochs if self.n_epochs is None else int(self.n_epochs)
        a, b = find_ab_params(1.0, float(self.min_dist))
        timings = {}

        with torch.no_grad():
            t0 = time.perf_counter()
            xt = torch.from_numpy(X).to(device)
            method = resolve_knn_method(self.knn_method, n, device)
            if method == "exact":
                dists, indices = knn(xt, k)
            else:
                dists, indices = nndescent_knn(X, k, init_seed, verbose=bool(self.verbose))
                dists, indices = dists.to(device), indices.to(device)
            timings["knn"] = _lap(t0, device)
            self._say(
                f"TorchUMAP: {k} nearest neighbours ({method}) of {n} points on {device} in {timings['knn']:.2f} s"
            )

            t0 = time.perf_counter()
            graph = membership_graph(indices, dists, float(k), float(self.local_connectivity))
            del dists, indices
            rows, cols, weights, graph = sampled_edges(graph, n_epochs if n_epochs > 10 else default_epochs)
            timings["graph"] = _lap(t0, device)
            self._say(f"TorchUMAP: fuzzy graph with {weights.numel()} edges in {timings['graph']:.2f} s")

            t0 = time.perf_counter()
            gen_init = torch.Generator().manual_seed(init_seed)
            init = spectral_init(graph, dim, gen_init, data=X)
            embedding = _rescale(init).to(device)
            timings["init"] = _lap(t0, device)
            self._say(f"TorchUMAP: spectral initialisation in {timings['init']:.2f} s")

            t0 = time.perf_counter()
            gen = torch.Generator(device=device).manual_seed(layout_seed)
            with _layout_threads(device):
                optimize_layout(
                    embedding,
                    embedding,
                    rows,
                    cols,
                    weights,
                    n_epochs,
                    a,
                    b,
                    gen,
                    negative_sample_rate=int(self.negative_sample_rate),
                    initial_alpha=float(self.learning_rate),
                    gamma=float(self.repulsion_strength),
                    move_other=True,
                    verbose=bool(self.verbose),
                    concurrency=_LAYOUT_CONCURRENCY,
                )
            timings["layout"] = _lap(t0, device)
            self._say(f"TorchUMAP: {n_epochs} layout epochs in {timings['layout']:.2f} s")

        self.embedding_ = embedding.cpu().numpy().astype(np.float32, copy=False)
        self.fit_data_ = X
        self.a_ = float(a)
        self.b_ = float(b)
        self.n_neighbors_ = int(k)
        self.n_epochs_ = int(n_epochs)
        self.transform_seed_ = int(transform_seed)
        self.knn_method_ = method
        self.device_ = str(xt.device)
        self.timings_ = {k_: float(v) for k_, v in timings.items()}
        self._cache = None
        return self

    def _runtime_device(self) -> torch.device:
        dev = runtime_device(self.device_, "UMAP")
        self.device_ = str(dev)
        return dev

    def _train_tensors(self, device: torch.device):
        # Kept between transform calls, never saved: cheap to rebuild.
        cache = getattr(self, "_cache", None)
        if cache is None or cache[0] != device:
            data = torch.from_numpy(np.ascontiguousarray(self.fit_data_, dtype=np.float32)).to(device)
            emb = torch.from_numpy(np.ascontiguousarray(self.embedding_, dtype=np.float32)).to(device)
            cache = (device, data, emb)
            self._cache = cache
        return cache[1], cache[2]

    def transform(self, X):
        """Place new points in the fitted embedding, the way umap-learn does, one point at a time.

        For each new point: its ``n_neighbors_`` nearest training points
        (exact), UMAP's membership weights to them (with ``local_connectivity -
        1``), a start at the weighted mean of their embedded positions (or on a
        training point it duplicates), then a short SGD refinement against the
        fixed training embedding (:func:`n2d.manifold._transform.place_points`,
        learning rate ``learning_rate / 4``). Unlike umap-learn, a point's
        position depends only on the point and the fitted model, never on the
        other rows passed with it: transforming ``X`` in chunks, in any order,
        or partition by partition on a cluster gives exactly the same result.
        More than 65,536 rows are placed in chunks of that many, so memory
        stays bounded.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            New data with the training data's features.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components), float32
            Positions in the embedding.
        """
        check_is_fitted(self, "embedding_")
        X = validate_data(self, X, dtype=np.float32, reset=False)
        X = np.ascontiguousarray(X, dtype=np.float32)
        if X.shape[0] <= TRANSFORM_CHUNK:
            return self._place(X)
        # In chunks, so memory stays bounded; each point's place does not depend on the chunking.
        from n2d._util.progress import progress as progress_bar

        out = np.empty((X.shape[0], self.embedding_.shape[1]), dtype=np.float32)
        starts = range(0, X.shape[0], TRANSFORM_CHUNK)
        for start in progress_bar(starts, disable=not self.verbose, desc="TorchUMAP.transform", unit="chunk"):
            out[start : start + TRANSFORM_CHUNK] = self._place(X[start : start + TRANSFORM_CHUNK])
        return out

    def _place(self, X: np.ndarray) -> np.ndarray:
        device = self._runtime_device()
        n_epochs = placement_epochs(self.embedding_.shape[0], self.n_epochs)
        with torch.no_grad():
            data, emb = self._train_tensors(device)
            xq = torch.from_numpy(X).to(device)
            k = int(self.n_neighbors_)
            dists, indices = knn(xq, k, reference=data)
            sigmas, rhos = smooth_knn_dist(
                dists, float(k), local_connectivity=float(max(0.0, self.local_connectivity - 1.0))
            )
            weights = membership_strengths(indices, dists, sigmas, rhos, bipartite=True)
            init = _weighted_mean_init(weights, indices, emb)
            with _layout_threads(device):
                placed = place_points(
                    init,
                    emb,
                    indices,
                    weights,
                    n_epochs,
                    self.a_,
                    self.b_,
                    int(self.transform_seed_),
                    negative_sample_rate=int(self.negative_sample_rate),
                    initial_alpha=float(self.learning_rate) / 4.0,
                    gamma=float(self.repulsion_strength),
                )
        return placed.cpu().numpy().astype(np.float32, copy=False)

    def _n2d_set_state(self, state: dict) -> None:
        super()._n2d_set_state(state)
        if isinstance(getattr(self, "device_", None), str):
            self._runtime_device()  # a GPU-fitted UMAP loads on the CPU with a DeviceWarning


TRANSFORM_CHUNK = 65_536
"""Rows :meth:`TorchUMAP.transform` places at once (its working memory is bounded by this)."""


def _layout_threads(device: torch.device):
    """One torch thread for the layout on the CPU; the GPU's setting untouched.

    The layout's per-epoch tensors are small, so extra OpenMP threads buy
    little, and on a busy machine their spinning barriers make it many times
    slower (the docs' speed page, "A busy machine"). The neighbour search
    before it, one large matrix product, keeps every thread.
    """
    return torch_threads(1) if device.type == "cpu" else contextlib.nullcontext()


def _lap(t0: float, device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - t0
