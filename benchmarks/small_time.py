"""Seconds of a default fit on small data, in fresh processes: the step rule of 0.1.0 against today's.

Issue 27's target: any set of at most 2,000 rows fits end to end in at most 15 s on a 2-core CPU (median of
3 fresh processes). Each fit runs in a new Python process (imports, torch's first-call costs and the weight
cache's first write included; the cache is empty), ``N2D(n_clusters=k, random_state=seed).fit(x)`` with the
default settings, under one of two step rules for ``epochs="auto"``:

- ``before``: the rule of n2d 0.1.0 as of issue 26 (2,000 optimizer steps on any set up to 10,000 rows);
- ``today``: the shipped rule (:func:`n2d.autoencoder._training.auto_steps`).

The two rules alternate run by run, so that both see the same machine load. Cases: the panel's real sets of at
most 2,000 rows (``benchmarks/panel_data.py``) and two synthetic 2,000-row tables, 16 and 1,024 features
(Gaussian blobs, 10 clusters), the narrowest and a wide input at the size limit. The script prints the
median fit seconds (and the whole process's) per case and rule, with the hardware and the load average.

    python benchmarks/small_time.py --repeats 3 --out benchmarks/results/small-time.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CASES = ("wine", "acsf1", "osuleaf", "japanese-vowels", "digits", "blobs-2000x16", "blobs-2000x1024")
RULES = ("before", "today")


def _data(case: str):
    import numpy as np

    if case.startswith("blobs-"):
        n, d = (int(v) for v in case.split("-")[1].split("x"))
        rng = np.random.default_rng(0)
        centres = rng.normal(size=(10, d)) * 2.0
        y = rng.integers(0, 10, n)
        return (centres[y] + rng.normal(size=(n, d))).astype(np.float32), y, 10
    sys.path.insert(0, str(HERE))
    from panel_data import load

    data = load(case)
    return data.x, data.y, data.n_clusters


def child(case: str, rule: str, seed: int) -> None:
    """One fit in this (fresh) process; prints a JSON line."""
    started = time.perf_counter()
    x, y, k = _data(case)
    from n2d import N2D, evaluate
    from n2d.autoencoder import _training

    if rule == "before":
        from small_data import before_steps  # benchmarks/small_data.py

        _training.auto_steps = lambda n, *_: before_steps(n)
    t0 = time.perf_counter()
    model = N2D(n_clusters=k, random_state=seed, verbose=0).fit(x)
    fit = time.perf_counter() - t0
    print(json.dumps({"fit_seconds": fit, "process_seconds": time.perf_counter() - started,
                      "timings": dict(model.timings_), "epochs": int(model.autoencoder_epochs_[0]),
                      "target_steps": int(_training.auto_steps(x.shape[0], 256, _training.forward_macs(
                          (x.shape[1], *model.autoencoder_.hidden_dims, model.autoencoder_.n_components)))),
                      "n_samples": int(x.shape[0]),
                      "n_features": int(x.shape[1]), **evaluate(y, model.labels_)}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--rules", default=",".join(RULES))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=str(HERE / "results" / "small-time.jsonl"))
    ap.add_argument("--child", nargs=3, metavar=("CASE", "RULE", "SEED"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], args.child[1], int(args.child[2]))
        return
    sys.path.insert(0, str(HERE))
    from _common import hardware

    hw = hardware()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = []
    for case in args.cases.split(","):
        for rep in range(args.repeats):
            for rule in args.rules.split(","):
                with tempfile.TemporaryDirectory(prefix="n2d-time-") as cache:
                    env = {**os.environ, "N2D_CACHE_DIR": cache}
                    proc = subprocess.run([sys.executable, __file__, "--child", case, rule, "0"], env=env,
                                          capture_output=True, text=True, check=True)
                result = json.loads(proc.stdout.strip().splitlines()[-1])
                row = {"case": case, "rule": rule, "repeat": rep, **result, "load": os.getloadavg(), "hardware": hw}
                rows.append(row)
                with out.open("a") as f:
                    f.write(json.dumps(row) + "\n")
                print(f"{case} {rule} #{rep}: fit {result['fit_seconds']:.1f} s (process "
                      f"{result['process_seconds']:.1f} s), {result['target_steps']} steps target, "
                      f"NMI {result['nmi']:.3f}", flush=True)
    print(f"\nmedian of {args.repeats} fresh processes, seed 0; {hw.get('cpu', '?')}, "
          f"{hw.get('cores', '?')} cores, load average (1 min) during the runs "
          f"{min(r['load'][0] for r in rows):.1f}-{max(r['load'][0] for r in rows):.1f}")
    print("| case | rows x features | " + " | ".join(f"{r}: fit s (process s)" for r in args.rules.split(",")) + " |")
    print("| --- | --- |" + " --- |" * len(args.rules.split(",")))
    for case in args.cases.split(","):
        cells = []
        for rule in args.rules.split(","):
            g = [r for r in rows if r["case"] == case and r["rule"] == rule]
            cells.append(f"{statistics.median(r['fit_seconds'] for r in g):.1f} "
                         f"({statistics.median(r['process_seconds'] for r in g):.1f})")
        first = next(r for r in rows if r["case"] == case)
        print(f"| {case} | {first['n_samples']} x {first['n_features']} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
