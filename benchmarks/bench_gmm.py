"""Time scikit-learn's GaussianMixture(full) against n2d's TorchGaussianMixture.

Synthetic blobs (10 features, 10 overlapping components) at 10,000 and 70,000
points, n_init=1 and 10, each library with its default initialisation
(scikit-learn: k-means labels; torch: k-means++ seeds). Prints seconds per fit
(best of --repeats), the mean log-likelihood, EM iterations, and the hardware.
Torch runs on the CPU and, when available, on CUDA.

    python benchmarks/bench_gmm.py
    python benchmarks/bench_gmm.py --threads 1 --sizes 10000 --n-init 1
    python benchmarks/bench_gmm.py --torch-init k-means++,kmeans      # also time the k-means start
    python benchmarks/bench_gmm.py --devices cpu,cuda --save   # also writes benchmarks/results/gmm-*.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
import warnings
from pathlib import Path

import numpy as np

from _common import hardware  # benchmarks/_common.py (scripts run from this folder's path)

RESULTS = Path(__file__).resolve().parent / "results"


def make_data(n_samples: int, seed: int = 0):
    from sklearn.datasets import make_blobs

    x, _ = make_blobs(n_samples=n_samples, n_features=10, centers=10, cluster_std=4.0, random_state=seed)
    return x


def time_fit(make, x, repeats: int):
    best, model = np.inf, None
    for _ in range(repeats):
        est = make()
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(x)
        best = min(best, time.perf_counter() - t0)
        model = est
    return best, model


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,70000", help="comma list of sample counts")
    ap.add_argument("--n-init", default="1,10", help="comma list of n_init values")
    ap.add_argument("--devices", default="auto",
                    help="torch devices: 'auto' (cpu, plus cuda if present) or a comma list")
    ap.add_argument("--threads", type=int, default=None,
                    help="limit torch and BLAS threads (default: library defaults)")
    ap.add_argument("--repeats", type=int, default=1, help="fits per setting; the fastest is reported")
    ap.add_argument("--torch-init", default="k-means++", help="comma list of TorchGaussianMixture init_params to time")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--save", action="store_true", help="also write the results as JSON to benchmarks/results/")
    args = ap.parse_args()

    import torch
    from sklearn.mixture import GaussianMixture
    from threadpoolctl import threadpool_limits

    from n2d.cluster import TorchGaussianMixture

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.devices == "auto":
        devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    else:
        devices = args.devices.split(",")
    hw = hardware(blas_threads_limit=args.threads)
    print("hardware:", json.dumps(hw), flush=True)

    # warm-up: first torch calls (and CUDA context creation) are not part of a fit's cost
    warm = make_data(500)
    for dev in devices:
        TorchGaussianMixture(3, random_state=0, device=dev).fit(warm)

    rows = []
    with threadpool_limits(args.threads):
        for n in (int(s) for s in args.sizes.split(",")):
            x = make_data(n, args.seed)
            for n_init in (int(s) for s in args.n_init.split(",")):
                makers = {"sklearn": lambda: GaussianMixture(10, covariance_type="full", n_init=n_init,
                                                             random_state=args.seed)}
                for dev in devices:
                    for init in args.torch_init.split(","):
                        label = f"torch-{dev}" + ("" if init == "k-means++" else f"[{init}]")
                        makers[label] = lambda dev=dev, init=init: TorchGaussianMixture(
                            10, n_init=n_init, init_params=init, random_state=args.seed, device=dev
                        )
                for name, make in makers.items():
                    seconds, model = time_fit(make, x, args.repeats)
                    row = {
                        "impl": name,
                        "n_samples": n,
                        "n_init": n_init,
                        "seconds": round(seconds, 4),
                        "mean_log_likelihood": model.score(x),
                        "n_iter": int(model.n_iter_),
                        "converged": bool(model.converged_),
                    }
                    rows.append(row)
                    print(
                        f"n={n:<6} n_init={n_init:<3} {name:<20} {seconds:8.3f} s   "
                        f"mean log-lik {row['mean_log_likelihood']:.5f}   n_iter {row['n_iter']:<4}"
                        f"{'' if row['converged'] else ' (not converged)'}",
                        flush=True,
                    )
    if args.save:
        RESULTS.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        out = RESULTS / f"gmm-{stamp}.json"
        out.write_text(json.dumps({"date": stamp, "hardware": hw, "runs": rows}, indent=1))
        print("wrote", out)


if __name__ == "__main__":
    main()
