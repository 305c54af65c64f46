"""Draw a :class:`~n2d.report._content.ReportContent` as one self-contained HTML page with Bokeh.

Bokeh, because its hover tooltips take HTML (so a point can show its image), its legends hide and show
glyphs on a click, it draws scatter plots with WebGL, and ``bokeh.resources.INLINE`` writes BokehJS into the
page itself: the file opens offline and asks no network address for anything.
"""

from __future__ import annotations

import html

import numpy as np

from n2d.report._content import ReportContent

MAP_SIZE = 720
"""Width and height of the map, in pixels."""

HOVER_ROWS = 3
"""Most points one hover describes, the nearest first: on a dense map many points lie under the pointer, and a
tooltip (with a thumbnail each) for every one of them would cover the map."""

WEBGL_MAP = '"output_backend":"webgl"'
"""How the map's WebGL setting reads in Bokeh's serialized document (the only figure drawn with WebGL): what
:data:`MAP_BACKEND` rewrites. Were Bokeh to write it otherwise, the map would stay on WebGL (a test watches)."""


def _palette(n: int) -> list[str]:
    from bokeh.palettes import Category10, Category20, Turbo256

    if n <= 10:
        return list(Category10[10][:n])
    if n <= 20:
        return list(Category20[20][:n])
    return [Turbo256[int(i)] for i in np.linspace(0, 255, n)]


def _map(c: ReportContent):
    from bokeh.models import ColumnDataSource, HoverTool
    from bokeh.plotting import figure

    fig = figure(
        width=MAP_SIZE, height=MAP_SIZE, output_backend="webgl", match_aspect=True,
        tools="pan,wheel_zoom,box_zoom,reset,save", active_scroll="wheel_zoom",
        title=f"Clusters: a 2-D UMAP of the code ({c.index.size:,} of {c.n_rows:,} points)",
    )
    fig.xaxis.visible = fig.yaxis.visible = False
    fig.grid.visible = False
    clusters = sorted(np.unique(c.cluster).tolist())
    colors = dict(zip(clusters, _palette(len(clusters))))
    size = 6 if c.index.size <= 2000 else 4 if c.index.size <= 20000 else 2.5
    renderers = []
    for k in clusters:
        rows = np.flatnonzero(c.cluster == k)
        data = {"x": c.xy[rows, 0], "y": c.xy[rows, 1], "row": c.index[rows], "cluster": c.cluster[rows]}
        if c.probability is not None:
            data["probability"] = np.round(c.probability[rows], 3)
        if c.true_class is not None:
            data["true_class"] = [c.true_class[i] for i in rows]
        if c.thumbnail is not None:
            data["thumbnail"] = [c.thumbnail[i] for i in rows]
        if c.hover_features is not None:
            data["features"] = [c.hover_features[i] for i in rows]
        label = "noise" if k == -1 else f"cluster {k} ({c.sizes.get(k, rows.size):,})"
        color = "#bbbbbb" if k == -1 else colors[k]
        renderers.append(fig.scatter("x", "y", source=ColumnDataSource(data), size=size, color=color, alpha=0.7,
                                     legend_label=label))
    fig.add_tools(HoverTool(renderers=renderers, tooltips=_tooltip(c), limit=HOVER_ROWS))
    fig.legend.click_policy = "hide"
    fig.legend.label_text_font_size = "8pt"
    fig.legend.location = "top_left"
    fig.add_layout(fig.legend[0], "right")
    return fig


def _tooltip(c: ReportContent) -> str:
    lines = ["<div>row <b>@row</b>, cluster <b>@cluster</b>"]
    if c.probability is not None:
        lines.append(" (probability @probability)")
    lines.append("</div>")
    if c.true_class is not None:
        lines.append("<div>true class <b>@true_class</b></div>")
    if c.thumbnail is not None:
        lines.append('<div><img src="@thumbnail" style="image-rendering: pixelated; width: 84px"></img></div>')
    if c.hover_features is not None:
        lines.append('<div style="max-width: 320px">@features</div>')
    return "".join(lines)


