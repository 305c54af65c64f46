"""Read the N2D reference code's Keras HDF5 autoencoder weights into n2d's torch network.

The paper's research code (rymc/n2d, Keras 2.2.4 on TensorFlow 1.13) built the
autoencoder as a functional Keras model with ``Dense`` layers named
``encoder_0`` ... ``encoder_{n-1}`` and ``decoder_{n-1}`` ... ``decoder_0``
(d-500-500-2000-k: ``n = 4``) and saved it with ``model.save_weights("x.h5")``.
It shipped such files for every dataset of the paper
(``weights/mnist-1000-ae_weights.h5``, ...).

Layouts read here
-----------------
Keras's HDF5 weight writer (``save_weights_to_hdf5_group``, the same code in
Keras 2.2.4's ``keras/engine/saving.py`` and Keras 3's
``keras.src.legacy.saving.legacy_h5_format``) writes, into a group ``G``:

* ``G.attrs["layer_names"]``: the model's layer names, in order (split into
  ``layer_names0``, ``layer_names1``, ... when too large for one attribute);
  ``G.attrs["keras_version"]`` and ``G.attrs["backend"]``;
* for every layer a group ``G/<layer>`` with ``attrs["weight_names"]`` (for a
  ``Dense`` layer, its kernel then its bias) and one dataset per weight, at the
  path given by its weight name: ``G/<layer>/<layer>/kernel:0`` in Keras 2
  (TensorFlow variable names), ``G/<layer>/<layer>/kernel`` in Keras 3.
  Weightless layers (the ``input`` layer) have an empty ``weight_names``;
  Keras 3 adds an empty ``top_level_model_weights`` group.

``G`` is the file's root for a weights file (``model.save_weights("x.h5")`` in
Keras 2, or Keras 3's legacy writer) and ``/model_weights`` for a whole model
saved as HDF5 (``model.save("x.h5")``); both are read. Datasets are found
through ``weight_names``, as Keras's own loader finds them, so variable-name
suffixes such as ``encoder_0_1/kernel:0`` (a model built twice in one
TensorFlow graph) are read too.

A ``Dense`` kernel has shape ``(in, out)`` (``y = x @ kernel + bias``); a torch
``nn.Linear`` weight has shape ``(out, in)``, so kernels are transposed.
Every layer's shape is checked against the architecture, and anything else
(other layer names, missing layers, other shapes or dtypes, a file that is
not HDF5) is refused with an error naming what was found and what was expected.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

__all__ = ["HDF5_SIGNATURE", "is_hdf5", "keras_layer_names", "read_keras_weights"]

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
"""The 8 bytes an HDF5 superblock starts with (at offset 0, or 512, 1024, ... after a user block)."""

_INSTALL_HINT = "Reading Keras HDF5 weights needs h5py, which is not installed: pip install h5py"


def is_hdf5(path) -> bool:
    """Whether ``path`` is an HDF5 file, by its signature (not its name).

    The superblock may follow a user block, so the signature is looked for at
    offset 0 and at every power of two from 512 up to the file size, as the
    HDF5 specification places it.
    """
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as f:
        offset = 0
        while offset + len(HDF5_SIGNATURE) <= size:
            f.seek(offset)
            if f.read(len(HDF5_SIGNATURE)) == HDF5_SIGNATURE:
                return True
            offset = 512 if offset == 0 else offset * 2
    return False


def keras_layer_names(n_hidden: int) -> list[str]:
    """Dense layer names of the reference autoencoder with ``n_hidden`` hidden layers, in data-flow order.

    ``keras_layer_names(3)`` is ``["encoder_0", ..., "encoder_3", "decoder_3", ..., "decoder_0"]``.
    """
    n = n_hidden + 1
    return [f"encoder_{i}" for i in range(n)] + [f"decoder_{i}" for i in range(n - 1, -1, -1)]


def _torch_keys(n_hidden: int) -> list[str]:
    """The ``nn.Linear`` of :class:`n2d.autoencoder.MLPAutoencoder` each Keras layer maps to (ReLUs in between)."""
    n = n_hidden + 1
    return [f"encoder.{2 * i}" for i in range(n)] + [f"decoder.{2 * i}" for i in range(n)]


def _attr_list(group, name: str) -> list[str] | None:
    """A string-list attribute as Keras writes it, also when split into ``name0``, ``name1``, ..."""
    if name in group.attrs:
        values = list(np.atleast_1d(group.attrs[name]))
    elif f"{name}0" in group.attrs:
        values, k = [], 0
        while f"{name}{k}" in group.attrs:
            values.extend(np.atleast_1d(group.attrs[f"{name}{k}"]))
            k += 1
    else:
        return None
    return [v.decode("utf8") if isinstance(v, bytes) else str(v) for v in values]


def _weights_root(f, path: str):
    """The group holding ``layer_names``: the file itself, or ``model_weights`` of a whole saved model."""
    if _attr_list(f, "layer_names") is not None:
        return f, "/"
    if "model_weights" in f and _attr_list(f["model_weights"], "layer_names") is not None:
        return f["model_weights"], "/model_weights"
    raise ValueError(
        f"{path} is an HDF5 file but not Keras model weights: neither its root nor a 'model_weights' group "
        f"has the 'layer_names' attribute Keras writes (top-level keys: {sorted(f.keys())[:8]}). Expected a file "
        "written by Keras's model.save_weights('x.h5') or model.save('x.h5'), such as the N2D reference code's "
        "'<dataset>-1000-ae_weights.h5'."
    )


def _arch(dims) -> str:
    return "-".join(str(int(d)) for d in dims)


def read_keras_weights(path, dims=None) -> dict:
    """Read a Keras HDF5 file of the N2D reference autoencoder as a torch state dict.

    Parameters
    ----------
    path : str or path-like
        A Keras HDF5 weights file (``model.save_weights("x.h5")``) or whole
        model (``model.save("x.h5")``) of the reference architecture; see the
        module docstring for the layouts.
    dims : sequence of int, default=None
        The architecture to check against: ``(n_features, *hidden_dims,
        n_components)``, e.g. ``(784, 500, 500, 2000, 10)``. ``None`` takes the
        widths from the file and only checks that its layers chain into a
        symmetric autoencoder.

    Returns
    -------
    state : dict of str to torch.Tensor
        float32 parameters keyed as :class:`n2d.autoencoder._networks.MLPAutoencoder`'s
        ``state_dict`` (``encoder.0.weight`` of shape (out, in), ...).

    Raises
    ------
    ValueError
        If the file is not HDF5, not Keras weights, lacks one of the expected
        layers or has others with weights, or a kernel or bias has another
        shape than the architecture needs, or holds NaN or inf.
    ImportError
        If h5py is not installed.
    """
    import torch

    path = Path(os.fspath(path))
    if not path.is_file():
        raise FileNotFoundError(f"Keras weights file not found: {path}")
    if not is_hdf5(path):
        raise ValueError(
            f"{path} is not an HDF5 file (no HDF5 signature): expected a Keras HDF5 weights file "
            "('<dataset>-1000-ae_weights.h5' of the N2D reference code) or an n2d .safetensors file."
        )
    try:
        import h5py
    except ImportError as exc:
        raise ImportError(_INSTALL_HINT) from exc

    with h5py.File(path, "r") as f:
        root, where = _weights_root(f, str(path))
        layer_names = _attr_list(root, "layer_names")
        with_weights = {}
        for name in layer_names:
            if name not in root:
                raise ValueError(f"{path}: layer {name!r} is listed in {where}'s 'layer_names' but has no group.")
            names = _attr_list(root[name], "weight_names") or []
            if names:
                with_weights[name] = names
        if dims is None:
            n_hidden = sum(1 for n in with_weights if n.startswith("encoder_")) - 1
        else:
            dims = [int(d) for d in dims]
            n_hidden = len(dims) - 2
        expected = keras_layer_names(max(n_hidden, 0))
        missing = [n for n in expected if n not in with_weights]
        unexpected = [n for n in with_weights if n not in expected]
        if n_hidden < 0 or missing or unexpected:
            raise ValueError(
                f"{path} does not hold the N2D autoencoder's layers: expected Dense layers {expected} "
                f"({'architecture ' + _arch(dims) if dims is not None else 'as in the reference code'}); "
                f"missing {missing}, unexpected {unexpected} (layers with weights in {where}: {list(with_weights)})."
            )
        arrays = {}
        for name in expected:
            group = root[name]
            weight_names = with_weights[name]
            kinds = [w.rsplit("/", 1)[-1].split(":", 1)[0] for w in weight_names]
            if kinds != ["kernel", "bias"]:
                raise ValueError(
                    f"{path}: layer {name!r} has weights {weight_names}; expected a Dense layer's kernel and bias "
                    f"(e.g. ['{name}/kernel:0', '{name}/bias:0'] from Keras 2 or ['{name}/kernel', '{name}/bias'] "
                    "from Keras 3)."
                )
            for kind, wname in zip(kinds, weight_names):
                if wname not in group or not isinstance(group[wname], h5py.Dataset):
                    raise ValueError(f"{path}: weight {wname!r} of layer {name!r} is listed but has no dataset.")
                data = group[wname]
                if data.dtype.kind != "f":
                    raise ValueError(f"{path}: {name}/{kind} has dtype {data.dtype}; expected floating point weights.")
                arrays[(name, kind)] = np.asarray(data[()], dtype=np.float32)

    # the widths: from the architecture, or read off the file's encoder
    if dims is None:
        for name in expected:
            if arrays[(name, "kernel")].ndim != 2:
                raise ValueError(
                    f"{path}: {name}/kernel has shape {arrays[(name, 'kernel')].shape}; "
                    "expected a 2-D (in, out) kernel."
                )
        dims = [arrays[("encoder_0", "kernel")].shape[0]] + [
            arrays[(f"encoder_{i}", "kernel")].shape[1] for i in range(n_hidden + 1)
        ]
    layer_dims = list(zip(dims[:-1], dims[1:])) + list(zip(dims[::-1][:-1], dims[::-1][1:]))
    state = {}
    for name, key, (d_in, d_out) in zip(expected, _torch_keys(n_hidden), layer_dims):
        kernel, bias = arrays[(name, "kernel")], arrays[(name, "bias")]
        for kind, arr, want in (("kernel", kernel, (d_in, d_out)), ("bias", bias, (d_out,))):
            if arr.shape != want:
                raise ValueError(
                    f"{path}: {name}/{kind} has shape {arr.shape}, expected {want} for the autoencoder "
                    f"{_arch(dims)} (Keras kernels are (in, out)). The file was trained for another architecture: "
                    "check the number of features, hidden_dims and n_components (= the number of clusters)."
                )
            if not np.isfinite(arr).all():
                raise ValueError(f"{path}: {name}/{kind} contains NaN or inf.")
        state[f"{key}.weight"] = torch.from_numpy(np.ascontiguousarray(kernel.T))
        state[f"{key}.bias"] = torch.from_numpy(bias)
    return state
