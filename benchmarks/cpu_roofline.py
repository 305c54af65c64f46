"""How close n2d's autoencoder training step comes to the CPU's matrix-multiply throughput.

In one process, with the same threads, for each precision (float32, and
bfloat16 where the CPU has native bfloat16 instructions):

1. **peak**: a square ``--peak-size``^3 matmul, GFLOP/s;
2. **step GEMMs**: exactly the matrix products one training step of the
   d-500-500-2000-k autoencoder performs at batch 256 (forward ``x @ W`` per
   layer, backward ``g @ W.T`` and ``x.T @ g``), run back to back on their own,
   with nothing else: the roofline a step can reach at these shapes;
3. **step**: n2d's real training step (:class:`n2d.autoencoder._training._Step`: gather the
   batch, forward, MSE, backward, Adam), GFLOP/s counted from the same FLOPs.

4. with ``--compile``, **compiled step**: the same step with the autoencoder
   under ``torch.compile`` (inductor, which fuses the bias, ReLU and loss
   passes around the products), and the seconds its first step spends
   compiling with an empty compilation cache; the step count after which compiling would pay for itself is
   set against the default fit's (``auto_steps``).

It prints the ratio step / step-GEMMs, the figure the target is set on, and the
hardware, and writes JSON to ``benchmarks/results/cpu-roofline-<dataset>.json``.
Rounds alternate the measurements so that background load hits all of them
alike; the median of ``--rounds`` is reported.

    python benchmarks/cpu_roofline.py --dataset mnist
    python benchmarks/cpu_roofline.py --dataset pendigits --rounds 7
    python benchmarks/cpu_roofline.py --dataset mnist --compile --out /tmp/compiled.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import hardware  # noqa: E402
from n2d._util.hardware import cpu_has_native_bf16  # noqa: E402
from n2d.autoencoder import MLPAutoencoder  # noqa: E402
from n2d.autoencoder._training import _adam, _Step, auto_steps, forward_macs  # noqa: E402

SHAPES = {"mnist": (784, 10), "fashion": (784, 10), "usps": (256, 10), "pendigits": (16, 10), "har": (561, 6)}


def layer_dims(d, k, hidden=(500, 500, 2000)):
    enc = [d, *hidden, k]
    dims = enc + enc[-2::-1]
    return list(zip(dims[:-1], dims[1:]))


def step_flops(layers, batch):
    """Multiply-add FLOPs of one step: forward 2BIO per layer, backward 4BIO (2BIO for the first, no input grad)."""
    total = 0
    for i, (a, b) in enumerate(layers):
        total += 2 * batch * a * b * (2 if i == 0 else 3)
    return total


def time_it(fn, reps):
    fn()
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    return (time.perf_counter() - t0) / reps


def gemm_set(layers, batch, dtype):
    """The step's matrix products on their own, in ``dtype``."""
    g = torch.Generator().manual_seed(0)
    mats = []
    for i, (a, b) in enumerate(layers):
        x = torch.randn(batch, a, generator=g).to(dtype)
        w = torch.randn(a, b, generator=g).to(dtype)
        gy = torch.randn(batch, b, generator=g).to(dtype)
        mats.append((x, w, gy, i == 0))

    def run():
        for x, w, gy, first in mats:
            torch.mm(x, w)
            torch.mm(x.T, gy)
            if not first:
                torch.mm(gy, w.T)

    return run