def _sizes(c: ReportContent):
    from bokeh.plotting import figure

    names = [("noise" if k == -1 else str(k)) for k in c.sizes]
    fig = figure(x_range=names, width=MAP_SIZE, height=240, title="Cluster sizes (rows)", tools="save",
                 toolbar_location=None)
    fig.vbar(x=names, top=list(c.sizes.values()), width=0.8, color="#4c72b0")
    fig.xaxis.axis_label = "cluster"
    return fig


def _mean_images(c: ReportContent):
    from bokeh.models import Div

    cells = "".join(
        f'<figure style="display:inline-block; margin:4px; text-align:center"><img src="{uri}" '
        f'style="image-rendering: pixelated; width:56px"><figcaption>{k} ({c.sizes[k]:,})</figcaption></figure>'
        for k, uri in c.cluster_images.items()
    )
    return Div(text=f"<h3>Mean image of each cluster</h3><div>{cells}</div>", width=MAP_SIZE)


def _heatmap(c: ReportContent):
    from bokeh.models import ColumnDataSource, LinearColorMapper
    from bokeh.palettes import RdBu11
    from bokeh.plotting import figure

    h = c.heatmap
    z = np.asarray(h["z"])
    xs, ys = np.meshgrid(np.arange(z.shape[1]), np.arange(z.shape[0]))
    src = ColumnDataSource({
        "feature": [h["features"][j] for j in xs.ravel()], "cluster": [h["clusters"][i] for i in ys.ravel()],
        "z": np.round(z.ravel(), 2),
    })
    limit = float(max(1.0, np.abs(z).max()))
    mapper = LinearColorMapper(palette=list(reversed(RdBu11)), low=-limit, high=limit)
    fig = figure(x_range=h["features"], y_range=list(reversed(h["clusters"])), width=MAP_SIZE,
                 height=22 * len(h["clusters"]) + 220,  # the rows, and room for the slanted feature names
                 title="Mean of each feature per cluster, in standard deviations from the feature's mean",
                 tools="hover,save", tooltips=[("cluster", "@cluster"), ("feature", "@feature"), ("mean", "@z sd")])
    fig.rect(x="feature", y="cluster", width=1, height=1, source=src, fill_color={"field": "z", "transform": mapper},
             line_color=None)
    fig.xaxis.major_label_orientation = 1.0
    return fig


def _scores(c: ReportContent):
    from bokeh.models import Div

    s = c.scores
    t = c.contingency
    head = "".join(f"<th>{html.escape(k)}</th>" for k in t["classes"])
    body = "".join(
        f"<tr><th>{html.escape(k)}</th>" + "".join(f"<td>{v}</td>" for v in row) + "</tr>"
        for k, row in zip(t["clusters"], np.asarray(t["counts"]).tolist())
    )
    text = (
        f"<h3>Against the known classes</h3><p>ACC <b>{s['acc']:.4f}</b> &nbsp; NMI <b>{s['nmi']:.4f}</b> "
        f"&nbsp; ARI <b>{s['ari']:.4f}</b></p><p>Rows per cluster (rows of the table) and class (columns):</p>"
        f'<table class="n2d-table"><tr><th>cluster \\ class</th>{head}</tr>{body}</table>'
    )
    return Div(text=text, width=MAP_SIZE)


