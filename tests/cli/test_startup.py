"""The command line answers before loading the heavy libraries, and ``import n2d`` loads them on first use.

Each check runs in a fresh interpreter (``sys.modules`` of this test process
already holds torch and scikit-learn). The times themselves are measured by
``benchmarks/startup.py``, not here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

HEAVY = ("torch", "sklearn", "scipy", "umap", "pynndescent", "numba", "matplotlib")


def _loaded_after(code: str, env: dict | None = None) -> dict:
    """Run ``code`` in a fresh interpreter; returns ``{"heavy": [...heavy modules imported], **whatever it set}``."""
    probe = (
        "import json, sys\nout = {}\n" + code + "\n"
        f"out['heavy'] = sorted(m for m in {HEAVY!r} if m in sys.modules)\n"
        "print(json.dumps(out))\n"
    )
    full_env = {k: v for k, v in os.environ.items() if k != "EAGER_IMPORT"} | (env or {})
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=full_env, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_parser_module_imports_neither_torch_nor_sklearn():
    out = _loaded_after(
        "from n2d.cli import build_parser\n"
        "parser = build_parser()\n"
        "out['commands'] = sorted(parser._subparsers._group_actions[0].choices)"
    )
    assert out["heavy"] == []
    assert out["commands"] == ["cache", "cluster", "datasets", "predict", "reproduce"]


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["--version"],
        ["cluster", "--help"],
        ["cluster", "data.csv", "--no-such-option"],  # argparse's error
        ["cluster", "data.csv", "--manifold", "umapp"],  # n2d's own option check
        ["cluster", "data.csv", "--k-range", "5"],
        ["cluster", "data.csv", "--n-clusters", "auto", "--k-criterion", "nope"],
    ],
)
def test_help_version_and_argument_errors_load_no_heavy_library(argv):
    out = _loaded_after(
        "from n2d.cli import main\n"
        "try:\n"
        f"    out['rc'] = main({argv!r})\n"
        "except SystemExit as exc:\n"
        "    out['rc'] = exc.code\n"
    )
    assert out["heavy"] == [], f"n2d {' '.join(argv)} imported {out['heavy']}"
    expected = 0 if argv[-1] in ("--help", "--version") else 2
    assert out["rc"] == expected


def test_import_n2d_is_light_and_the_names_load_on_first_use():
    out = _loaded_after(
        "import n2d\n"
        "out['light'] = sorted(m for m in ('torch', 'sklearn') if m in sys.modules)\n"
        "out['version'] = n2d.__version__\n"
        "out['n2d'] = n2d.N2D.__module__\n"
        "out['seed_api'] = n2d.n2d.__module__ + ' ' + type(n2d.n2d).__name__\n"
        "out['sub'] = n2d.metrics.__name__\n"  # a submodule, as an attribute, without importing it first
        "pkg = n2d\n"
        "from n2d import *  # binds n2d to the seed's class, as the eager package did\n"
        "out['star'] = sorted(name for name in pkg.__all__ if name not in globals())"
    )
    assert out["light"] == []
    assert out["n2d"] == "n2d.estimator"
    assert out["seed_api"] == "n2d.compat type"  # n2d.n2d is the seed's class; the package stays the package
    assert out["sub"] == "n2d.metrics"
    assert out["star"] == []  # every exported name resolves
    assert "torch" in out["heavy"] and "sklearn" in out["heavy"]  # loaded by the first use of N2D


def test_every_exported_name_resolves_eagerly():
    """``EAGER_IMPORT=1`` (lazy_loader's switch) imports every lazy name up front: none is misspelt."""
    out = _loaded_after(
        "import n2d, n2d.cluster, n2d.manifold\n"
        "out['missing'] = [f'{m.__name__}.{a}' for m in (n2d, n2d.cluster, n2d.manifold) for a in m.__all__\n"
        "                  if not hasattr(m, a)]",
        env={"EAGER_IMPORT": "1"},
    )
    assert out["missing"] == []


def test_unknown_attributes_still_raise_attribute_error():
    import n2d

    with pytest.raises(AttributeError):
        n2d.no_such_name  # noqa: B018
    assert not hasattr(n2d.cluster, "no_such_name")
