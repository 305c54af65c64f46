"""Progress reports that suit where they are written: bars on a terminal or in a notebook, lines in a log.

tqdm redraws its bar with carriage returns. On a terminal that is one line
that moves; written to a file or a pipe (CI, ``nohup``, a batch job) every
redraw stays, and one MNIST-test fit left about 30,000 characters of bars in
a log. :func:`progress` is tqdm's bar where the output is a terminal or a
notebook, and otherwise a :class:`LineProgress`: a plain line at each tenth of
the work, at most one per :data:`LINE_INTERVAL` seconds, so a short stage
writes nothing beyond the stage's own start and end lines and a long one a
few lines, never a carriage return.
"""

from __future__ import annotations

import sys
import time

__all__ = ["LINE_INTERVAL", "LineProgress", "progress"]

LINE_INTERVAL = 5.0
"""Fewest seconds between two progress lines written to a file or a pipe."""


def _is_notebook_tqdm() -> bool:
    """Whether ``tqdm.auto`` chose its notebook widget (Jupyter: no carriage returns there)."""
    from tqdm.auto import tqdm as auto

    return any(cls.__module__ == "tqdm.notebook" for cls in auto.__mro__)


def _interactive(file) -> bool:
    isatty = getattr(file, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


def progress(iterable=None, *, total=None, desc: str = "", unit: str = "it", disable: bool = False,
             leave: bool = True, file=None, **tqdm_kwargs):
    """A progress reporter over ``iterable`` (or ``total`` steps): tqdm's bar, or lines for a log.

    Takes tqdm's arguments. On a terminal or in a notebook it is
    ``tqdm.auto.tqdm`` itself; on any other stream (a file, a pipe) a
    :class:`LineProgress` with the same methods n2d uses (iteration,
    ``update``, ``set_postfix``, ``set_description``, ``close``, use as a
    context manager). ``disable`` reports nothing either way.
    """
    from tqdm.auto import tqdm

    stream = sys.stderr if file is None else file
    if disable or _interactive(stream) or _is_notebook_tqdm():
        return tqdm(iterable, total=total, desc=desc, unit=unit, disable=disable, leave=leave, file=file,
                    **tqdm_kwargs)
    return LineProgress(iterable, total=total, desc=desc, unit=unit, file=stream,
                        initial=tqdm_kwargs.get("initial", 0))


class LineProgress:
    """Progress as plain lines: ``desc: 30% (3/10 epoch), 12.0 s [loss=0.01]`` at each tenth, rate-limited.

    Parameters
    ----------
    iterable : iterable, optional
        Wrapped; its length is the total unless ``total`` is given.
    total : int, optional
        Steps in all; without one (and without a sized iterable) no line is written.
    desc, unit : str
        What is counted.
    file : stream
        Where the lines go.
    initial : int, default=0
        Steps already done.
    clock : callable, default=time.perf_counter
        The time source (tests pass their own).
    """

    def __init__(self, iterable=None, *, total=None, desc="", unit="it", file=None, initial=0,
                 clock=time.perf_counter):
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)
        self.iterable, self.total, self.desc, self.unit = iterable, total, desc, unit
        self.file = sys.stderr if file is None else file
        self.n = int(initial)
        self.postfix = ""
        self._clock = clock
        self._start = self._last = clock()
        self._tenth = self._tenths(self.n)

    def _tenths(self, n: int) -> int:
        return int(10 * n // self.total) if self.total else 0

    def __iter__(self):
        for item in self.iterable:
            yield item
            self.update(1)

    def __len__(self):
        return self.total or 0

    def update(self, n: int = 1) -> None:
        self.n += int(n)
        tenth = self._tenths(self.n)
        now = self._clock()
        if tenth > self._tenth and now - self._last >= LINE_INTERVAL:
            self._tenth, self._last = tenth, now
            self._line(now)

    def _line(self, now) -> None:
        postfix = f" [{self.postfix}]" if self.postfix else ""
        print(f"{self.desc}: {10 * self._tenth}% ({self.n}/{self.total} {self.unit}), {now - self._start:.1f} s"
              f"{postfix}", file=self.file, flush=True)

    def set_postfix(self, ordered_dict=None, refresh=True, **kwargs) -> None:
        items = {**(ordered_dict or {}), **kwargs}
        self.postfix = ", ".join(f"{k}={v}" for k, v in items.items())

    def set_description(self, desc=None, refresh=True) -> None:
        self.desc = desc or ""

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
