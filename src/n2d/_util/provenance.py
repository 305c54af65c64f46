"""A description of the machine and software a result came from."""

from __future__ import annotations

import os
import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

PACKAGES = ("n2d", "torch", "numpy", "scipy", "scikit-learn", "umap-learn", "numba")


def package_versions() -> dict[str, str]:
    """Installed versions of n2d and the libraries its results depend on."""
    out = {}
    for pkg in PACKAGES:
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return out


def environment(**extra) -> dict:
    """CPU model, cores, load, library versions and GPU (if any); ``extra`` is merged in."""
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    info.update(package_versions())
    try:  # what the training precision was chosen from (``precision="auto"``)
        from n2d._util.hardware import cpu_has_native_bf16

        info["cpu_capability"] = torch.backends.cpu.get_cpu_capability()
        info["cpu_native_bf16"] = cpu_has_native_bf16()
    except Exception:  # older torch without the probe
        pass
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
        info["cuda"] = torch.version.cuda
    info.update(extra)
    return info
