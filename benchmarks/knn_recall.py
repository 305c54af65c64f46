"""Exact against approximate (NN-descent) neighbours: recall and time, on the CPU.

For each size, in one process: :func:`n2d.manifold._knn.knn` (exact, blocked matrix
products) and :func:`n2d.manifold._nndescent.nndescent_knn` (pynndescent with
umap-learn's settings, as ``TorchUMAP(knn_method="nndescent")`` runs it) on the
same points, with 20 neighbours (N2D's ``n_neighbors``). Recall is the share
of each point's exact neighbours that NN-descent found, over every point where
the exact search ran on all of them, else over a random sample of
``--recall-rows`` points searched exactly against all points. NN-descent's
first call in a process includes numba's compilation; it is timed apart.

Data: ``--codes FILE.npy`` (for example the autoencoder codes of MNIST,
``N2D().fit(X).autoencoder_.transform(X)``), sampled to each size, or the
synthetic clustered set of ``benchmarks/scale.py`` (50 features) by default.

    python benchmarks/knn_recall.py --sizes 50000,200000,1000000
    python benchmarks/knn_recall.py --codes mnist_codes.npy --sizes 50000
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def _recall(found, exact) -> float:
    import numpy as np

    k = exact.shape[1]
    return float(np.mean([len(set(a) & set(b)) / k for a, b in zip(found, exact)]))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="50000,200000,1000000")
    p.add_argument("--codes", help=".npy of points (rows sampled to each size); default: synthetic, 50 features")
    p.add_argument("--k", type=int, default=20)
    p.add_argument("--exact-up-to", type=int, default=200_000,
                   help="run the full exact search up to this size; above, recall on --recall-rows points")
    p.add_argument("--recall-rows", type=int, default=2000)
    p.add_argument("--out", default=str(HERE / "results" / "knn-recall-cpu.json"))
    args = p.parse_args(argv)

    import numpy as np
    import torch

    import _synthetic
    from _common import hardware
    from n2d.manifold._knn import knn
    from n2d.manifold._nndescent import NNDESCENT_ABOVE, nndescent_knn

    hw = hardware()
    print(f"hardware: {json.dumps(hw)}", flush=True)
    print(f"load average before: {os.getloadavg()}", flush=True)
    sizes = [int(s) for s in args.sizes.split(",")]
    source = np.load(args.codes) if args.codes else None
    rng = np.random.default_rng(0)

    t = time.perf_counter()
    warm = np.random.default_rng(1).normal(size=(5000, 10)).astype(np.float32)
    nndescent_knn(warm, args.k, seed=0)
    compile_s = time.perf_counter() - t
    print(f"NN-descent first call (numba compilation, 5,000 points): {compile_s:.1f} s", flush=True)

    runs = []
    for n in sizes:
        if source is not None:
            if n > len(source):
                print(f"skipping {n:,}: the codes have {len(source):,} rows")
                continue
            x = source[np.sort(rng.choice(len(source), n, replace=False))].astype(np.float32)
            data = f"{args.codes} (sample)"
        else:
            x, _ = _synthetic.make(n, 50, seed=0)
            data = "synthetic clustered, 50 features"
        x = np.ascontiguousarray(x, dtype=np.float32)
        xt = torch.from_numpy(x)

        t = time.perf_counter()
        _, approx = nndescent_knn(x, args.k, seed=0)
        nnd_s = time.perf_counter() - t
        approx = approx.numpy()

        if n <= args.exact_up_to:
            t = time.perf_counter()
            _, exact = knn(xt, args.k)
            exact_s = time.perf_counter() - t
            rows = np.arange(n)
            exact = exact.numpy()
            exact_note = "all points"
        else:
            rows = np.sort(rng.choice(n, args.recall_rows, replace=False))
            t = time.perf_counter()
            _, exact = knn(xt[rows], args.k, reference=xt)
            part_s = time.perf_counter() - t
            exact_s = part_s * n / len(rows)  # the same per-row cost over all n rows
            exact = exact.numpy()
            exact_note = f"extrapolated from {len(rows):,} rows ({part_s:.1f} s)"
        recall = _recall(approx[rows], exact)
        row = {"n": n, "n_features": int(x.shape[1]), "data": data, "k": args.k, "recall": recall,
               "nndescent_seconds": nnd_s, "exact_seconds": exact_s, "exact_timing": exact_note,
               "recall_rows": int(len(rows))}
        runs.append(row)
        print(f"n = {n:,} x {x.shape[1]}: recall {recall:.4f} ({len(rows):,} points), "
              f"NN-descent {nnd_s:.1f} s, exact {exact_s:.1f} s ({exact_note})", flush=True)

    print("\n| points | features | recall@20 | NN-descent (s) | exact (s) |")
    print("| --- | --- | --- | --- | --- |")
    for r in runs:
        ex = f"{r['exact_seconds']:.1f}" + ("" if r["exact_timing"] == "all points" else " (extrapolated)")
        print(f"| {r['n']:,} | {r['n_features']} | {r['recall']:.4f} | {r['nndescent_seconds']:.1f} | {ex} |")
    print(f"\nNN-descent compilation (first call in a process): {compile_s:.1f} s; "
          f"knn_method='auto' switches to NN-descent above {NNDESCENT_ABOVE:,} points on the CPU")
    record = {"command": "knn_recall.py " + " ".join(argv if argv is not None else sys.argv[1:]), "hardware": hw,
              "compile_seconds": compile_s, "nndescent_above": NNDESCENT_ABOVE,
              "load_after": list(os.getloadavg()), "runs": runs}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(record, indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
