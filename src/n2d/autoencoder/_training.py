"""The autoencoder's training loop: MSE, Adam, data resident on its device.

One model or a :class:`~n2d.autoencoder._networks.StackedMLPAutoencoder` of several; on CUDA
the whole step is replayed from a captured CUDA graph.
"""

from __future__ import annotations

import logging
import math
import warnings

import torch

from n2d._util.progress import progress as progress_bar
from n2d.autoencoder._networks import MLPAutoencoder, StackedMLPAutoencoder
from n2d.exceptions import CUDAGraphWarning

log = logging.getLogger("n2d.autoencoder")

__all__ = [
    "AUTO_STEPS", "AUTO_ROWS", "AUTO_SMALL_ROWS", "AUTO_MIN_ROWS", "AUTO_MIN_WORK", "AUTO_MIN_STEPS", "REFERENCE_MACS",
    "AUTO_CAP_ROWS", "AUTO_FVU", "auto_epochs", "auto_steps", "forward_macs", "auto_stop_loss", "train_autoencoder",
]

AUTO_STEPS = 2000
"""Optimizer steps ``epochs="auto"`` aims for on up to :data:`AUTO_ROWS` rows (see :func:`auto_epochs`)."""

AUTO_ROWS = 10_000
"""Above this many rows the step target grows with the square root of the row count."""

AUTO_SMALL_ROWS = 8_000
"""Below this many rows the step target shrinks with the rows (:func:`auto_steps`)."""

AUTO_MIN_ROWS = 2_000
"""Up to this many rows ``epochs="auto"`` trains its smallest budget, :data:`AUTO_MIN_WORK`."""

REFERENCE_MACS = 2_604_000
"""Forward multiply-adds per row of the paper's network on 64 features with a 10-wide code.

``forward_macs((64, 500, 500, 2000, 10))``: the network :data:`AUTO_MIN_WORK`
is stated in, and the one :func:`auto_steps` assumes when not told.
"""

AUTO_MIN_WORK = 400 * 256 * REFERENCE_MACS
"""The smallest training ``epochs="auto"`` gives, in multiply-adds of the network's forward pass.

400 batches of 256 rows through the reference network (:data:`REFERENCE_MACS`):
400 steps on such data, fewer on wider inputs, more on sets smaller than a
batch (each step costs less).
"""

AUTO_MIN_STEPS = 100
"""``epochs="auto"`` trains at least this many optimizer steps, however wide the input."""

AUTO_CAP_ROWS = 100_000
"""The step target stops growing at this many rows (6,325 steps): larger sets train 2,000 x sqrt(10) steps."""

AUTO_MAX_EPOCHS = 1000
"""``epochs="auto"`` never trains longer than the paper's 1000 epochs (tiny data sets)."""

AUTO_FVU = 0.01
"""``epochs="auto"`` stops once the epoch loss is below this fraction of the data's variance.

The fraction of variance the reconstruction leaves unexplained (MSE over the
mean per-feature variance). Images keep far more than this unexplained after
the step budget, so the rule does not fire there; low-dimensional tables reach
it early, where accuracy has stopped improving (the docs' speed page,
"Training length", from ``benchmarks/auto_epochs.py``).
"""


def forward_macs(dims) -> int:
    """Multiply-adds of one row's forward pass through an autoencoder whose encoder has layer widths ``dims``.

    ``dims`` runs from the input to the code, e.g. ``(784, 500, 500, 2000, 10)``;
    the decoder mirrors the encoder, so the sum of ``a * b`` over the
    encoder's layers counts twice.
    """
    dims = [int(v) for v in dims]
    return 2 * sum(a * b for a, b in zip(dims[:-1], dims[1:]))


