"""The catalog: one entry per dataset, holding every fact about it that is not a file hash.

An entry names the dataset and its aliases, its folder in the data directory,
its files and the role each plays for the parser, the ways it can be loaded
(:class:`Form`: which files, which parser of :mod:`n2d.datasets._parsers`),
its size, license and source, and what to tell a user who lacks its files.
The hashes and download URLs of the files are in ``registry.txt``
(:mod:`n2d.datasets._registry`); the long description shown as
``Dataset.description`` is ``descriptions/<name>.txt`` (package data).

Adding a dataset is one entry here, one parser in ``_parsers.py`` (unless an
existing one reads its format), its lines in ``registry.txt`` and its
description file.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

__all__ = [
    "CATALOG",
    "DATASET_NAMES",
    "GROUPS",
    "CatalogEntry",
    "DataFile",
    "Form",
    "canonical_name",
    "description",
    "entry",
]


@dataclass(frozen=True)
class DataFile:
    """A file of a dataset: its registry path and the role in which a parser reads it.

    ``role`` is the key under which :meth:`CatalogEntry.form_files` hands the
    file to the parser (``"train-images"``, ``"test"``, ...); None for a file
    n2d verifies and downloads with the rest but never reads (documentation,
    HAR's subject ids).
    """

    path: str  # relative to the data directory, with "/" separators, as in registry.txt
    role: str | None = None


@dataclass(frozen=True)
class Form:
    """One way to load a dataset: the files (by role) that a parser reads.

    ``variant`` is part of the parsed-array cache key, so it must not change
    for an existing form. ``parser`` names a function of
    :mod:`n2d.datasets._parsers`, looked up when the data is parsed.
    ``needs`` names a module the parser imports (the form is skipped with a
    clear error when it is missing and no other form is present).
    """

    variant: str
    roles: tuple[str, ...]  # in the order the files are hashed and listed
    parser: str
    needs: str | None = None


@dataclass(frozen=True)
class CatalogEntry:
    """Everything n2d knows about one dataset, besides its file hashes and URLs."""

    name: str
    aliases: tuple[str, ...]  # lower-case, "-" for "_" and " "
    group: str  # the registry's dataset column; `n2d datasets verify` checks each group once
    folder: str  # the dataset's folder in the data directory
    files: tuple[DataFile, ...]  # every registry file of the dataset, in display order
    forms: tuple[Form, ...]  # in order of preference; a download fetches the last one's files
    n_samples: int
    n_features: int
    n_classes: int
    target_names: tuple[str, ...] | None  # None: the parser reads the class names from a file
    license: str
    source: str
    embedded: bool = False  # a copy ships in n2d/datasets/data/<folder>/
    missing_what: str | None = None  # how an error names the missing files, if not by name
    notes: tuple[tuple[str, str], ...] = ()  # (path prefix, note): told when such a file is missing

    @property
    def paths(self) -> tuple[str, ...]:
        """Registry paths of all the dataset's files."""
        return tuple(f.path for f in self.files)

    def form_paths(self, form: Form) -> tuple[str, ...]:
        """Registry paths of the files ``form`` reads, in the order of its roles."""
        by_role = {f.role: f.path for f in self.files if f.role is not None}
        return tuple(by_role[role] for role in form.roles)

    def form_files(self, form: Form, located: dict[str, Path]) -> dict[str, Path]:
        """The parser's argument: role -> file, from registry path -> file."""
        return dict(zip(form.roles, (located[p] for p in self.form_paths(form)), strict=True))

    @property
    def description(self) -> str:
        """What the data is, how it was preprocessed, its source, license and citation."""
        return description(self.name)


_DIGITS = tuple(str(i) for i in range(10))
_FASHION_NAMES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip
_IDX_ROLES = ("train-images", "train-labels", "test-images", "test-labels")
_HAR_ZIP_NOTE = (
    "The UCI archive holds another zip, 'UCI HAR Dataset.zip'; unzip that and copy the "
    "files from its 'UCI HAR Dataset/train/' and 'UCI HAR Dataset/test/' folders "
    "(train/X_train.txt, test/X_test.txt, train/y_train.txt, test/y_test.txt) and "
    "activity_labels.txt into {folder}, unchanged."
)
_USPS_H5_NOTE = (
    "usps.h5 has no stable direct download URL: it is the Kaggle dataset 'USPS dataset' "
    "by bistaumanga (https://www.kaggle.com/datasets/bistaumanga/usps-dataset); download "
    "it by hand, or use the .jf files instead."
)


def _idx_files(folder: str, parts: tuple[str, ...]) -> tuple[DataFile, ...]:
    """The gzipped IDX files of an MNIST-style dataset (``t10k`` is the test part)."""
    files = []
    for part in parts:
        role = "train" if part == "train" else "test"
        files.append(DataFile(f"{folder}/{part}-images-idx3-ubyte.gz", f"{role}-images"))
        files.append(DataFile(f"{folder}/{part}-labels-idx1-ubyte.gz", f"{role}-labels"))
    return tuple(files)


_ENTRIES = (
    CatalogEntry(
        name="mnist",
        aliases=(),
        group="mnist",
        folder="mnist",
        files=_idx_files("mnist", ("train", "t10k")),
        forms=(Form("idx", _IDX_ROLES, "parse_idx"),),
        n_samples=70000,
        n_features=784,
        n_classes=10,
        target_names=_DIGITS,
        license="CC BY-SA 3.0 (customary)",
        source="http://yann.lecun.com/exdb/mnist/",
    ),
    CatalogEntry(
        name="mnist-test",
        aliases=("mnisttest", "mnist-t10k"),
        group="mnist",  # mnist's t10k files
        folder="mnist",
        files=_idx_files("mnist", ("t10k",)),
        forms=(Form("idx", ("test-images", "test-labels"), "parse_idx"),),
        n_samples=10000,
        n_features=784,
        n_classes=10,
        target_names=_DIGITS,
        license="CC BY-SA 3.0 (customary)",
        source="http://yann.lecun.com/exdb/mnist/",
    ),
    CatalogEntry(
        name="fashion",
        aliases=("fashion-mnist", "fashionmnist", "fmnist"),
        group="fashion",
        folder="fashion",
        files=_idx_files("fashion", ("train", "t10k")),
        forms=(Form("idx", _IDX_ROLES, "parse_idx"),),
        n_samples=70000,
        n_features=784,
        n_classes=10,
        target_names=_FASHION_NAMES,
        license="MIT",
        source="https://github.com/zalandoresearch/fashion-mnist",
    ),
    CatalogEntry(
        name="usps",
        aliases=(),
        group="usps",
        folder="usps",
        files=(
            DataFile("usps/usps.h5", "h5"),
            DataFile("usps/usps_train.jf", "train"),
            DataFile("usps/usps_test.jf", "test"),
        ),
        forms=(
            Form("h5", ("h5",), "parse_usps_h5", needs="h5py"),
            Form("jf", ("train", "test"), "parse_usps_jf"),
        ),
        n_samples=9298,
        n_features=256,
        n_classes=10,
        target_names=_DIGITS,
        license="none stated",
        source="http://www-i6.informatik.rwth-aachen.de/~keysers/usps.html",
        missing_what="usps.h5 (or both usps_train.jf and usps_test.jf)",
        notes=(("usps/usps.h5", _USPS_H5_NOTE),),
    ),
    CatalogEntry(
        name="pendigits",
        aliases=("pen-digits",),
        group="pendigits",
        folder="pendigits",
        files=(
            DataFile("pendigits/pendigits.tra", "train"),
            DataFile("pendigits/pendigits.tes", "test"),
            DataFile("pendigits/pendigits.names"),
        ),
        forms=(Form("text", ("train", "test"), "parse_pendigits"),),
        n_samples=10992,
        n_features=16,
        n_classes=10,
        target_names=_DIGITS,
        license="CC BY 4.0",
        source="https://archive.ics.uci.edu/dataset/81/pen+based+recognition+of+handwritten+digits",
        embedded=True,
    ),
    CatalogEntry(
        name="har",
        aliases=("uci-har",),
        group="har",
        folder="har",
        files=(
            DataFile("har/README.txt"),
            DataFile("har/features_info.txt"),
            DataFile("har/features.txt"),
            DataFile("har/activity_labels.txt", "class-names"),
            DataFile("har/y_train.txt", "train-labels"),
            DataFile("har/y_test.txt", "test-labels"),
            DataFile("har/subject_train.txt"),
            DataFile("har/subject_test.txt"),
            DataFile("har/X_train.txt", "train-features"),
            DataFile("har/X_test.txt", "test-features"),
        ),
        forms=(
            Form(
                "text",
                ("train-features", "test-features", "train-labels", "test-labels", "class-names"),
                "parse_har",
            ),
        ),
        n_samples=10299,
        n_features=561,
        n_classes=6,
        target_names=None,  # from activity_labels.txt
        license="CC BY 4.0",
        source="https://archive.ics.uci.edu/dataset/240/human+activity+recognition+using+smartphones",
        notes=(("har/", _HAR_ZIP_NOTE),),
    ),
)

CATALOG: dict[str, CatalogEntry] = {e.name: e for e in _ENTRIES}
"""Every dataset :func:`n2d.load_dataset` knows, by canonical name, in the paper's order."""

DATASET_NAMES: tuple[str, ...] = tuple(CATALOG)
"""Canonical names of the datasets :func:`load_dataset` knows, in the paper's order."""

GROUPS: tuple[str, ...] = tuple(e.name for e in _ENTRIES if e.group == e.name)
"""Datasets with distinct files (mnist-test reads mnist's t10k files), in catalog order."""

_ALIASES = {alias: e.name for e in _ENTRIES for alias in e.aliases}
_ALIAS_HINT = "mnist_test, fashion-mnist, fmnist"  # the aliases the error message suggests


def canonical_name(name) -> str:
    """Map a dataset name or alias (any case, '_' or '-') to its canonical name.

    Raises
    ------
    ValueError
        If ``name`` is not a string or not a known dataset (the message lists the names).
    """
    if not isinstance(name, str):
        raise ValueError(
            f"Dataset name must be a string, one of {', '.join(DATASET_NAMES)}; got {name!r}."
        )
    key = name.strip().lower().replace("_", "-").replace(" ", "-")
    key = _ALIASES.get(key, key)
    if key not in CATALOG:
        raise ValueError(
            f"Unknown dataset {name!r}. Valid names are: {', '.join(DATASET_NAMES)} "
            f"(case-insensitive; aliases: {_ALIAS_HINT})."
        )
    return key


def entry(name) -> CatalogEntry:
    """The catalog entry of a dataset name or alias (see :func:`canonical_name`)."""
    return CATALOG[canonical_name(name)]


@functools.lru_cache(maxsize=None)
def description(name: str) -> str:
    """The description of a dataset: ``descriptions/<name>.txt``, its lines joined by spaces."""
    text = (resources.files("n2d.datasets") / "descriptions" / f"{name}.txt").read_text(
        encoding="utf-8"
    )
    return " ".join(text.split())
