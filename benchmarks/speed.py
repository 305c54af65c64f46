"""End-to-end speed of n2d against a plain, paper-faithful N2D written the obvious way.

One process, one copy of the data, three measurements:

1. n2d: ``N2D(n_clusters=k, epochs=E, device=...)`` with its default
   ``random_state=None`` (``--seed N`` to seed it; a seeded umap-learn runs on
   one thread, an unseeded one on all cores, like the reference's), with a
   fresh, empty weight cache (so the autoencoder is really trained); seconds
   per stage from ``timings_`` and the wall time around ``fit``.
2. The reference: the paper's d-500-500-2000-k autoencoder as a torch
   ``nn.Sequential`` (ReLU, linear code and output), trained with a
   ``DataLoader`` over a ``TensorDataset`` (shuffled batches of 256, moved to
   the device one by one), MSE and Adam (lr 1e-3, torch's default
   implementation); then umap-learn ``UMAP(n_components=k, n_neighbors=20,
   min_dist=0)``, unseeded so it uses all cores as a user would run it; then a
   full-covariance ``GaussianMixture(k, random_state=0)`` with one
   initialisation, as in the paper's code.
3. With ``--seeds S`` > 1: S autoencoders trained at once with
   ``n2d.autoencoder.fit_autoencoders``, against the single autoencoder of (1).

Importing umap-learn and numba's compilation (20 to 30 s on a small CPU, paid
once by every fresh process that uses umap-learn) is timed on its own first, on
a tiny problem, and then added once to each side that uses umap-learn: always
the reference, and n2d only when given umap-learn (its default manifold is
n2d's torch UMAP on every device). Both sides then run warm, so
neither gains from running after the other. On a GPU the CUDA context is
created before anything is timed.
Times are read with ``time.perf_counter``, after synchronising the GPU.

Where the reference autoencoder trains fewer epochs than ``--epochs``
(``--reference-epochs``), its time is scaled to ``--epochs``: the measured time
per training epoch times ``--epochs``, plus the measured encoding time; this is
marked "scaled" in the table and the JSON, and its scores are those after the
epochs it really trained. On CUDA, for data with more than 20,000 samples and
no ``--reference-epochs``, the reference trains 50 epochs (scaled), so that the
headline MNIST run fits in 10 minutes on one H100.

The table shows seconds per stage, the end-to-end ratio reference / n2d,
ACC/NMI/ARI of both, the multi-seed ratio, the devices and the hardware; the
figures are written as JSON to benchmarks/results/speed-<dataset>-<device>-<UTC
time>.json (or ``--out``).

    python benchmarks/speed.py --device cuda --dataset mnist      # the headline GPU figure
    python benchmarks/speed.py --device cuda                      # pendigits, 1000 epochs
    python benchmarks/speed.py --device cpu --dataset pendigits --epochs 20 --seeds 2

``--epochs`` defaults to n2d's own default on a CPU (``"auto"``: 2,000
optimizer steps up to 10,000 rows, more above, bfloat16 where the CPU has it), against a reference that
trains 50 float32 epochs, the CPU setting whose 5-seed means first reached the
paper's (so both sides aim at the same accuracy, and the scores are printed
beside the times); on CUDA it defaults to the paper's 1000 epochs on both sides.

    python benchmarks/speed.py --device cpu --dataset pendigits   # the CPU default against the reference
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from _common import (  # benchmarks/_common.py (scripts run from this folder's path)
    default_data_dir,
    empty_weight_cache,
    hardware,
)

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
STAGES = ("autoencoder", "manifold", "clusterer")
PAPER_EPOCHS = 1000
LARGE_N = 20_000  # above this many samples on CUDA, the reference trains GPU_REFERENCE_EPOCHS by default
GPU_REFERENCE_EPOCHS = 50
ORDER = (
    "umap-learn import + numba compilation timed first on a tiny problem and added once to each side that uses "
    "umap-learn; then n2d, the reference and the multi-seed autoencoders, all warm"
)


def umap_compile_seconds() -> float:
    """Import umap-learn and compile its numba code on a small problem; the seconds it took.

    5,000 points, so that umap-learn takes its NN-descent path (used above 4,096
    points) and compiles that too, unseeded so that its parallel code is compiled.
    """
    import numpy as np

    t0 = time.perf_counter()
    import umap

    umap.UMAP(n_components=3, n_neighbors=5, min_dist=0.0, n_epochs=20).fit_transform(
        np.random.RandomState(0).normal(size=(5000, 5)).astype(np.float32)
    )
    return time.perf_counter() - t0


def clock(device: torch.device) -> float:
    """``time.perf_counter()`` once the device has finished its queued work."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter()


