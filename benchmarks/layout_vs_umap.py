"""n2d's torch UMAP layout against umap-learn's numba layout, on the same fuzzy graph and the same start.

Issue 29's target: the torch layout's time at most umap-learn's *warm* layout (numba's compilation excluded,
as in a notebook's second fit), at equal trustworthiness (+- .002), on pendigits and on MNIST-sized data.

For each dataset the input is the data reduced by PCA to 10 dimensions (a stand-in for N2D's 10-wide code:
the same size and graph scale, with no autoencoder to train). n2d builds the fuzzy graph (20 exact
neighbours, ``min_dist=0``, umap-learn's edge cut) and the spectral start once; then, alternating seed by seed
in this one process:

- ``torch``: :func:`n2d.manifold._layout.optimize_layout`, one torch thread, as ``TorchUMAP`` runs it;
- ``umap-learn``: ``umap.layouts.optimize_layout_euclidean`` (``parallel=False``, what a seeded umap-learn
  runs), on the same edges, weights, start, epochs and a, b; compiled beforehand by a 2-epoch call on a small
  graph, whose time is reported as ``compile`` (the cost a fresh process pays once).

Each layout is scored by trustworthiness (10 neighbours, on a fixed sample of 5,000 points) and by the
ACC/NMI of a 10-start full-covariance Gaussian mixture with the true k. The script prints medians over the
seeds, the hardware and the load, and writes JSON.

    python benchmarks/layout_vs_umap.py --datasets pendigits,mnist --seeds 0,1,2 \\
        --out benchmarks/results/layout-vs-umap-cpu.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import warnings

import numpy as np
import torch

from _common import default_data_dir, hardware  # benchmarks/_common.py
from bench_umap import score  # benchmarks/bench_umap.py: ACC, NMI and trustworthiness of one embedding


def fuzzy_graph(x: np.ndarray, n_epochs: int):
    """n2d's fuzzy graph of ``x`` (as ``TorchUMAP.fit`` builds it) and its spectral start, on the CPU."""
    from n2d.manifold._graph import find_ab_params, membership_graph, sampled_edges
    from n2d.manifold._knn import knn
    from n2d.manifold._layout import _rescale, spectral_init

    dists, indices = knn(torch.from_numpy(x), 20)
    rows, cols, weights, graph = sampled_edges(membership_graph(indices, dists, 20.0, 1.0), n_epochs)
    start = _rescale(spectral_init(graph, 10, torch.Generator().manual_seed(0), data=x))
    a, b = find_ab_params(1.0, 0.0)
    return rows, cols, weights, start, float(a), float(b)


def torch_layout(rows, cols, weights, start, n_epochs, a, b, seed) -> np.ndarray:
    from n2d._util.threads import torch_threads
    from n2d.manifold._layout import optimize_layout
    from n2d.manifold._torch_umap import _LAYOUT_CONCURRENCY

    emb = start.clone()
    with torch_threads(1):
        optimize_layout(emb, emb, rows, cols, weights, n_epochs, a, b, torch.Generator().manual_seed(seed),
                        concurrency=_LAYOUT_CONCURRENCY)
    return emb.numpy()


def umap_learn_layout(rows, cols, weights, start, n_epochs, a, b, seed) -> np.ndarray:
    from umap.layouts import optimize_layout_euclidean
    from umap.umap_ import make_epochs_per_sample

    emb = start.numpy().astype(np.float32, copy=True)
    w = weights.numpy().astype(np.float32)
    rng_state = np.random.RandomState(seed).randint(np.iinfo(np.int32).min + 1, np.iinfo(np.int32).max - 1, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return optimize_layout_euclidean(
            emb, emb, rows.numpy().astype(np.int32), cols.numpy().astype(np.int32), n_epochs, emb.shape[0],
            make_epochs_per_sample(w, n_epochs), a, b, rng_state.astype(np.int64), 1.0, 1.0, 5.0,
            parallel=False, verbose=False, move_other=True,
        )


def load(name: str, data_dir):
    from sklearn.decomposition import PCA

    from n2d import load_dataset

    ds = load_dataset(name, data_home=data_dir, download=False)
    x = PCA(10, random_state=0).fit_transform(ds.x.reshape(len(ds.x), -1))
    return np.ascontiguousarray(x, dtype=np.float32), ds.y, ds.n_clusters


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--datasets", default="pendigits,mnist")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--n-epochs", type=int, default=None, help="default: TorchUMAP's (500 up to 10,000 rows, else 200)")
    ap.add_argument("--data-dir", default=default_data_dir())
    ap.add_argument("--out", default=None, help="write the figures to this JSON file")
    args = ap.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    load_before = os.getloadavg()

    t0 = time.perf_counter()  # numba's compilation, once per process, on a small graph
    small = np.random.default_rng(0).normal(size=(500, 10)).astype(np.float32)
    umap_learn_layout(*fuzzy_graph(small, 2)[:4], 2, 1.577, 0.895, 0)
    compile_s = time.perf_counter() - t0
    print(f"umap-learn layout compilation (first call in the process): {compile_s:.1f} s")

    records = []
    for name in args.datasets.split(","):
        x, y, k = load(name, args.data_dir)
        n_epochs = args.n_epochs or (500 if len(x) <= 10000 else 200)
        rows, cols, weights, start, a, b = fuzzy_graph(x, n_epochs)
        runs = {"torch": [], "umap-learn": []}
        for seed in seeds:
            for method, layout in (("torch", torch_layout), ("umap-learn", umap_learn_layout)):
                t0 = time.perf_counter()
                emb = layout(rows, cols, weights, start, n_epochs, a, b, seed)
                seconds = time.perf_counter() - t0
                acc, nmi, trust = score(x, y, emb, k, 10, 5000)
                runs[method].append({"seed": seed, "seconds": seconds, "acc": acc, "nmi": nmi, "trust": trust})
                print(f"{name:10s} {method:10s} seed {seed}: {seconds:6.1f} s  ACC {acc:.4f}  NMI {nmi:.4f}  "
                      f"trust {trust:.4f}", flush=True)
        summary = {m: {f: statistics.median(r[f] for r in rs) for f in ("seconds", "acc", "nmi", "trust")}
                   for m, rs in runs.items()}
        ratio = summary["torch"]["seconds"] / summary["umap-learn"]["seconds"]
        print(f"{name}: {len(x)} points, {weights.numel()} edges, {n_epochs} epochs; median torch "
              f"{summary['torch']['seconds']:.1f} s, umap-learn warm {summary['umap-learn']['seconds']:.1f} s "
              f"(torch / umap-learn = {ratio:.2f}); trust {summary['torch']['trust']:.4f} vs "
              f"{summary['umap-learn']['trust']:.4f}")
        records.append({"dataset": name, "n": len(x), "edges": int(weights.numel()), "n_epochs": n_epochs,
                        "runs": runs, "median": summary, "torch_over_umap_learn": ratio})
    env = hardware(load_average_before=load_before)
    print(f"CPU: {env['cpu']} ({env['cores']} cores); load average before {load_before}, after {env['load_average']}")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"umap_learn_compile_seconds": compile_s, "datasets": records, "environment": env}, f, indent=1)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
