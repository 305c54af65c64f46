"""The seeded default fit on pendigits gives the recorded labels, bit for bit.

The record (``tests/data/pendigits-seed0.json``) names the commit it was taken at: first before the package
layout, which had to keep every bit; again when a change of the numerics was meant (the JSON says which).

The labels were recorded by ``tests/data/make_fixtures.py`` on one CPU with one
torch; other CPUs take other kernels (bfloat16 or not, other vector widths),
so the comparison runs where the CPU's capabilities and torch match the record.
"""

from __future__ import annotations

import json
import platform
from pathlib import Path

import numpy as np
import pytest
import torch

from n2d import N2D, load_dataset
from n2d._util.hardware import cpu_capabilities

DATA = Path(__file__).resolve().parent / "data"


def _this_cpu() -> dict:
    caps = cpu_capabilities()
    return {"machine": platform.machine(), "flags": sorted(k for k, v in caps.items() if v is True),
            "torch": torch.__version__}


@pytest.mark.slow
def test_seeded_default_pendigits_labels_are_unchanged():
    record = json.loads((DATA / "pendigits-seed0.json").read_text())
    here = _this_cpu()
    if here != record["cpu"]:
        missing = sorted(set(record["cpu"]["flags"]) - set(here["flags"]))
        extra = sorted(set(here["flags"]) - set(record["cpu"]["flags"]))
        pytest.skip(
            f"the labels were recorded with torch {record['cpu']['torch']} on another kind of CPU "
            f"(this one: torch {here['torch']}, without {missing}, with {extra})"
        )
    expected = np.load(DATA / "pendigits-seed0.npz")["labels"]
    labels = N2D(n_clusters=10, random_state=0, verbose=0).fit_predict(load_dataset("pendigits").x)
    np.testing.assert_array_equal(labels, expected)
