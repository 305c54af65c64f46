"""Time and score `n2d cluster pendigits` at the README's setting and the paper's.

Runs the real command line in a fresh process for each setting (so numba
compilation and imports are counted as a user meets them), with the weight
cache disabled so the autoencoder is really trained, and prints ACC/NMI/ARI,
seconds per stage and the hardware. Results are appended as JSON to
benchmarks/results/.

    python benchmarks/bench_pendigits.py                 # both settings
    python benchmarks/bench_pendigits.py --settings readme
    python benchmarks/bench_pendigits.py --settings paper --device cuda
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import hardware  # benchmarks/_common.py (scripts run from this folder's path)

SETTINGS = {"readme": 50, "paper": 1000}
RESULTS = Path(__file__).resolve().parent / "results"


def run(epochs: int, device: str, seed: int) -> dict:
    with tempfile.TemporaryDirectory() as out:
        cmd = ["n2d", "cluster", "pendigits", "--epochs", str(epochs), "--seed", str(seed),
               "--device", device, "--no-cache", "--quiet", "--out", out]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            sys.exit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr}")
        result = json.loads((Path(out) / "result.json").read_text())
    result.update(command=" ".join(cmd[:-2]), epochs=epochs, wall_seconds=wall)
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--settings", default="readme,paper", help="comma list of: " + ", ".join(SETTINGS))
    ap.add_argument("--device", default="auto")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    hw = hardware(device_requested=args.device)
    print("hardware:", json.dumps(hw))
    rows = []
    for name in args.settings.split(","):
        r = run(SETTINGS[name], args.device, args.seed)
        r["setting"] = name
        rows.append(r)
        s = r["seconds"]
        print(
            f"{name:<7} epochs={r['epochs']:<5} ACC {r['acc']:.3f} NMI {r['nmi']:.3f} ARI {r['ari']:.3f} | "
            f"AE {s.get('autoencoder', 0):.1f} s, manifold {s.get('manifold', 0):.1f} s, "
            f"GMM {s.get('clusterer', 0):.1f} s, process wall {r['wall_seconds']:.1f} s",
            flush=True,
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = RESULTS / f"pendigits-{'-'.join(r['setting'] for r in rows)}-{stamp}.json"
    out.write_text(json.dumps({"date": stamp, "hardware": hw, "runs": rows}, indent=1))
    print("wrote", out)


if __name__ == "__main__":
    main()
