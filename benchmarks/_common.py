"""Shared by the benchmark scripts: a description of the machine a figure came from."""

from __future__ import annotations

from pathlib import Path

from n2d._util.provenance import environment

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
"""The project's datasets beside the checkout (``../shared/data``), the scripts' default data folder."""


def default_data_dir() -> str | None:
    """``../shared/data`` if it exists, else None (n2d's own data folder)."""
    return str(SHARED_DATA) if SHARED_DATA.is_dir() else None


def hardware(**extra) -> dict:
    """CPU model, cores, load, library versions and GPU (if any); ``extra`` is merged in."""
    return environment(**extra)
