"""Plots of an N2D clustering: predicted clusters next to the true classes.

This is the equivalent of the N2D reference code's ``visualize``: a 2-D UMAP of
the autoencoded embedding (:func:`embed_2d`), drawn as one scatter plot of the
predicted clusters or, when the true classes are known, two plots side by side
(:func:`plot_clusters`). :func:`plot_model` does both for a fitted
:class:`n2d.N2D` and can save the figure as a PNG.

:func:`plot_clusters` and :func:`plot_embedding` (one panel) take any 2-D
embedding and label arrays, not only N2D's: a PCA or t-SNE of the data, the
labels of any clusterer, classes, or a clustering mapped onto the classes.

matplotlib is an optional dependency (``pip install matplotlib``, or the ``plot``
extra when installing n2d from its source: ``pip install ".[plot]"``). It is
imported only when a function here is called, so importing this module is cheap
and works without it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

import numpy as np

__all__ = ["plot_clusters", "plot_embedding", "embed_2d", "plot_k_scores", "plot_model"]

_INSTALL_HINT = "n2d.plotting needs matplotlib, which is not installed: pip install matplotlib"
_RASTERIZE_ABOVE = 5000
"""Scatter plots with more points than this are rasterized inside vector outputs (PDF, SVG)."""


# --------------------------------------------------------------------------- #
# matplotlib, imported lazily
# --------------------------------------------------------------------------- #


def _matplotlib():
    try:
        import matplotlib
    except ImportError as exc:
        raise ImportError(_INSTALL_HINT) from exc
    return matplotlib


def _headless() -> bool:
    """True on a Unix-like system with no X11 or Wayland display to draw on."""
    if sys.platform.startswith(("win", "darwin")):
        return False
    return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _pyplot():
    """Import pyplot, choosing Agg only where nobody chose a backend and there is no display.

    A backend chosen by the user (``matplotlib.use``, ``MPLBACKEND``, matplotlibrc,
    Jupyter) is never switched, and nothing changes once pyplot is imported.
    """
    mpl = _matplotlib()
    if "matplotlib.pyplot" not in sys.modules and _headless():
        # matplotlib has no public "was a backend chosen?" query; without this one,
        # assume it was and leave the choice to matplotlib (which also falls back
        # to Agg when no display is available).
        backend_or_none = getattr(mpl.rcParams, "_get_backend_or_none", None)
        if backend_or_none is not None and backend_or_none() is None and not os.environ.get("MPLBACKEND"):
            mpl.use("Agg")
    import matplotlib.pyplot as plt

    return plt


# --------------------------------------------------------------------------- #
# labels and colours
# --------------------------------------------------------------------------- #


def _encode(values, what: str, n: int):
    """Distinct labels (sorted when they can be) and each sample's index into them."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{what} must be a 1-D array of labels; got shape {arr.shape}.")
    if arr.shape[0] != n:
        raise ValueError(
            f"{what} has {arr.shape[0]} labels but embedding_2d has {n} points; "
            f"{what} must have shape ({n},)."
        )
    try:
        uniques, codes = np.unique(arr, return_inverse=True)
        return list(uniques.tolist()), codes.reshape(-1)
    except TypeError:  # mixed types that do not sort: keep the order of first appearance
        index: dict = {}
        codes = np.fromiter((index.setdefault(v, len(index)) for v in arr.tolist()), dtype=np.int64, count=n)
        return list(index), codes


def _class_names(classes: list, target_names) -> list[str]:
    if target_names is None:
        return [str(c) for c in classes]
    if isinstance(target_names, Mapping):
        return [str(target_names.get(c, c)) for c in classes]
    names = list(target_names)
    integral = all(isinstance(c, (int, np.integer)) and not isinstance(c, bool) for c in classes)
    if integral and all(0 <= c < len(names) for c in classes):
        return [str(names[c]) for c in classes]  # indexed by label, as Dataset.target_names
    if len(names) == len(classes):
        return [str(name) for name in names]  # one name per class, in sorted class order
    raise ValueError(
        f"target_names has {len(names)} names but y_true has {len(classes)} classes "
        f"({classes[:5]}{' ...' if len(classes) > 5 else ''}); give one name per class, names indexed "
        "by integer label (as Dataset.target_names), or a {label: name} mapping."
    )


