"""``n2d reproduce``: rebuild the paper's comparison table over several seeds.

A thin front end over :func:`n2d.reproduce.reproduce`, which runs the methods,
resumes an interrupted study and writes every file; this module prints the
table and exits with 1 when a run failed (see the docs' reproducing page,
``docs/guide/reproducing.rst``).
"""

from __future__ import annotations

import sys
from pathlib import Path

from n2d.cli._options import add_dataset_options, add_device_option


def add_parser(subparsers) -> None:
    """Register the ``reproduce`` sub-command on an argparse sub-parsers object; it runs :func:`run`."""
    from n2d.reproduce import METHODS

    p = subparsers.add_parser(
        "reproduce",
        help="rebuild the paper's comparison table over several seeds",
        description="Run the paper's methods (raw-data baselines, AE + GMM, manifold learners, N2D variants) on "
        "datasets over several seeds; write every run (runs.jsonl/runs.csv), a summary (summary.json) and a Markdown "
        "table of mean +- std next to the paper's numbers (table.md). A rerun with the same --out resumes.",
    )
    p.add_argument("--datasets", default="pendigits", help="'all' or comma-separated names (default: pendigits)")
    p.add_argument(
        "--methods", default="all", help="'all' (default) or comma-separated: " + ", ".join(METHODS)
    )
    p.add_argument("--seeds", type=int, default=5, help="seeds for AE + GMM and N2D (default: 5)")
    p.add_argument("--baseline-seeds", type=int, help="seeds for the other methods (default: as --seeds)")
    p.add_argument("--out", default="n2d-reproduce", help="results folder (default: n2d-reproduce)")
    p.add_argument("--paper", action="store_true",
                   help="the paper's setting: 1000 float32 autoencoder epochs, umap-learn on a CPU "
                        "(same as --setting paper)")
    p.add_argument("--setting", choices=("default", "paper", "cpu"), default=None,
                   help="default (N2D's own default: epochs 'auto', auto precision), paper, or cpu (the earlier "
                        "50-epoch CPU setting of benchmarks/results/reproduce-cpu)")
    p.add_argument("--epochs", type=int, help="override the autoencoder epochs of the setting")
    p.add_argument("--n-samples", type=int, help="use a fixed random subset of each dataset (quick trials)")
    p.add_argument("--plot", action="store_true", help="write plots/<dataset>-<method>.png (needs matplotlib)")
    add_device_option(p)
    add_dataset_options(p)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=run)


def run(args) -> int:
    """Run (or resume) the study and print its table; returns 1 if a run failed, else 0."""
    from n2d.reproduce import load_runs, reproduce

    reproduce(
        args.datasets, args.methods, args.seeds, args.baseline_seeds, args.out, paper=args.paper, setting=args.setting,
        epochs=args.epochs,
        n_samples=args.n_samples, plot=args.plot,
        data_home=args.data_dir, download=not args.no_download, device=args.device, verbose=0 if args.quiet else 1,
    )
    out = Path(args.out)
    print((out / "table.md").read_text(encoding="utf-8"))
    print(f"wrote {out / 'runs.csv'}, {out / 'summary.json'}, {out / 'table.md'}")
    failed = [r for r in load_runs(out) if r["status"] == "failed"]
    if failed:
        print(f"n2d reproduce: {len(failed)} run(s) failed; see 'reason' in {out / 'runs.csv'}", file=sys.stderr)
        return 1
    return 0
