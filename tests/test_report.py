"""n2d.report: the interactive HTML page of a clustering, its content, its checks and ``n2d cluster --report``."""

from __future__ import annotations

import html
import json
import re
import sys
from html.parser import HTMLParser

import numpy as np
import pytest

pytest.importorskip("bokeh")

from n2d import N2D  # noqa: E402
from n2d.cli import main  # noqa: E402
from n2d.report import _content, write_report  # noqa: E402
from n2d.report._content import report_content, square_image_shape  # noqa: E402

SMALL = dict(hidden_dims=(16,), epochs=2, device="cpu", random_state=0, verbose=0)


class _Resources(HTMLParser):
    """Every URL the page's markup would load: script and image sources, stylesheet links, frames."""

    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in ("src", "href", "data"):
            if tag in ("script", "img", "link", "iframe", "embed", "object", "source") and attrs.get(name):
                self.urls.append(attrs[name])


def _loaded_urls(page: str) -> list[str]:
    parser = _Resources()
    parser.feed(page)
    return parser.urls


@pytest.fixture(scope="module")
def digits():
    """sklearn's 8 x 8 digits (images: 64 = 8 x 8 features), 400 rows, and a small model fitted on them."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x, y = (d.data[:400] / 16.0).astype(np.float32), d.target[:400]
    return x, y, N2D(n_clusters=10, **SMALL).fit(x)


@pytest.fixture(scope="module")
def wine():
    """A table (13 named features), with n_clusters="auto" so that the page has the search for k."""
    from sklearn.datasets import load_wine
    from sklearn.preprocessing import StandardScaler

    w = load_wine()
    x = StandardScaler().fit_transform(w.data).astype(np.float32)
    return x, w.target, w, N2D(n_clusters="auto", k_range=(2, 6), **SMALL).fit(x)


@pytest.fixture(scope="module")
def digits_page(digits, tmp_path_factory):
    x, y, model = digits
    path = tmp_path_factory.mktemp("report") / "digits.html"
    write_report(model, x, y, path=path, training_data=True, source="sklearn digits[:400]")
    return path.read_text(encoding="utf-8")


def _shown(page: str) -> str:
    """The page's text as the browser gets it: Bokeh writes its document as HTML-escaped JSON."""
    return html.unescape(page)


def test_square_feature_counts_are_images():
    assert square_image_shape(784) == (28, 28) and square_image_shape(64) == (8, 8)
    assert square_image_shape(16) is None and square_image_shape(13) is None and square_image_shape(4) is None


def test_image_content_has_a_thumbnail_per_point_and_a_mean_image_per_cluster(digits):
    x, y, model = digits
    c = report_content(model, x, y=y, training_data=True, image_shape=(8, 8))
    assert c.index.tolist() == list(range(400)) and c.xy.shape == (400, 2) and np.isfinite(c.xy).all()
    np.testing.assert_array_equal(c.cluster, model.labels_)
    assert len(c.thumbnail) == 400 and all(t.startswith("data:image/png;base64,") for t in c.thumbnail)
    assert set(c.cluster_images) == set(np.unique(model.labels_).tolist())
    assert c.hover_features is None and c.heatmap is None
    assert c.probability.shape == (400,) and ((c.probability > 0) & (c.probability <= 1)).all()
    assert c.true_class[:3] == [str(v) for v in y[:3]]
    assert sum(c.sizes.values()) == 400
    assert np.asarray(c.contingency["counts"]).sum() == 400 and set(c.scores) == {"acc", "nmi", "ari"}
    assert c.k_search is None  # k was given


def test_the_page_holds_the_map_hover_fields_scores_and_settings_and_loads_nothing_from_the_network(digits_page):
    page = _shown(digits_page)
    for field in ("@row", "@cluster", "@probability", "@true_class", "@thumbnail"):
        assert field in page, field
    assert "ACC <b>" in page and "NMI <b>" in page and "ARI <b>" in page
    assert "Mean image of each cluster" in page and "Cluster sizes" in page
    assert "sklearn digits[:400]" in page and "parameter n_clusters" in page and "version torch" in page
    assert "2-D UMAP of the code (400 of 400 points)" in page
    urls = _loaded_urls(digits_page)
    assert not [u for u in urls if u.lower().startswith(("http:", "https:", "//"))], urls
    assert "<script type=\"text/javascript\">" in page or "<script>" in page  # BokehJS is inline