def reference_autoencoder(x, k: int, epochs: int, device: torch.device):
    """The paper's autoencoder written the obvious way; returns (codes, training s, encoding s)."""
    torch.manual_seed(0)
    d = x.shape[1]
    encoder = nn.Sequential(
        nn.Linear(d, 500), nn.ReLU(),
        nn.Linear(500, 500), nn.ReLU(),
        nn.Linear(500, 2000), nn.ReLU(),
        nn.Linear(2000, k),
    )
    decoder = nn.Sequential(
        nn.Linear(k, 2000), nn.ReLU(),
        nn.Linear(2000, 500), nn.ReLU(),
        nn.Linear(500, 500), nn.ReLU(),
        nn.Linear(500, d),
    )
    model = nn.Sequential(encoder, decoder).to(device)
    data = torch.from_numpy(x)
    loader = DataLoader(TensorDataset(data), batch_size=256, shuffle=True)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.MSELoss()
    t0 = clock(device)
    for _ in range(epochs):
        for (batch,) in loader:
            batch = batch.to(device)
            optimizer.zero_grad()
            loss = loss_fn(model(batch), batch)
            loss.backward()
            optimizer.step()
    t1 = clock(device)
    model.eval()
    with torch.no_grad():
        codes = encoder(data.to(device)).cpu().numpy()
    return codes, t1 - t0, clock(device) - t1


def run_reference(x, y, k: int, epochs: int, target_epochs: int, device: torch.device, compile_s: float) -> dict:
    import umap
    from sklearn.mixture import GaussianMixture

    from n2d.metrics import evaluate

    codes, train_s, encode_s = reference_autoencoder(x, k, epochs, device)
    threads = torch.get_num_threads()
    t0 = time.perf_counter()
    embedding = umap.UMAP(n_components=k, n_neighbors=20, min_dist=0.0).fit_transform(codes)
    manifold_s = time.perf_counter() - t0
    torch.set_num_threads(threads)  # umap-learn's parallel numba code resets torch's OpenMP threads
    t0 = time.perf_counter()
    labels = GaussianMixture(k, covariance_type="full", random_state=0).fit_predict(embedding)
    clusterer_s = time.perf_counter() - t0
    scaled = epochs != target_epochs
    seconds = {
        "autoencoder": train_s / epochs * target_epochs + encode_s,
        "manifold": manifold_s + compile_s,
        "clusterer": clusterer_s,
    }
    seconds["total"] = sum(seconds.values())
    return {
        "device": str(device),
        "epochs_trained": epochs,
        "autoencoder_scaled": scaled,
        "autoencoder_note": f"scaled from {epochs} epochs to {target_epochs}" if scaled else "measured",
        "autoencoder_measured": {"epochs": epochs, "train_seconds": train_s, "encode_seconds": encode_s},
        "seconds": seconds,
        "scores": evaluate(y, labels),
    }


def run_n2d(x, y, k: int, epochs: int, device: torch.device, seed, compile_s: float) -> dict:
    from n2d import N2D
    from n2d.metrics import evaluate

    model = N2D(n_clusters=k, epochs=epochs, random_state=seed, device=str(device), verbose=0)
    t0 = clock(device)
    model.fit(x)
    wall = clock(device) - t0
    seconds = {stage: model.timings_.get(stage, 0.0) for stage in STAGES}
    uses_umap_learn = type(model.manifold_).__name__ == "UMAP"
    if uses_umap_learn:
        seconds["manifold"] += compile_s
    seconds["total"] = wall + (compile_s if uses_umap_learn else 0.0)
    return {
        "device": model.device_,
        "epochs_trained": len(model.autoencoder_.history_),
        "epochs_budget": model.autoencoder_.epochs_,
        "precision": model.autoencoder_.precision_,
        "manifold": type(model.manifold_).__name__,
        "clusterer": type(model.clusterer_).__name__,
        "includes_umap_compile": uses_umap_learn,
        "seconds": seconds,
        "scores": evaluate(y, model.labels_),
    }


