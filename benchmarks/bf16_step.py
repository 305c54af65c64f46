"""Where a bfloat16 training step's time goes on the CPU, and what keeping bfloat16 weight copies would save.

The bfloat16 step (``precision="bfloat16"``: autocast around the forward pass, float32 weights and Adam state)
reaches 64-69% of its own matrix products on an AVX-512-BF16 CPU (``cpu_roofline.py``). This benchmark asks how
much of the rest could go, in one process with the same threads and data:

1. **profile**: torch's profiler over the shipped step (:class:`n2d.autoencoder._training._Step`), its time
   grouped into the matrix products, the fused Adam update, the float32 <-> bfloat16 casts and everything
   else (the bias, ReLU and loss passes, the batch gather, the autograd engine);
2. **shadow**: the variant the issue proposes, bfloat16 weight copies kept in step with the float32 master
   weights (refreshed by one ``_foreach_copy_`` after each Adam update) instead of autocast's casts inside
   the forward pass, weights stored input-major so that every product has the isolated products' layout,
   and the weight gradients cast to float32 once for Adam (torch's CPU matrix product cannot write float32
   from bfloat16 inputs). Rounds alternate the shipped step and the shadow step; medians are reported.
   After timing, both train 300 steps from the same weights on the same batches and their reconstruction
   losses are compared (the variant must not change the arithmetic that matters).

It prints the hardware and the load and writes JSON to ``--out``.

    python benchmarks/bf16_step.py --dataset mnist --rounds 9 --out benchmarks/results/bf16-step-mnist.json
    python benchmarks/bf16_step.py --dataset pendigits --rounds 9 --out benchmarks/results/bf16-step-pendigits.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import hardware  # noqa: E402
from cpu_roofline import SHAPES  # noqa: E402
from n2d._util.hardware import cpu_has_native_bf16  # noqa: E402
from n2d.autoencoder import MLPAutoencoder  # noqa: E402
from n2d.autoencoder._training import _adam, _Step  # noqa: E402

BATCH, ROWS, HIDDEN = 256, 20_000, (500, 500, 2000)


class _Linear(torch.autograd.Function):
    """``x @ w + b`` on bfloat16 copies; the gradients of the float32 masters come back in float32."""

    @staticmethod
    def forward(ctx, x, w, b, w16, b16):
        ctx.save_for_backward(x, w16)
        return torch.addmm(b16, x, w16)

    @staticmethod
    def backward(ctx, g):
        x, w16 = ctx.saved_tensors
        gx = g @ w16.T if ctx.needs_input_grad[0] else None
        return gx, (x.T @ g).float(), g.sum(0).float(), None, None


class ShadowAutoencoder(torch.nn.Module):
    """The same network with input-major float32 masters and bfloat16 copies refreshed after each update."""

    def __init__(self, ref: MLPAutoencoder):
        super().__init__()
        linears = [m for m in ref.modules() if isinstance(m, torch.nn.Linear)]
        self.w = torch.nn.ParameterList(torch.nn.Parameter(m.weight.detach().T.contiguous()) for m in linears)
        self.b = torch.nn.ParameterList(torch.nn.Parameter(m.bias.detach().clone()) for m in linears)
        self.w16 = [p.detach().to(torch.bfloat16) for p in self.w]
        self.b16 = [p.detach().to(torch.bfloat16) for p in self.b]
        self.linear_after = {len(linears) // 2 - 1, len(linears) - 1}  # the code and the output layers

    @torch.no_grad()
    def refresh(self) -> None:
        torch._foreach_copy_(self.w16 + self.b16, [*self.w, *self.b])

    def forward(self, x):
        h = x.to(torch.bfloat16)
        for i in range(len(self.w16)):
            h = _Linear.apply(h, self.w[i], self.b[i], self.w16[i], self.b16[i])
            if i not in self.linear_after:
                h = torch.relu_(h)
        return h


def shipped(x, d, k, seed=1):
    model = MLPAutoencoder(d, HIDDEN, k)
    model.reset_parameters(torch.Generator().manual_seed(seed))
    return _Step(model, _adam(model.parameters(), 1e-3, False), x, BATCH, False, False, precision="bfloat16"), model


def shadow(x, ref):
    model = ShadowAutoencoder(ref)
    opt = _adam(model.parameters(), 1e-3, False)

    def step(idx):
        batch = x[idx]
        loss = (model(batch).float() - batch).square().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        model.refresh()

    return step, model


def ms_per_step(step, batches) -> float:
    step(batches[0])
    t0 = time.perf_counter()
    for idx in batches:
        step(idx)
    return (time.perf_counter() - t0) / len(batches) * 1e3


GROUPS = {"matrix products": ("aten::mm", "aten::addmm"), "fused Adam": ("aten::_fused_adam_",),
          "casts": ("aten::copy_",)}


def profile(step, batches) -> dict:
    """Self CPU milliseconds per step by group (an op in no group counts as "other")."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    for idx in batches[:5]:
        step(idx)
    with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
        for idx in batches[5:]:
            step(idx)
    per_step = {name: 0.0 for name in (*GROUPS, "other")}
    for event in prof.key_averages():
        group = next((g for g, ops in GROUPS.items() if event.key in ops), "other")
        per_step[group] += event.self_cpu_time_total / 1e3 / (len(batches) - 5)
    return per_step


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", default="mnist", choices=sorted(SHAPES))
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--steps", type=int, default=30, help="steps per timed round")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    env = hardware(native_bf16=cpu_has_native_bf16())
    print(f"CPU: {env['cpu']} ({env['cores']} cores, torch threads {torch.get_num_threads()}), "
          f"native bfloat16: {env['native_bf16']}, load {os.getloadavg()}", flush=True)
    d, k = SHAPES[args.dataset]
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(ROWS, d, generator=gen)

    def batches(n):
        return [torch.randperm(ROWS, generator=gen)[:BATCH] for _ in range(n)]

    step0, ref = shipped(x, d, k)
    step1, _ = shadow(x, ref)
    times = {"shipped": [], "shadow": []}
    for _ in range(args.rounds):
        times["shipped"].append(ms_per_step(step0, batches(args.steps)))
        times["shadow"].append(ms_per_step(step1, batches(args.steps)))
    med = {name: statistics.median(v) for name, v in times.items()}
    breakdown = profile(step0, batches(35))
    total = sum(breakdown.values())

    a, ref_a = shipped(x, d, k, seed=2)
    b, model_b = shadow(x, ref_a)
    for idx in batches(300):
        a(idx)
        b(idx)
    with torch.no_grad():
        probe = x[:2000]
        loss = {"shipped": (ref_a(probe) - probe).square().mean().item(),
                "shadow": (model_b(probe).float() - probe).square().mean().item()}

    print(f"{args.dataset} ({d} wide), bfloat16, batch {BATCH}, median of {args.rounds} rounds of {args.steps} "
          f"steps:")
    print(f"  shipped step {med['shipped']:.2f} ms, shadow copies {med['shadow']:.2f} ms "
          f"({med['shadow'] / med['shipped']:.3f}x)")
    print("  shipped step under the profiler, ms per step: "
          + ", ".join(f"{g} {v:.2f} ({v / total:.0%})" for g, v in breakdown.items()))
    print(f"  reconstruction MSE after 300 steps: shipped {loss['shipped']:.5f}, shadow {loss['shadow']:.5f}")
    print(f"load after: {os.getloadavg()}")
    if args.out:
        result = {"command": " ".join(["bf16_step.py", *(argv if argv is not None else sys.argv[1:])]),
                  "hardware": env, "load_after": os.getloadavg(), "dataset": args.dataset, "rounds": times,
                  "median_ms": med, "profile_ms_per_step": breakdown, "mse_after_300_steps": loss}
        Path(args.out).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
