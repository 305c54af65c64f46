"""Where does a single N2D run go wrong: the autoencoder, UMAP or the GMM?

For each autoencoder seed (the autoencoders ``N2D(random_state=s)`` trains,
from the weight cache when ``n2d reproduce`` has made them), it runs umap-learn
with several seeds on the same codes and clusters each embedding with the
default GMM (10 starts), and, on the first embedding, the paper's one-start GMM
with several seeds. Labels only score the runs. The spread within a row is
UMAP's (or the GMM start's); the spread between rows is the autoencoder's.

    python benchmarks/robustness.py --dataset mnist-test --ae-seeds 5 --umap-seeds 3
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

import numpy as np

from _common import default_data_dir, hardware  # benchmarks/_common.py (scripts run from this folder's path)

ROOT = Path(__file__).resolve().parents[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="mnist-test")
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--ae-seeds", type=int, default=5)
    ap.add_argument("--umap-seeds", type=int, default=3)
    ap.add_argument("--gmm-seeds", type=int, default=3)
    ap.add_argument("--data-dir", default=default_data_dir())
    ap.add_argument("--out", default=None)
    args = ap.parse_args()

    import n2d
    from n2d.autoencoder import fit_autoencoders
    from n2d.cluster import make_clusterer
    from n2d.estimator import stage_seeds
    from n2d.manifold import UMAP
    from n2d.metrics import evaluate

    ds = n2d.load_dataset(args.dataset, data_home=args.data_dir)
    k = ds.n_clusters
    seeds = [stage_seeds(s) for s in range(args.ae_seeds)]
    aes = fit_autoencoders(ds.x, [s[0] for s in seeds], n_components=k, epochs=args.epochs, verbose=0)
    rows = []
    for s, (ae, (_, umap_seed, gmm_seed)) in enumerate(zip(aes, seeds)):
        codes = ae.transform(ds.x)
        row = {"ae_seed": s, "umap": [], "gmm_one_start": []}
        for u in range(args.umap_seeds):
            emb = UMAP(n_components=k, random_state=umap_seed + u).fit_transform(codes)
            row["umap"].append(evaluate(ds.y, make_clusterer("gmm", k, random_state=gmm_seed).fit_predict(emb)))
            if u == 0:
                for g in range(args.gmm_seeds):
                    one = make_clusterer("gmm", k, random_state=gmm_seed + g).set_params(n_init=1)
                    row["gmm_one_start"].append(evaluate(ds.y, one.fit_predict(emb)))
        rows.append(row)
        accs = " ".join(f"{m['acc']:.3f}" for m in row["umap"])
        ones = " ".join(f"{m['acc']:.3f}" for m in row["gmm_one_start"])
        print(f"autoencoder seed {s}: ACC over UMAP seeds {accs} | one-start GMM over seeds {ones}", flush=True)
    within = max(np.ptp([m["acc"] for m in r["umap"]]) for r in rows)
    means = [np.mean([m["acc"] for m in r["umap"]]) for r in rows]
    gmm = max(np.ptp([m["acc"] for m in r["gmm_one_start"]]) for r in rows)
    print(f"\nlargest ACC spread over UMAP seeds on one autoencoder: {within:.3f}")
    print(f"ACC spread between autoencoders (mean over UMAP seeds): {np.ptp(means):.3f}")
    print(f"largest ACC spread over one-start GMM seeds on one embedding: {gmm:.3f}")
    hw = hardware()
    now = dt.datetime.now(dt.timezone.utc)
    out = Path(args.out) if args.out else ROOT / "benchmarks" / "results" / f"robustness-{ds.name}.json"
    out.write_text(json.dumps({"command": " ".join(sys.argv), "date": now.isoformat(timespec="seconds"),
                               "dataset": ds.name, "epochs": args.epochs, "rows": rows, "hardware": hw}, indent=1))
    print("wrote", out)


if __name__ == "__main__":
    main()
