"""Training length on small data: ACC/NMI and seconds of the default fit against shorter step rules.

``epochs="auto"`` trains :func:`n2d.autoencoder._training.auto_steps` optimizer
steps: 2,000 on any set of up to 10,000 rows, so 400 rows train 1,000 epochs.
This study fits ``N2D(n_clusters=k, random_state=seed)`` on the panel's small
real sets (``benchmarks/panel_data.py``; at most ``--max-rows`` rows) once per
step rule, in one process, with an empty weight cache each time, and records
ACC, NMI, ARI, the optimizer steps really trained and the seconds of every
stage. A rule replaces ``auto_steps`` for the duration of one fit (the rest of
``epochs="auto"``, the stop at 1% unexplained variance included, is unchanged):

- ``today``: the shipped rule;
- ``before``: the rule of 0.1.0 up to issue 27 (2,000 steps on any set up to 10,000 rows; the rows of
  ``results/small-data.jsonl`` labelled ``before`` were run as ``today`` when it was the shipped rule);
- ``sqrt``: ``2000 * sqrt(n / 10000)`` below 10,000 rows (continuous with the rule above), at least ``--floor``;
- ``steps=N``: a fixed N.

    python benchmarks/small_data.py --datasets digits,vowel,glass,wine,osuleaf,acsf1,japanese-vowels \\
        --seeds 0,1,2 --rules today,sqrt --out benchmarks/results/small-data.jsonl
    python benchmarks/small_data.py --summarize benchmarks/results/small-data.jsonl
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import empty_weight_cache, hardware  # noqa: E402
from n2d import N2D, evaluate  # noqa: E402
from n2d.autoencoder import _training  # noqa: E402
from panel_data import load  # noqa: E402

TODAY = _training.auto_steps


def before_steps(n: int) -> int:
    """The step rule of 0.1.0 up to issue 27: 2,000 steps up to 10,000 rows, then as the square root of the rows."""
    return int(round(_training.AUTO_STEPS * max(1.0, math.sqrt(min(n, _training.AUTO_CAP_ROWS) / _training.AUTO_ROWS))))


def rule(name: str, floor: int):
    """The step rule ``name`` as a function of the row count."""
    if name == "today":
        return None  # the shipped rule, with the network's own arithmetic (no patch)
    if name == "before":
        return before_steps
    if name == "sqrt":
        def sqrt_rule(n):
            if n >= _training.AUTO_ROWS:
                return TODAY(n)
            return max(floor, int(round(_training.AUTO_STEPS * math.sqrt(n / _training.AUTO_ROWS))))

        return sqrt_rule
    if name.startswith("steps="):
        steps = int(name.split("=", 1)[1])
        return lambda n: steps
    raise SystemExit(f"unknown rule {name!r}: today, before, sqrt or steps=N")


def fit_once(x, y, k, seed, steps_rule):
    with empty_weight_cache("n2d-small-"):
        if steps_rule is not None:
            _training.auto_steps = lambda n, *_: steps_rule(n)
        try:
            t0 = time.perf_counter()
            model = N2D(n_clusters=k, random_state=seed, verbose=0).fit(x)
            seconds = time.perf_counter() - t0
        finally:
            _training.auto_steps = TODAY
    batches = math.ceil(x.shape[0] / model.autoencoder_.batch_size)
    return {
        **evaluate(y, model.labels_), "seconds": seconds, "timings": dict(model.timings_),
        "target_steps": int((steps_rule or TODAY)(x.shape[0])), "epochs_trained": int(model.autoencoder_epochs_[0]),
        "steps_trained": int(model.autoencoder_epochs_[0]) * batches,
    }


def summarize(path: Path) -> None:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    groups = defaultdict(list)
    for r in rows:
        groups[(r["dataset"], r["rule"])].append(r)
    rules = sorted({r["rule"] for r in rows}, key=lambda s: (s not in ("before", "today"), s != "before", s))
    print("| data | rows x features | " + " | ".join(f"{r}: NMI / ACC / s (steps)" for r in rules) + " |")
    print("| --- | --- |" + " --- |" * len(rules))
    for data in sorted({r["dataset"] for r in rows}):
        first = next(r for r in rows if r["dataset"] == data)
        cells = []
        for name in rules:
            g = groups.get((data, name), [])
            if not g:
                cells.append("")
                continue
            nmi = statistics.mean(r["nmi"] for r in g)
            sd = statistics.stdev(r["nmi"] for r in g) if len(g) > 1 else 0.0
            acc = statistics.mean(r["acc"] for r in g)
            seconds = statistics.median(r["seconds"] for r in g)
            steps = round(statistics.mean(r["steps_trained"] for r in g))
            cells.append(f"{nmi:.3f} ± {sd:.3f} / {acc:.3f} / {seconds:.1f} ({steps})")
        print(f"| {data} | {first['n_samples']} x {first['n_features']} | " + " | ".join(cells) + " |")
    print(f"\n{len(rows)} fits; hardware: {rows[0]['hardware'].get('cpu', '?')}; NMI mean ± sd over seeds, "
          "ACC mean, seconds median (fit only, in-process), steps trained mean")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--datasets", default="digits,vowel,glass,wine,osuleaf,acsf1,japanese-vowels")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--rules", default="today,sqrt")
    ap.add_argument("--floor", type=int, default=250, help="fewest steps of the sqrt rule (default: 250)")
    ap.add_argument("--max-rows", type=int, default=2000)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "results" / "small-data.jsonl"))
    ap.add_argument("--summarize", metavar="JSONL")
    args = ap.parse_args()
    if args.summarize:
        summarize(Path(args.summarize))
        return
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    hw = hardware()
    for name in args.datasets.split(","):
        data = load(name)
        if data.x.shape[0] > args.max_rows:
            print(f"{name}: {data.x.shape[0]} rows, more than --max-rows; skipped", flush=True)
            continue
        for seed in (int(s) for s in args.seeds.split(",")):
            for rule_name in args.rules.split(","):
                result = fit_once(data.x, data.y, data.n_clusters, seed, rule(rule_name, args.floor))
                row = {"dataset": name, "n_samples": int(data.x.shape[0]), "n_features": int(data.x.shape[1]),
                       "n_clusters": int(data.n_clusters), "seed": seed, "rule": rule_name, "floor": args.floor,
                       **result, "load": os.getloadavg(), "hardware": hw}
                with out.open("a") as f:
                    f.write(json.dumps(row) + "\n")
                print(f"{name} seed {seed} {rule_name}: NMI {result['nmi']:.3f} ACC {result['acc']:.3f} "
                      f"{result['seconds']:.1f} s, {result['steps_trained']} steps", flush=True)


if __name__ == "__main__":
    main()
