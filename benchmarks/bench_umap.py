"""Compare umap-learn (n2d.manifold.UMAP) with n2d's TorchUMAP on autoencoder codes.

For each dataset an n2d Autoencoder (paper architecture, seed 0) is trained for
--epochs epochs; both UMAPs then embed the same codes with N2D's settings
(n_components = n_clusters, n_neighbors=20, min_dist=0) for every seed, and a
full-covariance GaussianMixture clusters each embedding. Printed per fit:
seconds, ACC/NMI of the mixture against the labels, and trustworthiness
(n_neighbors=10, on --trust-sample points); then mean and spread per method, and
the hardware.

umap-learn's first fit in the process is reported separately ("first"): it
includes importing umap-learn and numba's compilation, which every fresh
process pays. A seeded umap-learn runs single-threaded (umap-learn's rule), so
the fair CPU comparison is TorchUMAP with --threads 1. umap-learn's parallel
numba code resets the OpenMP thread count that torch shares, so the torch
thread count is re-applied before every TorchUMAP fit.

    python benchmarks/bench_umap.py --datasets pendigits --threads 1
    python benchmarks/bench_umap.py --datasets pendigits,mnist-test --epochs 30 --seeds 0,1,2
    python benchmarks/bench_umap.py --device cuda --datasets pendigits,mnist-test,mnist
    python benchmarks/bench_umap.py --methods torch --subset 3000      # quick look
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from _common import default_data_dir, hardware  # benchmarks/_common.py (scripts run from this folder's path)


def load_codes(name: str, data_home, epochs: int, subset, device: str, threads):
    import torch

    import n2d
    from n2d.autoencoder import Autoencoder

    ds = n2d.load_dataset(name, data_home=data_home)
    x, y = ds.x, ds.y
    if subset and subset < len(x):
        idx = np.random.RandomState(0).permutation(len(x))[:subset]
        x, y = x[idx], y[idx]
    if threads:
        torch.set_num_threads(threads)
    from n2d.estimator import stage_seeds

    t0 = time.perf_counter()
    # The autoencoder N2D(random_state=0) trains, from the weight cache when present (e.g. after
    # `n2d reproduce`), so the comparison runs on exactly the codes of the N2D pipeline.
    ae = Autoencoder(n_components=ds.n_clusters, epochs=epochs, random_state=stage_seeds(0)[0], device=device,
                     verbose=0)
    codes = ae.fit_transform(x)
    return codes, y, ds.n_clusters, time.perf_counter() - t0


def score(codes, labels, embedding, n_clusters, n_init, trust_sample):
    from sklearn.manifold import trustworthiness
    from sklearn.mixture import GaussianMixture

    from n2d.metrics import cluster_acc, nmi

    pred = GaussianMixture(n_clusters, covariance_type="full", n_init=n_init, random_state=0).fit_predict(embedding)
    idx = np.arange(len(codes))
    if trust_sample and trust_sample < len(codes):
        idx = np.random.RandomState(0).permutation(len(codes))[:trust_sample]
    trust = trustworthiness(codes[idx], embedding[idx], n_neighbors=10)
    return cluster_acc(labels, pred), nmi(labels, pred), trust


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", default="pendigits,mnist-test", help="comma list of n2d dataset names")
    ap.add_argument("--data-home", default=default_data_dir())
    ap.add_argument("--epochs", type=int, default=50, help="autoencoder epochs (default 50, reproduce's CPU setting)")
    ap.add_argument("--seeds", default="0,1,2", help="comma list of UMAP seeds (at least 3 recommended)")
    ap.add_argument("--methods", default="umap-learn,torch", help="comma list of: umap-learn, torch")
    ap.add_argument("--device", default="cpu", help="TorchUMAP (and autoencoder) device: cpu, cuda, auto")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (re-applied before each torch fit)")
    ap.add_argument("--subset", type=int, default=None, help="use this many points of each dataset")
    ap.add_argument("--gmm-n-init", type=int, default=10, help="GMM restarts (default 10, as N2D)")
    ap.add_argument("--trust-sample", type=int, default=5000, help="points used for trustworthiness (0: all)")
    ap.add_argument("--json", default=None, help="also write all rows as JSON to this file")
    args = ap.parse_args()

    import torch

    from n2d.manifold import UMAP, TorchUMAP

    seeds = [int(s) for s in args.seeds.split(",")]
    methods = args.methods.split(",")
    hw = hardware(device_requested=args.device, threads_requested=args.threads)
    print("hardware:", json.dumps(hw), flush=True)
    rows = []
    first_umap = True
    first_torch = True
    for name in args.datasets.split(","):
        codes, y, k, ae_s = load_codes(name, args.data_home, args.epochs, args.subset, args.device, args.threads)
        print(
            f"\n== {name}: {codes.shape[0]} x {codes.shape[1]} codes (autoencoder {args.epochs} epochs, "
            f"{ae_s:.1f} s), {k} clusters",
            flush=True,
        )
        for method in methods:
            for seed in seeds:
                if method == "umap-learn":
                    first = first_umap
                    first_umap = False
                    t0 = time.perf_counter()
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        emb = UMAP(n_components=k, random_state=seed).fit_transform(codes)
                    secs, stages = time.perf_counter() - t0, None
                elif method == "torch":
                    first = first_torch
                    first_torch = False
                    if args.threads:
                        torch.set_num_threads(args.threads)
                    t0 = time.perf_counter()
                    model = TorchUMAP(n_components=k, random_state=seed, device=args.device).fit(codes)
                    emb = model.embedding_
                    secs, stages = time.perf_counter() - t0, model.timings_
                else:
                    sys.exit(f"unknown method {method!r}")
                acc, nmi_, trust = score(codes, y, emb, k, args.gmm_n_init, args.trust_sample)
                row = {
                    "dataset": name,
                    "method": method,
                    "seed": seed,
                    "seconds": secs,
                    "first_call": first,
                    "acc": acc,
                    "nmi": nmi_,
                    "trust": trust,
                    "stages": stages,
                    "n": int(codes.shape[0]),
                }
                rows.append(row)
                extra = " (first call: imports + numba compilation)" if first and method == "umap-learn" else ""
                extra = extra or (" (first call)" if first else "")
                st = "" if not stages else "  [" + ", ".join(f"{s} {v:.2f}" for s, v in stages.items()) + "]"
                print(
                    f"{method:10s} seed {seed}: {secs:7.2f} s  ACC {acc:.4f}  NMI {nmi_:.4f}  "
                    f"trust {trust:.4f}{extra}{st}",
                    flush=True,
                )

    print("\n== summary (mean ± std over seeds; seconds exclude first calls where a later one exists)")
    print(f"{'dataset':12s} {'method':10s} {'fit s':>14s} {'first s':>8s} {'ACC':>15s} {'NMI':>15s} {'trust':>15s}")
    for name in args.datasets.split(","):
        for method in methods:
            r = [row for row in rows if row["dataset"] == name and row["method"] == method]
            if not r:
                continue
            warm = [row["seconds"] for row in r if not row["first_call"]] or [row["seconds"] for row in r]
            first = [row["seconds"] for row in r if row["first_call"]]

            def ms(key, r=r):
                v = np.array([row[key] for row in r])
                return f"{v.mean():.4f} ± {v.std():.4f}"

            print(
                f"{name:12s} {method:10s} {np.mean(warm):7.2f} ± {np.std(warm):4.2f} "
                f"{(f'{first[0]:.2f}' if first else '-'):>8s} {ms('acc'):>15s} {ms('nmi'):>15s} {ms('trust'):>15s}"
            )
    if args.json:
        Path(args.json).write_text(json.dumps({"hardware": hw, "args": vars(args), "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
