"""
Choosing the number of clusters
===============================

With ``n_clusters="auto"`` N2D estimates the number of clusters without
labels: the autoencoder and UMAP run once (10 dimensions), only the clusterer
is refit for every candidate k, and the criterion picks one. For the default
Gaussian mixture the criterion is a consensus: the median of the knee of the
mixture's BIC curve, two votes of the autoencoder code's neighbour graph and
the number of clusters HDBSCAN finds in the embedding.
:func:`n2d.plotting.plot_k_scores` draws the BIC curve with each answer and
the chosen k marked.
"""

# %%
import numpy as np

from n2d import N2D, evaluate, load_dataset
from n2d.plotting import plot_k_scores

ds = load_dataset("pendigits")
rows = np.random.default_rng(0).choice(len(ds.x), size=3000, replace=False)
x, y = ds.x[rows], ds.y[rows]

# %%
# Search k in 2..20. The autoencoder here has the same data, settings and seed
# as the one in :doc:`plot_clusters_vs_classes`, so when both examples run in one
# process it comes from the weight cache instead of being trained again.
model = N2D(n_clusters="auto", k_range=(2, 20), epochs=20, random_state=0, verbose=0).fit(x)
print("chosen k:", model.n_clusters_, "by", model.k_criterion_, "(true: 10 digits)")
print("autoencoder:", model.autoencoder_sources_[0])
print({name: round(value, 3) for name, value in evaluate(y, model.labels_).items()})

# %%
# The mixture's BIC for every candidate (lower is better); the knee is the
# candidate farthest below the straight line between the curve's ends. The
# dotted lines are the four answers, the dashed red line their (upper) median.
fig = plot_k_scores(model)

# %%
# On this small, briefly trained sample the votes need not fall on the 10
# digits, and where they disagree each is worth a look (``model.k_evidence_``).
# How often the criteria find the true k on the full datasets is measured in
# :doc:`/guide/own_data` ("How well it works today"): treat ``"auto"`` as a
# starting point and look at this curve.
