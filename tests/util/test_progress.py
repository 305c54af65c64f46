"""Progress on a terminal is tqdm's bar; in a file or a pipe it is a few plain lines, never a carriage return."""

import io

from tqdm.std import tqdm as std_tqdm

from n2d._util.progress import LINE_INTERVAL, LineProgress, progress


class _Clock:
    def __init__(self, step):
        self.t, self.step = 0.0, step

    def __call__(self):
        self.t += self.step
        return self.t


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_a_long_stage_writes_a_line_per_tenth_at_most():
    out = io.StringIO()
    bar = LineProgress(range(1000), desc="UMAP layout", unit="epoch", file=out, clock=_Clock(1.0))
    for i in bar:
        if i == 500:
            bar.set_postfix(loss="0.01000")
    lines = out.getvalue().splitlines()
    assert 1 <= len(lines) <= 10 and "\r" not in out.getvalue()
    assert lines[0].startswith("UMAP layout: 10% (100/1000 epoch), ")
    assert lines[-1].startswith("UMAP layout: 100% (1000/1000 epoch)") and lines[-1].endswith("[loss=0.01000]")


def test_lines_are_at_least_the_interval_apart():
    out = io.StringIO()
    bar = LineProgress(total=100, desc="predict", unit="row", file=out, clock=_Clock(LINE_INTERVAL / 10))
    for _ in range(100):
        bar.update(1)  # a tenth per LINE_INTERVAL: every tenth is due
    assert len(out.getvalue().splitlines()) == 10
    out = io.StringIO()
    bar = LineProgress(total=100, desc="predict", unit="row", file=out, clock=_Clock(LINE_INTERVAL / 40))
    for _ in range(100):
        bar.update(1)  # four times as fast: a line at most every fourth tenth
    assert 2 <= len(out.getvalue().splitlines()) <= 3


def test_a_short_stage_writes_nothing():
    out = io.StringIO()
    for _ in LineProgress(range(50), desc="mixture starts", file=out, clock=_Clock(0.01)):
        pass
    assert out.getvalue() == ""


def test_progress_picks_the_bar_on_a_terminal_and_lines_elsewhere():
    assert isinstance(progress(range(3), desc="x", file=io.StringIO()), LineProgress)
    bar = progress(range(3), desc="x", file=_Terminal())
    assert isinstance(bar, std_tqdm) and not isinstance(bar, LineProgress)
    bar.close()
    assert isinstance(progress(range(3), desc="x", file=io.StringIO(), disable=True), std_tqdm)  # silent


def test_a_verbose_fit_logged_to_a_file_has_no_carriage_returns(tiny_n2d, blobs, capfd):
    x, _ = blobs
    tiny_n2d(verbose=1, epochs=30).fit(x)
    err = capfd.readouterr().err
    assert "[n2d] autoencoder: done" in err and "[n2d] manifold: done" in err
    assert "\r" not in err
