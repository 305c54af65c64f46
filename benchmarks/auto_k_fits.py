"""Does the k search choose differently when its candidate fits are better? (issue 12)

``N2D(n_clusters="auto")`` fits each candidate k (2-30) on a 4,000-point
sample with one GMM start and picks the knee of the BIC curve. For each
dataset and seed (0-2) this fits the default N2D once (k = 10, the same
embedding auto mode uses on these sets: its code and UMAP width is 10), then
repeats the search on that embedding with 4,000 points or all of them, and 1
or 3 starts per candidate, printing the chosen k, the knee on the range 2-20,
the search seconds and NMI at the chosen k. Labels only score.

    python benchmarks/auto_k_fits.py --datasets usps,mnist-test,pendigits

JSON lines: ``benchmarks/results/auto-k-fits.jsonl`` (appended).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from _common import default_data_dir, hardware  # benchmarks/_common.py

RESULTS = Path(__file__).resolve().parent / "results"

VARIANTS = (("s4000-n1", 4000, 1), ("s4000-n3", 4000, 3), ("all-n1", None, 1), ("all-n3", None, 3))
"""(label, sample size or None for every point, GMM starts per candidate)."""


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--datasets", default="usps,mnist-test,pendigits")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--data-dir", default=default_data_dir())
    ap.add_argument("--out", type=Path, default=RESULTS / "auto-k-fits.jsonl")
    args = ap.parse_args(argv)

    from n2d import N2D, evaluate, load_dataset
    from n2d.cluster import make_clusterer
    from n2d.cluster._select_k import knee_k, search_k

    hw = hardware()
    print("hardware:", json.dumps(hw), flush=True)
    for name in args.datasets.split(","):
        ds = load_dataset(name, data_home=args.data_dir, download=False)
        for seed in (int(s) for s in args.seeds.split(",")):
            t0 = time.perf_counter()
            model = N2D(n_clusters=10, random_state=seed, verbose=0).fit(ds.x)
            emb, seed_c = model.embedding_, model.clusterer_.random_state
            row = {"dataset": name, "seed": seed, "fit_s": time.perf_counter() - t0, "hardware": hw}

            def make(k, seed_c=seed_c):
                return make_clusterer("gmm", k, random_state=seed_c)

            for label, size, n_init in VARIANTS:
                t0 = time.perf_counter()
                found = search_k(emb, make, (2, 30), "bic-knee", random_state=seed_c,
                                 sample_size=len(emb) if size is None else size, search_n_init=n_init)
                bic = found.all_scores["bic"]
                row[label] = {
                    "k": found.n_clusters, "s": time.perf_counter() - t0, "bic": {int(k): v for k, v in bic.items()},
                    "knee_2_20": knee_k({k: v for k, v in bic.items() if k <= 20}),
                    "nmi": evaluate(ds.y, found.labels)["nmi"],
                }
            with args.out.open("a") as f:
                f.write(json.dumps(row) + "\n")
            print(name, seed, {label: (row[label]["k"], row[label]["knee_2_20"], round(row[label]["s"], 1),
                                       round(row[label]["nmi"], 3)) for label, _, _ in VARIANTS}, flush=True)


if __name__ == "__main__":
    main()
