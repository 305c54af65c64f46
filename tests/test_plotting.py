"""Tests for n2d.plotting: panels, legends, cluster recolouring, PNG output, errors."""

from __future__ import annotations

import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402

from n2d import plotting  # noqa: E402
from n2d.plotting import embed_2d, plot_clusters, plot_model  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
NAMES = ("T-shirt/top", "Trouser", "Pullover")


@pytest.fixture
def grouped():
    """60 points in 3 classes; x-coordinate = sample index, so drawn points can be traced back."""
    rng = np.random.RandomState(0)
    y = np.repeat([0, 1, 2], 20)
    xy = np.column_stack([np.arange(60, dtype=float), rng.normal(size=60) + 5 * y])
    # Clusters are the classes renamed (0->2, 1->0, 2->1) with two points moved to the wrong cluster.
    pred = np.array([2, 0, 1])[y]
    pred[[3, 25]] = [0, 1]
    return xy, pred, y


@pytest.fixture(scope="module")
def fitted():
    from sklearn.datasets import make_blobs

    from n2d import N2D

    x, y = make_blobs(300, centers=3, n_features=8, random_state=0)
    x = x.astype(np.float32)
    model = N2D(n_clusters=3, hidden_dims=(16,), epochs=2, device="cpu", random_state=0, verbose=0).fit(x)
    return model, x, y


def _scatter(ax) -> PathCollection:
    (coll,) = [c for c in ax.collections if isinstance(c, PathCollection)]
    return coll


def _point_colors(ax) -> dict[int, tuple]:
    """Sample index -> RGBA of the drawn point (the fixture's x-coordinate is the index)."""
    coll = _scatter(ax)
    idx = coll.get_offsets()[:, 0].astype(int)
    return {i: tuple(c) for i, c in zip(idx, coll.get_facecolors())}


def _legend_texts(ax) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_plotting_import_does_not_import_matplotlib():
    code = "import sys, n2d.plotting; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_plot_clusters_one_panel(grouped):
    xy, pred, _ = grouped
    fig = plot_clusters(xy, pred)
    try:
        assert isinstance(fig, matplotlib.figure.Figure)
        (ax,) = fig.axes
        assert ax.get_title() == "Predicted clusters"
        assert _legend_texts(ax) == ["cluster 0", "cluster 1", "cluster 2"]
        assert ax.get_xticks().size == 0 and ax.get_yticks().size == 0
        assert ax.get_aspect() == 1.0
        assert len(_scatter(ax).get_offsets()) == len(xy)
    finally:
        plt.close(fig)


def test_plot_clusters_two_panels_with_names_and_scores(grouped):
    xy, pred, y = grouped
    fig = plot_clusters(xy, pred, y, target_names=NAMES, title="demo")
    try:
        true_ax, pred_ax = fig.axes
        assert true_ax.get_title() == "True classes"
        assert pred_ax.get_title().startswith("Predicted clusters")
        assert "ACC 0.967" in pred_ax.get_title() and "NMI" in pred_ax.get_title()
        assert _legend_texts(true_ax) == list(NAMES)
        assert _legend_texts(pred_ax) == ["cluster 0", "cluster 1", "cluster 2"]
        assert true_ax.get_shared_x_axes().joined(true_ax, pred_ax)
        assert fig.get_suptitle() == "demo"
    finally:
        plt.close(fig)


def test_plot_clusters_recolours_clusters_to_matched_class(grouped):
    xy, pred, y = grouped
    fig = plot_clusters(xy, pred, y, target_names=NAMES)
    try:
        true_ax, pred_ax = fig.axes
        true_colors, pred_colors = _point_colors(true_ax), _point_colors(pred_ax)
        class_color = {c: true_colors[int(np.flatnonzero(y == c)[0])] for c in range(3)}
        assert len(set(class_color.values())) == 3
        for cluster, cls in {2: 0, 0: 1, 1: 2}.items():  # the fixture's renaming
            for i in np.flatnonzero(pred == cluster):
                assert pred_colors[i] == class_color[cls]
        # the legend shows the same colours
        handles = pred_ax.get_legend().legend_handles
        assert to_rgba(handles[2].get_markerfacecolor()) == class_color[0]
    finally:
        plt.close(fig)


def test_plot_clusters_unmatched_clusters_get_new_colours(grouped):
    xy, _, y = grouped
    pred = np.arange(60) % 5  # 5 clusters for 3 classes: 2 unmatched
    fig = plot_clusters(xy, pred, y)
    try:
        true_ax, pred_ax = fig.axes
        class_colors = set(_point_colors(true_ax).values())
        cluster_colors = {}
        for i, c in _point_colors(pred_ax).items():
            cluster_colors.setdefault(pred[i], c)
        assert len(set(cluster_colors.values())) == 5
        assert len(set(cluster_colors.values()) - class_colors) == 2
    finally:
        plt.close(fig)


def test_plot_clusters_accepts_any_hashable_labels():
    xy = np.random.RandomState(1).normal(size=(40, 2))
    y = np.array(["cat", "dog"] * 20)
    pred = np.array(["b", "a"] * 20, dtype=object)
    fig = plot_clusters(xy, pred, y, target_names={"cat": "Cat", "dog": "Dog"})
    try:
        true_ax, pred_ax = fig.axes
        assert _legend_texts(true_ax) == ["Cat", "Dog"]
        assert _legend_texts(pred_ax) == ["cluster a", "cluster b"]
        assert "ACC 1.000" in pred_ax.get_title()
    finally:
        plt.close(fig)


