"""Exact k nearest neighbours (Euclidean) by blocked matrix products, on any device.

The first step of :class:`~n2d.manifold._torch_umap.TorchUMAP`'s fit and transform:
int64 indices and bounded memory, with no ``n_samples**2`` object anywhere.
"""

from __future__ import annotations

import torch

__all__ = ["KNN_BLOCK_FLOATS", "knn"]


KNN_BLOCK_FLOATS = 2**26
"""Largest block of the distance matrix built at once by :func:`knn`, in float32
elements (2**26 float32 = 256 MiB; half as many when the block is float64).
70,000 points take 73 blocks of 958 rows."""

CANDIDATE_MARGIN = 8
"""Candidates beyond ``k`` that :func:`knn` selects from the expanded distances
and then ranks by exactly recomputed ones, so that the rounding of the expanded
form does not decide which points are the last neighbours."""


# --------------------------------------------------------------------------- #
# Nearest neighbours
# --------------------------------------------------------------------------- #


def knn(x: torch.Tensor, k: int, block_size: int = KNN_BLOCK_FLOATS, reference: torch.Tensor | None = None):
    """Exact k nearest neighbours (Euclidean) by blocked matrix products.

    Squared distances less the query's own ``||a||^2`` (which does not change
    a row's order) are computed block by block as one matrix product,
    ``[a, 1] @ [-2 b, ||b||^2]^T``, into one reused buffer, and the ``k + 8``
    smallest of each row are selected with ``torch.topk``. Their distances are then recomputed exactly as ``||a - b||``
    (so duplicates are at distance 0, not at the rounding error of the
    expansion) and the ``k`` nearest by those are kept, sorted.

    The matrix product is the only step whose precision torch settings can
    lower: with TF32 (``torch.backends.cuda.matmul.fp32_precision = "tf32"``,
    ``torch.set_float32_matmul_precision("high")``, common advice on recent
    GPUs) or bfloat16 float32 products, its rounding error (about 1e-3 of
    ``|a| |b|``) would pick wrong neighbours. When float32 products on the
    data's device may be rounded so, the candidates are selected in float64,
    which those settings do not touch; the exact distances are elementwise
    and unaffected.

    Parameters
    ----------
    x : Tensor of shape (n_queries, n_features)
        Query points (float32 or float64), on any device.
    k : int
        Number of neighbours, ``1 <= k <= n_reference``.
    block_size : int, default=2**26
        Largest number of distance-matrix elements built at once; bounds memory
        (``block_size // n_reference`` query rows per block, at least one).
    reference : Tensor of shape (n_reference, n_features), default=None
        Points to search. ``None`` searches ``x`` itself; each point is then its
        own first neighbour at distance 0, as in umap-learn (nothing is excluded).

    Returns
    -------
    dists : Tensor of shape (n_queries, k)
        Euclidean distances, ascending along each row, in ``x``'s dtype.
    indices : Tensor of shape (n_queries, k)
        Row indices into ``reference`` (or ``x``), int64.
    """
    self_search = reference is None
    ref = x if self_search else reference
    n, m = x.shape[0], ref.shape[0]
    k = int(k)
    if not 1 <= k <= m:
        raise ValueError(f"k must be in [1, {m}] (the number of reference points); got k={k}.")
    if x.shape[1] != ref.shape[1]:
        raise ValueError(f"x has {x.shape[1]} features but reference has {ref.shape[1]}.")
    # Centring reduces the cancellation error of the expanded form.
    centre = ref.mean(0, keepdim=True)
    xc = x - centre
    rc = xc if self_search else ref - centre
    # The expanded form in a precision the user's matmul settings cannot lower.
    wide = x.dtype == torch.float32 and _matmul_may_round(x.device)
    xs = xc.to(torch.float64) if wide else xc
    rs = xs if self_search else (rc.to(torch.float64) if wide else rc)
    # One matrix product gives ||b||^2 - 2 a.b: [a, 1] @ [-2 b, ||b||^2]^T. A row's ||a||^2 is left
    # out, since it does not change which columns are smallest in that row.
    xa = torch.cat([xs, torch.ones_like(xs[:, :1])], dim=1)
    ra = torch.cat([-2.0 * rs, (rs * rs).sum(1, keepdim=True)], dim=1)
    n_cand = min(m, k + CANDIDATE_MARGIN)
    # Bound both the distance block (rows x m) and the exact re-computation (rows x n_cand x d).
    budget = int(block_size) * x.element_size() // xs.element_size()
    rows = max(1, min(n, budget // max(m, n_cand * x.shape[1], 1)))
    out_d = torch.empty((n, k), dtype=x.dtype, device=x.device)
    out_i = torch.empty((n, k), dtype=torch.int64, device=x.device)
    # One block buffer for every block: a fresh large tensor per block costs more in page faults
    # than the product itself (about 3x on a 2-core CPU).
    block = torch.empty((rows, m), dtype=xs.dtype, device=x.device)
    for start in range(0, n, rows):
        stop = min(n, start + rows)
        d2 = torch.mm(xa[start:stop], ra.T, out=block[: stop - start])
        if self_search:
            own = torch.arange(start, stop, device=x.device, dtype=torch.int64)
            d2[own - start, own] = -torch.inf  # each point is its own first neighbour
        idx = torch.topk(d2, n_cand, dim=1, largest=False, sorted=True).indices
        q = xc[start:stop]
        dist = torch.linalg.vector_norm(q.unsqueeze(1) - rc[idx], dim=2)
        dist, order = torch.sort(dist, dim=1, stable=True)
        out_d[start:stop] = dist[:, :k]
        out_i[start:stop] = idx.gather(1, order[:, :k])
    return out_d, out_i


def _matmul_may_round(device: torch.device) -> bool:
    """Whether float32 matrix products on ``device`` may run in TF32 or bfloat16 under torch's current settings.

    Reads torch's per-backend setting (``fp32_precision``: "ieee", "tf32",
    "bf16" or "none", which inherits the generic one) where this torch has it,
    else the legacy ``torch.get_float32_matmul_precision()``. If torch refuses
    to answer (it raises when its legacy and new settings were mixed), assume
    the products may be rounded.
    """
    if device.type == "cuda":
        backend = torch.backends.cuda.matmul
    elif device.type == "cpu":
        backend = getattr(torch.backends.mkldnn, "matmul", None)
    else:
        backend = None
    try:
        precision = getattr(backend, "fp32_precision", None)
        if precision is not None:
            return precision in ("tf32", "bf16")
        return torch.get_float32_matmul_precision() != "highest"
    except RuntimeError:
        return True
