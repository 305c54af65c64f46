"""The autoencoder's training loop: MSE, Adam, data resident on its device.

One model or a :class:`~n2d._networks.StackedMLPAutoencoder` of several; on CUDA
the whole step is replayed from a captured CUDA graph.
"""

from __future__ import annotations

import logging
import math
import warnings

import torch
from tqdm.auto import tqdm

from ._networks import MLPAutoencoder, StackedMLPAutoencoder

log = logging.getLogger("n2d.autoencoder")

__all__ = ["AUTO_STEPS", "auto_epochs", "train_autoencoder"]

AUTO_STEPS = 2000
"""Optimizer steps ``epochs="auto"`` aims for (see :func:`auto_epochs`)."""

AUTO_MAX_EPOCHS = 1000
"""``epochs="auto"`` never trains longer than the paper's 1000 epochs (tiny data sets)."""


def auto_epochs(n_samples: int, batch_size: int, steps: int | None = None) -> int:
    """Epochs that give about ``steps`` optimizer steps on ``n_samples`` rows.

    The rule behind ``Autoencoder(epochs="auto")``: what an autoencoder learns
    depends on how many updates it makes, not on how often it has seen each
    row, so a 70,000-row set gets about a seventh of the epochs of a
    10,000-row one. At least one epoch, at most :data:`AUTO_MAX_EPOCHS`.
    The evidence for :data:`AUTO_STEPS` (ACC against steps on the paper's
    datasets) is ``benchmarks/auto_epochs.py``, summarised in the README.
    """
    steps = AUTO_STEPS if steps is None else steps
    steps_per_epoch = math.ceil(int(n_samples) / int(batch_size))
    return int(min(AUTO_MAX_EPOCHS, max(1, math.ceil(int(steps) / steps_per_epoch))))

# --------------------------------------------------------------------------- #
# Training
# --------------------------------------------------------------------------- #


def train_autoencoder(
    module: MLPAutoencoder | StackedMLPAutoencoder,
    x: torch.Tensor,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    generator=None,
    early_stopping: bool = False,
    patience: int = 20,
    tol: float = 1e-4,
    progress: bool = True,
    cuda_graph: bool | None = None,
    precision: str = "float32",
    callback=None,
):
    """Train ``module`` to reconstruct ``x`` (MSE, Adam) and return the loss per epoch.

    The data stays on its device: each epoch draws a permutation there and slices
    mini-batches from it, with no DataLoader round trips. The epoch loss is the
    sample-weighted mean of the batch losses, read back once per epoch.

    With a :class:`StackedMLPAutoencoder`, ``generator`` is a list with one
    generator per model: each model draws its own permutation, exactly as its
    single-model run would, and the return value is one loss history per model.
    The total loss is the sum of the models' mean losses, so each model's
    gradient (and Adam update) is the one it would get alone.

    With ``early_stopping`` (single model only), training stops when the epoch
    loss has not improved by a relative ``tol`` for ``patience`` epochs in a row.

    On CUDA, Adam is the fused implementation, and the whole step (gather,
    forward, backward, Adam) of every full batch is replayed from one captured
    CUDA graph: this MLP's step is bound by kernel launches, not arithmetic.
    ``cuda_graph=None`` does so on CUDA only; ``False`` keeps the eager step
    (same arithmetic). If capture fails the loop warns and stays eager.

    ``precision="bfloat16"`` runs the forward and backward matrix products under
    bfloat16 autocast; weights, Adam's state and the loss stay float32 (mixed
    precision). It pays on CPUs with native bfloat16 instructions (see
    :func:`n2d._hardware.resolve_precision`), 1.7x per step on a 2-core
    AMD EPYC with AVX512-BF16 (``benchmarks/cpu_roofline.py``).

    ``callback(epoch, module, loss)``, if given, is called after every epoch
    (``epoch`` counts from 1), e.g. to record the code at several training lengths.
    """
    stacked = isinstance(module, StackedMLPAutoencoder)
    if stacked and early_stopping:
        raise ValueError("early_stopping is not supported when several autoencoders train at once.")
    generators = list(generator) if stacked else [generator]
    device = x.device
    n = x.shape[0]
    on_gpu = device.type == "cuda"
    use_graph = on_gpu if cuda_graph is None else bool(cuda_graph) and on_gpu
    params = list(module.parameters())
    opt = _adam(params, lr, on_gpu, use_graph)
    step = _Step(module, opt, x, batch_size, stacked, use_graph, precision)
    history: list = []
    best, stale = math.inf, 0
    module.train()
    bar = tqdm(range(epochs), desc="autoencoder", unit="epoch", disable=not progress, leave=False)
    for _ in bar:
        perm = torch.stack([torch.randperm(n, device=device, generator=g) for g in generators])
        if not stacked:
            perm = perm[0]
        step.total.zero_()
        for start in range(0, n, batch_size):
            step(perm[..., start : start + batch_size])
        epoch_loss = (step.total / n).tolist()
        worst = max(epoch_loss) if stacked else epoch_loss
        if not math.isfinite(worst):
            raise FloatingPointError(
                f"The autoencoder's loss became {worst} after {len(history) + 1} epoch(s). "
                "Lower lr, or scale the input data (e.g. to [0, 1])."
            )
        history.append(epoch_loss)
        bar.set_postfix(loss=f"{worst:.5f}")
        if callback is not None:
            callback(len(history), module, epoch_loss)
        if early_stopping:
            if epoch_loss < best * (1.0 - tol):
                best, stale = epoch_loss, 0
            else:
                stale += 1
                if stale >= patience:
                    log.info("early stop after %d epochs (loss %.6g)", len(history), epoch_loss)
                    break
    bar.close()
    module.eval()
    if stacked:
        return [[h[s] for h in history] for s in range(module.n_models)]
    return history


