"""Thread limits for the small numerical work between the big stages.

The mixture, k-means and the other clusterers work on the manifold embedding,
which is narrow (``n_clusters`` columns). Their BLAS calls and OpenMP loops are
too small to gain from several threads, but on a busy machine the extra threads
spin at barriers while they wait for a core, which can cost far more than the
work itself. ``benchmarks/threads_under_load.py`` measures the effect with and
without a competing process (the docs' speed page, "A busy machine").
"""

from __future__ import annotations

import contextlib

__all__ = ["NARROW", "keep_torch_threads", "narrow_work_limits", "torch_threads"]

NARROW = 64
"""Data with at most this many columns is "narrow": one BLAS and OpenMP thread."""


def narrow_work_limits(n_features: int):
    """A context that holds BLAS and OpenMP pools to one thread for narrow data, else does nothing.

    Uses threadpoolctl, which sets the limit on every loaded BLAS and OpenMP
    runtime (OpenBLAS, MKL, libgomp, ...) and restores it on exit.
    """
    if int(n_features) > NARROW:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)


@contextlib.contextmanager
def torch_threads(n: int):
    """Run the block with ``n`` torch intra-op threads, then restore the count."""
    import torch

    threads = torch.get_num_threads()
    if n == threads:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@contextlib.contextmanager
def keep_torch_threads():
    """Restore torch's intra-op thread count after code that changes it.

    umap-learn's parallel numba code shares the OpenMP runtime with torch and
    resets its thread count; a user who chose ``torch.set_num_threads(1)`` (on a
    shared machine, say) would silently get all cores back for the next stage.
    """
    import torch

    threads = torch.get_num_threads()
    try:
        yield
    finally:
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
