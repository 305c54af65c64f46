"""The autoencoder networks: the paper's MLP and a stack of them evaluated as one batched model.

The network is the paper's d-500-500-2000-k multilayer perceptron with ReLU
activations and linear code and output layers (McConville et al., 2020,
following Xie et al.'s DEC autoencoder). Weights start from Glorot-uniform with
zero biases, as in the Keras reference code.
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["MLPAutoencoder", "StackedMLPAutoencoder"]

# --------------------------------------------------------------------------- #
# The network
# --------------------------------------------------------------------------- #


def _mlp(dims) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (d_in, d_out) in enumerate(zip(dims[:-1], dims[1:])):
        layers.append(nn.Linear(d_in, d_out))
        if i < len(dims) - 2:
            layers.append(nn.ReLU(inplace=True))  # the linear layer's backward needs its input, not its output
    return nn.Sequential(*layers)


class MLPAutoencoder(nn.Module):
    """Symmetric MLP autoencoder: ``n_features -> *hidden_dims -> n_components`` and back.

    ReLU between layers; the code (bottleneck) and the reconstruction are linear.

    Parameters
    ----------
    n_features : int
        Input (and output) width.
    hidden_dims : sequence of int
        Encoder widths between input and code, e.g. ``(500, 500, 2000)``.
    n_components : int
        Width of the code.
    """

    def __init__(self, n_features: int, hidden_dims, n_components: int):
        super().__init__()
        dims = [int(n_features), *map(int, hidden_dims), int(n_components)]
        self.encoder = _mlp(dims)
        self.decoder = _mlp(dims[::-1])

    @torch.no_grad()
    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Glorot-uniform weights and zero biases (Keras' defaults, as in the paper's code)."""
        for m in self.modules():
            if isinstance(m, nn.Linear):
                fan_out, fan_in = m.weight.shape
                bound = math.sqrt(6.0 / (fan_in + fan_out))
                m.weight.uniform_(-bound, bound, generator=generator)
                m.bias.zero_()

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))


class StackedMLPAutoencoder(nn.Module):
    """``n_models`` independent MLP autoencoders evaluated as one batched model.

    Layer ``l`` of every model is one weight tensor of shape
    ``(n_models, d_in, d_out)``, applied with a batched matrix product, so S
    seeds cost one kernel launch per layer instead of S: on a GPU, where this
    small MLP is bound by launches, several seeds train for little more than one.
    Input and output have shape ``(n_models, batch, n_features)``. The models
    share nothing: each one's gradient depends only on its own loss term.
    """

    def __init__(self, n_models: int, n_features: int, hidden_dims, n_components: int):
        super().__init__()
        dims = [int(n_features), *map(int, hidden_dims), int(n_components)]
        self.n_models = int(n_models)
        self.dims = dims

        def stack(ds):
            ws = nn.ParameterList(nn.Parameter(torch.empty(n_models, a, b)) for a, b in zip(ds[:-1], ds[1:]))
            bs = nn.ParameterList(nn.Parameter(torch.zeros(n_models, 1, b)) for b in ds[1:])
            return ws, bs

        self.enc_w, self.enc_b = stack(dims)
        self.dec_w, self.dec_b = stack(dims[::-1])

    @classmethod
    def from_modules(cls, modules) -> StackedMLPAutoencoder:
        """Stack trained or freshly initialised :class:`MLPAutoencoder` s (same architecture)."""
        first = modules[0]
        linears = [layer for layer in first.encoder if isinstance(layer, nn.Linear)]
        dims = [first.encoder[0].in_features] + [layer.out_features for layer in linears]
        stacked = cls(len(modules), dims[0], dims[1:-1], dims[-1])
        with torch.no_grad():
            for part, ws, bs in (("encoder", stacked.enc_w, stacked.enc_b), ("decoder", stacked.dec_w, stacked.dec_b)):
                for s, m in enumerate(modules):
                    linears = [layer for layer in getattr(m, part) if isinstance(layer, nn.Linear)]
                    for w, b, lin in zip(ws, bs, linears):
                        w[s].copy_(lin.weight.T)
                        b[s, 0].copy_(lin.bias)
        return stacked

    def to_modules(self) -> list[MLPAutoencoder]:
        """Split back into one :class:`MLPAutoencoder` per model (on the CPU)."""
        out = []
        for s in range(self.n_models):
            m = MLPAutoencoder(self.dims[0], self.dims[1:-1], self.dims[-1])
            with torch.no_grad():
                for part, ws, bs in (("encoder", self.enc_w, self.enc_b), ("decoder", self.dec_w, self.dec_b)):
                    linears = [layer for layer in getattr(m, part) if isinstance(layer, nn.Linear)]
                    for w, b, lin in zip(ws, bs, linears):
                        lin.weight.copy_(w[s].T.cpu())
                        lin.bias.copy_(b[s, 0].cpu())
            out.append(m.eval())
        return out

    @staticmethod
    def _run(x, ws, bs):
        last = len(ws) - 1
        for i, (w, b) in enumerate(zip(ws, bs)):
            x = torch.baddbmm(b, x, w)
            if i < last:
                x = torch.relu_(x)  # baddbmm's backward needs its inputs, not its output
        return x

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self._run(x, self.enc_w, self.enc_b)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._run(self.encode(x), self.dec_w, self.dec_b)


