"""End-to-end time of ``n2d cluster DATASET`` with the defaults, as a user runs it.

Each dataset is clustered by a fresh ``n2d cluster`` process (Python start-up
and imports included) with an empty weight cache, so the autoencoder really
trains; the wall time is measured around the process, and the per-stage
seconds, the epochs and precision used and the scores are read back from its
``result.json``. Before that, the time a refused command takes (a typo in
``--manifold``; the error must come before any training) is measured the same
way.

    python benchmarks/default_time.py                                   # pendigits
    python benchmarks/default_time.py --datasets pendigits,mnist --seeds 0

Run it alone: the figures are only meaningful on an otherwise idle machine
(the load average before and after each run is recorded).
Targets (issue 10): pendigits in at most 30 s, MNIST (70,000 x 784) in at most
5 minutes (3 where the CPU has native bfloat16) on a 2-core CPU.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import default_data_dir, hardware  # benchmarks/_common.py

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def _n2d(args: list[str], env: dict) -> tuple[float, subprocess.CompletedProcess]:
    cmd = [sys.executable, "-m", "n2d", *args]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    return time.perf_counter() - t0, proc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--datasets", default="pendigits", help="comma-separated dataset names (default pendigits)")
    ap.add_argument("--seeds", default="0", help="comma-separated seeds (default 0)")
    ap.add_argument("--data-dir", default=default_data_dir())
    ap.add_argument("--extra", default="", help="extra n2d cluster arguments, e.g. '--epochs 50'")
    ap.add_argument("--out", default=None, help="JSON path (default results/default-time-<UTC time>.json)")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="n2d-default-time-"))
    env = dict(os.environ, N2D_CACHE_DIR=str(work / "cache"))
    data_args = ["--data-dir", args.data_dir] if args.data_dir else []
    record = {
        "command": " ".join(["default_time.py", *sys.argv[1:]]),
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "hardware": hardware(),
        "runs": [],
    }
    try:
        refused_s, proc = _n2d(["cluster", "pendigits", "--manifold", "umpa", "--out", str(work / "refused"),
                                *data_args], env)
        assert proc.returncode != 0 and "umpa" in proc.stderr, proc.stderr
        record["refused_seconds"] = refused_s
        record["refused_error"] = proc.stderr.strip().splitlines()[-1]
        print(f"refused 'n2d cluster pendigits --manifold umpa': {refused_s:.2f} s ({record['refused_error']})",
              flush=True)
        for name in args.datasets.split(","):
            for seed in [int(s) for s in args.seeds.split(",")]:
                out = work / f"{name}-{seed}"
                load_before = os.getloadavg()
                wall, proc = _n2d(["cluster", name, "--seed", str(seed), "--out", str(out), "-q", *data_args,
                                   *args.extra.split()], env)
                if proc.returncode != 0:
                    raise SystemExit(f"n2d cluster {name} failed:\n{proc.stderr}")
                res = json.loads((out / "result.json").read_text())
                run = {
                    "dataset": name,
                    "seed": seed,
                    "n_samples": res["n_samples"],
                    "n_features": res["n_features"],
                    "epochs": res["runs"][0]["epochs_trained"],  # one run, trained from an empty cache
                    "epochs_budget": res["settings"]["epochs_resolved"],
                    "precision": res["settings"]["precision_used"],
                    "wall_seconds": wall,
                    "fit_seconds": res["total_seconds"],
                    "stage_seconds": res["seconds"],
                    "acc": res.get("acc"),
                    "nmi": res.get("nmi"),
                    "ari": res.get("ari"),
                    "load_before": load_before,
                    "load_after": os.getloadavg(),
                }
                record["runs"].append(run)
                stages = "  ".join(f"{k} {v:.1f} s" for k, v in res["seconds"].items())
                print(f"{name} seed {seed}: {wall:.1f} s wall ({run['epochs']} of {run['epochs_budget']} epochs, "
                      f"{run['precision']}; {stages}); "
                      f"ACC {run['acc']:.4f} NMI {run['nmi']:.4f}; load {load_before[0]:.2f} -> "
                      f"{run['load_after'][0]:.2f}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    hw = record["hardware"]
    print(f"hardware: {hw['cpu']}, {hw['cores']} cores, torch {hw['torch']}, capability "
          f"{hw.get('cpu_capability')}, native bf16 {hw.get('cpu_native_bf16')}")
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    path = Path(args.out) if args.out else RESULTS / f"default-time-{stamp}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