def run_seeds(x, k: int, epochs: int, device: torch.device, n_seeds: int, one_seed_s: float) -> dict:
    from n2d.autoencoder import fit_autoencoders

    t0 = clock(device)
    fit_autoencoders(x, list(range(n_seeds)), n_components=k, epochs=epochs, device=str(device), verbose=0, cache=False)
    seconds = clock(device) - t0
    return {"seeds": n_seeds, "seconds": seconds, "one_seed_seconds": one_seed_s, "ratio": seconds / one_seed_s}


def print_report(record: dict) -> None:
    ref, ours, multi = record["reference"], record["n2d"], record["multi_seed"]
    print(f"\n== {record['dataset']}: {record['n_samples']} x {record['n_features']}, {record['n_clusters']} clusters, "
          f"{record['epochs']} epochs, on {record['device']} ({record['device_name']})")
    print(f"order: {ORDER}")
    print(f"umap-learn import + numba compilation: {record['umap_compile_seconds']:.1f} s, counted in the manifold "
          f"stage of the reference{' and of n2d' if ours.get('includes_umap_compile') else ''}")
    print(f"n2d stages: {ours.get('manifold')} + {ours.get('clusterer')} on {ours['device']}")
    print(f"\n{'seconds':<12s} {'reference':>12s} {'n2d':>10s}")
    for stage in (*STAGES, "total"):
        mark = "*" if ref and ref["autoencoder_scaled"] and stage in ("autoencoder", "total") else " "
        ref_s = f"{ref['seconds'][stage]:11.1f}{mark}" if ref else f"{'-':>12s}"
        print(f"{stage:<12s} {ref_s} {ours['seconds'][stage]:10.1f}")
    if ref:
        if ref["autoencoder_scaled"]:
            m = ref["autoencoder_measured"]
            print(f"* reference autoencoder {ref['autoencoder_note']}: measured {m['train_seconds']:.1f} s training "
                  f"({m['train_seconds'] / m['epochs']:.2f} s/epoch) + {m['encode_seconds']:.1f} s encoding; "
                  f"time per epoch x {record['epochs']} + encoding")
        print(f"\nend to end: reference / n2d = {record['ratio_reference_over_n2d']:.2f}x")
    print(f"\n{'scores':<24s} {'ACC':>6s} {'NMI':>6s} {'ARI':>6s}  device")
    budget = ours.get("epochs_budget", ours["epochs_trained"])
    of = f" of {budget}" if budget != ours["epochs_trained"] else ""
    rows = [(f"n2d ({ours['epochs_trained']}{of} epochs, {ours['precision']})", ours)]
    if ref:
        rows.append((f"reference ({ref['epochs_trained']} epochs)", ref))
    for name, r in rows:
        s = r["scores"]
        print(f"{name:<24s} {s['acc']:6.3f} {s['nmi']:6.3f} {s['ari']:6.3f}  {r['device']}")
    if multi:
        print(f"\nmulti-seed autoencoders: {multi['seeds']} seeds {multi['seconds']:.1f} s, 1 seed "
              f"{multi['one_seed_seconds']:.1f} s (n2d above): {multi['seeds']} seeds / 1 seed = {multi['ratio']:.2f}x")
    print("\nhardware:", json.dumps(record["hardware"]))


CPU_REFERENCE_EPOCHS = 50


