"""Torch devices: what a device specification means, and where a fitted model runs."""

from __future__ import annotations

_DEVICE_HELP = "'auto', 'cpu', 'cuda' or 'cuda:N'"


def resolve_device(device: str = "auto"):
    """Turn a device specification into a ``torch.device``.

    ``"auto"`` picks CUDA when a GPU is visible and the CPU otherwise. An explicit
    ``"cuda"`` without a GPU raises, naming what is available, rather than
    silently falling back: a user who asks for a GPU wants to know it is missing.
    """
    import torch

    if not isinstance(device, str):
        raise ValueError(f"device must be a string, one of {_DEVICE_HELP}; got {device!r}.")
    spec = device.strip().lower()
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if spec == "cpu":
        return torch.device("cpu")
    if spec == "cuda" or spec.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} was requested but no CUDA GPU is available to torch "
                f"(torch {torch.__version__}, CUDA build: {torch.version.cuda}). "
                "Use device='auto' or device='cpu'."
            )
        dev = torch.device(spec)
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(
                f"device={device!r} was requested but only {torch.cuda.device_count()} "
                "CUDA device(s) are visible."
            )
        return dev
    raise ValueError(f"device must be one of {_DEVICE_HELP}; got {device!r}.")


def runtime_device(device: str, owner: str = "model"):
    """The device to run a fitted ``owner`` on: its fit device, or the CPU if that is gone.

    A model fitted (or saved) on a GPU and used where none is visible moves to
    the CPU with a :class:`~n2d.exceptions.DeviceWarning` instead of failing.
    """
    import torch

    from n2d.exceptions import DeviceWarning

    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        import warnings

        warnings.warn(
            f"This {owner} was fitted on {device}, which is not available here; using the CPU.",
            DeviceWarning,
            stacklevel=3,
        )
        return torch.device("cpu")
    return dev