def real_step(d, k, batch, precision, n_batches=40, compiled=False):
    torch.manual_seed(0)
    module = MLPAutoencoder(d, (500, 500, 2000), k)
    module.reset_parameters(torch.Generator().manual_seed(0))
    x = torch.rand(batch * n_batches, d)
    opt = _adam(list(module.parameters()), 1e-3, on_gpu=False)  # n2d's own optimizer choice
    net = torch.compile(module) if compiled else module
    step = _Step(net, opt, x, batch, stacked=False, graph=False, precision=precision)
    perm = torch.randperm(x.shape[0])
    state = {"i": 0}

    def run():
        i = state["i"] % n_batches
        step(perm[i * batch : (i + 1) * batch])
        state["i"] += 1

    return run


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", default="mnist", choices=sorted(SHAPES))
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--reps", type=int, default=20, help="steps (or GEMM sets) per timing")
    ap.add_argument("--peak-size", type=int, default=2048)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own)")
    ap.add_argument("--compile", action="store_true", help="also time the step under torch.compile")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    d, k = SHAPES[args.dataset]
    layers = layer_dims(d, k)
    flops = step_flops(layers, args.batch)
    precisions = ["float32"] + (["bfloat16"] if cpu_has_native_bf16() else [])
    n = args.peak_size
    runs = {}
    for p in precisions:
        dtype = torch.float32 if p == "float32" else torch.bfloat16
        a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
        runs[(p, "peak")] = (lambda a=a, b=b: torch.mm(a, b), 2 * n**3, max(2, args.reps // 5))
        runs[(p, "gemms")] = (gemm_set(layers, args.batch, dtype), flops, args.reps)
        runs[(p, "step")] = (real_step(d, k, args.batch, p), flops, args.reps)
    compile_s = {}
    if args.compile:  # a user's first fit compiles from nothing: an empty inductor cache, not this machine's
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp(prefix="n2d-inductor-")
        for p in precisions:
            fn = real_step(d, k, args.batch, p, compiled=True)
            t0 = time.perf_counter()
            fn()  # the first step compiles the forward and backward graphs
            compile_s[p] = time.perf_counter() - t0
            runs[(p, "compiled")] = (fn, flops, args.reps)
    times = {key: [] for key in runs}
    for r in range(args.rounds):
        for key, (fn, _, reps) in runs.items():
            times[key].append(time_it(fn, reps))
    result = {"dataset": args.dataset, "shape": [d, k], "batch": args.batch, "step_gflop": flops / 1e9,
              "rounds": args.rounds, "hardware": hardware(native_bf16=cpu_has_native_bf16()), "precisions": {}}
    print(f"{args.dataset}: d={d}, k={k}, batch {args.batch}: {flops / 1e9:.2f} GFLOP per step; "
          f"torch threads {torch.get_num_threads()}")
    print(f"{'precision':10s} {'peak GFLOP/s':>13s} {'step GEMMs':>11s} {'real step':>10s} {'ms/step':>8s} "
          f"{'step/GEMMs':>11s}")
    for p in precisions:
        row = {}
        for what in ("peak", "gemms", "step"):
            med = statistics.median(times[(p, what)])
            row[what + "_s"] = med
            row[what + "_gflops"] = runs[(p, what)][1] / med / 1e9
        row["step_over_gemms"] = row["step_gflops"] / row["gemms_gflops"]
        row["step_over_peak"] = row["step_gflops"] / row["peak_gflops"]
        result["precisions"][p] = row
        print(f"{p:10s} {row['peak_gflops']:13.0f} {row['gemms_gflops']:11.0f} {row['step_gflops']:10.0f} "
              f"{row['step_s'] * 1e3:8.1f} {row['step_over_gemms']:11.0%}")
        if args.compile:
            c = statistics.median(times[(p, "compiled")])
            saved = row["step_s"] - c
            row.update(compiled_step_s=c, compiled_gflops=flops / c / 1e9, compile_seconds=compile_s[p],
                       compiled_over_gemms=flops / c / 1e9 / row["gemms_gflops"],
                       steps_to_pay_back=compile_s[p] / saved if saved > 0 else None)
            rows = 70_000 if args.dataset in ("mnist", "fashion") else 10_000
            default = auto_steps(rows, args.batch, forward_macs([d, 500, 500, 2000, k]))
            pays = "never" if saved <= 0 else f"after {compile_s[p] / saved:,.0f} steps"
            print(f"{'':10s} compiled: {c * 1e3:.1f} ms/step ({row['compiled_over_gemms']:.0%} of the GEMMs), "
                  f"{compile_s[p]:.1f} s compiling; pays back {pays} (a default fit of {rows:,} rows: "
                  f"{default:,} steps)")
    if len(precisions) == 2:
        result["bf16_speedup"] = result["precisions"]["float32"]["step_s"] / result["precisions"]["bfloat16"]["step_s"]
        print(f"bfloat16 step speed-up over float32: {result['bf16_speedup']:.2f}x")
    hw = result["hardware"]
    print(f"hardware: {hw['cpu']}, {hw['cores']} cores, native bf16 {hw['native_bf16']}, "
          f"load average at the end {hw['load_average']}, torch {hw.get('torch')}")
    out = Path(args.out or Path(__file__).resolve().parent / "results" / f"cpu-roofline-{args.dataset}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