def _points_in_page(page: str) -> int:
    """Rows of the map's data sources in the page's embedded Bokeh document (the ``row`` column of each)."""
    scripts = re.findall(r'<script type="application/json" id="[^"]+">(.*?)</script>', page, re.S)
    total = 0

    def walk(v):  # a data source's columns are a map, serialized as [name, column] pairs
        nonlocal total
        if isinstance(v, list) and len(v) == 2 and v[0] == "row" and isinstance(v[1], dict) and "shape" in v[1]:
            total += int(np.prod(v[1]["shape"]))
        elif isinstance(v, dict):
            for value in v.values():
                walk(value)
        elif isinstance(v, list):
            for value in v:
                walk(value)

    for text in scripts:
        walk(json.loads(html.unescape(text)))
    return total


def test_the_page_embeds_every_point_once(digits_page):
    assert _points_in_page(digits_page) == 400


def test_the_page_chooses_the_maps_drawing_before_bokehjs_reads_the_document(digits_page):
    from n2d.report._render import MAP_BACKEND, WEBGL_MAP

    # the switch rewrites the map's one WebGL setting (the browser test checks that it takes effect)
    assert digits_page.count(MAP_BACKEND) == 1
    assert digits_page.replace(MAP_BACKEND, "").count(WEBGL_MAP) == 1
    # an inline script in the body runs while the page is parsed; BokehJS embeds on DOMContentLoaded, after it
    assert digits_page.rstrip().endswith(MAP_BACKEND + "</body>\n</html>")


def test_a_table_gets_feature_hover_and_a_heatmap_and_auto_k_its_curve(wine, tmp_path):
    x, y, w, model = wine
    c = report_content(model, x, y=y, training_data=True, feature_names=w.feature_names,
                       target_names=w.target_names)
    assert c.thumbnail is None and c.cluster_images is None
    assert len(c.hover_features) == len(x) and c.hover_features[0].count(" sd)") == _content.TOP_FEATURES
    assert any(name in c.hover_features[0] for name in w.feature_names)
    assert np.asarray(c.heatmap["z"]).shape == (len(c.sizes), len(c.heatmap["features"]))
    assert set(c.true_class) == set(w.target_names)
    assert c.k_search["chosen"] == model.n_clusters_ and c.k_search["candidates"] == [2, 3, 4, 5, 6]
    page = write_report(model, x, y, path=tmp_path / "wine.html", training_data=True,
                        feature_names=w.feature_names, target_names=w.target_names).read_text()
    page = _shown(page)
    assert "Choosing k: " in page and "@features" in page and "standard deviations" in page


def test_above_max_points_the_map_shows_a_seeded_sample_and_says_so(digits, tmp_path):
    x, y, model = digits
    c = report_content(model, x, y=y, training_data=True, image_shape=(8, 8), max_points=100, random_state=3)
    again = report_content(model, x, y=y, training_data=True, image_shape=(8, 8), max_points=100, random_state=3)
    assert c.index.size == 100 and np.array_equal(c.index, again.index) and (np.diff(c.index) > 0).all()
    np.testing.assert_array_equal(c.cluster, model.labels_[c.index])
    assert sum(c.sizes.values()) == 400  # sizes and scores count every row
    page = _shown(write_report(model, x, path=tmp_path / "s.html", training_data=True, max_points=100).read_text())
    assert "seeded random sample of 100 of the 400 rows" in page and _points_in_page(page) == 100


