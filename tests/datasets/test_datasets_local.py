"""Local files (n2d.datasets._local): the data directory, .gz and embedded copies, presence."""

from __future__ import annotations

import n2d.datasets as ds


def test_resolve_data_home_precedence(tmp_path, monkeypatch):
    assert ds.resolve_data_home(tmp_path / "arg") == tmp_path / "arg"
    assert ds.resolve_data_home(str(tmp_path / "a" / ".." / "arg")) == tmp_path / "arg"
    monkeypatch.chdir(tmp_path)
    assert ds.resolve_data_home("rel") == tmp_path / "rel"
    assert ds.resolve_data_home() == tmp_path / "n2d-cache" / "data"
    monkeypatch.setenv(ds.DATA_ENV, str(tmp_path / "env"))
    assert ds.resolve_data_home() == tmp_path / "env"
    assert ds.resolve_data_home(tmp_path / "arg") == tmp_path / "arg"
