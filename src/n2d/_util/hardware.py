"""What the processor can do fast: the facts the training precision is chosen from.

Kept apart from the numerics so that the choice can be tested by faking the
answers, and so that benchmarks report the same facts the code acted on.
"""

from __future__ import annotations

import functools

import torch

from n2d._util.params import PRECISIONS

__all__ = ["PRECISIONS", "cpu_capabilities", "cpu_has_native_bf16", "resolve_precision"]


@functools.lru_cache(maxsize=1)
def cpu_capabilities() -> dict:
    """The CPU's instruction-set features as torch sees them (empty if torch cannot say)."""
    try:
        caps = torch.cpu.get_capabilities()
    except Exception:  # older torch: fall back to the two probes that exist there
        caps = {}
        for name, probe in (("avx512_bf16", "_is_avx512_bf16_supported"), ("amx_tile", "_is_amx_tile_supported")):
            fn = getattr(torch.cpu, probe, None)
            if fn is not None:
                try:
                    caps[name] = bool(fn())
                except Exception:
                    pass
    return dict(caps)


def cpu_has_native_bf16() -> bool:
    """True when the CPU multiplies bfloat16 matrices in hardware (AVX512-BF16 or AMX-BF16).

    Without those instructions oneDNN emulates bfloat16, which is slower than
    float32, so ``precision="auto"`` stays in float32 there.
    """
    caps = cpu_capabilities()
    return bool(caps.get("avx512_bf16") or caps.get("amx_bf16"))


def resolve_precision(precision: str, device) -> str:
    """The precision a training step on ``device`` uses: ``"float32"`` or ``"bfloat16"``.

    ``"auto"`` is bfloat16 autocast on a CPU with native bfloat16 matrix
    instructions (it leaves clustering accuracy unchanged: the docs' speed
    page) and float32 everywhere else, GPUs included, where it has not been
    measured yet.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}; got {precision!r}.")
    if precision != "auto":
        return precision
    dev = torch.device(device)
    return "bfloat16" if dev.type == "cpu" and cpu_has_native_bf16() else "float32"
