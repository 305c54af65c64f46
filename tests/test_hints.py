"""Install hints and test reasons name the real thing (issue 11, point 14)."""

import re
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "n2d"

# "pip install n2d", "pip install 'n2d[plot]'", "pip install -U n2d": on the package index the
# name n2d belongs to an unrelated older project, so a hint must never send a user there.
_INDEX_N2D = re.compile(r"pip install\s+(?:-\S+\s+)*['\"]?n2d\b")


def test_no_hint_installs_the_unrelated_n2d_from_the_package_index():
    offenders = [
        f"{path.relative_to(SRC)}:{i}: {line.strip()}"
        for path in sorted(SRC.rglob("*.py"))  # the packages too: n2d/cli/ holds the command line's messages
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if _INDEX_N2D.search(line)
    ]
    assert not offenders, "\n".join(offenders)


def test_plot_hint_names_matplotlib(monkeypatch):
    from n2d.plotting import _matplotlib

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"pip install matplotlib") as info:
        _matplotlib()
    assert "n2d[" not in str(info.value)


def test_expected_failure_reasons_state_the_reason_not_an_issue_number():
    from test_common import EXPECTED_FAILED

    for check, reason in EXPECTED_FAILED.items():
        assert not re.search(r"\bissue\s*#?\d", reason, re.I), (check, reason)
