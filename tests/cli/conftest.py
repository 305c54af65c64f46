"""Fixtures of the command-line tests (tests/conftest.py has those shared with the library's tests)."""

import numpy as np
import pytest


@pytest.fixture(scope="module")
def blob_csv(tmp_path_factory, blobs):
    """The blobs as a CSV with a header (f0..f7) and a text label column, kind."""
    x, y = blobs
    path = tmp_path_factory.mktemp("csv") / "points.csv"
    header = ",".join([f"f{i}" for i in range(x.shape[1])] + ["kind"])
    names = np.array(["alpha", "beta", "gamma"])[y]
    rows = [",".join([*(f"{v:.5f}" for v in row), n]) for row, n in zip(x, names)]
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path