def _k_curve(c: ReportContent):
    from bokeh.models import Span
    from bokeh.plotting import figure

    from n2d.cluster._select_k import describe_k_evidence

    k = c.k_search
    scores = [float("nan") if v is None else v for v in k["scores"]]
    fig = figure(width=MAP_SIZE, height=280, tools="hover,save", toolbar_location="right",
                 title=f"Choosing k: {k['criterion']} chose {k['chosen']} ({describe_k_evidence(k)})",
                 tooltips=[("k", "@x"), (k["criterion"], "@y")])
    fig.line(k["candidates"], scores, color="#4c72b0")
    fig.scatter(k["candidates"], scores, size=5, color="#4c72b0")
    fig.add_layout(Span(location=k["chosen"], dimension="height", line_color="#c44e52", line_dash="dashed"))
    fig.xaxis.axis_label = "k"
    fig.yaxis.axis_label = {"silhouette": "silhouette", "consensus": "votes at or below k"}.get(k["criterion"], "BIC")
    return fig


def _settings(c: ReportContent):
    from bokeh.models import Div

    rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in c.settings.items())
    return Div(text=f'<h3>The run</h3><table class="n2d-table">{rows}</table>', width=MAP_SIZE)


MAP_BACKEND = """<script>
(function () {
  // The map is drawn with WebGL where the browser's WebGL runs on a GPU. Where it is software (no GPU, a
  // virtual machine, a remote desktop), a 2-D canvas redraws the same points several times faster, so the
  // document is switched before BokehJS reads it. "#webgl" or "#canvas" at the end of the address chooses.
  var choice = location.hash.slice(1);
  if (choice !== "webgl" && choice !== "canvas") {
    var gl = document.createElement("canvas").getContext("webgl");
    var info = gl && gl.getExtension("WEBGL_debug_renderer_info");
    var renderer = info ? String(gl.getParameter(info.UNMASKED_RENDERER_WEBGL)) : "";
    choice = !gl || /swiftshader|llvmpipe|softpipe|software/i.test(renderer) ? "canvas" : "webgl";
    var lose = gl && gl.getExtension("WEBGL_lose_context");
    if (lose) lose.loseContext();
  }
  document.documentElement.setAttribute("data-n2d-map-backend", choice);
  if (choice === "canvas") {
    document.querySelectorAll('script[type="application/json"]').forEach(function (el) {
      el.textContent = el.textContent.replace('WEBGL_MAP', 'CANVAS_MAP');
    });
  }
})();
</script>""".replace("WEBGL_MAP", WEBGL_MAP).replace("CANVAS_MAP", WEBGL_MAP.replace("webgl", "canvas"))
"""Chooses how the map is drawn, in the browser that opens the page: it runs while the page is parsed, before
BokehJS reads the document (on DOMContentLoaded). ``report_time.py`` measures both ways."""

STYLE = (
    "<style>.n2d-table{border-collapse:collapse;font-size:12px}.n2d-table th,.n2d-table td{border:1px solid #ccc;"
    "padding:2px 6px;text-align:right}.n2d-table th{background:#f4f4f4;text-align:left}</style>"
)


def render_html(c: ReportContent, title: str) -> str:
    """The page: the map and its legend, cluster sizes, the per-cluster summary, scores, the k search, the run."""
    from bokeh.embed import file_html
    from bokeh.layouts import column
    from bokeh.models import Div
    from bokeh.resources import INLINE

    sample = ""
    if c.index.size < c.n_rows:
        sample = (f"<p>The map shows a seeded random sample of {c.index.size:,} of the {c.n_rows:,} rows; sizes, "
                  "summaries and scores count every row.</p>")
    parts = [Div(text=f"{STYLE}<h2>{html.escape(title)}</h2>{sample}", width=MAP_SIZE), _map(c), _sizes(c)]
    if c.cluster_images is not None:
        parts.append(_mean_images(c))
    if c.heatmap is not None:
        parts.append(_heatmap(c))
    if c.scores is not None:
        parts.append(_scores(c))
    if c.k_search is not None:
        parts.append(_k_curve(c))
    parts.append(_settings(c))
    page = file_html(column(*parts), resources=INLINE, title=title)
    end = page.rindex("</body>")  # the last one: BokehJS's source holds the string too
    return page[:end] + MAP_BACKEND + page[end:]