def auto_steps(n_samples: int, batch_size: int = 256, macs_per_row: int | None = None) -> int:
    """The optimizer steps ``epochs="auto"`` aims for on ``n_samples`` rows in batches of ``batch_size``.

    :data:`AUTO_STEPS` from :data:`AUTO_SMALL_ROWS` to :data:`AUTO_ROWS`
    rows (the paper's 10,000-row sets), then growing as the square root of
    the row count up to :data:`AUTO_CAP_ROWS`: 5,292 for 70,000 rows, 6,325
    from 100,000 rows on; the cap keeps the fit time of large sets from
    growing with the rows (the docs' big-data page).

    Fewer rows hold less to learn, and accuracy stops improving sooner: a
    fixed 2,000 steps made a 400-row fit cost a minute. Up to
    :data:`AUTO_MIN_ROWS` rows the training is a fixed amount of arithmetic,
    :data:`AUTO_MIN_WORK` multiply-adds (``macs_per_row``, the network's
    forward multiply-adds per row, from :func:`forward_macs`; ``None`` counts
    as the reference network's): 400 steps on 64 features, about 290 on
    1,024, more steps on a set smaller than a batch, since each costs less;
    never fewer than :data:`AUTO_MIN_STEPS`. From there the target rises
    linearly to :data:`AUTO_STEPS` at :data:`AUTO_SMALL_ROWS` rows. The docs'
    speed page ("Training length on small data", from
    ``benchmarks/small_data.py`` and ``benchmarks/small_time.py``) has the
    evidence.
    """
    n, batch = int(n_samples), int(batch_size)
    per_row = REFERENCE_MACS if macs_per_row is None else max(1, int(macs_per_row))

    def smallest(rows: int) -> int:  # the fixed-work budget on a set of ``rows`` rows
        return max(AUTO_MIN_STEPS, math.ceil(AUTO_MIN_WORK / (per_row * max(1, min(rows, batch)))))

    if n <= AUTO_MIN_ROWS:
        return smallest(n)
    if n < AUTO_SMALL_ROWS:
        low = smallest(AUTO_MIN_ROWS)
        share = (n - AUTO_MIN_ROWS) / (AUTO_SMALL_ROWS - AUTO_MIN_ROWS)
        return int(round(low + share * max(0, AUTO_STEPS - low)))
    rows = min(n, AUTO_CAP_ROWS)
    return int(round(AUTO_STEPS * max(1.0, math.sqrt(rows / AUTO_ROWS))))


def auto_epochs(n_samples: int, batch_size: int, steps: int | None = None, macs_per_row: int | None = None) -> int:
    """Epochs that give at least ``steps`` optimizer steps (default :func:`auto_steps`) on ``n_samples`` rows.

    ``macs_per_row`` is the network's forward multiply-adds per row
    (:func:`forward_macs`), which sizes the training of small sets.

    The rule behind ``Autoencoder(epochs="auto")``. What an autoencoder learns
    depends on how many updates it makes more than on how often it sees each
    row: on the paper's 10,000-row sets, accuracy stops improving well short
    of the paper's 1000 epochs. A larger set has more to learn, so the target
    grows, but only as the square root of the rows (accuracy against steps:
    ``benchmarks/auto_epochs.py``, summarised in the docs' speed page,
    "Training length"). At least one epoch, at most :data:`AUTO_MAX_EPOCHS`.
    """
    steps = auto_steps(n_samples, batch_size, macs_per_row) if steps is None else steps
    steps_per_epoch = math.ceil(int(n_samples) / int(batch_size))
    return int(min(AUTO_MAX_EPOCHS, max(1, math.ceil(int(steps) / steps_per_epoch))))


