"""The catalog (n2d.datasets._catalog): names, aliases and the facts of each dataset."""

from __future__ import annotations

import pytest

import n2d.datasets as ds


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
