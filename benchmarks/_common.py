"""Shared by the benchmark scripts: a description of the machine a figure came from."""

from __future__ import annotations

from n2d._env import environment


def hardware(**extra) -> dict:
    """CPU model, cores, load, library versions and GPU (if any); ``extra`` is merged in."""
    return environment(**extra)
