"""Would subsample stability choose k better than the BIC knee? (issue 12)

Stability (Ben-Hur et al. 2002; Lange et al. 2004) scores a candidate k by how
much two clusterings fitted on different random halves of the data agree on
all of it: a k that matches real groups gives the same partition whatever the
half, a wrong k splits or merges groups differently each time. For each
dataset and seed this fits the default N2D once (k = 10: the embedding auto
mode uses on these sets, whose code and UMAP width is 10), draws the search's
4,000-point sample of the embedding, and for every k in 2-30 fits a one-start
GMM on each of ``--pairs`` pairs of random 2,000-point halves, scoring k by the
mean adjusted Rand index between the two halves' labels of the 4,000 points.
It prints the k stability chooses (the highest mean; ties to the smaller k),
the k the default BIC knee chooses on the same embedding, and NMI at each
(refitted on all points with the default clusterer). Labels only score.

    python benchmarks/auto_k_stability.py --datasets usps,mnist-test,pendigits --seeds 0,1,2

JSON lines: ``benchmarks/results/auto-k-stability.jsonl`` (appended).
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np

from _common import default_data_dir, hardware  # benchmarks/_common.py

RESULTS = Path(__file__).resolve().parent / "results"


def stability(emb, ks, pairs, rng):
    """Mean ARI between GMMs fitted on two random halves, for each k."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import adjusted_rand_score
    from sklearn.mixture import GaussianMixture

    n = emb.shape[0]
    scores = {}
    for k in ks:
        vals = []
        for p in range(pairs):
            a, b = rng.choice(n, n // 2, replace=False), rng.choice(n, n // 2, replace=False)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                la = GaussianMixture(k, covariance_type="full", random_state=2 * p).fit(emb[a]).predict(emb)
                lb = GaussianMixture(k, covariance_type="full", random_state=2 * p + 1).fit(emb[b]).predict(emb)
            vals.append(adjusted_rand_score(la, lb))
        scores[k] = float(np.mean(vals))
    return scores


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--datasets", default="usps,mnist-test,pendigits")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--pairs", type=int, default=4, help="pairs of random halves per candidate k")
    ap.add_argument("--data-dir", default=default_data_dir())
    ap.add_argument("--out", type=Path, default=RESULTS / "auto-k-stability.jsonl")
    args = ap.parse_args(argv)

    from n2d import N2D, evaluate, load_dataset
    from n2d.cluster import make_clusterer
    from n2d.cluster._select_k import K_RANGE, SEARCH_SAMPLE, search_k

    hw = hardware()
    ks = list(range(K_RANGE[0], K_RANGE[1] + 1))
    for name in args.datasets.split(","):
        ds = load_dataset(name, data_home=args.data_dir)
        for seed in (int(s) for s in args.seeds.split(",")):
            model = N2D(n_clusters=ds.n_clusters, random_state=seed, verbose=0).fit(ds.x)
            emb = model.embedding_
            rng = np.random.default_rng(seed)
            sample = emb[rng.choice(emb.shape[0], min(SEARCH_SAMPLE, emb.shape[0]), replace=False)]
            t0 = time.perf_counter()
            scores = stability(sample, ks, args.pairs, rng)
            seconds = time.perf_counter() - t0
            k_stab = max(ks, key=lambda k: (scores[k], -k))

            def make(k):
                return make_clusterer("gmm", k, random_state=seed)

            knee = search_k(emb, make, K_RANGE, "bic-knee", random_state=seed)  # refits its k on all points
            k_knee = knee.n_clusters
            labels = {k_knee: knee.labels}
            for k in {k_stab, ds.n_clusters} - labels.keys():
                labels[k] = make(k).fit_predict(emb)
            nmi = {k: evaluate(ds.y, lab)["nmi"] for k, lab in labels.items()}
            row = {"dataset": ds.name, "seed": seed, "k_true": ds.n_clusters, "k_stability": k_stab,
                   "k_bic_knee": k_knee, "nmi": {str(k): round(v, 4) for k, v in nmi.items()},
                   "stability": {str(k): round(v, 4) for k, v in scores.items()}, "pairs": args.pairs,
                   "stability_seconds": round(seconds, 1), "hardware": hw}
            with args.out.open("a") as fh:
                fh.write(json.dumps(row) + "\n")
            top = sorted(scores, key=scores.get, reverse=True)[:3]
            print(f"{ds.name} seed {seed}: stability k={k_stab} (NMI {nmi[k_stab]:.3f}; top 3 "
                  + ", ".join(f"{k}:{scores[k]:.3f}" for k in top)
                  + f"), BIC knee k={k_knee} (NMI {nmi[k_knee]:.3f}), true k={ds.n_clusters} "
                  f"(NMI {nmi[ds.n_clusters]:.3f}); {seconds:.1f} s", flush=True)


if __name__ == "__main__":
    main()
