"""Does the neighbour graph of the code know k? Community detection as a criterion for ``n_clusters="auto"`` (issue 28).

The mixture criteria (BIC knee, silhouette) see N2D's UMAP embedding, whose ``min_dist=0`` packs a class into
several tight clumps and lets touching classes share one. The code the embedding is made from is a smoother
space: its k-nearest-neighbour graph joins the clumps of one class. Modularity scores a partition of that graph
(edges inside clusters against what the degrees predict), and its maximum picks a number of clusters with no
range to choose. Measured here, once per dataset and seed, on the auto mode's fit (``N2D(n_clusters="auto")``,
code and UMAP width 10; its own search cut to (2, 3)):

- ``louvain-code`` / ``louvain-embedding``: the community count of Louvain (networkx, resolution 1, seeded) on the
  symmetrized k-NN graph (the shipped neighbour count) of the code / of the embedding; ``louvain-code-r0.5`` at
  resolution 0.5 (coarser);
- ``merge-code``: over-cluster the embedding with the full-covariance mixture at ``over`` components, then merge
  components greedily by modularity gain on the code's graph (Clauset-Newman-Moore on the component graph) and
  keep the partition of highest modularity;
- the shipped BIC knee on the same embedding, for reference;
- ``consensus``: the median of the k's of the BIC knee, ``louvain-code-r0.5`` and ``merge-code`` (three views:
  the mixture's likelihood on the embedding, the code's graph alone, the embedding's components joined on the
  code's graph), computed in the summary;
- ``shipped``: the consensus as ``N2D`` runs it, with ``k_range="auto"`` (candidates from (2, 30), grown where
  the knee or the votes reach past it; ``top`` is the largest candidate fitted), refit on every row.

For each: the k found, whether it is within max(1, 20%) and 35% of the true k, and the NMI of its labels on the
graph's points. Graphs are built on at most ``--sample`` rows (seeded). Sets: the public panel
(``benchmarks/panel_data.py``) and three paper sets.

    OMP_NUM_THREADS=2 python benchmarks/auto_k_graph.py --seeds 0,1,2 --out benchmarks/results/auto-k-graph-5000.jsonl
    OMP_NUM_THREADS=2 python benchmarks/auto_k_graph.py --seeds 0,1,2 --sample 10000 \\
        --out benchmarks/results/auto-k-graph-10000.jsonl
    python benchmarks/auto_k_graph.py --summarize benchmarks/results/auto-k-graph-5000.jsonl \\
        --curves benchmarks/results/auto-k-range.jsonl
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import warnings
from pathlib import Path

import numpy as np

from _common import default_data_dir, hardware  # benchmarks/_common.py
from auto_k_range import RULES, load  # the same sets, loaded the same way; the range rules studied there

SETS = ("wine", "glass", "acsf1", "osuleaf", "japanese-vowels", "vowel", "digits", "satellite", "letter",
        "syn-k-ge-d", "syn-k-n-over-10", "syn-int-duplicates", "syn-imbalanced-80", "syn-constant-column",
        "syn-scale-1000x", "pendigits", "mnist-test", "usps", "soybean", "letter-20", "letter-10")

NEIGHBOR_COUNTS = (5, 8, 10, 15, 20, 30)
"""Neighbour counts of the code's graph whose votes (Louvain at resolution 0.5, the merge) are also recorded."""


