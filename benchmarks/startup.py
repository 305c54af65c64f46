"""Seconds until the ``n2d`` command answers, and what ``import n2d`` costs, in fresh processes.

Issue 29's target: ``n2d --help``, ``n2d --version`` and every argument error answer in under 0.5 s (median of
5 fresh processes), because nothing heavy is imported before the arguments are checked. Each case runs as a new
process (the interpreter's own start-up included), under two import modes that alternate run by run, so that
both see the same machine load:

- ``lazy``: the package as shipped (torch and scikit-learn load when a stage first needs them);
- ``eager``: ``EAGER_IMPORT=1``, lazy_loader's switch that imports every lazily exported name up front, which
  is what ``import n2d`` cost before the package became lazy.

Cases: ``n2d --help``, ``n2d --version``, an unknown option (argparse's error), a misspelt ``--manifold`` (n2d's
own check, which runs before any data is read), ``import n2d``, and ``import n2d`` followed by ``n2d.N2D`` (the
cost of the first use, which lazy loading moves but does not remove).

    python benchmarks/startup.py --repeats 5 --out benchmarks/results/startup-cpu.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
N2D = [shutil.which("n2d")] if shutil.which("n2d") else [sys.executable, "-m", "n2d.cli"]
"""The console script as a user runs it (``python -m n2d.cli`` where it is not on the PATH)."""
CASES = {
    "n2d --help": [*N2D, "--help"],
    "n2d --version": [*N2D, "--version"],
    "n2d cluster x.csv --no-such-option": [*N2D, "cluster", "x.csv", "--no-such-option"],
    "n2d cluster x.csv --manifold umapp": [*N2D, "cluster", "x.csv", "--manifold", "umapp"],
    "import n2d": [sys.executable, "-c", "import n2d"],
    "import n2d; n2d.N2D": [sys.executable, "-c", "import n2d; n2d.N2D"],
}
MODES = ("lazy", "eager")


def _seconds(cmd: list[str], mode: str) -> float:
    env = {k: v for k, v in os.environ.items() if k != "EAGER_IMPORT"}
    if mode == "eager":
        env["EAGER_IMPORT"] = "1"
    started = time.perf_counter()
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - started


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="fresh processes per case and mode (default 5)")
    parser.add_argument("--out", type=Path, help="write the figures and the hardware as JSON here")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(HERE))
    from _common import hardware

    load_before = os.getloadavg()
    for cmd in CASES.values():  # warm the file cache once, so that the first timed run is not a cold disk read
        _seconds(cmd, "lazy")
    rows = []
    print(f"{'case':38s} {'lazy s':>8s} {'eager s':>8s}   (median of {args.repeats} fresh processes)")
    for case, cmd in CASES.items():
        times = {mode: [] for mode in MODES}
        for _ in range(args.repeats):
            for mode in MODES:
                times[mode].append(_seconds(cmd, mode))
        medians = {mode: statistics.median(t) for mode, t in times.items()}
        rows.append({"case": case, "seconds": times, "median": medians})
        print(f"{case:38s} {medians['lazy']:8.2f} {medians['eager']:8.2f}")
    env = hardware(load_average_before=load_before)
    print(f"CPU: {env['cpu']} ({env['cores']} cores); load average before {load_before}, after {env['load_average']}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"cases": rows, "environment": env}, indent=1) + "\n")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