def _palette(n: int) -> np.ndarray:
    """``n`` distinct RGBA colours from a qualitative colormap.

    tab10 up to 10 colours; tab20 up to 20, reordered so that its first 10 are
    tab10's colours and the lighter shades come after; beyond 20, ``n`` samples of
    the continuous ``turbo`` map.
    """
    mpl = _matplotlib()
    if n <= 10:
        colors = mpl.colormaps["tab10"].colors[:n]
    elif n <= 20:
        tab20 = mpl.colormaps["tab20"].colors
        colors = [tab20[i] for i in (*range(0, 20, 2), *range(1, 20, 2))][:n]
    else:
        colors = mpl.colormaps["turbo"](np.linspace(0.02, 0.98, n))
    return mpl.colors.to_rgba_array(colors)


def _auto_point_size(n: int) -> float:
    """Marker area in points^2: about 17 for 300 points, 3 for 10,000, 1 for 70,000."""
    return float(np.clip(300.0 / np.sqrt(n), 0.5, 30.0))


def _scatter(ax, xy, codes, colors, names, *, size, legend, title, order):
    """One panel: all points in one (shuffled) scatter, one legend entry per group."""
    from matplotlib.lines import Line2D

    ax.scatter(
        xy[order, 0],
        xy[order, 1],
        c=colors[codes[order]],
        s=size,
        linewidths=0,
        edgecolors="none",
        rasterized=xy.shape[0] > _RASTERIZE_ABOVE,
    )
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title)
    if legend:
        handles = [
            Line2D([], [], linestyle="none", marker="o", markersize=7, markerfacecolor=colors[i],
                   markeredgecolor="none", label=name)
            for i, name in enumerate(names)
        ]
        ncol = max(1, int(np.ceil(len(handles) / 24)))
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0,
                  frameon=False, fontsize="small", ncol=ncol, handletextpad=0.3)


def _check_xy(embedding_2d) -> np.ndarray:
    xy = np.asarray(embedding_2d, dtype=np.float64)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise ValueError(f"embedding_2d must have shape (n_samples, 2); got shape {xy.shape}.")
    n = xy.shape[0]
    if n == 0:
        raise ValueError(f"embedding_2d is empty (shape {xy.shape}); at least one point is needed.")
    if not np.isfinite(xy).all():
        bad = int((~np.isfinite(xy)).any(axis=1).sum())
        raise ValueError(f"embedding_2d has {bad} of {n} rows with NaN or inf coordinates (shape {xy.shape}).")
    return xy


def _save_png(fig, path, dpi) -> None:
    from n2d._util.files import atomic_path

    with atomic_path(os.fspath(path), suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)


# --------------------------------------------------------------------------- #
# public API
# --------------------------------------------------------------------------- #


