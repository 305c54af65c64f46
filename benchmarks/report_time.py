"""How large the report of a dataset is, how long ``--report`` adds, and how the page behaves in a browser.

Issue 30's figures: ``n2d cluster DATASET --report`` is run as a user runs it (a fresh process, defaults); its
``result.json`` gives the seconds the report added (``report_seconds``: the 2-D UMAP of the code, the
thumbnails and the page), and the file's size is printed. Then headless Chromium opens ``report.html`` and,
driven over its DevTools pipe (real time, no virtual clock), runs ``report_interaction.js`` in the page: the
milliseconds from the navigation's start to the map being drawn, and what a zoom, a pan and a hover over a
point cost once it is (median of five each). The page draws its map with WebGL, or on a 2-D canvas where the
browser's WebGL is software (no GPU); both are measured in the same run, alternated (``#webgl`` and
``#canvas`` at the end of the address choose), with the WebGL renderer the browser reported. Target: MNIST's
report (70,000 points, a thumbnail each) at most 40 MB and interactive.

    python benchmarks/report_time.py --dataset mnist --out benchmarks/results/report-time-mnist.json
    python benchmarks/report_time.py --page out/report.html   # an existing report: the browser figures only
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import default_data_dir, hardware  # benchmarks/_common.py

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--enable-unsafe-swiftshader", "--no-first-run",
         "--disable-background-networking", "--window-size=1000,1400"]
PROBE = Path(__file__).with_name("report_interaction.js")
BACKENDS = ("webgl", "canvas")


class DevToolsPipe:
    """A headless Chromium driven over ``--remote-debugging-pipe``: JSON commands on its file descriptor 3,
    replies and events on 4, each message ended by a NUL byte. Enough of the protocol to open a page and
    evaluate a script in it, with no WebSocket client to install."""

    def __init__(self, browser: str):
        to_browser, self._send_fd = os.pipe()
        self._recv_fd, from_browser = os.pipe()

        def wire():  # in the child, before exec: the two ends at 3 and 4, via numbers above both
            import fcntl

            high_in, high_out = (fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (to_browser, from_browser))
            os.dup2(high_in, 3)
            os.dup2(high_out, 4)

        self._proc = subprocess.Popen([browser, *FLAGS, "--remote-debugging-pipe", "about:blank"],
                                      pass_fds=(3, 4), preexec_fn=wire,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_browser)
        os.close(from_browser)
        self._buffer, self._id, self._session = b"", 0, None
        page = next(t for t in self.send("Target.getTargets")["targetInfos"] if t["type"] == "page")
        self._session = self.send("Target.attachToTarget", targetId=page["targetId"], flatten=True)["sessionId"]
        self.send("Page.enable")

    def _receive(self) -> dict:
        while b"\0" not in self._buffer:
            chunk = os.read(self._recv_fd, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed its DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, **params) -> dict:
        """Send one command (to the page once attached) and return its result."""
        self._id += 1
        message = {"id": self._id, "method": method, "params": params}
        if self._session is not None:
            message["sessionId"] = self._session
        os.write(self._send_fd, json.dumps(message).encode() + b"\0")
        while (reply := self._receive()).get("id") != self._id:
            pass  # an event, or a reply to nothing we wait for
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply["result"]

    def open(self, url: str) -> None:
        """Navigate to ``url`` and wait for its load event."""
        self.send("Page.navigate", url=url)
        while self._receive().get("method") != "Page.loadEventFired":
            pass

    def evaluate(self, expression: str):
        """The value of ``expression`` in the page, awaited if it is a promise."""
        result = self.send("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"the script failed in the page: {result['exceptionDetails']}")
        return result["result"]["value"]

    def close(self) -> None:
        try:
            self._session = None
            self.send("Browser.close")
        except RuntimeError:
            pass
        self._proc.wait(timeout=60)
        os.close(self._send_fd)
        os.close(self._recv_fd)


def interaction(browser: str, page: Path, backend: str) -> dict:
    """What ``report_interaction.js`` measures in ``page`` with its map drawn by ``backend``, in a fresh browser."""
    chrome = DevToolsPipe(browser)
    try:
        chrome.open(f"{page.as_uri()}#{backend}")
        found = chrome.evaluate(PROBE.read_text())
    finally:
        chrome.close()
    if "error" in found:
        raise RuntimeError(f"the interaction probe failed: {found['error']}")
    return found


def summary(runs: list[dict]) -> dict:
    """Medians over the runs (and over the five gestures of each)."""
    med = statistics.median
    return {
        "points": runs[0]["points"], "webgl": runs[0]["webgl"], "gl_renderer": runs[0]["gl_renderer"],
        "drawn_ms": med(r["drawn_ms"] for r in runs),
        **{f"{g}_ms": med(v for r in runs for v in r[f"{g}_ms"] if v is not None) for g in ("zoom", "pan", "hover")},
        "runs": runs,
    }


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", default="pendigits")
    ap.add_argument("--data-dir", default=default_data_dir())
    ap.add_argument("--page", type=Path, default=None, help="an existing report: measure it in the browser only")
    ap.add_argument("--repeats", type=int, default=3, help="fresh browsers per drawing backend")
    ap.add_argument("--out", type=Path, default=None, help="write the figures as JSON here")
    args = ap.parse_args(argv)
    browser = next((b for b in map(shutil.which, BROWSERS) if b), None)
    if browser is None:
        sys.exit("no Chromium on this machine: apt-get install chromium")
    load_before = os.getloadavg()
    record: dict = {"dataset": args.dataset}
    with tempfile.TemporaryDirectory(prefix="n2d-report-time-") as tmp:
        tmp = Path(tmp)
        if args.page is None:
            cmd = [sys.executable, "-m", "n2d.cli", "cluster", args.dataset, "--report", "-q",
                   "--out", str(tmp / "out")]
            if args.data_dir:
                cmd += ["--data-dir", args.data_dir]
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, env={**os.environ, "N2D_CACHE_DIR": str(tmp / "cache")})
            record["command_seconds"] = time.perf_counter() - t0
            result = json.loads((tmp / "out" / "result.json").read_text())
            record.update(rows=result.get("n_samples"), report_seconds=result.get("report_seconds"),
                          scores={m: result.get(m) for m in ("acc", "nmi", "ari")})
            page = tmp / "out" / "report.html"
        else:
            page, record["dataset"] = args.page, str(args.page)
        record["bytes"] = page.stat().st_size
        runs: dict[str, list] = {backend: [] for backend in BACKENDS}
        for _ in range(args.repeats):  # alternated, so that load hits both alike
            for backend in BACKENDS:
                runs[backend].append(interaction(browser, page, backend))
    record.update({backend: summary(r) for backend, r in runs.items()})
    record["browser"] = subprocess.run([browser, "--version"], capture_output=True, text=True).stdout.strip()
    env = hardware(load_average_before=load_before)
    record["environment"] = env
    print(f"{record['dataset']}: report.html {record['bytes'] / 1e6:.1f} MB", end="")
    if "command_seconds" in record:
        print(f"; n2d cluster --report {record['command_seconds']:.0f} s, of which the report "
              f"{record['report_seconds']:.0f} s", end="")
    print(f"; {record['browser']}, WebGL renderer {record['webgl']['gl_renderer']!r}")
    for backend in runs:
        s = record[backend]
        print(f"  map on {backend:6s} ({s['points']:,} points): drawn {s['drawn_ms'] / 1e3:.1f} s after navigation; "
              f"zoom {s['zoom_ms']:.0f} ms, pan {s['pan_ms']:.0f} ms, hover to tooltip {s['hover_ms']:.0f} ms")
    print(f"CPU: {env['cpu']} ({env['cores']} cores); load average before {load_before}, after {env['load_average']}")
    if args.out:
        args.out.write_text(json.dumps(record, indent=1) + "\n")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