def test_new_data_is_placed_with_predict(digits):
    x, _, model = digits
    c = report_content(model, x[:50], image_shape=(8, 8))
    np.testing.assert_array_equal(c.cluster, model.predict(x[:50]))


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(y=np.zeros(5)), ValueError, r"one class per row of X, shape \(400,\)"),
        (dict(image_shape=(7, 9)), ValueError, "does not fit rows of 64 features"),
        (dict(image_shape="big"), ValueError, r"image_shape must be \(height, width\)"),
        (dict(feature_names=["a"]), ValueError, "1 names for 64 features"),
        (dict(max_points=0), ValueError, "max_points must be an integer >= 3"),
        (dict(path="report.png"), ValueError, "must end in .html or .htm"),
        (dict(training_data=True, X=slice(0, 10)), ValueError, "fitted on 400"),
        (dict(X="wide"), ValueError, "X has 65 features, but the model was fitted on 64"),
    ],
)
def test_bad_arguments_fail_before_any_work(digits, tmp_path, monkeypatch, kwargs, error, match):
    x, _, model = digits

    def no_work(*a, **k):
        raise AssertionError("the report's content was computed before the arguments were checked")

    monkeypatch.setattr("n2d.report._content.report_content", no_work)
    kwargs = dict(kwargs)
    X = kwargs.pop("X", None)
    X = x[X] if isinstance(X, slice) else np.hstack([x, x[:, :1]]) if X == "wide" else x
    path = tmp_path / kwargs.pop("path", "r.html")
    with pytest.raises(error, match=match):
        write_report(model, X, path=path, **kwargs)
    assert not path.exists()


def test_an_unfitted_model_is_refused():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        write_report(N2D(), np.zeros((5, 3)), path="never.html")


def test_an_existing_file_is_kept_unless_overwrite(digits, tmp_path, monkeypatch):
    x, _, model = digits
    path = tmp_path / "mine.html"
    path.write_text("the user's page")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        write_report(model, x, path=path)
    assert path.read_text() == "the user's page"
    # a failure while drawing leaves the old file whole, and no temporary file behind
    monkeypatch.setattr("n2d.report._render.render_html", lambda *a, **k: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        write_report(model, x[:50], path=path, overwrite=True)
    assert path.read_text() == "the user's page" and [p.name for p in tmp_path.iterdir()] == ["mine.html"]

    (tmp_path / "folder.html").mkdir()
    with pytest.raises(IsADirectoryError):
        write_report(model, x, path=tmp_path / "folder.html")


def test_without_bokeh_the_error_says_what_to_install(digits, tmp_path, monkeypatch):
    x, _, model = digits
    monkeypatch.setitem(sys.modules, "bokeh", None)
    with pytest.raises(ImportError, match=r"pip install bokeh"):
        write_report(model, x, path=tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()


def test_cli_report_is_written_into_the_output_folder_and_removed_when_stale(tmp_path, capsys):
    from sklearn.datasets import make_blobs

    x, y = make_blobs(n_samples=200, centers=3, n_features=6, random_state=0)
    np.savez(tmp_path / "d.npz", x=x.astype(np.float32), y=y)
    args = ["cluster", str(tmp_path / "d.npz"), "--out", str(tmp_path / "o"), "--epochs", "2", "--hidden-dims",
            "16", "--device", "cpu", "-q"]
    assert main([*args, "--report"]) == 0
    page = _shown((tmp_path / "o" / "report.html").read_text())
    assert "n2d on d" in page and "ACC <b>" in page
    result = json.loads((tmp_path / "o" / "result.json").read_text())
    assert result["report_seconds"] > 0
    assert "report.html" in json.loads((tmp_path / "o" / ".n2d-output.json").read_text())["files"]
    assert main(args) == 0  # without --report, the old page no longer shows these labels: removed
    assert not (tmp_path / "o" / "report.html").exists()
    capsys.readouterr()


def test_cli_report_without_bokeh_fails_before_fitting(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "bokeh", None)
    np.save(tmp_path / "x.npy", np.random.default_rng(0).normal(size=(50, 4)).astype(np.float32))
    code = main(["cluster", str(tmp_path / "x.npy"), "--n-clusters", "3", "--report", "--out",
                 str(tmp_path / "o"), "--epochs", "2", "--device", "cpu", "-q"])
    assert code == 2 and "pip install bokeh" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