def auto_stop_loss(X, fvu: float | None = None, chunk: int = 65_536) -> float:
    """The epoch loss at which ``epochs="auto"`` stops: ``fvu`` times the mean per-feature variance of ``X``.

    An autoencoder whose reconstruction leaves less than 1% of the data's
    variance unexplained has a code that holds (nearly) all of the data; more
    steps polish the reconstruction, not the code's neighbourhoods. Low-
    dimensional tabular data get there long before the step budget of
    :func:`auto_epochs`, images do not (the docs' speed page). The
    variance is computed in float64, ``chunk`` rows at a time, so a
    memory-mapped array is read once without a float64 copy of it.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    fvu : float, default=None
        Fraction of variance left unexplained at which training stops
        (None: :data:`AUTO_FVU`).
    chunk : int
        Rows per pass.

    Returns
    -------
    float
        The stopping threshold on the (mean squared error) epoch loss.
    """
    import numpy as np

    n = X.shape[0]
    total = np.zeros(X.shape[1])
    for start in range(0, n, chunk):
        total += np.asarray(X[start : start + chunk], dtype=np.float64).sum(axis=0)
    mean = total / n
    sq = np.zeros(X.shape[1])
    for start in range(0, n, chunk):
        sq += np.square(np.asarray(X[start : start + chunk], dtype=np.float64) - mean).sum(axis=0)
    return float(AUTO_FVU if fvu is None else fvu) * float(sq.mean() / n)


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
    stop_loss: float | None = None,
):
    """Train ``module`` to reconstruct ``x`` (MSE, Adam) and return the loss per epoch.

    The data stays on its device: each epoch draws a permutation there and slices
    mini-batches from it, with no DataLoader round trips. The epoch loss is the
    sample-weighted mean of the batch losses, read back once per epoch.

    With a :class:`StackedMLPAutoencoder`, ``generator`` is a list with one
    generator per model: each model draws its own permutation, exactly as its
    single-model run would, and the return value is one loss history per model.
    The total loss is the sum of the models' mean losses, so each model's
    gradient (and Adam update) is the one it would get alone. If any model's
    loss stops being finite, training stops with a ``FloatingPointError`` that
    names the model(s) (their positions in the stack, also in the error's
    ``models`` attribute).

    A generator on another device than ``x`` (e.g. a CPU generator with CUDA
    data) is replaced by one on ``x``'s device, seeded by a draw from it, so
    the run is still determined by the generator's state.

    With ``early_stopping`` (single model only), training stops when the epoch
    loss has not improved by a relative ``tol`` for ``patience`` epochs in a row.

    On CUDA, Adam is the fused implementation, and the whole step (gather,
    forward, backward, Adam) of every full batch is replayed from one captured
    CUDA graph: this MLP's step is bound by kernel launches, not arithmetic.
    ``cuda_graph=None`` does so on CUDA only; ``False`` keeps the eager step
    (same arithmetic). If capture fails the loop warns
    (:class:`~n2d.exceptions.CUDAGraphWarning`) and stays eager.

    ``precision="bfloat16"`` runs the forward and backward matrix products under
    bfloat16 autocast; weights, Adam's state and the loss stay float32 (mixed
    precision). It pays on CPUs with native bfloat16 instructions (see
    :func:`n2d._util.hardware.resolve_precision`; measured by
    ``benchmarks/cpu_roofline.py``, in the docs' speed page).

    ``callback(epoch, module, loss)``, if given, is called after every epoch
    (``epoch`` counts from 1), e.g. to record the code at several training lengths.

    With ``stop_loss`` (``epochs="auto"``: :func:`auto_stop_loss`), a model
    stops after the first epoch whose loss is at most ``stop_loss``. In a
    stack, a model that stops keeps the weights it had then (and its loss
    history ends there) while the others go on, so each still equals its
    single-model run; training ends when every model has stopped.
    """
    stacked = isinstance(module, StackedMLPAutoencoder)
    if stacked and early_stopping:
        raise ValueError("early_stopping is not supported when several autoencoders train at once.")
    device = x.device
    generators = [_device_generator(g, device) for g in (generator if stacked else [generator])]
    n = x.shape[0]
    on_gpu = _is_cuda(device)
    use_graph = on_gpu and (cuda_graph is None or bool(cuda_graph))
    params = list(module.parameters())
    # Fused Adam's arithmetic does not depend on `capturable` (torch passes it
    # "for consistency" only); _Step turns it on just for the capture, because
    # a capturable optimizer stepping outside a capture warns the user.
    opt = _adam(params, lr, on_gpu)
    step = _Step(module, opt, x, batch_size, stacked, use_graph, precision)
    history: list = []
    best, stale = math.inf, 0
    stopped: dict = {}  # model -> epochs trained when it reached stop_loss
    snapshots: dict = {}  # stacked model -> its weights at that epoch
    module.train()
    bar = progress_bar(range(epochs), desc="autoencoder", unit="epoch", disable=not progress, leave=False)
    for _ in bar:
        perm = torch.stack([torch.randperm(n, device=device, generator=g) for g in generators])
        if not stacked:
            perm = perm[0]
        step.total.zero_()
        for start in range(0, n, batch_size):
            step(perm[..., start : start + batch_size])
        epoch_loss = (step.total / n).tolist()
        _check_finite(epoch_loss, len(history) + 1)
        history.append(epoch_loss)
        bar.set_postfix(loss=f"{max(epoch_loss) if stacked else epoch_loss:.5f}")
        if callback is not None:
            callback(len(history), module, epoch_loss)
        if stop_loss is not None:
            for i, value in enumerate(epoch_loss if stacked else [epoch_loss]):
                if i not in stopped and value <= stop_loss:
                    stopped[i] = len(history)
                    if stacked:
                        snapshots[i] = [p.detach()[i].clone() for p in params]
            if len(stopped) == (module.n_models if stacked else 1):
                log.info("stopped after %d epochs: loss at most %.6g", len(history), stop_loss)
                break
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
    if step.graph is not None:
        log.debug("CUDA graph: %d full batches replayed", step.replays)
    if stacked:
        with torch.no_grad():
            for s, weights in snapshots.items():
                for p, w in zip(params, weights):
                    p[s].copy_(w)
        return [[h[s] for h in history[: stopped.get(s, len(history))]] for s in range(module.n_models)]
    return history


