"""Placing new points in a fitted UMAP embedding, each point independently of the others.

umap-learn's ``transform`` refines all new points together: the sampling
schedule is scaled by the largest membership weight of the batch, the number of
refinement epochs depends on the batch size, and the negative samples come from
one random stream. A point's position therefore depends on which other points
were transformed with it, so labelling a file in chunks, or on a Dask cluster
partition by partition, would not give the labels of one in-memory call.

:func:`place_points` keeps umap-learn's algorithm (start at the
membership-weighted mean of the neighbours' positions, then a short
negative-sampling SGD against the fixed training embedding, learning rate
``learning_rate / 4``) and removes every dependence on the batch:

- *Schedule*: edge ``(i, r)`` (point ``i``'s ``r``-th neighbour, weight
  ``w``) is due every ``1 / w`` epochs (weights are at most 1, so this is
  umap-learn's ``w_max / w`` with ``w_max = 1``); edges below ``1 / n_epochs``
  are never sampled.
- *Epochs*: :func:`placement_epochs` depends on the fitted model only.
- *Order*: within an epoch the edges are taken by neighbour rank, so each point
  receives its updates one at a time, as in umap-learn's sequential loop.
- *Randomness*: negative sample ``s`` of edge ``(i, r)`` in epoch ``n`` is a
  hash of ``(seed, point i's neighbour list, n, r, s)``, not a draw from a
  shared stream. Identical rows get identical positions.

So ``transform(X)`` equals ``transform`` of any split of ``X``, stacked.
"""

from __future__ import annotations

import torch

__all__ = ["PLACE_EPOCHS", "placement_epochs", "place_points"]

PLACE_EPOCHS = (100, 30)
"""Refinement epochs for models fitted on at most / more than 10,000 points (umap-learn's numbers)."""

_SMALL_FIT = 10_000
_MASK = 0xFFFFFFFF
_SLOTS = 1 << 10


