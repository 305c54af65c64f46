"""
Predicted clusters beside the true classes
==========================================

Fit N2D on pen-written digits and draw the clusters it found next to the true
digits with :func:`n2d.plotting.plot_model`. Both panels show the same 2-D
UMAP of the autoencoded data; each cluster is drawn in the colour of the class
it is matched to, so disagreements stand out.
"""

# %%
# Data: part of the embedded pendigits set (16 features, scaled to [0, 1]).
import numpy as np

from n2d import N2D, evaluate, load_dataset
from n2d.plotting import plot_model

ds = load_dataset("pendigits")
rows = np.random.default_rng(0).choice(len(ds.x), size=3000, replace=False)
x, y = ds.x[rows], ds.y[rows]
print(ds, "->", x.shape)

# %%
# Fit. ``epochs=20`` keeps the docs build short; the default, ``"auto"``,
# trains for 673 optimizer steps on 3,000 rows of 16 features (2,000 on the paper's 10,000-row sets).
model = N2D(n_clusters=ds.n_clusters, epochs=20, random_state=0, verbose=0)
labels = model.fit_predict(x)
print({name: round(value, 3) for name, value in evaluate(y, labels).items()})
print({stage: f"{seconds:.1f} s" for stage, seconds in model.timings_.items()})

# %%
# Plot. ``labels=model.labels_`` shows exactly the clusters ``fit`` found
# (without it, ``plot_model`` predicts ``x`` again). ``path="clusters.png"``
# would also save the figure.
fig = plot_model(model, x, y, labels=model.labels_, target_names=ds.target_names)
