"""Time n2d's torch UMAP stage by stage on MNIST-sized data (70,000 points).

The input is MNIST's 70,000 images reduced by PCA to 10 dimensions (a
stand-in for N2D's 10-dimensional autoencoder code: the same size and
neighbour-graph scale, with no training to wait for); ``TorchUMAP`` embeds it
with N2D's settings (10 dimensions, 20 neighbours, ``min_dist=0``), and the
seconds of each stage (kNN, graph, spectral start, layout) are printed with
the hardware. The layout always runs on one torch thread; ``--threads`` sets
the others.

To compare two versions of the code on one machine, run this script from the
working tree against each version's sources, one after the other on an idle
machine, for example::

    python benchmarks/layout_time.py --threads 1
    git worktree add /tmp/old <commit> && PYTHONPATH=/tmp/old/src python benchmarks/layout_time.py --threads 1
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch

from _common import default_data_dir, hardware  # benchmarks/_common.py


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data-dir", default=default_data_dir())
    ap.add_argument("--out", default=None, help="also write the figures to this JSON file")
    args = ap.parse_args(argv)

    from sklearn.decomposition import PCA

    import n2d
    from n2d import load_dataset
    from n2d.manifold import TorchUMAP

    if args.threads:
        torch.set_num_threads(args.threads)
    x = PCA(10, random_state=0).fit_transform(load_dataset("mnist", data_home=args.data_dir, download=False).x)
    x = np.ascontiguousarray(x, dtype=np.float32)
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    model = TorchUMAP(n_components=10, n_neighbors=20, min_dist=0.0, random_state=args.seed).fit(x)
    total = time.perf_counter() - t0
    record = {
        "n2d_source": os.path.dirname(n2d.__file__),
        "n": int(x.shape[0]),
        "seconds": {k: round(float(v), 2) for k, v in model.timings_.items()},
        "total_seconds": round(total, 2),
        "load_before": list(load_before),
        "load_after": list(os.getloadavg()),
        "hardware": hardware(),
    }
    print(json.dumps(record, indent=1))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(record, f, indent=1)


if __name__ == "__main__":
    main()
