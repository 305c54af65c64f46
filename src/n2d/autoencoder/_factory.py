"""The named autoencoder stages: what ``autoencoder="mlp"`` stands for."""

from __future__ import annotations

__all__ = ["AUTOENCODERS", "make_autoencoder"]

AUTOENCODERS = ("mlp",)


def make_autoencoder(name: str, n_components=None, random_state=None, device="auto"):
    """Build a named autoencoder: ``"mlp"`` is the paper's d-500-500-2000-k :class:`n2d.Autoencoder`."""
    if name == "mlp":
        from n2d.autoencoder._estimator import Autoencoder

        return Autoencoder(n_components=n_components, random_state=random_state, device=str(device))
    raise ValueError(f"Unknown autoencoder {name!r}; expected one of {AUTOENCODERS}, a transformer, or None.")
