"""What the code's neighbour graph and the embedding's density say about k: votes for ``k_criterion="consensus"``.

The mixture criteria see only N2D's UMAP embedding, where ``min_dist=0`` packs one class into several tight
clumps and lets touching classes share one. The autoencoder's code, which the embedding is made from, is a
smoother space: its k-nearest-neighbour graph joins the clumps of one class. Modularity (Newman, 2006) scores a
partition of a graph by the edges inside its clusters against what the degrees predict, and its maximum picks a
number of clusters with no range to choose. Two votes come from it:

``"louvain"``
    the number of Louvain communities (Blondel et al., 2008; networkx's implementation, seeded) of the code's
    graph at resolution :data:`LOUVAIN_RESOLUTION`;
``"merge"``
    the embedding over-clustered by the mixture (:data:`OVER_CLUSTERS` components), its components merged
    pairwise by the largest gain in the code graph's modularity (Clauset, Newman and Moore's greedy rule on the
    component graph), keeping the partition of highest modularity.

A third vote looks at the embedding's density instead:

``"density"``
    the number of clusters HDBSCAN finds in the embedding (n2d's ``"hdbscan"`` stage, its minimum cluster size a
    share of the rows): it splits where the mixture's knee and the graph merge, on sets of many classes.

The evidence (``benchmarks/auto_k_graph.py``) is in the docs page "Clustering your own data".
"""

from __future__ import annotations

import numpy as np

__all__ = ["GRAPH_NEIGHBORS", "GRAPH_SAMPLE", "LOUVAIN_RESOLUTION", "OVER_CLUSTERS", "graph_votes", "knn_graph",
           "louvain_labels", "modularity_merge"]

GRAPH_NEIGHBORS = 15
"""Neighbours per point in the code's graph (symmetrized: an edge where either point lists the other). Fewer
neighbours split the graph into more communities, more merge them; 20 or 30 put the consensus nearer the classes
on several of the panel's sets of few classes but further from them on most sets of many, where automatic k
already falls short (``benchmarks/auto_k_graph.py``; the docs page "Clustering your own data")."""

GRAPH_SAMPLE = 5_000
"""Rows the graph is built on, at most (a seeded sample), which bounds the votes' cost on large data: on the
panel and paper sets twice as many rows gave the consensus the same accuracy at twice the cost."""

LOUVAIN_RESOLUTION = 0.5
"""Louvain's resolution: below 1 it prefers fewer, larger communities. At 1 the code graphs of sets whose classes
come in several styles (handwriting, satellite patches) split into about twice their classes."""

OVER_CLUSTERS = 60
"""Mixture components the embedding is over-clustered into before merging (at most a tenth of the rows)."""


def knn_graph(points: np.ndarray, n_neighbors: int = GRAPH_NEIGHBORS):
    """The symmetrized k-nearest-neighbour graph of ``points`` with unit weights (scipy CSR, n x n).

    Each row's neighbours are the other rows (scikit-learn's query without ``X``): on data with repeated rows a
    duplicate can be listed before the row itself, so dropping the first neighbour would leave self-loops.
    """
    from scipy import sparse
    from sklearn.neighbors import NearestNeighbors

    n = points.shape[0]
    k = min(int(n_neighbors), n - 1)
    idx = NearestNeighbors(n_neighbors=k).fit(points).kneighbors(return_distance=False)
    a = sparse.csr_matrix((np.ones(n * k), (np.repeat(np.arange(n), k), idx.ravel())), shape=(n, n))
    return a.maximum(a.T).tocsr()


def louvain_labels(graph, resolution: float = LOUVAIN_RESOLUTION, random_state: int = 0) -> np.ndarray:
    """Louvain communities of ``graph`` as labels 0..c-1 (networkx)."""
    import networkx as nx

    labels = np.empty(graph.shape[0], dtype=np.int64)
    communities = nx.community.louvain_communities(nx.from_scipy_sparse_array(graph), resolution=resolution,
                                                   seed=int(random_state))
    for c, members in enumerate(communities):
        labels[list(members)] = c
    return labels


def modularity_merge(graph, labels) -> tuple[np.ndarray, list[float]]:
    """Merge the clusters ``labels`` greedily by modularity gain on ``graph``.

    Returns the partition of highest modularity (labels 0..c-1) and the modularity after each merge (index 0:
    ``labels`` as given). Works on the cluster-by-cluster edge matrix, so its cost follows the clusters, not
    the points.
    """
    from scipy import sparse

    ids, lab = np.unique(np.asarray(labels), return_inverse=True)
    m = len(ids)
    member = sparse.csr_matrix((np.ones(lab.size), (np.arange(lab.size), lab)), shape=(lab.size, m))
    e = np.asarray((member.T @ graph @ member).todense(), dtype=np.float64)
    e /= e.sum()  # e[i, j]: share of edge ends between clusters i and j
    a = e.sum(axis=1)
    groups = {i: [i] for i in range(m)}

    def modularity() -> float:
        return float(sum(e[i, i] - a[i] ** 2 for i in groups))

    history = [modularity()]
    best, best_groups = history[0], [list(g) for g in groups.values()]
    while len(groups) > 1:
        alive = list(groups)
        gain = 2 * (e[np.ix_(alive, alive)] - np.outer(a[alive], a[alive]))
        np.fill_diagonal(gain, -np.inf)
        i, j = np.unravel_index(int(np.argmax(gain)), gain.shape)
        keep, gone = alive[i], alive[j]
        e[keep, :] += e[gone, :]
        e[:, keep] += e[:, gone]
        a[keep] += a[gone]
        groups[keep] += groups.pop(gone)
        history.append(modularity())
        if history[-1] > best:
            best, best_groups = history[-1], [list(g) for g in groups.values()]
    out = np.empty(lab.size, dtype=np.int64)
    for new, members in enumerate(best_groups):
        out[np.isin(lab, members)] = new
    return out, history


def graph_votes(code: np.ndarray, embedding: np.ndarray, random_state=0, sample: int = GRAPH_SAMPLE) -> dict:
    """``{"louvain": k, "merge": k, "density": k}``: the three votes on at most ``sample`` rows (seeded).

    Parameters
    ----------
    code : ndarray of shape (n_samples, n_code)
        The autoencoder's code (the manifold stage's input).
    embedding : ndarray of shape (n_samples, n_dims)
        The manifold embedding of the same rows.
    random_state : int
        Seeds the sample, Louvain and the over-clustering mixture.
    sample : int
        Rows the graph is built on, at most.
    """
    import warnings

    from n2d.cluster._factory import make_clusterer
    from n2d.cluster._fit import fit_predict
    from n2d.cluster._hdbscan import HDBSCANClusterer

    seed = int(random_state) if isinstance(random_state, (int, np.integer)) else 0
    n = code.shape[0]
    rows = np.sort(np.random.default_rng(seed).permutation(n)[:sample]) if n > sample else np.arange(n)
    graph = knn_graph(np.asarray(code, dtype=np.float32)[rows])
    points = np.ascontiguousarray(embedding[rows])  # the embedding's rows, for the merge's mixture and HDBSCAN
    votes = {"louvain": int(louvain_labels(graph, random_state=seed).max() + 1)}
    over = make_clusterer("gmm", max(2, min(OVER_CLUSTERS, rows.size // 10)), random_state=seed)
    over.set_params(n_init=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a ridge raised on a singular start is the stage's own report
        fine = np.asarray(fit_predict(over, points))
    votes["merge"] = int(modularity_merge(graph, fine)[0].max() + 1)
    votes["density"] = int(HDBSCANClusterer().fit(points).n_clusters_)
    return votes
