"""The catalog (n2d.datasets._catalog): names, aliases and the facts of each dataset."""

from __future__ import annotations

from importlib import resources

import pytest

import n2d.datasets as ds
from n2d.datasets import _catalog, _parsers, _registry


def test_unknown_name_lists_valid_names():
    for func in (ds.load_dataset, ds.dataset_info, ds.verify_dataset, ds.fetch_dataset):
        with pytest.raises(ValueError) as info:
            func("cifar10")
        for name in ds.DATASET_NAMES:
            assert name in str(info.value)


def test_names_are_case_insensitive_with_aliases():
    assert ds.dataset_info("MNIST")["name"] == "mnist"
    assert ds.dataset_info("mnist_test")["name"] == "mnist-test"
    assert ds.dataset_info("Fashion-MNIST")["name"] == "fashion"
    assert ds.dataset_info("fmnist")["name"] == "fashion"
    assert ds.load_dataset("PenDigits").name == "pendigits"


def test_every_alias_and_spelling_maps_to_its_dataset():
    expected = {
        "mnisttest": "mnist-test", "mnist-t10k": "mnist-test", "MNIST_TEST": "mnist-test",
        "fashion-mnist": "fashion", "fashionmnist": "fashion", "fmnist": "fashion", "Fashion MNIST": "fashion",
        "pen-digits": "pendigits", "Pen Digits": "pendigits", "uci-har": "har", "UCI_HAR": "har", " usps ": "usps",
    }  # fmt: skip
    assert {alias: _catalog.canonical_name(alias) for alias in expected} == expected
    assert all(_catalog.canonical_name(n) == n for n in _catalog.DATASET_NAMES)


def test_a_name_that_is_not_a_string_is_a_clear_error():
    with pytest.raises(ValueError, match=r"must be a string, one of mnist, mnist-test.*got 3\."):
        _catalog.canonical_name(3)


def test_names_and_groups_in_the_papers_order():
    assert ds.DATASET_NAMES == ("mnist", "mnist-test", "fashion", "usps", "pendigits", "har")
    assert _catalog.GROUPS == ("mnist", "fashion", "usps", "pendigits", "har")
    assert ds.DATASET_NAMES is _catalog.DATASET_NAMES


def test_the_catalog_and_the_registry_list_the_same_files():
    """Each registry file belongs to the entry of its group; each catalog file is registered."""
    reg = _registry.registry()
    for dataset in _catalog.CATALOG.values():
        assert len(set(dataset.paths)) == len(dataset.paths), dataset.name
        for path in dataset.paths:
            assert reg[path].dataset == dataset.group, path
            assert path.startswith(f"{dataset.folder}/"), path
    in_groups = [p for name in _catalog.GROUPS for p in _catalog.CATALOG[name].paths]
    assert sorted(in_groups) == sorted(reg)  # the groups cover the registry, each file once


def test_every_form_names_files_of_its_dataset_and_a_parser():
    for dataset in _catalog.CATALOG.values():
        roles = [f.role for f in dataset.files if f.role is not None]
        assert len(set(roles)) == len(roles), dataset.name  # a role names one file
        assert dataset.forms, dataset.name
        for form in dataset.forms:
            assert set(form.roles) <= set(roles), (dataset.name, form.variant)
            assert callable(getattr(_parsers, form.parser)), form.parser
        variants = [form.variant for form in dataset.forms]
        assert len(set(variants)) == len(variants), dataset.name  # the cache key tells them apart
        assert (dataset.target_names is None) == ("class-names" in roles), dataset.name
        assert dataset.target_names is None or len(dataset.target_names) == dataset.n_classes


def test_every_dataset_has_a_description_file():
    folder = resources.files("n2d.datasets") / "descriptions"
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{n}.txt" for n in _catalog.CATALOG)
    for name, dataset in _catalog.CATALOG.items():
        text = dataset.description
        assert "\n" not in text and "  " not in text, name
        assert "License" in text and "Cite" in text and "http" in text, name


def test_dataset_info_comes_from_the_catalog():
    for name, dataset in _catalog.CATALOG.items():
        info = ds.dataset_info(name)
        assert info["files"] == list(dataset.paths)
        assert (info["n_samples"], info["n_features"], info["n_classes"]) == (
            dataset.n_samples, dataset.n_features, dataset.n_classes,
        )  # fmt: skip