def _epochs(text):
    if text == "auto":
        return text
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 'auto' or at least 1")
    return value


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="pendigits", help="an n2d dataset name (default pendigits)")
    ap.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    ap.add_argument("--epochs", type=_epochs, default=None,
                    help=f"n2d's autoencoder epochs: 'auto' (n2d's default; the default on a CPU) or an int "
                         f"(default on CUDA: {PAPER_EPOCHS}, the paper's)")
    ap.add_argument("--reference-epochs", type=int, default=None,
                    help="epochs the reference autoencoder really trains; its time is scaled to --epochs "
                         f"(default: --epochs, or {GPU_REFERENCE_EPOCHS} on CUDA above {LARGE_N} samples; with "
                         f"--epochs auto, {CPU_REFERENCE_EPOCHS}, the CPU setting whose 5-seed means reached the "
                         "paper, unscaled)")
    ap.add_argument("--seeds", type=int, default=5,
                    help="autoencoders trained at once for the multi-seed figure (default 5; 1: skip it)")
    ap.add_argument("--data-dir", default=default_data_dir(),
                    help="n2d data directory (default: ../shared/data if present, else n2d's own)")
    ap.add_argument("--seed", type=int, default=None, help="n2d's random_state (default: None, n2d's default)")
    ap.add_argument("--skip-reference", action="store_true", help="time n2d only")
    ap.add_argument("--out", default=None,
                    help="JSON file (default benchmarks/results/speed-<dataset>-<device>-<UTC time>.json)")
    args = ap.parse_args()
    if (args.reference_epochs is not None and args.reference_epochs < 1) or args.seeds < 1:
        ap.error("--reference-epochs and --seeds must be at least 1")

    import n2d
    from n2d._util.device import resolve_device

    try:
        device = resolve_device(args.device)
    except ValueError as exc:
        ap.error(str(exc))
    ds = n2d.load_dataset(args.dataset, data_home=args.data_dir)
    x, y, k = ds.x, ds.y, ds.n_clusters
    if args.epochs is None:
        args.epochs = PAPER_EPOCHS if device.type == "cuda" else "auto"
    reference_epochs = args.reference_epochs
    target_epochs = args.epochs
    if args.epochs == "auto":  # the reference trains the former CPU setting, measured as it is
        reference_epochs = reference_epochs or CPU_REFERENCE_EPOCHS
        target_epochs = reference_epochs
    elif reference_epochs is None:
        reference_epochs = args.epochs
        if device.type == "cuda" and len(x) > LARGE_N and not args.skip_reference:
            reference_epochs = min(args.epochs, GPU_REFERENCE_EPOCHS)
            print(f"note: the reference autoencoder trains {reference_epochs} epochs and its time is scaled to "
                  f"{args.epochs} ({len(x)} samples > {LARGE_N} on CUDA), so the run fits in 10 minutes; "
                  "pass --reference-epochs to change this", flush=True)
    hw = hardware(device_requested=args.device)
    device_name = torch.cuda.get_device_name(device) if device.type == "cuda" else hw["cpu"]
    print(f"{ds.name}: {x.shape[0]} x {x.shape[1]}, {k} clusters; epochs {args.epochs}"
          f"{'' if args.skip_reference else f', reference epochs {reference_epochs}'}; "
          f"device {device} ({device_name})", flush=True)

    if device.type == "cuda":  # create the CUDA context and cuBLAS handle before timing anything
        torch.ones(8, 8, device=device).matmul(torch.ones(8, 8, device=device))
        clock(device)
    # The data was loaded with the user's cache; weights go to an empty one, so nothing is reused.
    threads = torch.get_num_threads()
    compile_s = umap_compile_seconds()
    print(f"umap-learn import + numba compilation: {compile_s:.1f} s", flush=True)
    torch.set_num_threads(threads)
    with empty_weight_cache("n2d-speed-"):
        ours = run_n2d(x, y, k, args.epochs, device, args.seed, compile_s)
        torch.set_num_threads(threads)
        print(f"n2d done: {ours['seconds']['total']:.1f} s", flush=True)
        ref = None
        if not args.skip_reference:
            ref = run_reference(x, y, k, reference_epochs, target_epochs, device, compile_s)
            print(f"reference done: {ref['seconds']['total']:.1f} s ({ref['autoencoder_note']})", flush=True)
        multi = None
        if args.seeds > 1:
            multi = run_seeds(x, k, args.epochs, device, args.seeds, ours["seconds"]["autoencoder"])
            print(f"{args.seeds} seeds done: {multi['seconds']:.1f} s", flush=True)

    now = dt.datetime.now(dt.timezone.utc)
    record = {
        "command": " ".join(sys.argv),
        "date": now.isoformat(timespec="seconds"),
        "dataset": ds.name,
        "n_samples": int(x.shape[0]),
        "n_features": int(x.shape[1]),
        "n_clusters": int(k),
        "device": str(device),
        "device_name": device_name,
        "epochs": args.epochs,
        "n2d_random_state": args.seed,
        "reference_epochs": None if args.skip_reference else reference_epochs,
        "reference_autoencoder_scaled": bool(ref and ref["autoencoder_scaled"]),
        "order": ORDER,
        "umap_compile_seconds": compile_s,
        "n2d": ours,
        "reference": ref,
        "ratio_reference_over_n2d": ref["seconds"]["total"] / ours["seconds"]["total"] if ref else None,
        "multi_seed": multi,
        "hardware": hw,
    }
    print_report(record)
    if args.out:
        out = Path(args.out)
    else:
        out = RESULTS / f"speed-{ds.name}-{device.type}-{now.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=1))
    print("wrote", out)


if __name__ == "__main__":
    main()
