"""How well ``N2D(n_clusters="auto")`` finds k, and what the search costs.

For each dataset and seed, in one process:

1. a known-k run, ``N2D(n_clusters=k_true, random_state=seed)``, with a fresh
   weight cache, so its time includes training the autoencoder: the cost of
   a normal fit;
2. the auto run, ``N2D(n_clusters="auto", random_state=seed)`` (k_range
   (2, 30)), reusing that autoencoder from the cache (in auto mode the code
   and UMAP width is 10, the true k of these datasets, so it is the same
   autoencoder and the same UMAP); the search's own seconds
   (``timings_["k search"]``) are compared with the known-k run's total;
3. on the same embedding, every criterion's choice (the consensus, the BIC
   knee, ICL, BIC, silhouette) and HDBSCAN's cluster count, each with ACC/NMI
   at the k it chose, beside ACC/NMI at the true k.

Labels only score. Targets (issue 12): the exact k on at least two of the
three datasets for every seed, within +-1 everywhere, NMI at the chosen k
within .02 of NMI at the true k, and the search adding at most 30% to a
known-k fit.

    python benchmarks/auto_k.py --datasets pendigits,mnist-test,usps --seeds 0,1,2 \\
        --out benchmarks/results/auto-k-consensus.jsonl
    python benchmarks/auto_k.py --summary benchmarks/results/auto-k-consensus.jsonl
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

import numpy as np

from _common import default_data_dir, empty_weight_cache, hardware  # benchmarks/_common.py

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--datasets", default="pendigits,mnist-test,usps")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--k-range", default="2,30")
    ap.add_argument("--data-dir", default=default_data_dir())
    ap.add_argument("--out", default=str(RESULTS / "auto-k.jsonl"), help="JSON lines, appended (resumable)")
    args = ap.parse_args()

    from n2d import N2D, evaluate, load_dataset
    from n2d.cluster import HDBSCANClusterer, make_clusterer
    from n2d.cluster._select_k import CRITERIA, choose_k, search_k

    k_range = tuple(int(v) for v in args.k_range.split(","))
    out = Path(args.out)
    done = set()
    if out.exists():
        for line in out.read_text().splitlines():
            r = json.loads(line)
            done.add((r["dataset"], r["seed"]))
    for name in args.datasets.split(","):
        ds = load_dataset(name, data_home=args.data_dir, download=False)
        for seed in [int(s) for s in args.seeds.split(",")]:
            if (name, seed) in done:
                print(f"{name} seed {seed}: already in {out}")
                continue
            with empty_weight_cache("n2d-auto-k-"):
                t0 = time.perf_counter()
                known = N2D(n_clusters=ds.n_clusters, random_state=seed, verbose=0).fit(ds.x)
                known_s = time.perf_counter() - t0
                t0 = time.perf_counter()
                auto = N2D(n_clusters="auto", k_range=k_range, random_state=seed, verbose=0).fit(ds.x)
                auto_s = time.perf_counter() - t0
            emb = auto.embedding_
            same_embedding = bool(np.array_equal(emb, known.embedding_))
            # every criterion on the same fits (the auto run's clusterer settings, seed and embedding)
            seed_c = auto.clusterer_.random_state
            def make(k, seed_c=seed_c):
                return make_clusterer("gmm", k, random_state=seed_c)

            code = auto.manifold_.fit_data_  # the consensus's graph is on the code the embedding was made from
            study = search_k(emb, make, k_range, "consensus", keep_labels=True, random_state=seed_c, code=code)
            true_scores = evaluate(ds.y, known.labels_)
            ys = ds.y[study.sample]
            choices = {"oracle NMI on the sample": {
                "k": max(study.labels_by_k, key=lambda k: evaluate(ys, study.labels_by_k[k])["nmi"])}}
            for c in CRITERIA:
                scores = study.all_scores[c]
                k = choose_k(c, scores)
                refit = evaluate(ds.y, make(k).fit_predict(emb))  # the chosen k on all points, 10 starts
                choices[c] = {"k": k, **refit, "scores": {str(j): scores[j] for j in sorted(scores)}}
            choices["oracle NMI on the sample"].update(
                evaluate(ds.y, make(choices["oracle NMI on the sample"]["k"]).fit_predict(emb)))
            hdb = HDBSCANClusterer().fit(emb)
            hdb_scores = evaluate(ds.y, hdb.labels_)
            rec = {
                "dataset": name, "seed": seed, "n_samples": int(ds.x.shape[0]), "k_true": int(ds.n_clusters),
                "k_range": list(k_range),
                "known": {**true_scores, "seconds": known_s, "timings": known.timings_},
                "auto": {"k": int(auto.n_clusters_), "criterion": auto.k_criterion_, **evaluate(ds.y, auto.labels_),
                         "seconds": auto_s, "timings": auto.timings_,
                         "search_over_known_fit": auto.timings_["k search"] / known_s},
                "same_embedding": same_embedding,
                "criteria": choices,
                "hdbscan": {"k": hdb.n_clusters_, "noise_fraction": hdb.noise_fraction_, **hdb_scores},
                "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                "hardware": hardware(),
            }
            with out.open("a") as f:
                f.write(json.dumps(rec) + "\n")
            crit = "  ".join(f"{c} k={v['k']} NMI {v['nmi']:.3f}" for c, v in choices.items())
            print(f"{name} seed {seed}: true k {ds.n_clusters} NMI {true_scores['nmi']:.3f}; auto k={auto.n_clusters_} "
                  f"({auto.k_criterion_}) NMI {rec['auto']['nmi']:.3f}, search {auto.timings_['k search']:.1f} s = "
                  f"{100 * rec['auto']['search_over_known_fit']:.0f}% of the known-k fit ({known_s:.1f} s); {crit}; "
                  f"hdbscan k={hdb.n_clusters_} noise {hdb.noise_fraction_:.3f} NMI {hdb_scores['nmi']:.3f}",
                  flush=True)
    summarize(out)


def summarize(path: Path) -> None:
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    shown = [c for c in ("consensus", "bic-knee", "silhouette", "icl", "bic") if any(c in r["criteria"] for r in rows)]
    print(f"\n| dataset | seed | true k: ACC / NMI | {' | '.join(shown)} | hdbscan | search / known fit |")
    print("| --- " * (len(shown) + 5) + "|")
    for r in rows:
        cells = [f"k={r['criteria'][c]['k']}: {r['criteria'][c]['acc']:.3f} / {r['criteria'][c]['nmi']:.3f}"
                 if c in r["criteria"] else "" for c in shown]
        h = r["hdbscan"]
        cells.append(f"k={h['k']}: {h['acc']:.3f} / {h['nmi']:.3f}")
        print(f"| {r['dataset']} | {r['seed']} | {r['known']['acc']:.3f} / {r['known']['nmi']:.3f} | "
              + " | ".join(cells) + f" | {100 * r['auto']['search_over_known_fit']:.0f}% |")
    hw = rows[-1]["hardware"] if rows else {}
    print(f"hardware: {hw.get('cpu')}, {hw.get('cores')} cores, load {hw.get('load_average')}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--summary":
        summarize(Path(sys.argv[2] if len(sys.argv) > 2 else RESULTS / "auto-k.jsonl"))
    else:
        main()
