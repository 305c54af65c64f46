"""How large the report of a dataset is, how long ``--report`` adds, and how long a browser takes to draw it.

Issue 30's figures: ``n2d cluster DATASET --report`` is run as a user runs it (a fresh process, defaults); its
``result.json`` gives the seconds the report added (``report_seconds``: the 2-D UMAP of the code, the
thumbnails and the page). Then headless Chromium opens ``report.html`` and saves a screenshot; the seconds from
starting the browser to the screenshot being written (median of ``--repeats``) are the time to a drawn page,
measured against the same for a blank page (the browser's own start-up). The file's size is printed too.
Target: MNIST's report (70,000 points, a thumbnail each) at most 40 MB.

    python benchmarks/report_time.py --dataset mnist --out benchmarks/results/report-time-mnist.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import default_data_dir, hardware  # benchmarks/_common.py

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
         "--window-size=1000,1400"]


def draw_seconds(browser: str, page: Path, shot: Path) -> float:
    """Seconds from starting the browser until it has written a screenshot of ``page`` (real time, no budget)."""
    shot.unlink(missing_ok=True)
    t0 = time.perf_counter()
    subprocess.run([browser, *FLAGS, "--virtual-time-budget=60000", f"--screenshot={shot}", page.as_uri()],
                   capture_output=True, timeout=600, check=False)
    if not shot.is_file():
        raise RuntimeError(f"Chromium drew no screenshot of {page}")
    return time.perf_counter() - t0


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", default="pendigits")
    ap.add_argument("--data-dir", default=default_data_dir())
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=None, help="write the figures as JSON here")
    args = ap.parse_args(argv)
    browser = next((b for b in map(shutil.which, BROWSERS) if b), None)
    if browser is None:
        sys.exit("no Chromium on this machine: apt-get install chromium")
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="n2d-report-time-") as tmp:
        tmp = Path(tmp)
        cmd = [sys.executable, "-m", "n2d.cli", "cluster", args.dataset, "--report", "-q", "--out", str(tmp / "out")]
        if args.data_dir:
            cmd += ["--data-dir", args.data_dir]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, env={**os.environ, "N2D_CACHE_DIR": str(tmp / "cache")})
        command_s = time.perf_counter() - t0
        page = tmp / "out" / "report.html"
        result = json.loads((tmp / "out" / "result.json").read_text())
        blank = tmp / "blank.html"
        blank.write_text("<!DOCTYPE html><html><body></body></html>")
        draws, blanks = [], []
        for _ in range(args.repeats):  # alternated, so that load hits both alike
            draws.append(draw_seconds(browser, page, tmp / "shot.png"))
            blanks.append(draw_seconds(browser, blank, tmp / "blank.png"))
        record = {
            "dataset": args.dataset, "rows": result.get("n_samples"), "bytes": page.stat().st_size,
            "command_seconds": command_s, "report_seconds": result.get("report_seconds"),
            "draw_seconds": draws, "blank_page_seconds": blanks,
            "draw_median": statistics.median(draws), "blank_median": statistics.median(blanks),
            "scores": {m: result.get(m) for m in ("acc", "nmi", "ari")},
            "browser": subprocess.run([browser, "--version"], capture_output=True, text=True).stdout.strip(),
        }
    env = hardware(load_average_before=load_before)
    record["environment"] = env
    print(f"{args.dataset}: report.html {record['bytes'] / 1e6:.1f} MB; n2d cluster --report {command_s:.0f} s, "
          f"of which the report {record['report_seconds']:.0f} s; drawn in {record['draw_median']:.1f} s "
          f"(a blank page: {record['blank_median']:.1f} s), {record['browser']}")
    print(f"CPU: {env['cpu']} ({env['cores']} cores); load average before {load_before}, after {env['load_average']}")
    if args.out:
        args.out.write_text(json.dumps(record, indent=1) + "\n")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
