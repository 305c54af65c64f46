"""Does another manifold embedding let ``n_clusters="auto"`` find k?

N2D's UMAP (``n_neighbors=20``, ``min_dist=0``) packs touching classes
together; on USPS the BIC knee chooses 8 where the labels have 10
(``benchmarks/auto_k.py``). This script varies the embedding that the search
runs on, on the default autoencoder of each seed (from the weight cache, else
trained here): for each ``--variants`` entry ``n_neighbors:min_dist`` it fits
n2d's torch UMAP (width 10, the auto mode's), then

- the k chosen by the BIC knee (the default criterion) and by the silhouette,
  on the search's 4,000-point sample, exactly as ``N2D(n_clusters="auto")`` does;
- the k whose candidate fit agrees best with the labels on that sample
  (``oracle``: what a perfect label-free criterion could choose from these fits);
- ACC/NMI of the default 10-start GMM at the true k, and NMI at the knee's k.

Labels only score. One JSON line per (dataset, seed, variant) is appended to
``--out``.

    python benchmarks/auto_k_embedding.py --datasets usps,mnist-test --seeds 0,1,2 --variants 20:0,50:0,20:0.1
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

from _common import default_data_dir, hardware  # benchmarks/_common.py

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--datasets", default="usps,mnist-test")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--variants", default="20:0,50:0,20:0.1", help="comma-separated n_neighbors:min_dist pairs")
    ap.add_argument("--data-dir", default=default_data_dir())
    ap.add_argument("--out", type=Path, default=RESULTS / "auto-k-embedding.jsonl")
    args = ap.parse_args()

    import n2d
    from n2d.autoencoder import fit_autoencoders
    from n2d.cluster import make_clusterer
    from n2d.cluster._select_k import AUTO_WIDTH, K_RANGE, choose_k, search_k
    from n2d.estimator import stage_seeds
    from n2d.manifold import TorchUMAP
    from n2d.metrics import evaluate

    variants = []
    for v in args.variants.split(","):
        nn, md = v.split(":")
        variants.append((int(nn), float(md)))
    hw = hardware()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for name in args.datasets.split(","):
        ds = n2d.load_dataset(name, data_home=args.data_dir, download=False)
        for seed in [int(s) for s in args.seeds.split(",")]:
            ae_seed, umap_seed, gmm_seed = stage_seeds(seed)
            (ae,) = fit_autoencoders(ds.x, [ae_seed], n_components=AUTO_WIDTH, epochs="auto", verbose=0)
            codes = ae.transform(ds.x)

            def make(k, rs=gmm_seed):
                return make_clusterer("gmm", k, random_state=rs)

            for nn, md in variants:
                t0 = time.perf_counter()
                emb = TorchUMAP(n_components=AUTO_WIDTH, n_neighbors=nn, min_dist=md,
                                random_state=umap_seed).fit_transform(codes)
                umap_s = time.perf_counter() - t0
                knee = search_k(emb, make, K_RANGE, criterion="bic-knee", random_state=gmm_seed, keep_labels=True)
                sil_k = choose_k("silhouette", knee.all_scores["silhouette"])  # scored on the same fits
                ys = ds.y[knee.sample]
                oracle = max(knee.labels_by_k, key=lambda k: evaluate(ys, knee.labels_by_k[k])["nmi"])
                true = evaluate(ds.y, make(ds.n_clusters).fit_predict(emb))
                rec = {
                    "dataset": name, "seed": seed, "n_neighbors": nn, "min_dist": md, "k_true": int(ds.n_clusters),
                    "knee_k": int(knee.n_clusters), "silhouette_k": int(sil_k), "oracle_k": int(oracle),
                    "true_k_acc": round(true["acc"], 4), "true_k_nmi": round(true["nmi"], 4),
                    "knee_nmi": round(evaluate(ds.y, knee.labels)["nmi"], 4), "umap_s": round(umap_s, 1),
                    "command": " ".join(sys.argv), "hardware": hw,
                    "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                }
                print(f"{name} seed {seed} n_neighbors {nn} min_dist {md}: knee k={rec['knee_k']} silhouette "
                      f"k={rec['silhouette_k']} oracle k={oracle}; at the true k ACC {rec['true_k_acc']:.3f} NMI "
                      f"{rec['true_k_nmi']:.3f}, at the knee NMI {rec['knee_nmi']:.3f}", flush=True)
                with args.out.open("a") as fh:
                    fh.write(json.dumps(rec) + "\n")


if __name__ == "__main__":
    main()
