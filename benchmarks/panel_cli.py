"""Every panel set and stress case through ``n2d cluster`` on a CSV file, as a user would run it.

Issue 27 asks that no panel set or stress case crash, in Python or on the command line. ``benchmarks/panel.py``
covers Python; this script writes each set of ``benchmarks/panel_data.py`` (scaled as the registry says) to a
CSV file with a header and a ``label`` column, and runs

    n2d cluster SET.csv --label-column label --seed 0 --out OUT

in a fresh process with the default settings (k from the labels' classes) and an empty weight cache. It
records the exit code, the seconds, the scores ``result.json`` holds and any adjustment, and prints a table.

    python benchmarks/panel_cli.py --out benchmarks/results/panel-cli.jsonl
    python benchmarks/panel_cli.py --datasets wine,syn-k-ge-d --epochs 2   # a smoke run, not a result
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import hardware  # noqa: E402
from panel_data import REGISTRY, load  # noqa: E402


def write_csv(path: Path, x: np.ndarray, y: np.ndarray) -> None:
    header = ",".join([f"f{i}" for i in range(x.shape[1])] + ["label"])
    table = np.column_stack([x.astype(np.float64), y])
    fmt = ["%.9g"] * x.shape[1] + ["%d"]
    np.savetxt(path, table, delimiter=",", header=header, comments="", fmt=fmt)


def run_one(name: str, workdir: Path, extra: list[str]) -> dict:
    data = load(name)
    csv = workdir / f"{name}.csv"
    write_csv(csv, data.x, data.y)
    out = workdir / f"{name}-out"
    cmd = [sys.executable, "-m", "n2d", "cluster", str(csv), "--label-column", "label", "--seed", "0",
           "--out", str(out), "-q", *extra]
    env = {**os.environ, "N2D_CACHE_DIR": str(workdir / f"{name}-cache")}
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - t0
    row = {"dataset": name, "n_samples": int(data.x.shape[0]), "n_features": int(data.x.shape[1]),
           "n_clusters": int(data.n_clusters), "returncode": proc.returncode, "seconds": seconds,
           "command": "n2d cluster " + " ".join(cmd[4:]).replace(str(workdir) + "/", "")}
    result_file = out / "result.json"
    if proc.returncode == 0 and result_file.is_file():
        result = json.loads(result_file.read_text())
        row.update(scores={m: result.get(m) for m in ("acc", "nmi", "ari")}, adjustments=result.get("adjustments"),
                   n_clusters_found=result.get("n_clusters"))
    else:
        row["stderr_tail"] = proc.stderr[-2000:]
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--datasets", default=",".join(REGISTRY))
    ap.add_argument("--epochs", help="pass --epochs to n2d cluster (a smoke run; the default trains as a user would)")
    ap.add_argument("--out", default=str(HERE / "results" / "panel-cli.jsonl"))
    args = ap.parse_args()
    extra = ["--epochs", args.epochs] if args.epochs else []
    hw = hardware()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="n2d-panel-cli-") as tmp:
        for name in args.datasets.split(","):
            row = {**run_one(name, Path(tmp), extra), "load": os.getloadavg(), "hardware": hw}
            rows.append(row)
            with out.open("a") as f:
                f.write(json.dumps(row) + "\n")
            scores = row.get("scores") or {}
            print(f"{name}: exit {row['returncode']}, {row['seconds']:.1f} s, NMI {scores.get('nmi', float('nan')):.3f}"
                  f"{', adjusted ' + json.dumps(row['adjustments']) if row.get('adjustments') else ''}", flush=True)
    failed = [r["dataset"] for r in rows if r["returncode"] != 0]
    print(f"\n{len(rows) - len(failed)} of {len(rows)} sets ran; {hw.get('cpu', '?')}"
          + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