def _adam(params, lr, on_gpu):
    """Adam in one fused kernel per step where torch has one (CUDA; CPU since torch 2.4).

    On the CPU the fused step is several times faster than the default
    (foreach) step for this MLP's parameters (the docs' speed page, "The
    training step"). Same update rule, only rounding differs.
    """
    if on_gpu:
        return torch.optim.Adam(params, lr=lr, fused=True)
    try:
        return torch.optim.Adam(params, lr=lr, fused=True)
    except (RuntimeError, TypeError, ValueError):  # a torch without a fused CPU Adam
        return torch.optim.Adam(params, lr=lr)


def _is_cuda(device: torch.device) -> bool:
    """Whether ``device`` takes the CUDA path (fused Adam, graph capture).

    One place to decide it, so that tests can run that path on CPU tensors with
    simulated CUDA streams and graphs.
    """
    return device.type == "cuda"


def _device_generator(generator: torch.Generator | None, device: torch.device) -> torch.Generator | None:
    """``generator`` if it draws on ``device``, else a generator there seeded by a draw from it.

    ``torch.randperm(..., device="cuda", generator=cpu_generator)`` raises, and a
    generator cannot be moved; a seed drawn from the given generator keeps the
    run determined by that generator's state.
    """
    if generator is None or _same_device(generator.device, device):
        return generator
    seed = int(torch.randint(0, 2**62, (1,), generator=generator))
    return torch.Generator(device=device).manual_seed(seed)


def _same_device(a: torch.device, b: torch.device) -> bool:
    """Equal devices, with a missing CUDA index meaning the current device."""
    if a.type != b.type:
        return False
    if a.type == "cuda" and (a.index is None or b.index is None):
        current = torch.cuda.current_device()
        return (current if a.index is None else a.index) == (current if b.index is None else b.index)
    return a.index == b.index


