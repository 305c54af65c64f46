"""
An interactive report of the clusters
=====================================

:func:`n2d.report.write_report` writes one HTML page that opens in any browser,
offline: the map of the points coloured by cluster (pan, zoom, click a legend
entry to hide a cluster, hover a point for its row, cluster, probability, true
class and, for images, a thumbnail), the cluster sizes, per-cluster summaries,
the scores against the classes and the run's settings. ``n2d cluster DATA
--report`` writes the same page into its output folder.

The report this example builds is part of this site:
`open the pendigits report <../_static/reports/pendigits-report.html>`_.
"""

# %%
from pathlib import Path

import numpy as np

from n2d import N2D, load_dataset
from n2d.report import write_report

ds = load_dataset("pendigits")
rows = np.random.default_rng(0).choice(len(ds.x), size=3000, replace=False)
x, y = ds.x[rows], ds.y[rows]

# %%
# The same data, settings and seed as :doc:`plot_clusters_vs_classes`, so the
# autoencoder comes from the weight cache when both examples run in one process.
model = N2D(n_clusters=ds.n_clusters, epochs=20, random_state=0, verbose=0).fit(x)

# %%
# pendigits rows are 8 pen positions (x, y), not pixels, so the report treats
# them as a table: hovering a point shows its three most distinctive columns,
# and a heatmap shows each cluster's mean of every column.
here = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
page = write_report(
    model, x, y, path=here.parent / "_static" / "reports" / "pendigits-report.html", training_data=True,
    feature_names=[f"{axis}{i}" for i in range(8) for axis in "xy"], target_names=ds.target_names,
    source="pendigits, 3,000 rows", title="n2d on pendigits (3,000 rows)", overwrite=True,
)
print(f"wrote {page.name}: {page.stat().st_size / 1e6:.1f} MB")
