"""``n2d reproduce`` as a command: its options, what it prints and its exit code.

The study itself (runs, resume, plots) is tested through the same command in
tests/test_reproduce.py; here :func:`n2d.reproduce.reproduce` is replaced by a
stand-in that writes the files, so these tests take no time.
"""

from pathlib import Path

import pytest

import n2d.reproduce
from n2d.cli import build_parser, main


def _option(command, dest):
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    return next(a for a in sub.choices[command]._actions if a.dest == dest)


def test_setting_choices_are_the_librarys_settings():
    assert sorted(_option("reproduce", "setting").choices) == sorted(n2d.reproduce.SETTINGS)
    assert all(m in _option("reproduce", "methods").help for m in n2d.reproduce.METHODS)


@pytest.fixture
def fake_study(monkeypatch):
    """Replaces the study with one that writes table.md; ``statuses`` are its runs' statuses."""
    seen, statuses = {}, ["ok", "ok"]

    def reproduce(datasets, methods, seeds, baseline_seeds, out, **kw):
        seen.update(datasets=datasets, methods=methods, seeds=seeds, baseline_seeds=baseline_seeds, **kw)
        Path(out).mkdir()
        (Path(out) / "table.md").write_text("| method | ACC |\n")

    monkeypatch.setattr(n2d.reproduce, "reproduce", reproduce)
    monkeypatch.setattr(n2d.reproduce, "load_runs", lambda out: [{"status": s} for s in statuses])
    return seen, statuses


def test_reproduce_prints_the_table_and_passes_the_options(tmp_path, capsys, fake_study):
    seen, _ = fake_study
    out = tmp_path / "res"
    assert main(["reproduce", "--datasets", "usps", "--seeds", "2", "--setting", "cpu", "--out", str(out),
                 "--no-download", "--device", "cpu", "-q"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("| method | ACC |\n")
    assert f"wrote {out / 'runs.csv'}, {out / 'summary.json'}, {out / 'table.md'}" in printed
    assert (seen["datasets"], seen["methods"], seen["seeds"], seen["baseline_seeds"]) == ("usps", "all", 2, None)
    assert (seen["setting"], seen["paper"], seen["download"], seen["device"], seen["verbose"]) == (
        "cpu", False, False, "cpu", 0)


def test_reproduce_exits_with_1_when_a_run_failed(tmp_path, capsys, fake_study):
    _, statuses = fake_study
    statuses[1] = "failed"
    assert main(["reproduce", "--out", str(tmp_path / "res"), "-q"]) == 1
    assert "n2d reproduce: 1 run(s) failed; see 'reason' in" in capsys.readouterr().err
