"""How the default fit scales with the number of rows: time per stage, peak memory and accuracy.

Synthetic clustered data (:mod:`_synthetic`: ten curved clusters, 50
features) at n = 10k, 100k, 300k and 1M rows by default. Each size runs in a
fresh process, so its peak RSS (``wait4``'s ``ru_maxrss``) is its own and
nothing is warm from the size before. Where it finishes within
``--umap-learn-timeout``, umap-learn's ``UMAP`` (same settings: k dimensions,
20 neighbours, ``min_dist=0``) is timed on the same autoencoder codes in a
process of its own, beside n2d's manifold stage.

Run it alone: on a 2-core machine any other job changes every figure. The
autoencoders train from scratch (the weight cache is an empty temporary one).

    python benchmarks/scale.py                       # 10k, 100k, 300k, 1M
    python benchmarks/scale.py --sizes 10000,100000  # a quick look

Sizes already in the JSON file from an earlier command are kept (each run
records its command, commit and load), unless measured again.
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

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def _fit_one(n: int, features: int, seed: int, codes_out: str | None) -> dict:
    """Child process: generate, fit the default N2D, score; return the record."""
    import numpy as np

    import _synthetic
    from n2d import N2D
    from n2d.metrics import evaluate

    t = time.perf_counter()
    X, y = _synthetic.make(n, features, seed=0)
    gen_s = time.perf_counter() - t
    t = time.perf_counter()
    est = N2D(n_clusters=_synthetic.N_CLUSTERS, random_state=seed, verbose=1).fit(X)
    fit_s = time.perf_counter() - t
    scores = evaluate(y, est.labels_)
    if codes_out:
        np.save(codes_out, est.autoencoder_.transform(X))
    return {
        "n": n,
        "n_features": features,
        "seed": seed,
        "generate_seconds": gen_s,
        "fit_seconds": fit_s,
        "stage_seconds": {k: float(v) for k, v in est.timings_.items()},
        "manifold_seconds": {k: float(v) for k, v in getattr(est.manifold_, "timings_", {}).items()},
        "epochs": int(est.autoencoder_.epochs_),
        "fit_sample_size": int(est.fit_sample_size_),
        "params": {k: v for k, v in est.get_params().items() if isinstance(v, (int, float, str, type(None)))},
        **{k: float(v) for k, v in scores.items()},
    }


def _umap_learn_one(codes: str) -> dict:
    """Child process: umap-learn on saved codes, with N2D's settings."""
    import numpy as np

    t = time.perf_counter()
    import umap

    import_s = time.perf_counter() - t
    x = np.load(codes)
    t = time.perf_counter()
    umap.UMAP(n_components=x.shape[1], n_neighbors=20, min_dist=0.0, random_state=0).fit(x)
    return {"umap_learn_seconds": time.perf_counter() - t, "umap_learn_import_seconds": import_s}


