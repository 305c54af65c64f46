"""Autoencoder weight files: safetensors with the training settings and loss history."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ._utils import atomic_path
from ._version import __version__

def _write_weights(module: nn.Module, path: Path, history, settings: dict) -> None:
    from safetensors.torch import save_file

    tensors = {k: v.detach().to("cpu").contiguous() for k, v in module.state_dict().items()}
    meta = {
        "format": "n2d-autoencoder-weights",
        "n2d_version": __version__,
        "settings": json.dumps(settings, sort_keys=True),
        "history": json.dumps([float(h) for h in history]),
    }
    with atomic_path(path, suffix=".safetensors") as tmp:
        save_file(tensors, str(tmp), metadata=meta)


def _read_weights(source):
    """Return (state dict of tensors, history) from a safetensors path or a dict of arrays."""
    if isinstance(source, dict):
        return {k: torch.as_tensor(np.asarray(v)) for k, v in source.items()}, []
    from safetensors import safe_open

    path = Path(source)
    if not path.is_file():
        raise FileNotFoundError(f"Autoencoder weights file not found: {path}")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            state = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as exc:
        raise ValueError(f"Could not read autoencoder weights from {path}: not a valid safetensors file ({exc}).") from exc
    history = json.loads(meta.get("history", "[]"))
    return state, [float(h) for h in history]


def _load_state(module: nn.Module, state: dict, source: str) -> None:
    expected = module.state_dict()
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    if missing or extra:
        raise ValueError(
            f"Autoencoder weights from {source} do not fit this architecture: "
            f"missing {missing[:4]}{'...' if len(missing) > 4 else ''}, unexpected {extra[:4]}."
        )
    for k, v in expected.items():
        if tuple(state[k].shape) != tuple(v.shape):
            raise ValueError(
                f"Autoencoder weights from {source} do not fit this architecture: "
                f"{k} has shape {tuple(state[k].shape)}, expected {tuple(v.shape)}."
            )
        if not torch.isfinite(torch.as_tensor(state[k])).all():
            raise ValueError(f"Autoencoder weights from {source} contain NaN or inf in {k}.")
    module.load_state_dict({k: torch.as_tensor(v, dtype=expected[k].dtype) for k, v in state.items()})
