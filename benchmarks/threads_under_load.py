"""The clusterer stage with and without n2d's thread limit, on a quiet and on a busy machine.

N2D clusters a narrow embedding (``n_clusters`` columns), where several BLAS or
OpenMP threads gain nothing and, when another process holds the cores, spin at
barriers. This times, in one process, on the same data:

- ``before``: the stage as scikit-learn runs it by default (every BLAS/OpenMP
  thread the machine has);
- ``after``: the same call inside :func:`n2d._util.threads.narrow_work_limits`
  (what :func:`n2d.cluster.fit_predict` and ``N2D.predict`` do);

for scikit-learn's 10-start full-covariance ``GaussianMixture`` (N2D's default
clusterer) and 10-start ``KMeans``; and n2d's torch UMAP stage as N2D runs it
(no before/after: its layout already runs on one thread), first on the quiet machine, then while
``--burners`` processes (default: one per core) keep every core busy. The two
sides alternate, ``--repeats`` times; medians are printed with the hardware and
written as JSON to ``benchmarks/results/threads-under-load.json``.

    python benchmarks/threads_under_load.py
    python benchmarks/threads_under_load.py --n 70000 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import hardware  # noqa: E402
from n2d._util.threads import narrow_work_limits  # noqa: E402


def _burn(stop):
    x = 0.0
    while not stop.is_set():
        for i in range(100_000):
            x += i * 0.5


def _stages(k):
    from sklearn.cluster import KMeans
    from sklearn.mixture import GaussianMixture

    return {
        "GaussianMixture(n_init=10)": lambda: GaussianMixture(k, covariance_type="full", n_init=10, random_state=0),
        "KMeans(n_init=10)": lambda: KMeans(k, n_init=10, random_state=0),
    }


def _time(make, x, limited):
    t0 = time.perf_counter()
    if limited:
        with narrow_work_limits(x.shape[1]):
            make().fit_predict(x)
    else:
        make().fit_predict(x)
    return time.perf_counter() - t0


def measure(x, k, repeats):
    out = {}
    for name, make in _stages(k).items():
        times = {"before": [], "after": []}
        for _ in range(repeats):
            times["before"].append(_time(make, x, False))
            times["after"].append(_time(make, x, True))
        out[name] = {side: statistics.median(v) for side, v in times.items()}
        out[name]["all"] = times
    return out


def measure_umap(x, k, repeats):
    """n2d's torch UMAP stage as N2D runs it (its own thread policy), seconds per fit."""
    from n2d import TorchUMAP

    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        TorchUMAP(n_components=k, random_state=0, device="cpu").fit(x)
        times.append(time.perf_counter() - t0)
    return {"median": statistics.median(times), "all": times}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=10_000, help="points (default 10,000, a paper dataset's size)")
    ap.add_argument("--k", type=int, default=10, help="clusters and embedding width (default 10)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--burners", type=int, default=os.cpu_count())
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    from sklearn.datasets import make_blobs
    from threadpoolctl import threadpool_info

    x, _ = make_blobs(args.n, n_features=args.k, centers=args.k, cluster_std=2.0, random_state=0)
    x = x.astype(np.float32)
    pools = [(m["internal_api"], m["num_threads"]) for m in threadpool_info()]
    result = {"n": args.n, "k": args.k, "repeats": args.repeats, "burners": args.burners, "thread_pools": pools}
    result["hardware_quiet"] = hardware()
    print(f"{args.n} x {args.k} blobs; thread pools {pools}")
    result["quiet"] = measure(x, args.k, args.repeats)
    result["umap_quiet"] = measure_umap(x, args.k, args.repeats)
    stop = mp.Event()
    procs = [mp.Process(target=_burn, args=(stop,), daemon=True) for _ in range(args.burners)]
    for p in procs:
        p.start()
    time.sleep(2.0)
    try:
        result["hardware_busy"] = hardware()
        result["busy"] = measure(x, args.k, args.repeats)
        result["umap_busy"] = measure_umap(x, args.k, args.repeats)
    finally:
        stop.set()
        for p in procs:
            p.join(timeout=5)
    print(f"{'stage':28s} {'machine':7s} {'before s':>9s} {'after s':>8s} {'before/after':>13s}")
    for cond in ("quiet", "busy"):
        for name, r in result[cond].items():
            print(f"{name:28s} {cond:7s} {r['before']:9.2f} {r['after']:8.2f} {r['before'] / r['after']:12.1f}x")
    q, b = result["umap_quiet"]["median"], result["umap_busy"]["median"]
    print(f"{'TorchUMAP (n2d default)':28s} quiet {q:.2f} s, busy {b:.2f} s: busy / quiet = {b / q:.1f}x")
    hw = result["hardware_quiet"]
    print(f"hardware: {hw['cpu']}, {hw['cores']} cores; load average before: {hw['load_average']}, "
          f"while busy: {result['hardware_busy']['load_average']} ({args.burners} burner processes)")
    out = Path(args.out or Path(__file__).resolve().parent / "results" / "threads-under-load.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
