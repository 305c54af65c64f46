"""n2d: (Not Too) Deep Clustering via clustering the local manifold of an autoencoded embedding.

>>> from n2d import N2D, load_dataset, evaluate

The seed library's API (n2d 0.x: ``nd.n2d(x, nclust)``, ``nd.UmapGMM``) is kept
in :mod:`n2d.compat` and exported here, beside everything else.
"""

from n2d._version import __version__
from n2d.autoencoder import Autoencoder, fit_autoencoders
from n2d.cluster import TorchGaussianMixture
from n2d.compat import UmapGMM, n2d  # the seed's API; n2d.n2d is the class, the package stays the package
from n2d.datasets import Dataset, load_dataset
from n2d.estimator import N2D
from n2d.manifold import UMAP, TorchUMAP
from n2d.metrics import ari, cluster_acc, evaluate, nmi

__all__ = [
    "N2D",
    "Autoencoder",
    "fit_autoencoders",
    "UMAP",
    "TorchUMAP",
    "TorchGaussianMixture",
    "Dataset",
    "load_dataset",
    "evaluate",
    "cluster_acc",
    "nmi",
    "ari",
    "n2d",
    "UmapGMM",
    "__version__",
]