def plot_embedding(
    embedding_2d,
    labels,
    *,
    names=None,
    title=None,
    ax=None,
    point_size=None,
    legend=True,
    categories=None,
    n_colors=None,
    path=None,
    dpi=150,
):
    """One scatter plot of any 2-D embedding, coloured by any labels.

    The building block of :func:`plot_clusters`, for any coordinates (a UMAP, a
    PCA, t-SNE, the first two columns of a code) and any labelling (classes,
    clusters, a clustering mapped onto the classes).

    Parameters
    ----------
    embedding_2d : array-like of shape (n_samples, 2)
        Coordinates to draw. Must be finite.
    labels : array-like of shape (n_samples,)
        Group of each point; any hashable values. One colour and one legend
        entry per distinct label, in sorted order.
    names : sequence of str or mapping, default=None
        Legend names: indexed by integer label (as
        :attr:`n2d.datasets.Dataset.target_names`), one per distinct label in
        sorted order, or a ``{label: name}`` mapping. ``None`` shows the labels.
    title : str, default=None
        Title of the panel.
    ax : matplotlib Axes, default=None
        Where to draw; ``None`` creates a new figure with pyplot.
    point_size : float, default=None
        Marker area in points^2; ``None`` picks it from the number of points.
    legend : bool, default=True
        Draw a legend to the right of the panel.
    categories : sequence, default=None
        Every group that can occur, in the order of colours and legend
        entries; ``labels`` must be among them. Several plots given the same
        ``categories`` colour each group alike, also when a group is absent
        from one of them (the legend lists the groups present). ``None`` is
        the distinct labels, sorted.
    n_colors : int, default=None
        Size of the palette the colours are taken from, at least the number
        of categories; ``None`` is one colour per category.
    path : str or path-like, default=None
        If given, the figure is also saved there as a PNG (written under a
        temporary name and renamed into place; the folder is created).
    dpi : int, default=150
        Resolution of the saved PNG.

    Returns
    -------
    fig : matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If ``embedding_2d`` is not finite of shape (n_samples, 2), ``labels``
        does not have one label per point, or ``n_colors`` is below the number
        of labels.
    ImportError
        If matplotlib is not installed.

    Examples
    --------
    Any embedding and labelling, e.g. a PCA of the data coloured by k-means:

    >>> import numpy as np
    >>> from sklearn.cluster import KMeans
    >>> from sklearn.decomposition import PCA
    >>> from n2d.plotting import plot_embedding
    >>> X = np.random.RandomState(0).normal(size=(200, 5))
    >>> xy = PCA(n_components=2).fit_transform(X)
    >>> labels = KMeans(3, n_init=1, random_state=0).fit_predict(X)
    >>> fig = plot_embedding(xy, labels, names={0: "a", 1: "b", 2: "c"}, title="k-means")  # doctest: +SKIP
    """
    xy = _check_xy(embedding_2d)
    n = xy.shape[0]
    groups, codes = _encode(labels, "labels", n)
    cats = list(groups) if categories is None else list(categories)
    index = {}
    for i, c in enumerate(cats):
        index.setdefault(c, i)
    absent = [g for g in groups if g not in index]
    if absent:
        raise ValueError(
            f"labels holds {absent[:5]}{' ...' if len(absent) > 5 else ''}, not among categories {cats[:10]}"
            f"{' ...' if len(cats) > 10 else ''}; categories must list every label."
        )
    cat_names = _class_names(cats, names)
    if point_size is not None and not (np.isscalar(point_size) and float(point_size) > 0):
        raise ValueError(f"point_size must be a positive number or None; got {point_size!r}.")
    if n_colors is not None and (not isinstance(n_colors, (int, np.integer)) or n_colors < len(cats)):
        raise ValueError(
            f"n_colors must be an int >= the number of categories ({len(cats)}) or None; got {n_colors!r}."
        )
    _matplotlib()
    if ax is None:
        fig, ax = _pyplot().subplots(figsize=(5.8 if legend else 4.6, 5.0), layout="constrained")
    else:
        fig = _root_figure(ax)
    palette = _palette(len(cats) if n_colors is None else int(n_colors))
    present = sorted({index[g] for g in groups})  # category index of each group shown, in category order
    position = {c: k for k, c in enumerate(present)}
    shown = np.array([position[index[g]] for g in groups], dtype=np.int64)[codes]
    size = _auto_point_size(n) if point_size is None else float(point_size)
    _scatter(ax, xy, shown, palette[present], [cat_names[i] for i in present], size=size, legend=legend,
             title=title or "", order=np.random.RandomState(0).permutation(n))
    if path is not None:
        _save_png(fig, path, dpi)
    return fig


