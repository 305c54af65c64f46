"""Where N2D loses on the 70,000-image sets: the autoencoder, UMAP or the mixture?

For each autoencoder seed s it takes the autoencoder that ``N2D(random_state=s)``
trains at the default (from the weight cache when ``n2d reproduce --setting
default`` has made it, else trained here) and, on its codes:

- the **UMAP** stage: n2d's torch UMAP with ``--umap-seeds`` seeds (the first is
  the default run's), umap-learn on the same codes (``--umap-learn``), and the
  torch UMAP at other ``n_neighbors`` (``--neighbors``), each clustered by the
  default 10-start GMM;
- the **mixture** stage, on the default embedding: ``--gmm-starts`` one-start
  GMMs with their mean log-likelihood, so one can see whether the likelihood (the
  default's choice among starts) picks the better partitions; and the partition
  that agrees most with the other starts (``consensus_choice``) as an alternative;
- **label-free choices across UMAP seeds**: the consensus (medoid by ARI) of the
  torch UMAP runs, which is what ``N2D(n_init=...)`` does across whole runs.

Labels only score. One JSON line per autoencoder seed is appended to ``--out``
as soon as it is done, so a long study can be read (or resumed with
``--ae-seeds``) while it runs.

    python benchmarks/large_study.py --dataset fashion --ae-seeds 0,1,2,3,4 --umap-seeds 3 \\
        --umap-learn --neighbors 10,50
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

import numpy as np

from _common import default_data_dir, hardware  # benchmarks/_common.py (scripts run from this folder's path)

ROOT = Path(__file__).resolve().parents[1]


def _ints(text):
    return [int(v) for v in text.split(",") if v.strip()]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="fashion")
    ap.add_argument("--ae-seeds", type=_ints, default=[0, 1, 2, 3, 4], help="comma-separated N2D seeds")
    ap.add_argument("--epochs", default="auto", help="autoencoder epochs: 'auto' (the default) or a number")
    ap.add_argument("--umap-seeds", type=int, default=3, help="torch UMAP seeds per autoencoder")
    ap.add_argument("--umap-learn", action="store_true", help="also run umap-learn on the same codes")
    ap.add_argument("--neighbors", type=_ints, default=[], help="other n_neighbors for the torch UMAP")
    ap.add_argument("--gmm-starts", type=int, default=10, help="one-start GMMs on the default embedding")
    ap.add_argument("--covariances", default="", help="other GMM covariance types on the default embedding "
                    "(comma-separated: tied, diag, spherical), 10 starts each")
    ap.add_argument("--data-dir", default=default_data_dir())
    ap.add_argument("--out", default=None)
    ap.add_argument("--summarize", action="store_true", help="only print the table of an existing --out file")
    args = ap.parse_args()
    if args.summarize:
        summarize(Path(args.out) if args.out else ROOT / "benchmarks" / "results" / f"large-study-{args.dataset}.jsonl")
        return

    import n2d
    from n2d.autoencoder import fit_autoencoders
    from n2d.cluster import consensus_choice, make_clusterer
    from n2d.estimator import stage_seeds
    from n2d.manifold import TorchUMAP
    from n2d.metrics import evaluate

    ds = n2d.load_dataset(args.dataset, data_home=args.data_dir)
    k = ds.n_clusters
    out = Path(args.out) if args.out else ROOT / "benchmarks" / "results" / f"large-study-{ds.name}.jsonl"
    hw = hardware()

    def score(labels):
        return {m: round(float(v), 4) for m, v in evaluate(ds.y, labels).items() if m in ("acc", "nmi", "ari")}

    def gmm(emb, seed):
        t0 = time.perf_counter()
        labels = make_clusterer("gmm", k, random_state=seed).fit_predict(emb)
        return labels, time.perf_counter() - t0

    for s in args.ae_seeds:
        ae_seed, umap_seed, gmm_seed = stage_seeds(s)
        t0 = time.perf_counter()
        epochs = args.epochs if args.epochs == "auto" else int(args.epochs)
        (ae,) = fit_autoencoders(ds.x, [ae_seed], n_components=k, epochs=epochs, verbose=0)
        codes = ae.transform(ds.x)
        row = {"dataset": ds.name, "seed": s, "epochs": args.epochs, "ae_seconds": round(time.perf_counter() - t0, 1),
               "ae_epochs": len(ae.history_), "torch_umap": [], "neighbors": {}}
        umap_labels = []
        for u in range(args.umap_seeds):
            t0 = time.perf_counter()
            emb = TorchUMAP(n_components=k, n_neighbors=20, min_dist=0.0,
                            random_state=umap_seed + u).fit_transform(codes)
            t_umap = time.perf_counter() - t0
            labels, t_gmm = gmm(emb, gmm_seed)
            umap_labels.append(labels)
            row["torch_umap"].append({"umap_seed": umap_seed + u, **score(labels), "umap_s": round(t_umap, 1),
                                      "gmm_s": round(t_gmm, 1)})
            if u == 0 and args.gmm_starts > 0:
                starts = []
                for g in range(args.gmm_starts):
                    one = make_clusterer("gmm", k, random_state=gmm_seed + g).set_params(n_init=1).fit(emb)
                    lab = one.predict(emb)
                    starts.append((float(one.score(emb)), lab))
                    row.setdefault("gmm_starts", []).append(
                        {"start": g, "loglik": round(starts[-1][0], 5), **score(lab)})
                best_ll = int(np.argmax([v for v, _ in starts]))
                medoid, _ = consensus_choice([lab for _, lab in starts])
                row["gmm_choice"] = {"by_likelihood": {"start": best_ll, **score(starts[best_ll][1])},
                                     "by_consensus": {"start": int(medoid), **score(starts[medoid][1])}}
            if u == 0:
                for cov in filter(None, args.covariances.split(",")):
                    est = make_clusterer("gmm", k, random_state=gmm_seed).set_params(covariance_type=cov)
                    row.setdefault("covariance", {})[cov] = score(est.fit_predict(emb))
                    print(f"[{ds.name} seed {s}] covariance {cov}: {row['covariance'][cov]}", flush=True)
            print(f"[{ds.name} seed {s}] torch UMAP seed {umap_seed + u}: {row['torch_umap'][-1]}", flush=True)
        if len(umap_labels) > 1:
            best, agree = consensus_choice(umap_labels)
            row["umap_consensus"] = {"run": int(best), "mean_ari": [round(float(a), 4) for a in agree],
                                     **score(umap_labels[best])}
        for nn in args.neighbors:
            emb = TorchUMAP(n_components=k, n_neighbors=nn, min_dist=0.0, random_state=umap_seed).fit_transform(codes)
            row["neighbors"][str(nn)] = score(gmm(emb, gmm_seed)[0])
            print(f"[{ds.name} seed {s}] n_neighbors {nn}: {row['neighbors'][str(nn)]}", flush=True)
        if args.umap_learn:
            import umap

            t0 = time.perf_counter()
            emb = umap.UMAP(n_components=k, n_neighbors=20, min_dist=0.0, random_state=umap_seed).fit_transform(codes)
            row["umap_learn"] = {**score(gmm(emb, gmm_seed)[0]), "umap_s": round(time.perf_counter() - t0, 1)}
            print(f"[{ds.name} seed {s}] umap-learn: {row['umap_learn']}", flush=True)
        row.update(command=" ".join(sys.argv), date=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                   hardware=hw)
        with out.open("a") as fh:
            fh.write(json.dumps(row) + "\n")
        print(f"[{ds.name} seed {s}] appended to {out}", flush=True)


def summarize(path):
    """Print, per autoencoder seed and as means, the ACC of each variant (markdown)."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    cols = {
        "first UMAP seed (the default's)": lambda r: r["torch_umap"][0]["acc"],
        "mean over UMAP seeds": lambda r: float(np.mean([u["acc"] for u in r["torch_umap"]])),
        "UMAP consensus": lambda r: r.get("umap_consensus", {}).get("acc"),
        "umap-learn": lambda r: r.get("umap_learn", {}).get("acc"),
        **{f"n_neighbors {nn}": (lambda r, nn=nn: r["neighbors"].get(nn, {}).get("acc"))
           for nn in sorted({nn for r in rows for nn in r["neighbors"]}, key=int)},
        **{f"GMM {cov}": (lambda r, cov=cov: r.get("covariance", {}).get(cov, {}).get("acc"))
           for cov in sorted({c for r in rows for c in r.get("covariance", {})})},
        "GMM start by likelihood": lambda r: r.get("gmm_choice", {}).get("by_likelihood", {}).get("acc"),
        "GMM start by consensus": lambda r: r.get("gmm_choice", {}).get("by_consensus", {}).get("acc"),
        "best / worst start": lambda r: ((max(g["acc"] for g in r["gmm_starts"]),
                                          min(g["acc"] for g in r["gmm_starts"]))
                                         if r.get("gmm_starts") else None),
    }
    print(f"{rows[0]['dataset']}, autoencoder epochs {rows[0].get('epochs', 'auto')}: ACC per autoencoder seed "
          f"({len(rows)} seeds)\n")
    print("| seed | " + " | ".join(cols) + " |")
    print("|" + " --- |" * (len(cols) + 1))
    table = {c: [f(r) for r in rows] for c, f in cols.items()}

    def cell(v):
        if v is None:
            return "-"
        if isinstance(v, tuple):
            return f"{v[0]:.3f} / {v[1]:.3f}"
        return f"{v:.3f}"

    for i, r in enumerate(rows):
        print(f"| {r['seed']} | " + " | ".join(cell(table[c][i]) for c in cols) + " |")
    means = []
    for c in cols:
        vals = [v for v in table[c] if v is not None and not isinstance(v, tuple)]
        means.append(f"{np.mean(vals):.3f} ± {np.std(vals, ddof=1):.3f}" if len(vals) > 1 else "-")
    print("| mean | " + " | ".join(means) + " |")
    corr = [np.corrcoef([g["loglik"] for g in r["gmm_starts"]], [g["acc"] for g in r["gmm_starts"]])[0, 1]
            for r in rows if len(r.get("gmm_starts", [])) > 1]
    if corr:
        print("\ncorrelation of a GMM start's log-likelihood with its ACC, per seed:",
              ", ".join(f"{c:+.2f}" for c in corr))


if __name__ == "__main__":
    main()
