"""What a report shows, computed from a fitted model and its data, without any drawing library.

:func:`report_content` turns ``(model, X, y)`` into a :class:`ReportContent`: the 2-D map of the points shown
(all of them, or a seeded sample above ``max_points``), what hovering a point tells (its index, cluster,
posterior probability, true class, and a thumbnail for images or its most distinctive feature values for
tables), the cluster sizes, a per-cluster summary (mean images, or standardized feature means), the scores
against known classes, the search for k, and the run's settings. :mod:`n2d.report._render` draws it.
"""

from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass, field

import numpy as np

from n2d.cluster._select_k import k_search_record

TOP_FEATURES = 3
"""Feature values a table row's hover shows: those farthest from their column's mean, in standard deviations."""

HEATMAP_FEATURES = 40
"""Most columns the per-cluster heatmap shows: those whose cluster means differ most."""


@dataclass
class ReportContent:
    """Everything a report shows; arrays are over the points shown (``index``), in the data's row order."""

    index: np.ndarray  # rows of X shown
    n_rows: int  # rows of X
    xy: np.ndarray  # (shown, 2) map coordinates
    cluster: np.ndarray  # cluster per shown row (-1: noise)
    probability: np.ndarray | None  # posterior of the row's cluster, where the clusterer has one
    true_class: list | None  # class name per shown row, where labels are known
    thumbnail: list | None  # data-URI PNG per shown row (images)
    hover_features: list | None  # "name=value (z)" text per shown row (tables)
    sizes: dict  # cluster -> rows (all rows, not only those shown)
    cluster_images: dict | None = None  # cluster -> data-URI PNG of its mean image
    heatmap: dict | None = None  # {"clusters": [...], "features": [...], "z": (clusters, features) array}
    scores: dict | None = None  # ACC, NMI, ARI
    contingency: dict | None = None  # {"clusters": [...], "classes": [...], "counts": array}
    k_search: dict | None = None  # n2d.cluster._select_k.k_search_record
    settings: dict = field(default_factory=dict)  # name -> value, readable


def _png_uri(image: np.ndarray, low: float, high: float, scale: int = 1) -> str:
    """A grayscale PNG data URI of a 2-D array, mapped linearly from [low, high] to [0, 255]."""
    from PIL import Image

    span = high - low if high > low else 1.0
    pixels = np.clip((np.asarray(image, dtype=np.float64) - low) / span * 255.0, 0, 255).astype(np.uint8)
    img = Image.fromarray(pixels, mode="L")
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def square_image_shape(n_features: int) -> tuple[int, int] | None:
    """``(s, s)`` when ``n_features`` is a square of at least 8 x 8 pixels (MNIST's 784, USPS's 256, ...), else None."""
    side = math.isqrt(int(n_features))
    return (side, side) if side >= 8 and side * side == n_features else None