def plot_clusters(
    embedding_2d,
    labels,
    y_true=None,
    *,
    target_names=None,
    title=None,
    ax=None,
    point_size=None,
    legend=True,
    scores=True,
):
    """Scatter plot of a clustering: the predicted clusters, and the true classes beside them.

    Without ``y_true`` there is one panel, "Predicted clusters". With ``y_true``
    there are two side by side with shared axes: "True classes" (left, legend
    from ``target_names``) and "Predicted clusters" (right).

    For readability the predicted clusters are recoloured to match the classes:
    each cluster is matched one-to-one to a class with the Hungarian algorithm
    (:func:`n2d.metrics.best_label_map`, as used for clustering accuracy) and
    drawn in that class's colour, so a good clustering looks like the true-class
    panel. Clusters left unmatched (more clusters than classes) get extra colours
    used by no class. Cluster numbers in the legend are unchanged.

    Points are drawn in one scatter per panel, in a fixed shuffled order so that
    no group is systematically hidden under another.

    Parameters
    ----------
    embedding_2d : array-like of shape (n_samples, 2)
        Coordinates to draw, e.g. from :func:`embed_2d`. Must be finite.
    labels : array-like of shape (n_samples,)
        Predicted cluster of each point; any hashable values.
    y_true : array-like of shape (n_samples,), default=None
        True class of each point; any hashable values. Adds the "True classes"
        panel and the recolouring.
    target_names : sequence of str or mapping, default=None
        Class names for the legend: indexed by integer class label (as
        :attr:`n2d.datasets.Dataset.target_names`), one name per class in
        sorted class order, or a ``{label: name}`` mapping. ``None`` shows the
        labels themselves.
    title : str, default=None
        Figure title (drawn above the panels).
    ax : matplotlib Axes or pair of Axes, default=None
        Where to draw: one Axes without ``y_true``, two (true classes, then
        predicted clusters) with it. Axes given here are not made to share
        limits. ``None`` creates a new figure with pyplot.
    point_size : float, default=None
        Marker area in points^2. ``None`` picks it from the number of points,
        from 30 for a few points down to about 1 for 70,000.
    legend : bool, default=True
        Draw a legend to the right of each panel.
    scores : bool, default=True
        With ``y_true``, add ACC and NMI (:func:`n2d.metrics.evaluate`) to the
        predicted panel's title.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure holding the panels. Close it (``plt.close(fig)``) when done
        if you make many.

    Raises
    ------
    ValueError
        If ``embedding_2d`` is empty, not of shape (n_samples, 2) or not finite,
        or if ``labels``/``y_true`` do not have one label per point.
    ImportError
        If matplotlib is not installed.

    See Also
    --------
    embed_2d, plot_model

    Examples
    --------
    >>> import numpy as np
    >>> from n2d.plotting import plot_clusters
    >>> xy = np.random.RandomState(0).normal(size=(100, 2))
    >>> fig = plot_clusters(xy, xy[:, 0] > 0, y_true=xy[:, 1] > 0)  # doctest: +SKIP
    >>> len(fig.axes)                                                # doctest: +SKIP
    2
    """
    xy = _check_xy(embedding_2d)
    n = xy.shape[0]
    clusters, pred = _encode(labels, "labels", n)
    two = y_true is not None
    if two:
        classes, true = _encode(y_true, "y_true", n)
        class_names = _class_names(classes, target_names)
    if point_size is not None and not (np.isscalar(point_size) and float(point_size) > 0):
        raise ValueError(f"point_size must be a positive number or None; got {point_size!r}.")

    _matplotlib()  # the install hint, before anything else touches matplotlib
    n_panels = 2 if two else 1
    if ax is None:
        plt = _pyplot()
        width = 5.8 if legend else 4.6
        fig, axes = plt.subplots(
            1, n_panels, figsize=(width * n_panels, 5.0), sharex=True, sharey=True,
            squeeze=False, layout="constrained",
        )
        axes = list(axes[0])
    else:
        axes = [ax] if not isinstance(ax, (list, tuple, np.ndarray)) else list(np.ravel(ax))
        if len(axes) != n_panels:
            wanted = "a single Axes"
            if two:
                wanted = "a pair of Axes (true classes, predicted clusters) when y_true is given"
            raise ValueError(f"ax must be {wanted}; got {len(axes)} Axes.")
        fig = _root_figure(axes[0])

    size = _auto_point_size(n) if point_size is None else float(point_size)
    order = np.random.RandomState(0).permutation(n)
    cluster_names = [f"cluster {c}" for c in clusters]

    if not two:
        colors = _palette(len(clusters))
        _scatter(axes[0], xy, pred, colors, cluster_names, size=size, legend=legend,
                 title="Predicted clusters", order=order)
    else:
        from n2d.metrics import best_label_map, evaluate

        mapping = best_label_map(true, pred)  # {cluster index: class index}
        unmatched = [j for j in range(len(clusters)) if j not in mapping]
        palette = _palette(len(classes) + len(unmatched))
        extra = {j: len(classes) + i for i, j in enumerate(unmatched)}
        cluster_colors = palette[[mapping[j] if j in mapping else extra[j] for j in range(len(clusters))]]
        pred_title = "Predicted clusters"
        if scores:
            s = evaluate(true, pred)
            pred_title += f" (ACC {s['acc']:.3f}, NMI {s['nmi']:.3f})"
        _scatter(axes[0], xy, true, palette[: len(classes)], class_names, size=size, legend=legend,
                 title="True classes", order=order)
        _scatter(axes[1], xy, pred, cluster_colors, cluster_names, size=size, legend=legend,
                 title=pred_title, order=order)
    if title is not None:
        fig.suptitle(title)
    return fig