def _child(args: list[str], timeout: float | None) -> tuple[dict | None, float, str]:
    """Run this script as a child with ``args``; its JSON record, peak RSS in MB, and its outcome."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        out = f.name
    proc = subprocess.Popen([sys.executable, __file__, "--child-out", out, *args])
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if deadline is not None and time.monotonic() > deadline:
            proc.kill()
            _, status, usage = os.wait4(proc.pid, 0)
            return None, usage.ru_maxrss / 1024, f"stopped after {timeout:.0f} s"
        time.sleep(0.5)
    rss_mb = usage.ru_maxrss / 1024  # Linux: kilobytes
    if os.waitstatus_to_exitcode(status) != 0:
        return None, rss_mb, f"failed (exit {os.waitstatus_to_exitcode(status)})"
    record = json.loads(Path(out).read_text())
    os.unlink(out)
    return record, rss_mb, "ok"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="10000,100000,300000,1000000")
    p.add_argument("--features", type=int, default=50)
    p.add_argument("--seed", type=int, default=0, help="N2D's random_state (the data are always seed 0)")
    p.add_argument("--umap-learn-timeout", type=float, default=1200.0, help="seconds; 0 skips umap-learn")
    p.add_argument("--out", default=str(HERE / "results" / "scale-cpu.json"))
    p.add_argument("--child-out", help=argparse.SUPPRESS)
    p.add_argument("--child-fit", type=int, help=argparse.SUPPRESS)
    p.add_argument("--child-codes", help=argparse.SUPPRESS)
    p.add_argument("--child-umap", help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.child_out:
        if args.child_umap:
            record = _umap_learn_one(args.child_umap)
        else:
            record = _fit_one(args.child_fit, args.features, args.seed, args.child_codes)
        Path(args.child_out).write_text(json.dumps(record))
        return 0

    from _common import hardware

    sizes = [int(s) for s in args.sizes.split(",")]
    hw = hardware()
    print(f"hardware: {json.dumps(hw)}", flush=True)
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        # An empty weight cache: every size trains its autoencoder (a cached one would load in a second).
        os.environ["N2D_CACHE_DIR"] = str(Path(tmp) / "weight-cache")
        for n in sizes:
            codes = str(Path(tmp) / f"codes-{n}.npy")
            print(f"\n== n = {n:,} x {args.features}", flush=True)
            rec, rss, outcome = _child(
                ["--child-fit", str(n), "--features", str(args.features), "--seed", str(args.seed),
                 "--child-codes", codes],
                None,
            )
            row = {"n": n, "outcome": outcome, "peak_rss_mb": rss, **(rec or {})}
            if rec and args.umap_learn_timeout > 0:
                urec, urss, uout = _child(["--child-umap", codes], args.umap_learn_timeout)
                row["umap_learn"] = {"outcome": uout, "peak_rss_mb": urss, **(urec or {})}
            runs.append(row)
            _print_row(row)
    command = "scale.py " + " ".join(argv if argv is not None else sys.argv[1:])
    for row in runs:
        row.update(command=command, commit=_commit(), load_after=list(os.getloadavg()))
    # Sizes measured by an earlier command stay in the file unless measured again.
    out = Path(args.out)
    earlier = json.loads(out.read_text()).get("runs", []) if out.exists() else []
    merged = {r["n"]: r for r in earlier}
    merged.update({r["n"]: r for r in runs})
    runs = [merged[n] for n in sorted(merged)]
    _print_table(runs)
    record = {"hardware": hw, "runs": runs}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=1))
    print(f"wrote {args.out}")
    return 0


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, capture_output=True, text=True,
                               check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _print_row(row: dict) -> None:
    if row["outcome"] != "ok":
        print(f"n = {row['n']:,}: {row['outcome']}, peak RSS {row['peak_rss_mb']:.0f} MB", flush=True)
        return
    stages = ", ".join(f"{k} {v:.1f} s" for k, v in row["stage_seconds"].items())
    umap_parts = ", ".join(f"{k} {v:.1f}" for k, v in row["manifold_seconds"].items())
    print(
        f"n = {row['n']:,}: fit {row['fit_seconds']:.1f} s ({stages}; manifold: {umap_parts}), "
        f"{row['epochs']} epochs, peak RSS {row['peak_rss_mb']:.0f} MB, ACC {row['acc']:.3f} NMI {row['nmi']:.3f}",
        flush=True,
    )
    if "umap_learn" in row:
        u = row["umap_learn"]
        if u["outcome"] == "ok":
            print(f"  umap-learn on the same codes: {u['umap_learn_seconds']:.1f} s "
                  f"(+{u['umap_learn_import_seconds']:.1f} s import), peak RSS {u['peak_rss_mb']:.0f} MB")
        else:
            print(f"  umap-learn on the same codes: {u['outcome']}")


def _print_table(runs: list[dict]) -> None:
    print("\n| rows | fit (s) | autoencoder | manifold | clusterer | placement | peak RSS (MB) | ACC | NMI "
          "| umap-learn (s) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in runs:
        if r["outcome"] != "ok":
            print(f"| {r['n']:,} | {r['outcome']} | | | | | {r['peak_rss_mb']:.0f} | | | |")
            continue
        s = r["stage_seconds"]
        u = r.get("umap_learn", {})
        us = f"{u['umap_learn_seconds']:.1f}" if u.get("outcome") == "ok" else u.get("outcome", "")
        print(f"| {r['n']:,} | {r['fit_seconds']:.1f} | {s.get('autoencoder', 0):.1f} | {s.get('manifold', 0):.1f} | "
              f"{s.get('clusterer', 0):.1f} | {s.get('placement', 0):.1f} | {r['peak_rss_mb']:.0f} | "
              f"{r['acc']:.3f} | {r['nmi']:.3f} | {us} |")
    ok = [r for r in runs if r["outcome"] == "ok"]
    by_n = {r["n"]: r for r in ok}
    if 100_000 in by_n and 1_000_000 in by_n:
        print(f"\n1M / 100k fit time: {by_n[1_000_000]['fit_seconds'] / by_n[100_000]['fit_seconds']:.1f}x")


if __name__ == "__main__":
    sys.exit(main())
