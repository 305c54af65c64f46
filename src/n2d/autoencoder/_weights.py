"""Autoencoder weight files: safetensors with the training settings, loss history and a checksum.

The header metadata holds ``settings`` (JSON), ``history`` (JSON list of epoch
losses), ``tensors_sha256`` (see :func:`_tensors_sha256`) and, for weight-cache
entries, ``made_for``: the data fingerprint, settings and seed the weights were
trained for, so a reader can check an entry really belongs to its key.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch
from torch import nn

from n2d._util.files import atomic_path
from n2d._version import __version__


def _tensors_sha256(tensors: dict) -> str:
    """sha256 over every tensor's name, dtype, shape and bytes, in name order.

    It covers the tensor data only, not the file's header, so it tells whether
    the weights are those that were written, whatever the metadata says.
    """
    h = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().to("cpu").contiguous()
        h.update(json.dumps([name, str(t.dtype), list(t.shape)]).encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def _write_weights(module: nn.Module, path: Path, history, settings: dict, made_for: dict | None = None) -> None:
    """Write ``module``'s weights atomically, with settings, history, checksum and ``made_for``."""
    from safetensors.torch import save_file

    tensors = {k: v.detach().to("cpu").contiguous() for k, v in module.state_dict().items()}
    meta = {
        "format": "n2d-autoencoder-weights",
        "n2d_version": __version__,
        "settings": json.dumps(settings, sort_keys=True),
        "history": json.dumps([float(h) for h in history]),
        "tensors_sha256": _tensors_sha256(tensors),
    }
    if made_for is not None:
        meta["made_for"] = json.dumps(made_for, sort_keys=True)
    with atomic_path(path, suffix=".safetensors") as tmp:
        save_file(tensors, str(tmp), metadata=meta)


def _read_weights(source, dims=None):
    """Return (state dict of tensors, history) from a weights file or a dict of arrays.

    A file is read by what it holds, not by its name: an HDF5 file (by its
    signature) is read as the N2D reference code's Keras weights
    (:func:`n2d.autoencoder._keras.read_keras_weights`, checked against ``dims``,
    ``(n_features, *hidden_dims, n_components)``, when given; no history),
    anything else as n2d's safetensors, whose tensors must match the checksum
    in its metadata (``ValueError`` otherwise).
    """
    state, history, _ = _read_weights_meta(source, dims=dims)
    return state, history


def _read_weights_meta(source, dims=None):
    """Return (state dict of tensors, history, metadata dict) from a path or a dict of arrays."""
    if isinstance(source, dict):
        return {k: torch.as_tensor(np.asarray(v)) for k, v in source.items()}, [], {}
    from safetensors import safe_open

    from n2d.autoencoder._keras import is_hdf5, read_keras_weights

    path = Path(source)
    if not path.is_file():
        raise FileNotFoundError(f"Autoencoder weights file not found: {path}")
    if is_hdf5(path):
        return read_keras_weights(path, dims=dims), [], {}
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            state = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as exc:
        hint = (
            " Its '.h5' name suggests Keras HDF5 weights, but the file is not HDF5."
            if path.suffix.lower() in (".h5", ".hdf5")
            else ""
        )
        raise ValueError(
            f"Could not read autoencoder weights from {path}: not a Keras HDF5 file (no HDF5 signature) and "
            f"not a valid safetensors file ({exc}).{hint}"
        ) from exc
    expected = meta.get("tensors_sha256")
    if expected is not None and _tensors_sha256(state) != expected:
        raise ValueError(
            f"Autoencoder weights in {path} do not match the checksum in the file's metadata: "
            "the tensor data is corrupted."
        )
    try:
        history = [float(h) for h in json.loads(meta.get("history", "[]"))]
    except (ValueError, TypeError) as exc:
        raise ValueError(f"Autoencoder weights file {path} has an unreadable loss history ({exc}).") from exc
    return state, history, meta


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
