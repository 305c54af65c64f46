"""Code width and UMAP dimension: the paper's k against the data-aware default, on the sets where they differ.

The paper sets the autoencoder's code width and the UMAP dimension to k. N2D's
default caps it by what the data supports (:func:`n2d._util.stages.default_width`:
``min(k, 10, n_features, D_rows)``). The two differ only where k > 10, k > d, or
the rows per cluster are too few for a full covariance in k dimensions; this
study fits both on such sets of the panel (``benchmarks/panel_data.py``), in one
process on the same data, each with an empty weight cache, and records ACC,
NMI, ARI, the width and the seconds of every stage:

- ``paper``: ``N2D(k, autoencoder=Autoencoder(n_components=k), manifold=TorchUMAP(n_components=k))``;
- ``cap``: the same with ``n_components=min(k, 10, n_features)``;
- ``rows``: that, further capped by the rows per cluster: the largest D with D (D + 3) / 2 <= n / k (a mean and
  a full covariance per cluster from its share of the rows), at least 2 (a rule that was measured and rejected);
- ``default``: ``N2D(k)`` (now the ``cap`` rule);
- ``code10``: the default UMAP dimension, but a code of ``max(width, min(10, n_features))``: a study of whether
  squeezing a narrow table into a k-wide code (k < 10) loses what UMAP could use.

    python benchmarks/width.py --datasets vowel,acsf1,syn-k-ge-d,syn-k-n-over-10,letter --seeds 0,1,2
    python benchmarks/width.py --summarize benchmarks/results/width.jsonl
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import empty_weight_cache, hardware  # noqa: E402
from n2d import N2D, Autoencoder, TorchUMAP, evaluate  # noqa: E402
from n2d._util.stages import WIDTH_CAP, default_width  # noqa: E402
from panel_data import load  # noqa: E402

VARIANTS = ("paper", "cap", "rows", "default", "code10")


def fit_once(x, y, k, seed, variant):
    """One fit of ``variant`` with an empty weight cache: its scores, width and seconds."""
    stages = {}
    if variant == "code10":
        w = default_width(k, x.shape[1])
        stages = {"autoencoder": Autoencoder(n_components=max(w, min(WIDTH_CAP, x.shape[1])))}
    if variant in ("paper", "cap", "rows"):
        w = k if variant == "paper" else min(k, WIDTH_CAP, x.shape[1])
        if variant == "rows":
            rows = x.shape[0] / k
            w = max(2, min(w, int((math.sqrt(9 + 8 * rows) - 3) // 2)))
        stages = {"autoencoder": Autoencoder(n_components=w), "manifold": TorchUMAP(n_components=w)}
    with empty_weight_cache("n2d-width-"):
        t0 = time.perf_counter()
        model = N2D(n_clusters=k, random_state=seed, verbose=0, **stages).fit(x)
        seconds = time.perf_counter() - t0
    return {**evaluate(y, model.labels_), "seconds": seconds, "timings": dict(model.timings_),
            "width": int(model.embedding_.shape[1]), "adjustments": dict(model.adjustments_)}


def summarize(path: Path) -> None:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    groups = defaultdict(list)
    for r in rows:
        groups[(r["dataset"], r["variant"])].append(r)
    print("| data | rows x features, k | " + " | ".join(f"{v}: NMI / ACC / s (width)" for v in VARIANTS) + " |")
    print("| --- | --- |" + " --- |" * len(VARIANTS))
    for data in sorted({r["dataset"] for r in rows}):
        first = next(r for r in rows if r["dataset"] == data)
        cells = []
        for v in VARIANTS:
            g = groups.get((data, v), [])
            if not g:
                cells.append("")
                continue
            nmi = [r["nmi"] for r in g]
            sd = statistics.stdev(nmi) if len(nmi) > 1 else 0.0
            cells.append(f"{statistics.mean(nmi):.3f} ± {sd:.3f} / {statistics.mean(r['acc'] for r in g):.3f} / "
                         f"{statistics.median(r['seconds'] for r in g):.1f} ({g[0]['width']})")
        print(f"| {data} | {first['n_samples']} x {first['n_features']}, {first['n_clusters']} | "
              + " | ".join(cells) + " |")
    loads = [r["load"][0] for r in rows]
    print(f"\n{len(rows)} fits over {len({r['seed'] for r in rows})} seeds; hardware: "
          f"{rows[0]['hardware'].get('cpu', '?')}; load average (1 min) {min(loads):.1f}-{max(loads):.1f}; "
          "NMI mean ± sd over seeds, ACC mean, seconds median (fit, in-process)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--datasets", default="vowel,acsf1,syn-k-ge-d,syn-k-n-over-10,letter")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "results" / "width.jsonl"))
    ap.add_argument("--summarize", metavar="JSONL")
    args = ap.parse_args()
    if args.summarize:
        summarize(Path(args.summarize))
        return
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    hw = hardware()
    for name in args.datasets.split(","):
        data = load(name)
        n, d = data.x.shape
        if default_width(data.n_clusters, d) == data.n_clusters and "code10" not in args.variants:
            print(f"{name}: the default width is k ({data.n_clusters}) here; nothing to compare", flush=True)
            continue
        for seed in (int(s) for s in args.seeds.split(",")):
            for variant in args.variants.split(","):
                result = fit_once(data.x, data.y, data.n_clusters, seed, variant)
                row = {"dataset": name, "n_samples": n, "n_features": d, "n_clusters": int(data.n_clusters),
                       "seed": seed, "variant": variant, **result, "load": os.getloadavg(), "hardware": hw}
                with out.open("a") as f:
                    f.write(json.dumps(row) + "\n")
                print(f"{name} seed {seed} {variant}: NMI {result['nmi']:.3f} ACC {result['acc']:.3f} "
                      f"{result['seconds']:.1f} s, width {result['width']}", flush=True)


if __name__ == "__main__":
    main()
