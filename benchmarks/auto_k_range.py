"""Which candidates should ``n_clusters="auto")`` search, and which criterion should choose among them? (issue 28)

The default ``k_range`` is (2, 30): a set with 40 classes cannot be answered. Before choosing a range that grows
with the rows, this study records, once per dataset and seed, every candidate's scores on a range wide enough
for any rule considered, so that the rules can be compared offline on the same fits:

1. the auto mode's embedding (``N2D(n_clusters="auto")``: code and UMAP width 10), from a fit whose own search is
   cut to (2, 3) (only its embedding is used);
2. :func:`n2d.cluster._select_k.search_k` on that embedding for every k in 2..``wide(n)``, exactly as the
   estimator runs it (the full-covariance GMM, one start per candidate, a 4,000-point sample), keeping every
   candidate's labels: per k, BIC, ICL, silhouette, the seconds of the candidate, and the NMI of its labels
   against the classes on the sample (labels only score);
3. HDBSCAN's cluster count on the same embedding (n2d's ``"hdbscan"`` stage), another candidate criterion.

``wide(n) = max(30, min(n // 8, 120))``. One JSON line per (dataset, seed) goes to ``--out``; ``--summarize``
reads them and scores range rules x criteria: the share of (set, seed) whose chosen k is within max(1, 20%) of
the true k and within 35%, the mean NMI at the chosen k, and the search seconds. Sets: the public panel
(``benchmarks/panel_data.py``) and three paper sets.

    OMP_NUM_THREADS=1 python benchmarks/auto_k_range.py --seeds 0 --out benchmarks/results/auto-k-range.jsonl
    python benchmarks/auto_k_range.py --summarize benchmarks/results/auto-k-range.jsonl
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from _common import default_data_dir, empty_weight_cache, hardware  # benchmarks/_common.py

HERE = Path(__file__).resolve().parent
PAPER = ("pendigits", "mnist-test", "usps")


def wide(n: int) -> int:
    """The widest candidate recorded on ``n`` rows."""
    return max(30, min(n // 8, 120))


RULES = {
    "fixed-30": lambda n: 30,
    "n/10<=60": lambda n: max(30, min(n // 10, 60)),
    "n/10<=120": lambda n: max(30, min(n // 10, 120)),
    "n/20<=60": lambda n: max(30, min(n // 20, 60)),
    "sqrt(n)<=60": lambda n: max(30, min(int(math.sqrt(n)), 60)),
    "sqrt(n/2)<=100": lambda n: max(30, min(int(math.sqrt(n / 2)), 100)),
}
"""Upper ends of the range (the low end is 2), as functions of the rows; capped by what was recorded."""


def load(name: str, data_dir):
    if name in PAPER:
        from n2d import load_dataset

        ds = load_dataset(name, data_home=data_dir, download=False)
        return ds.x.reshape(len(ds.x), -1).astype(np.float32), ds.y.astype(np.int64), int(ds.n_clusters)
    sys.path.insert(0, str(HERE))
    from panel_data import load as panel_load

    d = panel_load(name)
    return d.x, d.y, d.n_clusters


def record(name: str, seed: int, data_dir) -> dict:
    from sklearn.base import clone

    from n2d import N2D
    from n2d.cluster import make_clusterer, set_n_clusters
    from n2d.cluster._hdbscan import HDBSCANClusterer
    from n2d.cluster._select_k import search_k
    from n2d.metrics import nmi

    x, y, k_true = load(name, data_dir)
    n = x.shape[0]
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = N2D(n_clusters="auto", k_range=(2, 3), random_state=seed, verbose=0).fit(x)
    embed_s = time.perf_counter() - t0 - model.timings_.get("k search", 0.0)
    emb = model.embedding_
    base = make_clusterer("gmm", 2, random_state=model.clusterer_.random_state)

    def make(k):
        est = clone(base)
        set_n_clusters(est, k)
        return est

    high = min(wide(n), n - 1)
    seconds = {}
    times = [time.perf_counter()]

    def timed(k):  # the search calls make(k) once per candidate, in order: the gaps are the candidates' costs
        times.append(time.perf_counter())
        return make(k)

    search = search_k(emb, timed, (2, high), criterion="bic-knee", random_state=seed, keep_labels=True)
    ks = sorted(search.labels_by_k)
    for i, k in enumerate(ks):  # the time from one candidate's start to the next
        if i + 1 < len(times) - 1:
            seconds[k] = times[i + 2] - times[i + 1]
    ys = y[search.sample]
    hdb = HDBSCANClusterer().fit(emb)
    hdb_labels = hdb.labels_
    return {
        "dataset": name, "seed": seed, "n": n, "d": int(x.shape[1]), "k_true": k_true, "ks": ks,
        "bic": [search.all_scores["bic"][k] for k in ks], "icl": [search.all_scores["icl"][k] for k in ks],
        "silhouette": [search.all_scores["silhouette"][k] for k in ks],
        "nmi_sample": [nmi(ys, search.labels_by_k[k]) for k in ks],
        "candidate_seconds": [seconds.get(k) for k in ks],
        "hdbscan_k": int(len(set(hdb_labels.tolist()) - {-1})), "hdbscan_nmi": nmi(y, hdb_labels),
        "embed_seconds": embed_s, "search_seconds": search.seconds,
    }


def _knee(curve: dict, scale) -> int:
    """The BIC knee with the candidates placed at ``scale(k)`` on the x axis (``scale=None``: k, as shipped)."""
    from n2d.cluster._select_k import knee_distances, knee_k

    if scale is None:
        return knee_k(curve)
    distances = knee_distances(curve, scale)
    return max(distances, key=distances.get) if distances else knee_k(curve)


CRITERIA = {
    "bic-knee": ("bic", lambda c: _knee(c, None)),
    "bic-knee-log": ("bic", lambda c: _knee(c, math.log)),
    "bic-knee-sqrt": ("bic", lambda c: _knee(c, math.sqrt)),
    "silhouette": ("silhouette", lambda c: max((k for k in c if math.isfinite(c[k])), key=c.get)),
}
"""Criteria compared: the shipped knee, the knee on log k and on sqrt k (the axis a wider range stretches
less), and the best silhouette; each maps a ``{k: score}`` curve to its k."""


def score_rules(rows: list[dict]) -> dict:
    """``{(rule, criterion): {"close", "near", "nmi", "seconds", "picks"}}`` over the records ``rows``."""
    results = {}
    for rule, upper in RULES.items():
        for criterion, (curve_name, choose) in CRITERIA.items():
            close = near = 0
            nmis, secs, picks = [], [], []
            for r in rows:
                top = min(upper(r["n"]), r["ks"][-1])
                idx = [i for i, k in enumerate(r["ks"]) if k <= top]
                k = choose({r["ks"][i]: r[curve_name][i] for i in idx})
                err = abs(k - r["k_true"])
                close += err <= max(1, 0.2 * r["k_true"])
                near += err <= 0.35 * r["k_true"]
                nmis.append(r["nmi_sample"][r["ks"].index(k)])
                secs.append(sum(s for i in idx if (s := r["candidate_seconds"][i]) is not None))
                picks.append(f"{r['dataset']}/{r['seed']}:{k}/{r['k_true']}")
            results[(rule, criterion)] = {"close": close, "near": near, "nmi": statistics.mean(nmis),
                                          "seconds": statistics.median(secs), "picks": picks}
    return results


def summarize(path: Path, show_picks=("fixed-30:bic-knee",)) -> None:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    print(f"{len(rows)} (set, seed) records from {path}")
    results = score_rules(rows)
    print(f"{'rule':16s} {'criterion':14s} {'within 20%':>10s} {'within 35%':>10s} {'NMI':>6s} {'search s':>9s}")
    for (rule, criterion), r in results.items():
        print(f"{rule:16s} {criterion:14s} {r['close']:>4d}/{len(rows):<5d} {r['near']:>4d}/{len(rows):<5d} "
              f"{r['nmi']:6.3f} {r['seconds']:9.1f}")
    hd_close = sum(abs(r["hdbscan_k"] - r["k_true"]) <= max(1, 0.2 * r["k_true"]) for r in rows)
    hd_nmi = statistics.mean(r["hdbscan_nmi"] for r in rows)
    print(f"{'hdbscan count':31s} {hd_close:>4d}/{len(rows):<5d}      NMI {hd_nmi:.3f}")
    for key in show_picks:
        rule, criterion = key.split(":")
        print(key, " ".join(results[(rule, criterion)]["picks"]))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--datasets", default=None, help="default: the panel's sets and " + ", ".join(PAPER))
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--data-dir", default=default_data_dir())
    ap.add_argument("--out", type=Path, default=HERE / "results" / "auto-k-range.jsonl", help="JSON lines, appended")
    ap.add_argument("--summarize", type=Path, default=None, help="score the rules on these records and stop")
    ap.add_argument("--picks", default="fixed-30:bic-knee", help="rule:criterion pairs whose choices to print")
    args = ap.parse_args(argv)
    if args.summarize:
        summarize(args.summarize, args.picks.split(","))
        return
    if args.datasets:
        names = args.datasets.split(",")
    else:
        sys.path.insert(0, str(HERE))
        from panel_data import REGISTRY

        names = [*REGISTRY, *PAPER]
    done = set()
    if args.out.exists():
        done = {(r["dataset"], r["seed"]) for r in map(json.loads, args.out.read_text().splitlines()) if r}
    env = hardware()
    with empty_weight_cache("n2d-auto-k-range-"):
        for name in names:
            for seed in (int(s) for s in args.seeds.split(",")):
                if (name, seed) in done:
                    continue
                rec = record(name, seed, args.data_dir)
                rec["environment"] = env
                with args.out.open("a") as f:
                    f.write(json.dumps(rec) + "\n")
                print(f"{name} seed {seed}: n={rec['n']}, true k {rec['k_true']}, up to k={rec['ks'][-1]}, "
                      f"embed {rec['embed_seconds']:.0f} s, search {rec['search_seconds']:.0f} s, "
                      f"hdbscan {rec['hdbscan_k']}", flush=True)


if __name__ == "__main__":
    main()
