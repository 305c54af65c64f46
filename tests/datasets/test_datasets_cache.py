"""The parsed-array cache (n2d.datasets._cache): hits, corrupt entries, keys."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from datasets_helpers import (
    PENDIGITS_FILES,
    copy_dir,
    need,
    snapshot,
)

import n2d.datasets as ds
from n2d.datasets import _cache, _catalog, _parsers, _registry
from n2d.exceptions import CacheWarning


def test_parsed_cache_is_used_and_corruption_is_ignored(tmp_path, monkeypatch):
    cache = tmp_path / "n2d-cache"
    first = ds.load_dataset("pendigits")
    entries = list((cache / "parsed").glob("pendigits-*"))
    assert len(entries) == 1
    entry = entries[0]
    assert {p.name for p in entry.iterdir()} == {"x.npy", "y.npy", "meta.json"}

    def boom(paths):
        raise AssertionError("the parser ran although the cache entry is valid")

    with monkeypatch.context() as mp:  # second load: served from the cache
        mp.setattr(_parsers, "parse_pendigits", boom)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            second = ds.load_dataset("pendigits")
    np.testing.assert_array_equal(second.x, first.x)
    np.testing.assert_array_equal(second.y, first.y)
    assert second.target_names == first.target_names

    corruptions = {
        "x.npy": lambda b: b[:-1] + bytes([b[-1] ^ 0x01]),  # a flipped bit in the data
        "y.npy": lambda b: b"not an npy file",
        "meta.json": lambda b: b[: len(b) // 2],
    }
    for fname, corrupt in corruptions.items():
        path = entry / fname
        path.write_bytes(corrupt(path.read_bytes()))
        with pytest.warns(CacheWarning, match="Ignoring the parsed-data cache entry"):
            again = ds.load_dataset("pendigits")
        np.testing.assert_array_equal(again.x, first.x)
        np.testing.assert_array_equal(again.y, first.y)
        with warnings.catch_warnings():  # the entry was rewritten and is valid again
            warnings.simplefilter("error")
            ds.load_dataset("pendigits")


def test_cache_never_written_to_data_home(shared_data, tmp_path):
    need(shared_data, *PENDIGITS_FILES)
    home = tmp_path / "data"
    copy_dir(shared_data / "pendigits", home / "pendigits", ["pendigits.tra", "pendigits.tes"])
    before = snapshot(home)
    ds.load_dataset("pendigits", data_home=home)
    ds.load_dataset("pendigits", data_home=home)
    assert snapshot(home) == before
    assert list((tmp_path / "n2d-cache" / "parsed").glob("pendigits-*"))


def test_cache_key_depends_on_source_hashes(tmp_path):
    usps = _catalog.CATALOG["usps"]
    a = _cache.cache_dir(usps, "h5", {"usps/usps.h5": "sha256:" + "0" * 64})
    b = _cache.cache_dir(usps, "h5", {"usps/usps.h5": "sha256:" + "1" * 64})
    c = _cache.cache_dir(usps, "jf", {"usps/usps.h5": "sha256:" + "0" * 64})
    assert len({a, b, c}) == 3
    assert a.parent == tmp_path / "n2d-cache" / "parsed"


# The entries n2d wrote before the package was split (issue 26), computed by that code from
# today's registry: an entry written then must still be hit, so the key must not change.
EARLIER_KEYS = {
    ("mnist", "idx"): "mnist-bb444c345391954fe3bf7559",
    ("mnist-test", "idx"): "mnist-test-f915375273cefdc3ccb65a18",
    ("fashion", "idx"): "fashion-1cb1be9dc335178749a87047",
    ("usps", "h5"): "usps-547d00c75ce020f7377529c4",
    ("usps", "jf"): "usps-fc080ed521c19902d4c42e95",
    ("pendigits", "text"): "pendigits-c6e6100c77df345afd8871ec",
    ("har", "text"): "har-2d29c7447118d3554bbcc1ba",
}


def test_cache_keys_are_those_of_earlier_versions(tmp_path):
    reg = _registry.registry()
    found = {}
    for dataset in _catalog.CATALOG.values():
        for form in dataset.forms:
            hashes = {rel: reg[rel].hash_str for rel in dataset.form_paths(form)}
            folder = _cache.cache_dir(dataset, form.variant, hashes)
            assert folder.parent == tmp_path / "n2d-cache" / "parsed"
            found[dataset.name, form.variant] = folder.name
    assert found == EARLIER_KEYS


def test_a_cache_entry_written_by_earlier_versions_is_hit(tmp_path, monkeypatch):
    """pendigits' entry, written under its earlier key, is read and the parser never runs."""
    first = ds.load_dataset("pendigits")
    (entry,) = (tmp_path / "n2d-cache" / "parsed").glob("pendigits-*")
    assert entry.name == EARLIER_KEYS["pendigits", "text"]
    assert json.loads((entry / "meta.json").read_text())["sources"] == {
        "pendigits/pendigits.tra": _registry.registry()["pendigits/pendigits.tra"].hash_str,
        "pendigits/pendigits.tes": _registry.registry()["pendigits/pendigits.tes"].hash_str,
    }
    monkeypatch.setattr(_parsers, "parse_pendigits", None)  # calling it would raise
    again = ds.load_dataset("pendigits")
    np.testing.assert_array_equal(again.x, first.x)
    assert again.target_names == first.target_names