def _root_figure(ax):
    """The top-level Figure of ``ax`` (not a SubFigure); ``get_figure(root=)`` is matplotlib >= 3.10."""
    try:
        return ax.get_figure(root=True)
    except TypeError:
        fig = ax.figure
        while getattr(fig, "_parent", None) is not None:  # SubFigure before 3.10
            fig = fig._parent
        return fig


def embed_2d(model, X, *, n_neighbors=20, min_dist=0.1, random_state=0):
    """The 2-D view of a fitted model used for display: a 2-D UMAP of the autoencoded data.

    ``X`` is encoded with the model's autoencoder (``model.autoencoder_``; used
    as is when the model has none) and the code is embedded in 2 dimensions by
    UMAP, as the N2D reference code's ``visualize`` does: n2d's own
    (:class:`n2d.TorchUMAP`), which needs no numba compilation in each new
    process and runs its neighbour search on every core whatever the seed.
    The model's own ``embedding_`` is never reused: it was made for clustering
    (``n_clusters`` dimensions, ``min_dist=0``), and a 2-D one would still have
    the wrong ``min_dist`` and could not be told apart from other data of the
    same length.

    Parameters
    ----------
    model : fitted N2D
        Any fitted object with an ``autoencoder_`` attribute (a transformer or None).
    X : array-like of shape (n_samples, n_features)
        Data to show, at least 3 samples.
    n_neighbors : int, default=20
        UMAP neighbourhood size; larger values give a more global picture.
    min_dist : float, default=0.1
        UMAP minimum spacing; above N2D's 0 so that dense clusters stay legible.
    random_state : int or None, default=0
        An int makes the picture reproducible.

    Returns
    -------
    embedding_2d : ndarray of shape (n_samples, 2), float32

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If ``model`` is not fitted.
    """
    from sklearn.utils.validation import check_is_fitted

    from n2d.manifold import TorchUMAP

    check_is_fitted(model, "autoencoder_")
    encoder = model.autoencoder_
    code = np.asarray(X, dtype=np.float32) if encoder is None else np.asarray(encoder.transform(X), dtype=np.float32)
    umap = TorchUMAP(n_components=2, n_neighbors=n_neighbors, min_dist=min_dist, random_state=random_state)
    return np.ascontiguousarray(umap.fit_transform(code), dtype=np.float32)


