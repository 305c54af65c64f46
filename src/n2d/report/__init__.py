"""An interactive report of a clustering that opens in a browser, offline: :func:`write_report`.

The page shows the 2-D map of the points coloured by cluster (pan, zoom, a legend that hides and shows
clusters, hover with the row, its cluster, posterior probability, true class, and a thumbnail for images or
the most distinctive feature values for tables), the cluster sizes, each cluster's mean image or a heatmap of
its standardized feature means, the scores and cluster-by-class table when classes are known, the search for
k, and the run's settings, timings and versions. The modules:

- ``_content``: what the report shows, computed from the model and the data (no drawing library);
- ``_render``: the page, drawn with Bokeh (an optional dependency: ``pip install bokeh``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["write_report"]

_INSTALL_HINT = "n2d.report needs bokeh, which is not installed: pip install bokeh"


def _check_bokeh() -> None:
    try:
        import bokeh  # noqa: F401
    except ImportError as exc:
        raise ImportError(_INSTALL_HINT) from exc


def _check_image_shape(image_shape, n_features: int):
    from n2d.report._content import square_image_shape

    if image_shape is None:
        return square_image_shape(n_features)
    if image_shape is False:
        return None
    try:
        shape = tuple(int(v) for v in image_shape)
    except (TypeError, ValueError):
        raise ValueError(f"image_shape must be (height, width), None or False; got {image_shape!r}.") from None
    if len(shape) != 2 or min(shape) < 1 or shape[0] * shape[1] != n_features:
        raise ValueError(
            f"image_shape {image_shape!r} does not fit rows of {n_features} features: give (height, width) with "
            f"height x width = {n_features}, or image_shape=False for a table."
        )
    return shape


def write_report(model, X, y=None, *, path="report.html", training_data=False, target_names=None,
                 feature_names=None, image_shape=None, max_points=100_000, random_state=0, source=None,
                 title=None, overwrite=False) -> Path:
    """Write an interactive HTML report of a fitted model's clusters of ``X``, one file that opens offline.

    Every argument is checked before any work, and the file is written under a temporary name and renamed
    into place, so an error or an interruption leaves no half-written page and no other file is touched.

    Parameters
    ----------
    model : fitted N2D
    X : array-like of shape (n_samples, n_features)
        The rows to show.
    y : array-like of shape (n_samples,), default=None
        Their true classes, if known: adds them to the hover, ACC/NMI/ARI and the cluster-by-class table.
    path : str or path-like, default="report.html"
        Where the page goes (``.html`` or ``.htm``).
    training_data : bool, default=False
        ``X`` is the data the model was fitted on: its clusters are then ``model.labels_`` and the
        probabilities the fit's own, instead of placing ``X`` again (``predict``).
    target_names : sequence of str, default=None
        Class names, indexed by the integer classes in ``y``.
    feature_names : sequence of str, default=None
        Column names of a table, for its hover and heatmap (default ``x0``, ``x1``, ...).
    image_shape : (int, int), None or False, default=None
        How a row is drawn as an image (height, width). None: rows with a square number of at least 64
        features are square images (MNIST's 784 = 28 x 28), others a table; False: always a table.
    max_points : int, default=100_000
        Most points on the map; above it the map shows a random sample (``random_state``) and says so. Sizes,
        summaries and scores always count every row.
    random_state : int, default=0
        Seeds the sample and the 2-D UMAP of the map (:func:`n2d.plotting.embed_2d`).
    source : str, default=None
        Where the data came from, for the settings table.
    title : str, default=None
        The page's title (default: "n2d report").
    overwrite : bool, default=False
        Replace an existing file at ``path``; without it an existing file is an error.

    Returns
    -------
    path : Path
        The page written.
    """
    from sklearn.utils.validation import check_is_fitted

    from n2d._util.files import atomic_path

    check_is_fitted(model, "labels_")
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[0] < 3:
        raise ValueError(f"X must be a 2-D array of at least 3 rows; got shape {X.shape}.")
    expected = getattr(model, "n_features_in_", X.shape[1])
    if X.shape[1] != expected:
        raise ValueError(f"X has {X.shape[1]} features, but the model was fitted on {expected}.")
    n = X.shape[0]
    if training_data and n != np.shape(model.labels_)[0]:
        raise ValueError(f"training_data=True, but X has {n} rows and the model was fitted on "
                         f"{np.shape(model.labels_)[0]}; pass the training data or training_data=False.")
    if y is not None and np.shape(y) != (n,):
        raise ValueError(f"y must have one class per row of X, shape ({n},); got shape {np.shape(y)}.")
    if feature_names is not None and len(feature_names) != X.shape[1]:
        raise ValueError(f"feature_names has {len(feature_names)} names for {X.shape[1]} features.")
    if isinstance(max_points, bool) or not isinstance(max_points, (int, np.integer)) or max_points < 3:
        raise ValueError(f"max_points must be an integer >= 3; got {max_points!r}.")
    shape = _check_image_shape(image_shape, X.shape[1])
    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        raise ValueError(f"The report is an HTML page: path must end in .html or .htm; got {str(path)!r}.")
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder; give the report's file name, e.g. {path / 'report.html'}.")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it, or another path.")
    _check_bokeh()

    from n2d.report._content import report_content
    from n2d.report._render import render_html

    content = report_content(
        model, X, y=y, training_data=training_data, image_shape=shape, feature_names=feature_names,
        target_names=target_names, max_points=int(max_points), random_state=random_state, source=source,
    )
    page = render_html(content, title or "n2d report")
    with atomic_path(path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return path