def test_plot_clusters_many_clusters_get_distinct_colours():
    n_clusters = 25
    xy = np.random.RandomState(2).normal(size=(500, 2))
    fig = plot_clusters(xy, np.arange(500) % n_clusters, point_size=4)
    try:
        (ax,) = fig.axes
        assert len({tuple(c) for c in _scatter(ax).get_facecolors()}) == n_clusters
        assert np.allclose(_scatter(ax).get_sizes(), 4)
    finally:
        plt.close(fig)


def test_plot_clusters_into_given_axes(grouped):
    xy, pred, y = grouped
    fig, axes = plt.subplots(1, 2)
    try:
        assert plot_clusters(xy, pred, y, ax=axes, legend=False) is fig
        assert axes[0].get_legend() is None
        with pytest.raises(ValueError, match="pair of Axes"):
            plot_clusters(xy, pred, y, ax=axes[0])
    finally:
        plt.close(fig)


def test_auto_point_size_shrinks_with_n():
    assert plotting._auto_point_size(300) > plotting._auto_point_size(10_000) > plotting._auto_point_size(70_000)
    assert 0.5 <= plotting._auto_point_size(70_000) <= 2


def test_plot_clusters_saves_png(grouped, tmp_path):
    xy, pred, y = grouped
    fig = plot_clusters(xy, pred, y, target_names=NAMES)
    try:
        path = tmp_path / "clusters.png"
        fig.savefig(path, dpi=80)
    finally:
        plt.close(fig)
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert len(data) > 5_000


@pytest.mark.parametrize(
    ("xy", "labels", "y_true", "match"),
    [
        (np.zeros((10, 3)), np.zeros(10), None, r"shape \(n_samples, 2\); got shape \(10, 3\)"),
        (np.zeros(10), np.zeros(10), None, r"shape \(n_samples, 2\); got shape \(10,\)"),
        (np.zeros((0, 2)), np.zeros(0), None, r"empty \(shape \(0, 2\)\)"),
        (np.zeros((10, 2)), np.zeros(9), None, r"labels has 9 labels but embedding_2d has 10 points"),
        (np.zeros((10, 2)), np.zeros((10, 1)), None, r"labels must be a 1-D array of labels; got shape \(10, 1\)"),
        (np.zeros((10, 2)), np.zeros(10), np.zeros(11), r"y_true has 11 labels but embedding_2d has 10 points"),
        (np.full((10, 2), np.nan), np.zeros(10), None, r"10 of 10 rows with NaN or inf"),
    ],
)
def test_plot_clusters_rejects_bad_input(xy, labels, y_true, match):
    n_figs = len(plt.get_fignums())
    with pytest.raises(ValueError, match=match):
        plot_clusters(xy, labels, y_true)
    assert len(plt.get_fignums()) == n_figs  # no figure left behind


def test_plot_clusters_rejects_mismatched_target_names(grouped):
    xy, pred, y = grouped
    with pytest.raises(ValueError, match="target_names has 2 names but y_true has 3 classes"):
        plot_clusters(xy, pred, y + 10, target_names=["a", "b"])


def test_plotting_needs_matplotlib(grouped, monkeypatch):
    xy, pred, y = grouped
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    with pytest.raises(ImportError,
                       match=r"n2d.plotting needs matplotlib, which is not installed: pip install matplotlib"):
        plot_clusters(xy, pred, y)


def test_embed_2d_on_fitted_model(fitted):
    model, x, _ = fitted
    xy = embed_2d(model, x)
    assert xy.shape == (len(x), 2) and xy.dtype == np.float32
    assert np.isfinite(xy).all()


def test_embed_2d_needs_fitted_model():
    from sklearn.exceptions import NotFittedError

    from n2d import N2D

    with pytest.raises(NotFittedError):
        embed_2d(N2D(n_clusters=3), np.zeros((10, 8), dtype=np.float32))


def test_plot_model_writes_png_atomically(fitted, tmp_path):
    model, x, y = fitted
    path = tmp_path / "new" / "folder" / "model.png"
    fig = plot_model(model, x, y, labels=model.labels_, target_names=["a", "b", "c"], path=path)
    try:
        assert len(fig.axes) == 2
        assert _legend_texts(fig.axes[0]) == ["a", "b", "c"]
    finally:
        plt.close(fig)
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE and len(data) > 10_000
    assert sorted(p.name for p in path.parent.iterdir()) == ["model.png"]  # no temporary file left


def test_plot_model_predicts_when_labels_not_given(fitted):
    model, x, _ = fitted
    fig = plot_model(model, x[:50])
    try:
        (ax,) = fig.axes
        assert len(_scatter(ax).get_offsets()) == 50
    finally:
        plt.close(fig)


def test_plot_model_rejects_wrong_label_length_before_embedding(fitted, monkeypatch):
    model, x, _ = fitted
    monkeypatch.setattr(plotting, "embed_2d", lambda *a, **k: pytest.fail("embedded before validating"))
    with pytest.raises(ValueError, match=r"labels must have shape \(300,\)"):
        plot_model(model, x, labels=model.labels_[:10])
