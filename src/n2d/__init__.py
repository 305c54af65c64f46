"""n2d: (Not Too) Deep Clustering via clustering the local manifold of an autoencoded embedding.

>>> from n2d import N2D, load_dataset, evaluate

The seed library's API (n2d 0.x: ``nd.n2d(x, nclust)``, ``nd.UmapGMM``) is kept
in :mod:`n2d.compat` and exported here, beside everything else.

The names below are imported on first use (:pep:`562`, through
``lazy_loader``): ``import n2d`` loads neither torch nor scikit-learn, so the
command line answers ``--help`` and argument errors at once, and a script pays
for a stage only when it uses it. ``from n2d import N2D`` and ``n2d.N2D`` work
as with eager imports; set ``EAGER_IMPORT=1`` to import everything up front.
"""

from typing import TYPE_CHECKING

import lazy_loader as _lazy

from n2d._version import __version__

_EXPORTS = {
    "autoencoder": ["Autoencoder", "fit_autoencoders"],
    "cluster": ["TorchGaussianMixture"],
    "compat": ["UmapGMM", "n2d"],  # the seed's API; n2d.n2d is the class, the package stays the package
    "datasets": ["Dataset", "load_dataset"],
    "estimator": ["N2D"],
    "manifold": ["UMAP", "TorchUMAP"],
    "metrics": ["ari", "cluster_acc", "evaluate", "nmi"],
}
_SUBMODULES = [
    "autoencoder", "cache", "cli", "cluster", "compat", "dask", "datasets", "estimator", "exceptions", "manifold",
    "metrics", "persistence", "plotting", "report", "reproduce",
]

__getattr__, __dir__, _ = _lazy.attach(__name__, submodules=_SUBMODULES, submod_attrs=_EXPORTS)

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

if TYPE_CHECKING:  # what static analysis and IDEs see; at run time the names load on first use
    from n2d.autoencoder import Autoencoder, fit_autoencoders
    from n2d.cluster import TorchGaussianMixture
    from n2d.compat import UmapGMM, n2d
    from n2d.datasets import Dataset, load_dataset
    from n2d.estimator import N2D
    from n2d.manifold import UMAP, TorchUMAP
    from n2d.metrics import ari, cluster_acc, evaluate, nmi
