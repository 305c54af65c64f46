"""The seed library's TODO "make assessment/visualization more extensible":
extra metrics by name in ``evaluate``; plots of any 2-D embedding and labels."""

import numpy as np
import pytest
from sklearn.metrics import adjusted_mutual_info_score, f1_score

from n2d import evaluate


def test_evaluate_takes_extra_metrics_by_name():
    y = np.array([0, 0, 1, 1, 2, 2])
    p = np.array([1, 1, 0, 0, 2, 0])
    scores = evaluate(y, p, metrics={"ami": adjusted_mutual_info_score,
                                     "f1": lambda t, q: f1_score(t, q, average="macro")})
    assert list(scores) == ["acc", "nmi", "ari", "ami", "f1"]
    assert scores["ami"] == pytest.approx(adjusted_mutual_info_score(y, p))
    assert scores["f1"] == pytest.approx(f1_score(y, p, average="macro"))
    assert {k: scores[k] for k in ("acc", "nmi", "ari")} == evaluate(y, p)
    assert all(type(v) is float for v in scores.values())


def test_evaluate_refuses_bad_metrics():
    y = [0, 1, 1]
    with pytest.raises(ValueError, match="'acc' is taken"):
        evaluate(y, y, metrics={"acc": adjusted_mutual_info_score})
    with pytest.raises(TypeError, match="'x' must be a callable"):
        evaluate(y, y, metrics={"x": 3})
    with pytest.raises(ValueError, match="'v' must return one number"):
        evaluate(y, y, metrics={"v": lambda t, p: np.ones(3)})
    with pytest.raises(TypeError, match="mapping of names to callables"):
        evaluate(y, y, metrics=[adjusted_mutual_info_score])


def test_plot_embedding_draws_any_2d_embedding_and_labels(tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt
    from sklearn.decomposition import PCA

    from n2d.plotting import plot_embedding

    rng = np.random.RandomState(0)
    X = rng.normal(size=(120, 5))
    xy = PCA(n_components=2).fit_transform(X)
    labels = np.where(X[:, 0] > 0, "pos", "neg")
    fig = plot_embedding(xy, labels, names={"neg": "negative", "pos": "positive"}, title="PCA",
                         n_colors=4, path=tmp_path / "sub" / "pca.png")
    ax = fig.axes[0]
    assert ax.get_title() == "PCA"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["negative", "positive"]
    assert len(ax.collections[0].get_offsets()) == 120
    assert (tmp_path / "sub" / "pca.png").read_bytes()[:4] == b"\x89PNG"
    plt.close(fig)
    with pytest.raises(ValueError, match="n_colors must be an int >= the number of categories"):
        plot_embedding(xy, labels, n_colors=1)
    with pytest.raises(ValueError, match=r"embedding_2d must have shape \(n_samples, 2\)"):
        plot_embedding(X, labels)


def test_plot_embedding_categories_keep_colours_across_plots():
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    from n2d.plotting import plot_embedding

    xy = np.random.RandomState(0).normal(size=(30, 2))
    all_three = np.repeat([0, 1, 2], 10)
    without_1 = np.repeat([0, 2, 2], 10)
    f1 = plot_embedding(xy, all_three, categories=[0, 1, 2], names=["zero", "one", "two"])
    f2 = plot_embedding(xy, without_1, categories=[0, 1, 2], names=["zero", "one", "two"])

    def colour_of(fig, name):
        leg = fig.axes[0].get_legend()
        return {t.get_text(): tuple(h.get_markerfacecolor()) for t, h in zip(leg.get_texts(), leg.legend_handles)}[name]

    assert colour_of(f1, "two") == colour_of(f2, "two")
    assert [t.get_text() for t in f2.axes[0].get_legend().get_texts()] == ["zero", "two"]
    plt.close("all")
    with pytest.raises(ValueError, match=r"labels holds \[5\], not among categories"):
        plot_embedding(xy, np.full(30, 5), categories=[0, 1, 2])
