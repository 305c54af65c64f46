"""The pendigits report, drawn by a real headless Chromium: a screenshot with the map's points, and no request
to the network (Chromium's net log, less the browser's own service calls).

Needs a Chromium (``apt-get install chromium``; ``.ci/run`` installs it). Where none is present the test is
skipped with the reason, except under CI (``CI`` set), where a missing browser is a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import numpy as np
import pytest

pytest.importorskip("bokeh")

from n2d import N2D, load_dataset  # noqa: E402
from n2d.report import write_report  # noqa: E402

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-default-apps")

BROWSER_SERVICES = ("google.com", "googleapis.com", "gvt1.com", "gstatic.com", "googleusercontent.com")
"""Hosts Chromium itself calls (updates, time, accounts, dictionaries), whatever page it shows."""


def _browser() -> str:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("CI"):
        pytest.fail("no headless Chromium under CI: .ci/run installs it with apt-get install chromium")
    pytest.skip("no Chromium on this machine (apt-get install chromium) to draw the report in a real browser")


@pytest.fixture(scope="module")
def pendigits_report(tmp_path_factory):
    ds = load_dataset("pendigits")
    model = N2D(n_clusters=10, epochs=2, random_state=0, verbose=0).fit(ds.x)
    path = tmp_path_factory.mktemp("browser") / "pendigits.html"
    write_report(model, ds.x, ds.y, path=path, training_data=True, source="pendigits")
    return path, ds


@pytest.mark.slow
def test_chromium_draws_the_report_and_requests_nothing_from_the_network(pendigits_report, tmp_path):
    from PIL import Image

    browser = _browser()
    path, _ = pendigits_report
    shot, netlog = tmp_path / "pendigits.png", tmp_path / "netlog.json"
    subprocess.run(
        [browser, *FLAGS, "--window-size=1000,1400", "--virtual-time-budget=30000", f"--screenshot={shot}",
         f"--log-net-log={netlog}", path.as_uri()],
        capture_output=True, timeout=180, check=False,
    )
    assert shot.is_file(), "Chromium wrote no screenshot"
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=np.float64)
    drawn = np.mean(pixels < 245)  # share of pixels that are not (near) white
    assert pixels.std() > 10 and drawn > 0.02, f"the screenshot looks blank (std {pixels.std():.1f}, {drawn:.3f})"
    # the map: many small coloured marks in the top half of the page (the 2-D UMAP of 10,992 points)
    rgb = np.asarray(Image.open(shot).convert("RGB"), dtype=np.int16)[:800]
    coloured = np.mean(rgb.max(axis=2) - rgb.min(axis=2) > 60)
    assert coloured > 0.01, f"no coloured points drawn on the map ({coloured:.4f} of the pixels)"
    urls = set(re.findall(r'"url":"([^"]+)"', netlog.read_text(errors="replace")))
    remote = sorted(u for u in urls if u.startswith(("http:", "https:", "ws:", "wss:"))
                    and not any(host in u.split("/")[2] for host in BROWSER_SERVICES))
    assert remote == [], f"the report requested network resources: {remote}"
