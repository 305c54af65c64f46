"""The pendigits report, drawn by a real headless Chromium: a screenshot with the map's points, no request to
the network (Chromium's net log, less the browser's own service calls), and the live page read back: every
point on the map, WebGL drawing it, a hover over a point showing its row, cluster, probability, class and
features, a legend click hiding a cluster, and the scores as drawn (``report_probe.js``, injected into a copy).

Needs a Chromium (``apt-get install chromium``; ``.ci/run`` installs it). Where none is present the test is
skipped with the reason, except under CI (``CI`` set), where a missing browser is a failure.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("bokeh")

from n2d import N2D, load_dataset  # noqa: E402
from n2d.metrics import evaluate  # noqa: E402
from n2d.report import write_report  # noqa: E402
from n2d.report._render import HOVER_ROWS  # noqa: E402

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--enable-unsafe-swiftshader",
         "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-default-apps")
PROBE = Path(__file__).with_name("report_probe.js")

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
    return path, ds, model


def _probe(report: Path, folder: Path, fragment: str = "") -> dict:
    """What ``report_probe.js`` reads from the live page Chromium draws of ``report`` (``#fragment`` added)."""
    browser = _browser()
    page = report.read_text(encoding="utf-8")
    end = page.rindex("</body>")  # the last one: BokehJS's own source holds the string too
    probed = folder / "probed.html"
    probed.write_text(f"{page[:end]}<script>{PROBE.read_text()}</script>{page[end:]}", encoding="utf-8")
    dom = subprocess.run(
        [browser, *FLAGS, "--virtual-time-budget=30000", "--dump-dom", probed.as_uri() + fragment],
        capture_output=True, text=True, timeout=180, check=False,
    ).stdout
    match = re.search(r'<pre id="n2d-probe">(.*?)</pre>', dom, flags=re.S)
    assert match, "the probe wrote nothing: BokehJS did not finish drawing the page within the time budget"
    found = json.loads(html.unescape(match.group(1)))
    assert "error" not in found, found.get("error")
    return found


@pytest.fixture(scope="module")
def drawn_page(pendigits_report, tmp_path_factory):
    """The pendigits report as Chromium draws it, read back by ``report_probe.js`` (a dict, see the script)."""
    return _probe(pendigits_report[0], tmp_path_factory.mktemp("probe"))


@pytest.mark.slow
def test_chromium_draws_the_report_and_requests_nothing_from_the_network(pendigits_report, tmp_path):
    from PIL import Image

    browser = _browser()
    path = pendigits_report[0]
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


@pytest.mark.slow
def test_the_drawn_map_holds_every_point(drawn_page, pendigits_report):
    ds = pendigits_report[1]
    assert drawn_page["points"] == len(ds.x) == 10992  # below the sampling size: every row is on the map
    assert drawn_page["renderers"] == drawn_page["legend_entries"] == 10  # one per cluster, each in the legend
    assert drawn_page["finished"], "BokehJS did not finish drawing the map's renderers"


@pytest.mark.slow
def test_software_webgl_draws_the_map_on_a_canvas_and_webgl_can_be_asked_for(drawn_page, pendigits_report, tmp_path):
    # headless Chromium without a GPU renders WebGL in software (SwiftShader): the page switches to a 2-D canvas
    assert re.search("swiftshader|llvmpipe|software", drawn_page["gl_renderer"] or "", re.I), drawn_page["gl_renderer"]
    assert drawn_page["backend"] == "canvas" and not drawn_page["webgl"]
    forced = _probe(pendigits_report[0], tmp_path, "#webgl")
    assert forced["backend"] == "webgl" and forced["webgl"], "with #webgl the map was not drawn with WebGL"
    assert forced["points"] == drawn_page["points"] and forced["finished"]


@pytest.mark.slow
def test_hovering_a_point_shows_its_row_cluster_probability_class_and_features(drawn_page, pendigits_report):
    ds, model = pendigits_report[1], pendigits_report[2]
    row = drawn_page["hovered_row"]
    tip = drawn_page["tooltip"]
    assert f"row {row} , cluster {model.labels_[row]}" in tip
    assert re.search(r"\(probability (0|1|0?\.\d+)\)", tip), tip
    assert f"true class {ds.y[row]}" in tip
    assert re.search(r"x\d+=[-\d.]+ \([+-]\d+\.\d sd\)", tip), tip  # the row's most distinctive features
    assert 1 <= len(re.findall(r"\brow \d+ ,", tip)) <= HOVER_ROWS, tip  # dense maps: the nearest few only


@pytest.mark.slow
def test_a_legend_click_hides_its_cluster(drawn_page):
    assert drawn_page["visible_after_click"] == [False] + [True] * 9


@pytest.mark.slow
def test_the_drawn_page_shows_the_scores_and_the_run(drawn_page, pendigits_report):
    ds, model = pendigits_report[1], pendigits_report[2]
    scores = evaluate(ds.y, model.labels_)
    text = drawn_page["text"]
    assert f"ACC {scores['acc']:.4f} NMI {scores['nmi']:.4f} ARI {scores['ari']:.4f}" in text
    assert "Rows per cluster" in text and "cluster \\ class" in text
    assert "data pendigits" in text and "version n2d" in text
