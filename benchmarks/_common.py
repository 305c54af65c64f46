"""Shared by the benchmark scripts: a description of the machine a figure came from, and an empty weight cache."""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
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


@contextmanager
def empty_weight_cache(prefix: str = "n2d-bench-"):
    """An empty n2d weight cache (``N2D_CACHE_DIR``) for the block, so that every fit trains its autoencoder
    as a user's first fit does; the variable is restored and the folder removed afterwards. Yields its path."""
    with tempfile.TemporaryDirectory(prefix=prefix) as cache:
        before = os.environ.get("N2D_CACHE_DIR")
        os.environ["N2D_CACHE_DIR"] = cache
        try:
            yield cache
        finally:
            if before is None:
                os.environ.pop("N2D_CACHE_DIR", None)
            else:
                os.environ["N2D_CACHE_DIR"] = before
