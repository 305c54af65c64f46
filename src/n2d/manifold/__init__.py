"""Stage 2: manifold learners behind one interface.

Every stage here is a scikit-learn transformer: ``fit_transform(X)`` embeds the
training data and, where the method allows it, ``transform(X_new)`` places new
points in the fitted embedding. :class:`TorchUMAP` (N2D's ``"umap"``) and
:class:`UMAP` (umap-learn's fit) share one base and one out-of-sample placement.
The modules behind them:

- ``_factory``: the named stages (``"umap"``, ``"tsne"``, ...);
- ``_torch_umap``: the base and n2d's UMAP in torch;
- ``_umap_learn``: umap-learn's UMAP as a stage;
- ``_knn`` and ``_nndescent``: exact and approximate nearest neighbours;
- ``_graph``: the fuzzy simplicial set; ``_layout``: the embedding's optimisation;
- ``_transform``: placing new points.

Every name below is imported on first use (:pep:`562`, through ``lazy_loader``), so
that the command line can read :data:`MANIFOLDS` without loading torch.
"""

from typing import TYPE_CHECKING

import lazy_loader as _lazy

__getattr__, __dir__, _ = _lazy.attach(
    __name__,
    submod_attrs={
        "_factory": ["MANIFOLDS", "make_manifold"],
        "_torch_umap": ["TorchUMAP"],
        "_umap_learn": ["UMAP"],
    },
)

__all__ = ["MANIFOLDS", "UMAP", "TorchUMAP", "make_manifold"]

if TYPE_CHECKING:
    from n2d.manifold._factory import MANIFOLDS, make_manifold
    from n2d.manifold._torch_umap import TorchUMAP
    from n2d.manifold._umap_learn import UMAP