def _adam(params, lr, on_gpu, capturable):
    """Adam in one fused kernel per step where torch has one (CUDA; CPU since torch 2.4).

    On the CPU the fused step took 1.3 ms against the default (foreach) step's
    5.4 ms for this MLP's parameters, a fifth of the whole training step in
    bfloat16 (``benchmarks/cpu_roofline.py``). Same update rule, only rounding differs.
    """
    if on_gpu:
        return torch.optim.Adam(params, lr=lr, fused=True, capturable=capturable)
    try:
        return torch.optim.Adam(params, lr=lr, fused=True)
    except (RuntimeError, TypeError, ValueError):  # a torch without a fused CPU Adam
        return torch.optim.Adam(params, lr=lr)


class _Step:
    """One optimisation step on the rows ``idx`` of ``x``; adds the batch loss to ``total``.

    Eager by default. With ``graph``, the first full batches run eagerly on a
    side stream (CUDA graph capture needs warmed-up kernels and optimizer
    state), then the step is captured once with a static index buffer and every
    later full batch is a buffer copy plus one graph replay. Partial batches
    always run eagerly. Warm-up steps are real steps, so the sequence of updates
    is the same as the eager loop's.
    """

    WARMUP = 3

    def __init__(self, module, opt, x, batch_size, stacked, graph, precision="float32"):
        if precision not in ("float32", "bfloat16"):
            raise ValueError(f"precision must be 'float32' or 'bfloat16'; got {precision!r}.")
        self.module, self.opt, self.x, self.batch_size = module, opt, x, batch_size
        self.autocast = precision == "bfloat16"
        self.total = torch.zeros(module.n_models if stacked else (), device=x.device)
        self.graph = None
        self.warm = self.WARMUP if graph else -1
        self.stream = torch.cuda.Stream(device=x.device) if graph else None

    def _eager(self, idx):
        batch = self.x[idx]
        with torch.autocast(self.x.device.type, dtype=torch.bfloat16, enabled=self.autocast):
            out = self.module(batch)
        per_model = (out.float() - batch).square().mean(dim=(-2, -1))
        self.opt.zero_grad(set_to_none=True)
        per_model.sum().backward()
        self.opt.step()
        self.total += per_model.detach() * idx.shape[-1]

    def __call__(self, idx):
        if self.graph is not None and idx.shape[-1] == self.batch_size:
            self.static_idx.copy_(idx)
            self.graph.replay()
        elif self.warm > 0 and idx.shape[-1] == self.batch_size:
            self.stream.wait_stream(torch.cuda.current_stream(self.x.device))
            with torch.cuda.stream(self.stream):
                self._eager(idx)
            torch.cuda.current_stream(self.x.device).wait_stream(self.stream)
            self.warm -= 1
            if self.warm == 0:
                self._capture(idx)
        else:
            self._eager(idx)

    def _capture(self, idx):
        try:
            self.static_idx = idx.clone()
            graph = torch.cuda.CUDAGraph()
            self.opt.zero_grad(set_to_none=True)
            with torch.cuda.graph(graph):
                self._eager(self.static_idx)
            # Capture records the step without running it; the replays do the work.
            self.graph = graph
        except Exception as exc:  # an unusual setup must not stop training: stay eager
            warnings.warn(f"CUDA graph capture failed ({exc}); training continues without it.", RuntimeWarning, stacklevel=4)
            self.graph = None


