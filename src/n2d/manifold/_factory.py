"""The named manifold stages: what ``manifold="umap"`` (and the others) stand for."""

from __future__ import annotations

__all__ = ["MANIFOLDS", "make_manifold"]

MANIFOLDS = ("umap", "tsne", "isomap", "lle")


def make_manifold(name: str, n_components=None, n_neighbors: int = 20, random_state=None, device="auto"):
    """Build a named manifold learner with N2D's settings.

    ``"umap"`` is :class:`n2d.TorchUMAP` (the paper's UMAP, in torch, on
    ``device``). ``"tsne"`` is scikit-learn's Barnes-Hut t-SNE in 2
    dimensions (Barnes-Hut allows at most 3, and t-SNE has no out-of-sample
    ``transform``). ``"isomap"`` and ``"lle"`` are scikit-learn's, with
    ``n_neighbors`` neighbours and ``n_components`` dimensions; both can place
    new points.
    """
    if name == "umap":
        from n2d.manifold._torch_umap import TorchUMAP

        return TorchUMAP(n_components=n_components, n_neighbors=n_neighbors, min_dist=0.0, random_state=random_state,
                         device=str(device))
    if name == "tsne":
        from sklearn.manifold import TSNE

        return TSNE(n_components=2, random_state=random_state)
    if name == "isomap":
        from sklearn.manifold import Isomap

        return Isomap(n_components=n_components or 2, n_neighbors=n_neighbors)
    if name == "lle":
        from sklearn.manifold import LocallyLinearEmbedding

        return LocallyLinearEmbedding(
            n_components=n_components or 2, n_neighbors=n_neighbors, random_state=random_state
        )
    raise ValueError(f"Unknown manifold {name!r}; expected one of {MANIFOLDS}, an estimator, or None.")
