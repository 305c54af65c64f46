"""How long must the autoencoder train? ACC/NMI against optimizer steps, the evidence for ``epochs="auto"``.

For each dataset and seed, one autoencoder is trained exactly as
``N2D(random_state=seed)`` trains it (same initialisation and shuffling seed,
the paper's architecture, batch 256, Adam 1e-3) in the given precision, and
its code is taken at several training lengths along the way (``--steps``:
optimizer steps, each turned into whole epochs as ``auto_epochs`` does; plus
``--epochs``, e.g. the earlier 50-epoch CPU setting). Each code is then
clustered by the rest of N2D with the same seed (torch UMAP, 10-start GMM),
which is what ``N2D(random_state=seed, epochs=E)`` would return. Labels only
score.

Every (dataset, seed, precision, length) result is appended to a JSON-lines
file as soon as it exists, so the study can be stopped and resumed
(``--out``); ``--summary`` prints the mean ± std table from that file.

    python benchmarks/auto_epochs.py --datasets pendigits,mnist-test,usps --seeds 0,1,2,3,4
    python benchmarks/auto_epochs.py --datasets mnist --seeds 0,1,2 --steps 1000,2000,3000 --epochs ""
    python benchmarks/auto_epochs.py --summary
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import default_data_dir, hardware  # noqa: E402
from n2d import N2D, evaluate, load_dataset  # noqa: E402
from n2d._util.checks import seed_from  # noqa: E402
from n2d._util.hardware import resolve_precision  # noqa: E402
from n2d.autoencoder import MLPAutoencoder  # noqa: E402
from n2d.autoencoder._training import auto_epochs, train_autoencoder  # noqa: E402
from n2d.estimator import stage_seeds  # noqa: E402

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "auto-epochs.jsonl"


def _ints(text):
    return [int(v) for v in str(text).split(",") if v.strip()]


def done_keys(path: Path) -> set:
    keys = set()
    if path.is_file():
        for line in path.read_text().splitlines():
            try:
                r = json.loads(line)
            except json.JSONDecodeError:
                continue
            keys.add((r["dataset"], r["seed"], r["precision"], r["epochs"]))
    return keys


def study(ds, seed, precision, lengths, out: Path, done: set, threads_note: str):
    x = np.ascontiguousarray(ds.x, dtype=np.float32)
    n, d = x.shape
    k = ds.n_clusters
    todo = sorted(e for e in lengths if (ds.name, seed, precision, e) not in done)
    if not todo:
        return
    ae_seed = seed_from(stage_seeds(seed)[0])  # what N2D(random_state=seed) gives its autoencoder
    module = MLPAutoencoder(d, (500, 500, 2000), k)
    module.reset_parameters(torch.Generator().manual_seed(ae_seed))
    xt = torch.from_numpy(x)
    codes, clock = {}, {"t0": time.perf_counter(), "train": 0.0}

    def snapshot(epoch, mod, loss):
        if epoch in todo:
            clock["train"] += time.perf_counter() - clock["t0"]
            mod.eval()
            with torch.inference_mode():
                codes[epoch] = (mod.encode(xt).float().numpy(), float(loss), clock["train"])
            mod.train()
            clock["t0"] = time.perf_counter()

    train_autoencoder(module, xt, epochs=max(todo), batch_size=256, lr=1e-3,
                      generator=torch.Generator().manual_seed(ae_seed), precision=precision,
                      progress=False, callback=snapshot)
    steps_per_epoch = math.ceil(n / 256)
    for epoch in todo:
        code, loss, train_s = codes[epoch]
        t0 = time.perf_counter()
        model = N2D(n_clusters=k, autoencoder=None, random_state=seed, device="cpu", verbose=0).fit(code)
        rest = time.perf_counter() - t0
        scores = evaluate(ds.y, model.labels_)
        rec = {"dataset": ds.name, "n": n, "seed": seed, "precision": precision, "epochs": epoch,
               "steps": epoch * steps_per_epoch, "loss": loss, "train_seconds": train_s,
               "umap_gmm_seconds": rest, **scores, "threads": threads_note}
        with out.open("a") as f:
            f.write(json.dumps(rec) + "\n")
        print(f"{ds.name:10s} seed {seed} {precision:8s} {epoch:4d} epochs ({rec['steps']:5d} steps): "
              f"ACC {scores['acc']:.4f} NMI {scores['nmi']:.4f}  loss {loss:.5f}  "
              f"train {train_s:.0f} s  UMAP+GMM {rest:.0f} s", flush=True)


def summary(path: Path):
    groups = defaultdict(list)
    for line in path.read_text().splitlines():
        r = json.loads(line)
        groups[(r["dataset"], r["precision"], r["epochs"], r["steps"])].append(r)
    print("| dataset | precision | epochs | steps | seeds | ACC | NMI |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for (name, prec, ep, st), rs in sorted(groups.items()):
        def ms(key):
            v = [r[key] for r in rs]
            sd = statistics.stdev(v) if len(v) > 1 else 0.0
            return f"{statistics.mean(v):.3f} ± {sd:.3f}"
        seeds = ",".join(str(r["seed"]) for r in sorted(rs, key=lambda r: r["seed"]))
        print(f"| {name} | {prec} | {ep} | {st} | {seeds} | {ms('acc')} | {ms('nmi')} |")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--datasets", default="pendigits,mnist-test,usps")
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--steps", default="1000,1500,2000,2500", help="training lengths in optimizer steps")
    ap.add_argument("--epochs", default="50", help="extra training lengths in epochs")
    ap.add_argument("--precision", default="auto", help="auto, float32, bfloat16, or a comma list")
    ap.add_argument("--data-dir", default=default_data_dir())
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--summary", action="store_true", help="print the table from --out and exit")
    args = ap.parse_args(argv)
    if args.summary:
        summary(args.out)
        return
    if args.threads:
        torch.set_num_threads(args.threads)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    hw = hardware()
    print(f"hardware: {hw['cpu']}, {hw['cores']} cores, torch threads {hw['torch_threads']}, load {hw['load_average']}")
    precisions = [resolve_precision(p.strip(), "cpu") for p in args.precision.split(",")]
    data = {name: load_dataset(name, data_home=args.data_dir, download=False) for name in args.datasets.split(",")}
    for seed in _ints(args.seeds):
        for name, ds in data.items():
            lengths = {auto_epochs(len(ds.x), 256, s) for s in _ints(args.steps)} | set(_ints(args.epochs))
            for precision in precisions:
                study(ds, seed, precision, lengths, args.out, done_keys(args.out),
                      f"torch {torch.get_num_threads()} threads, load {hw['load_average'][0]:.1f} at start")


if __name__ == "__main__":
    main()
