"""The seed library's API (n2d 0.x), as a thin layer over :class:`n2d.N2D`'s stages.

n2d was first published as a small Keras library whose README example reads::

    import n2d as nd
    harcluster = nd.n2d(x, nclust=6)
    harcluster.preTrainEncoder(weight_id="har")      # train, save weights/har-1000-ae_weights.*
    harcluster.preTrainEncoder(weights="har-1000-ae_weights.h5")   # or load them
    manifoldGMM = nd.UmapGMM(6)
    harcluster.predict(manifoldGMM)                  # labels in harcluster.preds
    harcluster.visualize(y, y_names, dataset="har", nclust=6)
    harcluster.assess(y)                             # (acc, nmi, ari), rounded to 5 places

That code runs unchanged here. :class:`n2d` trains and encodes with
:class:`n2d.Autoencoder` (the same network, loss and optimizer as the seed's
Keras model); :class:`UmapGMM` is n2d's UMAP stage followed by its Gaussian
mixture stage; :meth:`n2d.assess` is :func:`n2d.evaluate` and
:meth:`n2d.visualize` is :func:`n2d.plotting.plot_embedding`. New code should
use :class:`n2d.N2D`, which does all of it in one scikit-learn estimator.

Differences from the seed, all deliberate:

* Weights are written as safetensors, named as the seed named them but with
  their own extension: ``weights/<weight_id>-<epochs>-ae_weights.safetensors``.
  ``weights="<weight_id>-<epochs>-ae_weights.h5"`` (the seed's name) finds that
  file too, and a real Keras ``.h5`` file (the reference code's pretrained
  autoencoders) is read as Keras weights (:mod:`n2d.autoencoder._keras`).
* ``UmapGMM`` is a scikit-learn estimator: ``fit``, ``fit_predict``, and
  ``predict`` for new points. Its Gaussian mixture keeps the best of 10 EM
  starts (n2d's ``"gmm"`` stage), where the seed made one.
* Training is torch's: the same architecture, MSE loss and Adam (lr 1e-3),
  seeded by ``random_state`` (0, as the seed seeded everything with 0), but
  not Keras's random streams.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted, validate_data

from n2d._util.checks import check_dims, check_float, check_int, check_random_state_param
from n2d.autoencoder import Autoencoder
from n2d.metrics import best_label_map, evaluate

__all__ = ["n2d", "UmapGMM", "WEIGHTS_DIR", "weights_file_name"]

WEIGHTS_DIR = "weights"
"""Folder (relative to the working directory, as in the seed) where ``preTrainEncoder(weight_id=...)`` writes."""

_WEIGHTS_SUFFIX = ".safetensors"
_KERAS_SUFFIXES = (".h5", ".hdf5")
_LOSSES = ("mse", "mean_squared_error")
_OPTIMIZERS = ("adam",)
_UMAP_METRICS = ("euclidean", "manhattan", "cosine")


def weights_file_name(weight_id: str, epochs: int) -> str:
    """The seed's weight file name, with n2d's extension: ``<weight_id>-<epochs>-ae_weights.safetensors``."""
    return f"{weight_id}-{int(epochs)}-ae_weights{_WEIGHTS_SUFFIX}"


def _weights_candidates(weights) -> list[Path]:
    """Where ``preTrainEncoder(weights=...)`` looks, in order.

    The path as given, then inside ``weights/`` (the seed's folder) when it is
    relative; for each, the name as given and then with the other extension
    (``.h5`` <-> ``.safetensors``), so the seed's ``<id>-<epochs>-ae_weights.h5``
    finds what ``weight_id`` wrote.
    """
    path = Path(os.fspath(weights))
    bases = [path] if path.is_absolute() else [path, Path(WEIGHTS_DIR) / path]
    out = []
    for base in bases:
        out.append(base)
        suffix = base.suffix.lower()
        if suffix in _KERAS_SUFFIXES:
            out.append(base.with_suffix(_WEIGHTS_SUFFIX))
        elif suffix == _WEIGHTS_SUFFIX:
            out.append(base.with_suffix(".h5"))
    return out


class UmapGMM(ClusterMixin, BaseEstimator):
    """The seed's manifold clusterer: UMAP of the autoencoded embedding, then a Gaussian mixture.

    A scikit-learn clusterer made of n2d's stages: n2d's torch UMAP
    (:class:`n2d.TorchUMAP`; umap-learn's, :class:`n2d.UMAP`, for the
    ``"manhattan"`` and ``"cosine"`` metrics) and a full-covariance Gaussian
    mixture (n2d's ``"gmm"`` stage: scikit-learn's, best of 10 EM starts).
    Pass it to :meth:`n2d.predict`, or use it on its own.

    Parameters
    ----------
    nclust : int
        Number of clusters (mixture components), at least 1.
    umapdim : int, default=2
        UMAP embedding dimension.
    umapN : int, default=10
        UMAP neighbourhood size (``n_neighbors``); 20 is N2D's default.
    umapMd : float, default=0.0
        UMAP ``min_dist``; 0 packs clusters tightly.
    umapMetric : {"euclidean", "manhattan", "cosine"}, default="euclidean"
        Distance in the embedding space.
    random_state : int, RandomState or None, default=0
        Seeds UMAP and the mixture; an int gives the same result on the CPU.

    Attributes
    ----------
    manifold_ : TorchUMAP or UMAP
        The fitted UMAP stage.
    clusterer_ : GaussianMixture
        The fitted mixture.
    embedding_ : ndarray of shape (n_samples, umapdim), float32
        UMAP coordinates of the training data (the seed's ``hle``).
    labels_ : ndarray of shape (n_samples,), int64
        Cluster of each training sample.
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from n2d import UmapGMM
    >>> X = np.random.RandomState(0).normal(size=(300, 5)).astype(np.float32)
    >>> labels = UmapGMM(3).fit_predict(X)            # doctest: +SKIP
    """

    def __init__(self, nclust, umapdim=2, umapN=10, umapMd=0.0, umapMetric="euclidean", random_state=0):
        self.nclust = nclust
        self.umapdim = umapdim
        self.umapN = umapN
        self.umapMd = umapMd
        self.umapMetric = umapMetric
        self.random_state = random_state

    def _check_params(self):
        check_int(self, "nclust", self.nclust, 1)
        check_int(self, "umapdim", self.umapdim, 1)
        check_int(self, "umapN", self.umapN, 2)
        check_float(self, "umapMd", self.umapMd, 0)
        if not isinstance(self.umapMetric, str) or self.umapMetric not in _UMAP_METRICS:
            raise ValueError(
                f"The 'umapMetric' parameter of UmapGMM must be one of {_UMAP_METRICS}. "
                f"Got {self.umapMetric!r} instead."
            )
        check_random_state_param(self, self.random_state)

    def _stages(self):
        from n2d._util.checks import seed_from
        from n2d.cluster import make_clusterer
        from n2d.manifold import UMAP, TorchUMAP

        seed = seed_from(self.random_state)
        cls = TorchUMAP if self.umapMetric == "euclidean" else UMAP
        umap_params = dict(n_neighbors=int(self.umapN), min_dist=float(self.umapMd), metric=self.umapMetric)
        manifold = cls(n_components=int(self.umapdim), random_state=seed, **umap_params)
        return manifold, make_clusterer("gmm", int(self.nclust), random_state=seed)

    def fit(self, X, y=None):
        """Embed ``X`` with UMAP and fit the mixture on the embedding.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Usually the autoencoded embedding.
        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        self : object
        """
        from n2d.cluster import fit_predict

        X = validate_data(self, X, dtype=[np.float32, np.float64], ensure_min_samples=2)
        self._check_params()
        if X.shape[0] < self.nclust:
            raise ValueError(f"Expected n_samples >= nclust but got nclust = {self.nclust}, n_samples = {X.shape[0]}.")
        manifold, clusterer = self._stages()
        emb = np.ascontiguousarray(manifold.fit_transform(np.asarray(X, dtype=np.float32)), dtype=np.float32)
        self.labels_ = np.asarray(fit_predict(clusterer, emb)).astype(np.int64, copy=False)
        self.manifold_, self.clusterer_, self.embedding_ = manifold, clusterer, emb
        return self

    def predict(self, X):
        """Cluster of new points: placed in the fitted UMAP embedding, then the mixture's most likely component.

        Returns
        -------
        labels : ndarray of shape (n_samples,), int64
        """
        check_is_fitted(self, "labels_")
        X = validate_data(self, X, dtype=[np.float32, np.float64], reset=False)
        emb = np.asarray(self.manifold_.transform(np.asarray(X, dtype=np.float32)), dtype=np.float32)
        return np.asarray(self.clusterer_.predict(emb)).astype(np.int64, copy=False)

    @property
    def hle(self):
        """The seed's name for :attr:`embedding_` (the UMAP of the autoencoded embedding)."""
        check_is_fitted(self, "embedding_")
        return self.embedding_


class n2d:  # the seed's class name (lower case), kept so that its code runs unchanged
    """The seed library's N2D object: data, autoencoder, manifold clusterer, scores and plots.

    Parameters
    ----------
    x : array-like of shape (n_samples, n_features)
        The data to cluster (scaled as the autoencoder expects, e.g. pixels in [0, 1]).
    nclust : int, default=10
        Number of clusters; also the width of the autoencoder's code, as in the seed.
    act : {"relu"}, default="relu"
        Hidden activation; the network (:class:`n2d.Autoencoder`) is ReLU only.
    hidden_dims : tuple of int, default=(500, 500, 2000)
        Encoder widths (the seed's fixed d-500-500-2000-k).
    random_state : int or None, default=0
        Seeds the autoencoder's initialisation and shuffling.
    device : {"auto", "cpu", "cuda", "cuda:N"}, default="auto"
    precision : {"auto", "float32", "bfloat16"}, default="auto"
        Arithmetic of the training step (see :class:`n2d.Autoencoder`).

    Attributes
    ----------
    x : ndarray of shape (n_samples, n_features), float32
    nclust : int
    autoencoder : Autoencoder or None
        The fitted autoencoder, after :meth:`preTrainEncoder`.
    weights_path : pathlib.Path or None
        The weights file the last :meth:`preTrainEncoder` wrote or read.
    hl : ndarray of shape (n_samples, nclust) or None
        The autoencoded embedding, after :meth:`predict`.
    hle : ndarray or None
        The manifold clusterer's embedding (``embedding_`` or ``hle``), if it has one.
    preds : ndarray of shape (n_samples,) or None
        The cluster of each sample, after :meth:`predict`.

    See Also
    --------
    n2d.N2D : the same method as one scikit-learn estimator.
    """

    def __init__(self, x, nclust=10, act="relu", *, hidden_dims=(500, 500, 2000), random_state=0, device="auto",
                 precision="auto"):
        self.x = np.asarray(check_array(x, dtype=[np.float32, np.float64], ensure_min_samples=2), dtype=np.float32)
        check_int(self, "nclust", nclust, 2)
        if act != "relu":
            raise ValueError(f"n2d: act={act!r} is not supported; the autoencoder uses 'relu' (the seed's default).")
        check_dims(self, "hidden_dims", hidden_dims)
        self.nclust = int(nclust)
        self.act = act
        self.hidden_dims = tuple(int(d) for d in hidden_dims)
        self.random_state = random_state
        self.device = device
        self.precision = precision
        self.autoencoder = None
        self.weights_path = None
        self.hl = None
        self.hle = None
        self.preds = None

    def preTrainEncoder(self, batch_size=256, pretrain_epochs=1000, loss="mse", optimizer="adam", weights=None,
                        verbose=0, weight_id=None):
        """Train the autoencoder on ``x`` and optionally save its weights, or load saved weights.

        Parameters
        ----------
        batch_size : int, default=256
        pretrain_epochs : int, default=1000
            Training epochs (the paper's 1000; :class:`n2d.N2D`'s default is
            ``"auto"``, a number of optimizer steps, instead).
        loss : {"mse"}, default="mse"
            The training loss; only mean squared error (``"mse"`` or
            ``"mean_squared_error"``) is available.
        optimizer : {"adam"}, default="adam"
            Only Adam (learning rate 1e-3, Keras's default) is available.
        weights : str or path-like, default=None
            Load these weights instead of training: n2d's safetensors or the
            reference code's Keras HDF5 file (``<dataset>-1000-ae_weights.h5``).
            Looked up as given, then in ``weights/``; a ``.h5`` name also finds
            the ``.safetensors`` file ``weight_id`` wrote, and vice versa.
        verbose : int, default=0
            0 is silent; 1 shows a progress bar.
        weight_id : str, default=None
            After training, save the weights to
            ``weights/<weight_id>-<pretrain_epochs>-ae_weights.safetensors``.

        Returns
        -------
        self : n2d

        Raises
        ------
        ValueError
            For a loss or optimizer other than MSE and Adam, or weights that do
            not fit the architecture.
        FileNotFoundError
            If ``weights`` is found in none of the places looked in.
        """
        if not isinstance(loss, str) or loss.lower() not in _LOSSES:
            raise ValueError(
                f"preTrainEncoder: loss={loss!r} is not supported; the autoencoder trains on mean squared error "
                f"(loss='mse'). Supported: {_LOSSES}."
            )
        if not isinstance(optimizer, str) or optimizer.lower() not in _OPTIMIZERS:
            raise ValueError(
                f"preTrainEncoder: optimizer={optimizer!r} is not supported; the autoencoder trains with Adam "
                f"(optimizer='adam', learning rate 1e-3). Supported: {_OPTIMIZERS}."
            )
        check_int(self, "batch_size", batch_size, 1)
        check_int(self, "pretrain_epochs", pretrain_epochs, 1)
        check_int(self, "verbose", verbose, 0)
        common = dict(n_components=self.nclust, hidden_dims=self.hidden_dims, device=self.device)
        if weights is not None:
            candidates = _weights_candidates(weights)
            path = next((p for p in candidates if p.is_file()), None)
            if path is None:
                raise FileNotFoundError(
                    f"preTrainEncoder: weights file {os.fspath(weights)!r} not found; looked for "
                    + ", ".join(str(p) for p in candidates) + "."
                )
            ae = Autoencoder(weights=str(path), verbose=0, **common).fit(self.x)
        else:
            ae = Autoencoder(
                epochs=pretrain_epochs, batch_size=batch_size, precision=self.precision, cache=False,
                random_state=self.random_state, verbose=1 if verbose else 0, **common,
            ).fit(self.x)
            path = None
            if weight_id is not None:
                path = Path(WEIGHTS_DIR) / weights_file_name(str(weight_id), pretrain_epochs)
                path.parent.mkdir(parents=True, exist_ok=True)
                ae.save_weights(path)
        self.autoencoder, self.weights_path = ae, path
        self.hl = self.hle = self.preds = None
        return self

    def predict(self, manifold_clusterer):
        """Cluster the autoencoded embedding of ``x`` with ``manifold_clusterer``; the labels go to ``preds``.

        Parameters
        ----------
        manifold_clusterer : object
            A :class:`UmapGMM`, any scikit-learn clusterer (its ``fit_predict``
            is called), or, as in the seed, any object whose ``predict(hl)``
            takes the autoencoded embedding and returns one label per sample.

        Returns
        -------
        preds : ndarray of shape (n_samples,)
            Also stored as ``preds``; ``hl`` and ``hle`` are set too.
        """
        if self.autoencoder is None:
            raise RuntimeError("n2d.predict: the autoencoder is not trained; call preTrainEncoder() first.")
        hl = self.autoencoder.transform(self.x)
        if hasattr(manifold_clusterer, "fit_predict"):
            preds = manifold_clusterer.fit_predict(hl)
        elif hasattr(manifold_clusterer, "predict"):
            preds = manifold_clusterer.predict(hl)
        else:
            raise TypeError(
                f"n2d.predict: {type(manifold_clusterer).__name__} has neither fit_predict nor predict; pass a "
                "UmapGMM, a scikit-learn clusterer, or an object whose predict(hl) returns labels."
            )
        preds = np.asarray(preds)
        if preds.shape != (self.x.shape[0],):
            raise ValueError(
                f"n2d.predict: {type(manifold_clusterer).__name__} returned labels of shape {preds.shape}; "
                f"expected one label per sample, shape ({self.x.shape[0]},)."
            )
        hle = getattr(manifold_clusterer, "embedding_", None)
        if hle is None:
            hle = getattr(manifold_clusterer, "hle", None)
        hle = None if hle is None else np.asarray(hle)
        self.hl = hl
        self.hle = hle if hle is not None and hle.ndim == 2 and hle.shape[0] == preds.shape[0] else None
        self.preds = preds
        return preds

    def _check_predicted(self, what):
        if self.preds is None:
            raise RuntimeError(f"n2d.{what}: there are no predictions yet; call predict(manifold_clusterer) first.")

    def assess(self, y):
        """ACC, NMI and ARI of ``preds`` against ``y``, rounded to 5 places as in the seed.

        The same numbers as :func:`n2d.evaluate`, rounded.

        Returns
        -------
        (acc, nmi, ari) : tuple of float
        """
        self._check_predicted("assess")
        scores = evaluate(y, self.preds)
        return tuple(round(scores[k], 5) for k in ("acc", "nmi", "ari"))

    def visualize(self, y, y_names, dataset="data", nclust=None, save_dir="viz"):
        """Write the seed's two plots: the true classes and the predicted clusters on a 2-D embedding.

        ``<save_dir>/<dataset>-n2d.png`` colours the points by class and
        ``<save_dir>/<dataset>-n2d-predicted.png`` by predicted cluster, each
        cluster named and coloured as the class it is matched to (the
        Hungarian matching of :func:`n2d.metrics.best_label_map`); clusters left
        unmatched are shown as ``cluster <c>``. The points are the manifold
        clusterer's embedding when it is 2-D (``UmapGMM``'s default) and
        otherwise a 2-D UMAP of the autoencoded embedding
        (:func:`n2d.plotting.plot_embedding` draws them).

        Parameters
        ----------
        y : array-like of shape (n_samples,)
            True classes.
        y_names : mapping, sequence of str or None
            Class names: ``{label: name}``, names indexed by integer label, or
            one per class in sorted order. ``None`` shows the labels.
        dataset : str, default="data"
            Prefix of the file names.
        nclust : int, default=None
            Size of the colour palette (the seed's ``n_clusters``); ``None`` is
            the number of colours needed.
        save_dir : str or path-like, default="viz"
            Folder for the plots (created).

        Returns
        -------
        paths : tuple of pathlib.Path
            The two PNG files written.
        """
        from n2d.plotting import _class_names, _pyplot, plot_embedding

        self._check_predicted("visualize")
        y = np.asarray(y)
        if y.shape != self.preds.shape:
            raise ValueError(
                f"n2d.visualize: y has shape {y.shape}; expected one label per sample, {self.preds.shape}."
            )
        xy = self.hle
        if xy is None or xy.shape[1] != 2:
            from n2d.manifold import UMAP

            xy = UMAP(n_components=2, n_neighbors=20, min_dist=0.1, random_state=0).fit_transform(self.hl)
        classes = np.unique(y).tolist()
        names = dict(zip(classes, _class_names(classes, y_names)))
        mapping = best_label_map(y, self.preds)
        clusters = np.unique(self.preds).tolist()
        unmatched = [c for c in clusters if c not in mapping]
        for c in unmatched:
            names[f"cluster {c}"] = f"cluster {c}"
        predicted = np.array([mapping.get(c, f"cluster {c}") for c in self.preds.tolist()], dtype=object)
        categories = classes + [f"cluster {c}" for c in unmatched]
        n_colors = None if nclust is None else max(int(nclust), len(categories))
        out = Path(save_dir)
        paths = (out / f"{dataset}-n2d.png", out / f"{dataset}-n2d-predicted.png")
        plt = _pyplot()
        for labels, title, path in ((y, "true classes", paths[0]), (predicted, "predicted clusters", paths[1])):
            fig = plot_embedding(xy, labels, names=names, categories=categories, n_colors=n_colors,
                                 title=f"{dataset}: {title}", path=path)
            plt.close(fig)
        return paths
