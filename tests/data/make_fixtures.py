"""Make the fixtures that pin behaviour across refactors (run once, from the commit named in README.txt).

- ``saved-models/<name>/``: small models saved by that commit's ``N2D.save``, one per class path a
  manifest of that release could name (torch UMAP, umap-learn's UMAP, scikit-learn's and the torch
  mixture, HDBSCAN), with ``predictions.npz``: the rows they were fitted on, ``predict`` of new rows and,
  where the clusterer has one, ``predict_proba``. ``tests/persistence/test_saved_by_older.py`` loads
  them and checks identical predictions.
- ``pendigits-seed0.npz``: the labels of the seeded default fit on pendigits, with the CPU it ran on
  (``tests/test_layout.py`` repeats the fit and checks bit-identical labels on the same kind of CPU).

Usage: ``python tests/data/make_fixtures.py`` (overwrites the fixtures).
"""

from __future__ import annotations

import json
import platform
import subprocess
from pathlib import Path

import numpy as np
import torch

import n2d
from n2d import N2D, TorchGaussianMixture, load_dataset
from n2d.manifold import UMAP

HERE = Path(__file__).resolve().parent


def cpu_signature() -> dict:
    from n2d._hardware import cpu_capabilities  # noqa: PLC0415  (the path of the commit that wrote them)

    caps = cpu_capabilities()
    return {
        "machine": platform.machine(),
        "flags": sorted(k for k, v in caps.items() if v is True),
        "torch": torch.__version__,
    }


def main() -> None:
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=HERE).stdout.strip()
    ds = load_dataset("pendigits")
    rng = np.random.RandomState(0)
    rows = rng.permutation(ds.x.shape[0])
    fit_x, new_x = ds.x[rows[:400]], ds.x[rows[400:500]]
    small = dict(n_clusters=4, hidden_dims=(16, 16, 32), epochs=2, random_state=0, verbose=0)
    models = {
        "torch-umap-gmm": N2D(**small),
        "umap-learn-gmm": N2D(manifold=UMAP(n_neighbors=10), **small),
        "torch-gmm": N2D(clusterer=TorchGaussianMixture(n_init=2, device="cpu"), **small),
        "hdbscan": N2D(clusterer="hdbscan", **small),
        "auto-k": N2D(**{**small, "n_clusters": "auto"}, k_range=(2, 6)),
    }
    out = HERE / "saved-models"
    for name, model in models.items():
        labels = model.fit_predict(fit_x)
        model.save(out / name)
        arrays = {"fit_x": fit_x, "new_x": new_x, "labels": labels, "predict": model.predict(new_x)}
        if hasattr(model.clusterer_, "predict_proba"):
            arrays["predict_proba"] = model.predict_proba(new_x)
        np.savez(out / name / "predictions.npz", **arrays)
    (out / "README.txt").write_text(
        f"Saved by n2d {n2d.__version__} at commit {commit} with tests/data/make_fixtures.py.\n"
        "Do not regenerate: these files stand for models users saved with that release.\n"
    )
    labels = N2D(n_clusters=10, random_state=0, verbose=0).fit_predict(ds.x)
    np.savez(HERE / "pendigits-seed0.npz", labels=labels)
    (HERE / "pendigits-seed0.json").write_text(
        json.dumps({"commit": commit, "n2d": n2d.__version__, "cpu": cpu_signature(),
                    "call": "N2D(n_clusters=10, random_state=0).fit_predict(load_dataset('pendigits').x)"},
                   indent=1) + "\n"
    )


if __name__ == "__main__":
    main()
