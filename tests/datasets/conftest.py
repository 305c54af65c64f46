"""Fixtures of the n2d.datasets tests: an isolated cache, the shared data, a local HTTP server.

Nothing is written to the shared data folder or to the user's cache: every test
gets its own ``$N2D_CACHE_DIR`` and works on copies in ``tmp_path``. Downloads
are served from a local HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

import pytest
from datasets_helpers import PENDIGITS_FILES, SHARED, USPS_H5, need

import n2d.datasets as ds
from n2d.datasets import _catalog


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path, monkeypatch):
    """Every test gets its own n2d cache and no $N2D_DATA_DIR."""
    monkeypatch.setenv("N2D_CACHE_DIR", str(tmp_path / "n2d-cache"))
    monkeypatch.delenv(ds.DATA_ENV, raising=False)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED.is_dir():
        pytest.skip(
            f"shared benchmark data not found at {SHARED}; set N2D_TEST_SHARED_DATA to "
            "the folder holding mnist/, fashion/, usps/, pendigits/, har/"
        )
    return SHARED


@pytest.fixture(scope="session")
def load_shared(shared_data, tmp_path_factory):
    """Load a dataset from the shared folder at most once per session."""
    cache = tmp_path_factory.mktemp("n2d-session-cache")
    memo: dict[str, ds.Dataset] = {}

    def load(name: str) -> ds.Dataset:
        if name not in memo:
            files = {"usps": USPS_H5, "pendigits": PENDIGITS_FILES}.get(name)
            files = files or _catalog.entry(name).paths
            need(shared_data, *files)
            with pytest.MonkeyPatch.context() as mp:
                mp.setenv("N2D_CACHE_DIR", str(cache))
                memo[name] = ds.load_dataset(name, data_home=shared_data, download=False)
        return memo[name]

    return load


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass


@pytest.fixture
def http_root(tmp_path, monkeypatch):
    """Serve tmp_path/www on 127.0.0.1; yields (folder, base URL)."""
    root = tmp_path / "www"
    root.mkdir()
    for var in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