def _check_finite(epoch_loss, epoch: int) -> None:
    """Raise ``FloatingPointError`` if any model's epoch loss is NaN or infinite.

    Every model is checked: ``max([1.0, nan])`` is 1.0, so the largest loss
    alone would let a diverged model in a stack pass.
    """
    losses = epoch_loss if isinstance(epoch_loss, list) else [epoch_loss]
    bad = [i for i, v in enumerate(losses) if not math.isfinite(v)]
    if not bad:
        return
    if isinstance(epoch_loss, list):
        names = ", ".join(f"{i} ({losses[i]})" for i in bad)
        what = f"The loss of autoencoder(s) {names} of the {len(losses)} trained together became non-finite"
    else:
        what = f"The autoencoder's loss became {epoch_loss}"
    err = FloatingPointError(
        f"{what} after {epoch} epoch(s). Lower lr, or scale the input data (e.g. to [0, 1])."
    )
    err.models = bad
    raise err


class _Step:
    """One optimisation step on the rows ``idx`` of ``x``; adds the batch loss to ``total``.

    Eager by default. With ``graph``, the first full batches run eagerly on a
    side stream (CUDA graph capture needs warmed-up kernels and optimizer
    state), then the step is captured once with a static index buffer and every
    later full batch is a buffer copy plus one graph replay (counted in
    ``replays``). Partial batches always run eagerly. Warm-up steps are real
    steps and capture runs nothing, so the sequence of updates is the same as
    the eager loop's.

    Everything CUDA happens under ``torch.cuda.device(x.device)`` and the side
    stream (also the capture stream) is created on ``x.device``: with
    ``cuda:N`` data and another current device, ``torch.cuda.graph`` would
    otherwise capture on a stream of the current device, giving an empty graph
    (replays that do nothing) or a capture error (PyTorch issues 87894, 87794).
    """

    WARMUP = 3

    def __init__(self, module, opt, x, batch_size, stacked, graph, precision="float32"):
        if precision not in ("float32", "bfloat16"):
            raise ValueError(f"precision must be 'float32' or 'bfloat16'; got {precision!r}.")
        self.module, self.opt, self.x, self.batch_size = module, opt, x, batch_size
        self.autocast = precision == "bfloat16"
        self.device = x.device
        self.total = torch.zeros(module.n_models if stacked else (), device=x.device)
        self.graph = None
        self.replays = 0
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
        full = idx.shape[-1] == self.batch_size
        if self.graph is not None and full:
            self.static_idx.copy_(idx)
            self.graph.replay()
            self.replays += 1
        elif self.warm > 0 and full:
            self._warm_up(idx)
            self.warm -= 1
            if self.warm == 0:
                self._capture(idx)
        else:
            self._eager(idx)

    def _warm_up(self, idx):
        """An eager step on the side stream, ordered after and before the current stream's work."""
        with torch.cuda.device(self.device):
            current = torch.cuda.current_stream(self.device)
            self.stream.wait_stream(current)
            with torch.cuda.stream(self.stream):
                self._eager(idx)
            current.wait_stream(self.stream)

    def _capture(self, idx):
        """Capture the step on ``idx``'s shape; on failure warn, restore the stream and stay eager."""
        self.static_idx = idx.clone()
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.device(self.device):
            previous = torch.cuda.current_stream(self.device)
            self._capturable(True)
            try:
                self.opt.zero_grad(set_to_none=True)
                with torch.cuda.graph(graph, stream=self.stream):
                    self._eager(self.static_idx)
            except Exception as exc:  # noqa: BLE001 -- an unusual setup must not stop training: stay eager
                # torch.cuda.graph's exit raises from capture_end() before it
                # restores the stream, which would leave the capture stream
                # current for the rest of the process.
                torch.cuda.set_stream(previous)
                torch.cuda.synchronize(self.device)
                warnings.warn(
                    f"CUDA graph capture failed ({exc}); training continues without it.",
                    CUDAGraphWarning,
                    stacklevel=4,
                )
                return
            finally:
                self._capturable(False)
        # Capture records the step without running it; the replays do the work.
        self.graph = graph

    def _capturable(self, on: bool) -> None:
        """Mark the optimizer capturable while (and only while) its step is captured."""
        for group in self.opt.param_groups:
            group["capturable"] = on
