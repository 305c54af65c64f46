"""CPU: is n2d's default manifold + clusterer stage as fast as umap-learn + scikit-learn?

On the same autoencoder codes it times

- "plain": ``umap.UMAP(n_components=k, n_neighbors=20, min_dist=0)`` (unseeded,
  all cores) then ``GaussianMixture(k, covariance_type="full")`` (one start, as
  the paper's code), and
- "n2d": ``N2D(k, autoencoder=None)`` with its defaults on the same codes, on
  the CPU: the torch UMAP and a full scikit-learn GMM with 10 starts (best by
  likelihood), unseeded,

alternating plain / n2d ``--repeats`` times so that background load hits both
alike, and prints the median seconds of each and ACC/NMI. umap-learn's import
and numba compilation, which every fresh process that uses umap-learn pays
once, is timed first on its own and added once to each side that uses
umap-learn ("first fit" columns): the plain side, and n2d only if its manifold
is umap-learn.

The codes are those of ``N2D(random_state=0)``'s autoencoder at ``--epochs``,
taken from the weight cache when present (e.g. after ``n2d reproduce``).

    python benchmarks/cpu_stages.py --datasets pendigits,mnist-test --repeats 3
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import time
from pathlib import Path

import torch

from _common import default_data_dir, hardware  # benchmarks/_common.py (scripts run from this folder's path)
from speed import umap_compile_seconds

RESULTS = Path(__file__).resolve().parent / "results"


def codes_of(name: str, data_dir, epochs: int):
    import n2d
    from n2d.autoencoder import Autoencoder
    from n2d.estimator import stage_seeds

    ds = n2d.load_dataset(name, data_home=data_dir)
    ae = Autoencoder(n_components=ds.n_clusters, epochs=epochs, random_state=stage_seeds(0)[0], device="cpu", verbose=0)
    return ae.fit_transform(ds.x), ds.y, ds.n_clusters


def plain(codes, k: int):
    import umap
    from sklearn.mixture import GaussianMixture

    emb = umap.UMAP(n_components=k, n_neighbors=20, min_dist=0.0).fit_transform(codes)
    return GaussianMixture(k, covariance_type="full").fit_predict(emb)


def ours(codes, k: int):
    from n2d import N2D

    model = N2D(k, autoencoder=None, device="cpu", verbose=0).fit(codes)
    ours.manifold = type(model.manifold_).__name__
    return model.labels_


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", default="pendigits,mnist-test")
    ap.add_argument("--epochs", type=int, default=50, help="autoencoder epochs of the codes (default 50)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--data-dir", default=default_data_dir())
    ap.add_argument("--out", default=None, help="JSON file (default benchmarks/results/cpu-stages-<UTC time>.json)")
    args = ap.parse_args()

    from n2d.metrics import evaluate

    threads = torch.get_num_threads()
    compile_s = umap_compile_seconds()
    torch.set_num_threads(threads)
    print(f"umap-learn import + numba compilation: {compile_s:.1f} s", flush=True)
    rows = []
    for name in args.datasets.split(","):
        codes, y, k = codes_of(name, args.data_dir, args.epochs)
        times = {"plain": [], "n2d": []}
        scores = {"plain": [], "n2d": []}
        for rep in range(args.repeats):
            for side, fn in (("plain", plain), ("n2d", ours)):
                t0 = time.perf_counter()
                labels = fn(codes, k)
                times[side].append(time.perf_counter() - t0)
                torch.set_num_threads(threads)  # umap-learn's numba resets torch's OpenMP threads
                scores[side].append(evaluate(y, labels))
                print(f"{name} {side:5s} run {rep}: {times[side][-1]:6.1f} s  ACC {scores[side][-1]['acc']:.3f}",
                      flush=True)
        row = {"dataset": name, "n_samples": int(codes.shape[0]), "n_clusters": k, "seconds": times, "scores": scores}
        row["median_s"] = {side: statistics.median(v) for side, v in times.items()}
        row["n2d_manifold"] = ours.manifold
        compiles = {"plain": compile_s, "n2d": compile_s if ours.manifold == "UMAP" else 0.0}
        row["first_fit_s"] = {side: row["median_s"][side] + compiles[side] for side in times}
        row["ratio_n2d_over_plain"] = row["median_s"]["n2d"] / row["median_s"]["plain"]
        row["first_fit_ratio_n2d_over_plain"] = row["first_fit_s"]["n2d"] / row["first_fit_s"]["plain"]
        rows.append(row)
    print(f"\n{'dataset':12s} {'plain s':>8s} {'n2d s':>8s} {'first fit: plain':>17s} {'n2d':>6s} {'ratio':>6s} "
          f"{'plain ACC':>10s} {'n2d ACC':>8s}")
    for r in rows:
        acc = {side: statistics.mean(s["acc"] for s in v) for side, v in r["scores"].items()}
        print(f"{r['dataset']:12s} {r['median_s']['plain']:8.1f} {r['median_s']['n2d']:8.1f} "
              f"{r['first_fit_s']['plain']:17.1f} {r['first_fit_s']['n2d']:6.1f} "
              f"{r['first_fit_ratio_n2d_over_plain']:6.2f} {acc['plain']:10.3f} {acc['n2d']:8.3f}")
    print(f"(medians of {args.repeats} alternating runs; first fit adds the {compile_s:.1f} s umap-learn compilation "
          "to each side that uses umap-learn; n2d's manifold: "
          + ", ".join(sorted({r['n2d_manifold'] for r in rows})) + ")")
    hw = hardware()
    print("hardware:", json.dumps(hw))
    now = dt.datetime.now(dt.timezone.utc)
    out = Path(args.out) if args.out else RESULTS / f"cpu-stages-{now.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    record = {"command": " ".join(sys.argv), "date": now.isoformat(timespec="seconds"),
              "umap_compile_seconds": compile_s, "rows": rows, "hardware": hw}
    out.write_text(json.dumps(record, indent=1))
    print("wrote", out)


if __name__ == "__main__":
    main()