def placement_epochs(n_train: int, n_epochs: int | None) -> int:
    """Refinement epochs for new points: a third of ``n_epochs`` if set, else by the training size."""
    if n_epochs is not None:
        return max(1, int(n_epochs) // 3)
    return PLACE_EPOCHS[0] if int(n_train) <= _SMALL_FIT else PLACE_EPOCHS[1]


def _hash32(x: torch.Tensor) -> torch.Tensor:
    """A 32-bit integer mix of int64 ``x`` (values kept in [0, 2**32): products cannot overflow)."""
    x = x & _MASK
    x = ((x ^ (x >> 16)) * 0x45D9F3B) & _MASK
    x = ((x ^ (x >> 16)) * 0x45D9F3B) & _MASK
    return x ^ (x >> 16)


def _pow(x: torch.Tensor, exponent: float) -> torch.Tensor:
    """``x ** exponent`` with the same rounding for an element wherever it sits in ``x``.

    torch's CPU kernels compute all but the last few elements of a tensor with
    vector instructions and the rest with scalar code, and the two ``pow``
    implementations can differ in the last bit; the tensor is padded to a
    multiple of 64 elements so that every element takes the vector path (the
    caller runs on one thread, so no element lands at the end of a thread's
    range either).
    """
    flat = x.reshape(-1)
    pad = (-flat.numel()) % 64
    if pad and flat.device.type == "cpu":
        flat = torch.cat([flat, flat.new_ones(pad)])
        return flat.pow(exponent)[: x.numel()].view(x.shape)
    return x.pow(exponent)


def _sq_norm(v: torch.Tensor) -> torch.Tensor:
    """Squared norm of each row, as a column."""
    return (v * v).sum(1, keepdim=True)


def _point_keys(indices: torch.Tensor, seed: int) -> torch.Tensor:
    """One random key per point, from the seed and the point's neighbour list (its identity here)."""
    key = torch.full((indices.shape[0],), int(seed) & _MASK, dtype=torch.int64, device=indices.device)
    for r in range(indices.shape[1]):
        key = _hash32(key * 31 + _hash32(indices[:, r].to(torch.int64) + r))
    return key


def place_points(
    init: torch.Tensor,
    embedding: torch.Tensor,
    indices: torch.Tensor,
    weights: torch.Tensor,
    n_epochs: int,
    a: float,
    b: float,
    seed: int,
    negative_sample_rate: int = 5,
    initial_alpha: float = 0.25,
    gamma: float = 1.0,
) -> torch.Tensor:
    """Refine the positions of new points against a fixed embedding, one point independently of the others.

    Parameters
    ----------
    init : Tensor of shape (n_new, dim)
        Starting positions (float32); not modified. Rows that are NaN (no
        neighbour with any weight) stay NaN.
    embedding : Tensor of shape (n_train, dim)
        The fitted embedding (float32), on the same device.
    indices : Tensor of shape (n_new, n_neighbors)
        Each new point's nearest training points, nearest first.
    weights : Tensor of shape (n_new, n_neighbors)
        Their membership strengths, in [0, 1].
    n_epochs : int
    a, b : float
        The fitted similarity curve.
    seed : int
        The model's transform seed.
    negative_sample_rate : int, default=5
    initial_alpha : float, default=0.25
        Starting learning rate (umap-learn uses ``learning_rate / 4``).
    gamma : float, default=1.0
        Repulsion strength.

    Returns
    -------
    positions : Tensor of shape (n_new, dim)
        float32.
    """
    y = init.clone()
    n_new, k = indices.shape
    n_epochs = int(n_epochs)
    if n_new == 0 or n_epochs <= 0:
        return y
    device = y.device
    n_train = embedding.shape[0]
    a, b, gamma, rate = float(a), float(b), float(gamma), int(negative_sample_rate)
    w = weights.to(torch.float64)
    sampled = (w >= 1.0 / n_epochs) & (w > 0) & torch.isfinite(y).all(1, keepdim=True)
    eps = torch.where(sampled, 1.0 / w.clamp(min=1e-300), torch.full_like(w, float("inf")))
    next_sample = eps.clone()
    eps_neg = eps / rate if rate > 0 else None
    next_neg = eps_neg.clone() if eps_neg is not None else None
    keys = _point_keys(indices, seed)
    tails = indices.to(torch.int64)
    alpha = float(initial_alpha)
    for n in range(n_epochs):
        due_now = next_sample <= n
        for r in torch.nonzero(due_now.any(0)).squeeze(1).tolist():
            rows = torch.nonzero(due_now[:, r]).squeeze(1)
            next_sample[rows, r] += eps[rows, r]
            current = y.index_select(0, rows)
            diff = current - embedding.index_select(0, tails[rows, r])
            d2 = _sq_norm(diff)
            pos = d2 > 0
            d2s = torch.where(pos, d2, torch.ones_like(d2))
            coeff = torch.where(pos, -2.0 * a * b * _pow(d2s, b - 1.0) / (a * _pow(d2s, b) + 1.0), torch.zeros_like(d2))
            current = current + (coeff * diff).clamp_(-4.0, 4.0) * alpha
            if eps_neg is not None:
                owed = torch.floor((n - next_neg[rows, r]) / eps_neg[rows, r]).clamp_(min=0)
                next_neg[rows, r] += owed * eps_neg[rows, r]
                most = int(owed.max())
                if most > 0:
                    slots = torch.arange(most, device=device, dtype=torch.int64)
                    counter = ((n * k + r) * _SLOTS + slots) & _MASK
                    draws = _hash32(keys[rows].unsqueeze(1) ^ _hash32(counter).unsqueeze(0)) % n_train
                    others = embedding.index_select(0, draws.reshape(-1)).view(rows.numel(), most, -1)
                    rdiff = current.unsqueeze(1) - others
                    rd2 = (rdiff * rdiff).sum(-1, keepdim=True)
                    rcoeff = torch.where(
                        rd2 > 0, 2.0 * gamma * b / ((0.001 + rd2) * (a * _pow(rd2, b) + 1.0)), torch.zeros_like(rd2)
                    )
                    used = slots.unsqueeze(0) < owed.to(torch.int64).unsqueeze(1)
                    steps = (rcoeff * rdiff).clamp_(-4.0, 4.0) * used.unsqueeze(2)
                    # Summed slot by slot: a reduction kernel's order could depend on the batch's shape.
                    total = steps[:, 0]
                    for slot in range(1, most):
                        total = total + steps[:, slot]
                    current = current + total * alpha
            y.index_copy_(0, rows, current)
        alpha = float(initial_alpha) * (1.0 - float(n) / float(n_epochs))
    return y


def _weighted_mean_init(weights: torch.Tensor, indices: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
    """Start new points at the membership-weighted mean of their neighbours' positions.

    A point with a neighbour of weight 1 (a duplicate of a training point) starts
    on the first such neighbour, and a point without any weight is NaN, as in
    umap-learn's ``init_graph_transform`` (and :mod:`n2d.manifold`).
    """
    totals = weights.sum(1, keepdim=True)
    safe = torch.where(totals > 0, totals, torch.ones_like(totals))
    init = torch.einsum("nk,nkd->nd", weights / safe, embedding[indices])
    dup = weights >= 1.0
    has_dup = dup.any(1)
    if bool(has_dup.any()):
        first = dup.to(torch.int8).argmax(1)
        on = embedding[indices.gather(1, first.unsqueeze(1)).squeeze(1)]
        init = torch.where(has_dup.unsqueeze(1), on, init)
    init = torch.where(totals > 0, init, torch.full_like(init, float("nan")))
    return init.to(torch.float32).contiguous()