def record(name: str, seed: int, data_dir, sample: int, over: int) -> dict:
    from n2d import N2D
    from n2d.cluster import make_clusterer
    from n2d.cluster._fit import fit_predict  # retries a singular start with a larger ridge, as the stage does
    from n2d.cluster._graph_k import knn_graph, louvain_labels, modularity_merge  # what the consensus runs
    from n2d.cluster._hdbscan import HDBSCANClusterer
    from n2d.cluster._select_k import data_k_range, k_ceiling, search_k
    from n2d.metrics import nmi

    x, y, k_true = load(name, data_dir)
    n = x.shape[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = N2D(n_clusters="auto", k_range=(2, 3), random_state=seed, verbose=0).fit(x)
    rows = np.sort(np.random.default_rng(seed).permutation(n)[:sample]) if n > sample else np.arange(n)
    code, emb, ys = model.manifold_.fit_data_[rows], model.embedding_[rows], y[rows]
    out = {"dataset": name, "seed": seed, "n": n, "graph_rows": int(rows.size), "k_true": k_true}

    t0 = time.perf_counter()
    g_code = knn_graph(code)
    labels = louvain_labels(g_code, resolution=1.0, random_state=seed)
    out["louvain-code"] = {"k": int(labels.max() + 1), "nmi": nmi(ys, labels), "seconds": time.perf_counter() - t0}
    t0 = time.perf_counter()
    labels = louvain_labels(g_code, resolution=0.5, random_state=seed)
    out["louvain-code-r0.5"] = {"k": int(labels.max() + 1), "nmi": nmi(ys, labels),
                                "seconds": time.perf_counter() - t0}

    t0 = time.perf_counter()
    labels = louvain_labels(knn_graph(emb), resolution=1.0, random_state=seed)
    out["louvain-embedding"] = {"k": int(labels.max() + 1), "nmi": nmi(ys, labels),
                                "seconds": time.perf_counter() - t0}

    t0 = time.perf_counter()
    gmm = make_clusterer("gmm", max(2, min(over, rows.size // 10)), random_state=seed)
    gmm.set_params(n_init=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fine = np.asarray(fit_predict(gmm, emb))
    merged, history = modularity_merge(g_code, fine)
    out["merge-code"] = {"k": int(merged.max() + 1), "nmi": nmi(ys, merged), "seconds": time.perf_counter() - t0,
                         "modularity": history}

    t0 = time.perf_counter()
    labels = HDBSCANClusterer().fit(np.ascontiguousarray(emb)).labels_
    out["density"] = {"k": int(len(set(labels.tolist()) - {-1})), "nmi": nmi(ys, labels),
                      "seconds": time.perf_counter() - t0}

    # the two votes on graphs of other neighbour counts (the same code, the same over-clustered components)
    out["votes-by-neighbors"] = {}
    for nn in NEIGHBOR_COUNTS:
        g = knn_graph(code, nn)
        out["votes-by-neighbors"][str(nn)] = {
            "louvain": int(louvain_labels(g, random_state=seed).max() + 1),
            "merge": int(modularity_merge(g, fine)[0].max() + 1),
        }

    def make(k):
        return make_clusterer("gmm", k, random_state=seed)

    t0 = time.perf_counter()
    search = search_k(model.embedding_, make, (2, 30), criterion="bic-knee", random_state=seed)
    out["bic-knee"] = {"k": int(search.n_clusters), "nmi": nmi(y, search.labels), "seconds": time.perf_counter() - t0}

    # what ships: the consensus with k_range="auto" (starts at (2, 30), may grow), as N2D's search runs it
    t0 = time.perf_counter()
    search = search_k(model.embedding_, make, data_k_range("auto", n), criterion="consensus", random_state=seed,
                      code=model.manifold_.fit_data_, ceiling=k_ceiling("auto", n))
    out["shipped"] = {"k": int(search.n_clusters), "nmi": nmi(y, search.labels), "seconds": time.perf_counter() - t0,
                      "top": int(max(search.scores))}
    return out


METHODS = ("bic-knee", "louvain-code", "louvain-code-r0.5", "louvain-embedding", "merge-code", "density", "shipped")


def close(k: int, true: int, share: float) -> bool:
    return abs(k - true) <= max(1, share * true)


def hits(ks) -> tuple[int, int, int, int]:
    """Of ``(dataset, k, true k)`` triples: how many are within max(1, 20%) and within 35% of the truth, how many
    datasets have every triple within 35%, and how many datasets there are."""
    ks = list(ks)
    names = dict.fromkeys(name for name, _, _ in ks)
    sets35 = sum(all(close(k, t, 0.35) for n, k, t in ks if n == name) for name in names)
    return sum(close(k, t, 0.2) for _, k, t in ks), sum(close(k, t, 0.35) for _, k, t in ks), sets35, len(names)


CONSENSUS = ("bic-knee", "louvain-code-r0.5", "merge-code", "density")
"""The answers the shipped consensus takes the (upper) median of; records made before the density vote lack it."""


def upper_median(ks) -> int:
    """The consensus's answer among ``ks``, by the rank the shipped search uses."""
    from n2d.cluster._select_k import _median_rank

    ks = sorted(ks)
    return int(ks[_median_rank(len(ks)) - 1])


def summarize(path: Path, curves: Path | None) -> None:
    """Per method: k within 20% / 35% of the truth, NMI, seconds; with ``curves`` (``auto_k_range.py``'s records
    of the same fits), also the NMI of the mixture at each method's k, the same measure for every method."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    rows.sort(key=lambda r: (SETS.index(r["dataset"]) if r["dataset"] in SETS else 99, r["seed"]))
    for r in rows:
        members = [m for m in CONSENSUS if m in r]
        r["consensus"] = {"k": upper_median(r[m]["k"] for m in members), "nmi": float("nan"),
                          "seconds": sum(r[m]["seconds"] for m in members)}
    methods = tuple(m for m in (*METHODS, "consensus") if all(m in r for r in rows))  # older records: fewer
    at_k = {}
    if curves is not None:
        for c in map(json.loads, curves.read_text().splitlines()):
            at_k[(c["dataset"], c["seed"])] = dict(zip(c["ks"], c["nmi_sample"]))
    print(f"{len(rows)} records ({len({r['dataset'] for r in rows})} sets)")
    print(f"{'method':18s} {'within 20%':>11s} {'within 35%':>11s} {'sets in 35%':>12s} {'own NMI':>8s} "
          f"{'GMM NMI at k':>13s} {'median s':>9s}")
    for m in methods:
        c20, c35, sets35, n_sets = hits((r["dataset"], r[m]["k"], r["k_true"]) for r in rows)
        own = statistics.mean(r[m]["nmi"] for r in rows)
        gmm = [at_k[(r["dataset"], r["seed"])].get(r[m]["k"]) for r in rows if (r["dataset"], r["seed"]) in at_k]
        gmm_nmi = statistics.mean(gmm) if gmm and None not in gmm else float("nan")
        seconds = statistics.median(r[m]["seconds"] for r in rows)
        print(f"{m:18s} {c20:>5d}/{len(rows):<5d} {c35:>5d}/{len(rows):<5d} {sets35:>5d}/{n_sets:<6d} "
              f"{own:8.3f} {gmm_nmi:13.3f} {seconds:9.1f}")
    if all("votes-by-neighbors" in r for r in rows):
        _neighbors(rows, at_k)
    if curves is not None:
        _ranges(rows, curves)
    print("\nk found per set (seeds in order): true | " + " | ".join(methods))
    for name in dict.fromkeys(r["dataset"] for r in rows):
        rs = [r for r in rows if r["dataset"] == name]
        print(f"  {name:20s} {rs[0]['k_true']:>3d} | "
              + " | ".join(",".join(str(r[m]["k"]) for r in rs) for m in methods))


def _neighbors(rows: list[dict], at_k: dict) -> None:
    """The consensus with the code's graph on each recorded neighbour count (the shipped one is
    :data:`n2d.cluster._graph_k.GRAPH_NEIGHBORS`), with the mixture's NMI at its k where ``at_k`` has the curves."""
    print("\nconsensus by the code graph's neighbour count (k per set, seeds in order):")
    for nn in NEIGHBOR_COUNTS:
        ks, nmis = [], []
        for r in rows:
            votes = r["votes-by-neighbors"][str(nn)]
            density = [r["density"]["k"]] if "density" in r else []
            k = upper_median([r["bic-knee"]["k"], votes["louvain"], votes["merge"], *density])
            ks.append((r["dataset"], k, r["k_true"]))
            nmis.append(at_k.get((r["dataset"], r["seed"]), {}).get(k))
        c20, c35, sets35, n_sets = hits(ks)
        names = dict.fromkeys(name for name, _, _ in ks)
        per_set = " ".join(f"{name}:" + ",".join(str(k) for n, k, _ in ks if n == name) for name in names)
        nmi = f", NMI at k {statistics.mean(nmis):.3f}" if None not in nmis else ""
        print(f"  {nn:>2d} neighbours: within 20% {c20}/{len(ks)}, within 35% {c35}/{len(ks)}, "
              f"sets in 35% {sets35}/{n_sets}{nmi}; {per_set}")


def _ranges(rows: list[dict], curves: Path) -> None:
    """The consensus under each upper end of the range of ``auto_k_range.RULES``, recomputed from the recorded
    BIC curves (the knee moves with the range; the graph votes, clipped to it, do not)."""
    from n2d.cluster._select_k import knee_k

    recorded = {(c["dataset"], c["seed"]): c for c in map(json.loads, curves.read_text().splitlines())}
    print("\nconsensus by the range's upper end (knee on the recorded one-start curves):")
    for rule, upper in RULES.items():
        ks, nmis = [], []
        for r in rows:
            c = recorded[(r["dataset"], r["seed"])]
            high = min(upper(c["n"]), max(c["ks"]))
            knee = knee_k({k: b for k, b in zip(c["ks"], c["bic"]) if k <= high})
            votes = [min(max(r[m]["k"], 2), high) for m in CONSENSUS[1:] if m in r]
            k = upper_median([knee, *votes])
            ks.append((r["dataset"], k, r["k_true"]))
            nmis.append(dict(zip(c["ks"], c["nmi_sample"])).get(k, float("nan")))
        c20, c35, _, _ = hits(ks)
        letter = [k for name, k, _ in ks if name == "letter"]
        print(f"  {rule:16s} within 20% {c20}/{len(ks)}, within 35% {c35}/{len(ks)}, NMI at k "
              f"{statistics.mean(nmis):.3f}; letter (26): {letter}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--datasets", default=",".join(SETS))
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--sample", type=int, default=5_000, help="rows the graphs are built on, at most")
    ap.add_argument("--over", type=int, default=60, help="mixture components before merging")
    ap.add_argument("--data-dir", default=default_data_dir())
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--summarize", type=Path, default=None)
    ap.add_argument("--curves", type=Path, default=None,
                    help="auto_k_range.py's records of the same fits: the mixture's NMI at every k")
    args = ap.parse_args(argv)
    if args.summarize:
        summarize(args.summarize, args.curves)
        return
    env = hardware()
    print(f"CPU: {env['cpu']} ({env['cores']} cores), load {env['load_average']}", flush=True)
    for name in args.datasets.split(","):
        for seed in (int(s) for s in args.seeds.split(",")):
            r = record(name, seed, args.data_dir, args.sample, args.over)
            r["environment"] = {k: env[k] for k in ("cpu", "cores")}
            print(f"{name} seed {seed}: true {r['k_true']}; "
                  + ", ".join(f"{m} {r[m]['k']} (NMI {r[m]['nmi']:.3f})" for m in METHODS), flush=True)
            if args.out:
                with args.out.open("a") as f:
                    f.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    main()
