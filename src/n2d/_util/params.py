"""Allowed values of parameters that the library checks and the command line offers.

This module imports nothing, so the ``n2d`` command line can build its parser
and check its options from the library's own values without loading torch or
scikit-learn.
"""

from __future__ import annotations

__all__ = ["MAX_SEED", "PRECISIONS"]

PRECISIONS = ("auto", "float32", "bfloat16")
"""Values of the autoencoder's ``precision`` parameter."""

MAX_SEED = 2**32 - 1
"""The largest integer ``random_state`` (numpy's seeds are 32-bit)."""