def _thumbnails(X: np.ndarray, shape, low: float, high: float) -> list[str]:
    scale = max(1, 28 // max(shape))  # small images drawn at least ~28 px wide
    return [_png_uri(row.reshape(shape), low, high, scale) for row in X]


def _hover_features(X: np.ndarray, names: list[str], mean: np.ndarray, sd: np.ndarray) -> list[str]:
    z = (X - mean) / sd
    top = np.argsort(-np.abs(z), axis=1)[:, :TOP_FEATURES]
    return [
        ", ".join(f"{names[j]}={X[i, j]:.4g} ({z[i, j]:+.1f} sd)" for j in top[i]) for i in range(X.shape[0])
    ]


def _heatmap(X: np.ndarray, labels: np.ndarray, clusters: list, names: list[str], mean, sd) -> dict:
    z_means = np.stack([((X[labels == c] - mean) / sd).mean(axis=0) for c in clusters])
    keep = np.sort(np.argsort(-z_means.std(axis=0))[:HEATMAP_FEATURES])  # the columns that tell clusters apart
    return {"clusters": [str(c) for c in clusters], "features": [names[j] for j in keep], "z": z_means[:, keep]}


def _contingency(labels: np.ndarray, classes: np.ndarray) -> dict:
    from sklearn.metrics.cluster import contingency_matrix

    counts = contingency_matrix(labels, classes)  # rows and columns in np.unique's order
    return {"clusters": [str(c) for c in np.unique(labels)], "classes": [str(k) for k in np.unique(classes)],
            "counts": counts}


def _settings(model, source) -> dict:
    from n2d._util.provenance import package_versions

    out = {}
    if source is not None:
        out["data"] = str(source)
    out.update({f"parameter {k}": repr(v) for k, v in sorted(model.get_params(deep=False).items())})
    out.update({f"seconds, {stage}": f"{sec:.1f}" for stage, sec in getattr(model, "timings_", {}).items()})
    out.update({f"adjusted {k}": repr(v) for k, v in getattr(model, "adjustments_", {}).items()})
    out["device"] = str(getattr(model, "device_", ""))
    out.update({f"version {k}": v for k, v in package_versions().items()})
    return out


def report_content(model, X, *, y=None, training_data=False, image_shape=None, feature_names=None,
                   target_names=None, max_points=100_000, random_state=0, source=None) -> ReportContent:
    """Compute a report's content; the arguments are checked by :func:`n2d.report.write_report`.

    With ``training_data``, ``X`` is what the model was fitted on: its clusters are ``model.labels_`` and the
    posteriors come from ``model.embedding_``; otherwise both come from placing ``X`` (``predict``). The map
    is :func:`n2d.plotting.embed_2d` of the rows shown.
    """
    from n2d.metrics import evaluate
    from n2d.plotting import embed_2d

    X = np.asarray(X, dtype=np.float32)
    n, d = X.shape
    labels = np.asarray(model.labels_ if training_data else model.predict(X))
    index = np.arange(n)
    if n > max_points:
        index = np.sort(np.random.default_rng(random_state).choice(n, size=max_points, replace=False))
    shown = X[index]
    xy = embed_2d(model, shown, random_state=random_state)
    probability = None
    if hasattr(model.clusterer_, "predict_proba"):
        if training_data:
            proba = model.clusterer_.predict_proba(model.embedding_[index])
        else:
            proba = model.predict_proba(shown)
        probability = np.asarray(proba).max(axis=1)
    classes = None
    if y is not None:
        y = np.asarray(y)
        if target_names is not None:
            classes = np.asarray([str(target_names[int(v)]) for v in y])
        else:
            classes = y.astype(str)
    found, counts = np.unique(labels, return_counts=True)
    clusters = [int(c) for c in found]
    sizes = dict(zip(clusters, (int(v) for v in counts)))
    content = ReportContent(
        index=index, n_rows=n, xy=xy, cluster=labels[index].astype(np.int64), probability=probability,
        true_class=None if classes is None else classes[index].tolist(), thumbnail=None, hover_features=None,
        sizes=sizes, k_search=k_search_record(model), settings=_settings(model, source),
    )
    if image_shape is not None:
        low, high = float(np.min(X)), float(np.max(X))
        content.thumbnail = _thumbnails(shown, image_shape, low, high)
        content.cluster_images = {
            c: _png_uri(X[labels == c].mean(axis=0).reshape(image_shape), low, high, max(1, 56 // max(image_shape)))
            for c in clusters
        }
    else:
        names = list(feature_names) if feature_names is not None else [f"x{j}" for j in range(d)]
        mean, sd = X.mean(axis=0), X.std(axis=0)
        sd = np.where(sd > 0, sd, 1.0)
        content.hover_features = _hover_features(shown, names, mean, sd)
        content.heatmap = _heatmap(X, labels, clusters, names, mean, sd)
    if y is not None:
        content.scores = evaluate(y, labels)
        content.contingency = _contingency(labels, classes)
    return content