def plot_model(
    model,
    X,
    y_true=None,
    *,
    labels=None,
    target_names=None,
    path=None,
    title=None,
    point_size=None,
    legend=True,
    scores=True,
    n_neighbors=20,
    min_dist=0.1,
    random_state=0,
    dpi=150,
):
    """Plot a fitted model's clusters of ``X`` (and the true classes), optionally saving a PNG.

    :func:`embed_2d` followed by :func:`plot_clusters`.

    Parameters
    ----------
    model : fitted N2D
    X : array-like of shape (n_samples, n_features)
        Data to show.
    y_true : array-like of shape (n_samples,), default=None
        True classes; adds the "True classes" panel (see :func:`plot_clusters`).
    labels : array-like of shape (n_samples,), default=None
        Cluster of each sample. ``None`` computes ``model.predict(X)``. For the
        training data pass ``labels=model.labels_``: it avoids predicting again
        and shows exactly the clusters found by ``fit``.
    target_names : sequence of str or mapping, default=None
        Class names for the legend, e.g. ``Dataset.target_names``.
    path : str or path-like, default=None
        If given, the figure is saved there as a PNG (``dpi``). The parent folder
        is created; the file is written under a temporary name and renamed into
        place, so it is never half-written.
    title, point_size, legend, scores
        As in :func:`plot_clusters`.
    n_neighbors, min_dist, random_state
        As in :func:`embed_2d`.
    dpi : int, default=150
        Resolution of the saved PNG.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure, also when it was saved; close it with ``plt.close(fig)``.
    """
    _matplotlib()
    n = np.shape(X)[0] if np.ndim(X) else 0
    for name, values in (("labels", labels), ("y_true", y_true)):
        if values is not None and np.shape(values) != (n,):
            raise ValueError(f"{name} must have shape ({n},), one label per row of X; got shape {np.shape(values)}.")
    if labels is None:
        labels = model.predict(X)
    xy = embed_2d(model, X, n_neighbors=n_neighbors, min_dist=min_dist, random_state=random_state)
    fig = plot_clusters(
        xy, labels, y_true, target_names=target_names, title=title, point_size=point_size,
        legend=legend, scores=scores,
    )
    if path is not None:
        _save_png(fig, path, dpi)
    return fig


def plot_k_scores(model, *, ax=None, path=None, dpi=150):
    """The criterion ``N2D(n_clusters="auto")`` chose k by, for every candidate, with the chosen k marked.

    With ``"consensus"`` it draws the mixture's BIC curve and marks each answer (the BIC knee, the code graph's
    two votes and HDBSCAN's count on the embedding) beside the chosen k, their (upper) median.

    Parameters
    ----------
    model : N2D
        Fitted with ``n_clusters="auto"`` and a clusterer that takes k (it has
        ``k_candidates_`` and ``k_scores_``).
    ax : matplotlib Axes, default=None
        Where to draw; ``None`` creates a new figure with pyplot.
    path : str or path-like, default=None
        If given, the figure is also saved there as a PNG (written atomically).
    dpi : int, default=150

    Returns
    -------
    fig : matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If the model made no search for k.
    """
    if not hasattr(model, "k_scores_"):
        raise ValueError(
            "This model has no k search to plot: fit N2D(n_clusters='auto') with a clusterer that takes k "
            "(HDBSCAN finds k itself and has no criterion per k)."
        )
    from n2d.cluster._select_k import VOTES

    ks = np.asarray(model.k_candidates_)
    crit = model.k_criterion_
    consensus = crit == "consensus" and "bic" in model.k_all_scores_
    scores = np.asarray(model.k_all_scores_["bic"] if consensus else model.k_scores_, dtype=float)
    better = "higher" if crit == "silhouette" else "lower"
    if ax is None:
        fig, ax = _pyplot().subplots(figsize=(5.6, 3.6), layout="constrained")
    else:
        fig = _root_figure(ax)
    ax.plot(ks, scores, marker="o", markersize=3, color="0.3", linewidth=1)
    if consensus:
        votes = {name: k for name, k in model.k_evidence_["other_criteria"].items() if name in ("bic-knee", *VOTES)}
        styles = (":", "-.", (0, (1, 3)), (0, (5, 2, 1, 2, 1, 2)))
        for (name, k), style in zip(sorted(votes.items(), key=lambda v: v[1]), styles):
            ax.axvline(k, color="tab:blue", linestyle=style, linewidth=1, label=f"{name} votes {k}")
    chosen = int(model.n_clusters_)
    ax.axvline(chosen, color="tab:red", linestyle="--", linewidth=1)
    at = scores[ks == chosen]
    if at.size:
        ax.plot([chosen], at, marker="o", color="tab:red", markersize=7, label=f"chosen k = {chosen}")
        ax.legend(loc="best", frameon=False)
    ax.set_xlabel("number of clusters k")
    if crit == "bic-knee":
        ax.set_ylabel("BIC (k at the knee of the curve)")
    elif consensus:
        ax.set_ylabel("BIC (k: the median of the votes)")
    else:
        ax.set_ylabel(f"{crit.upper() if crit != 'silhouette' else 'silhouette'} ({better} is better)")
    ax.set_title("choosing k")
    if path is not None:
        _save_png(fig, path, dpi)
    return fig
