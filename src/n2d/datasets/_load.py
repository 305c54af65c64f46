"""Loading a dataset (:func:`load_dataset`, :class:`Dataset`) and the facts about it without loading.

:func:`load_dataset` picks the first source form whose files are present (else
downloads the last form's files, if allowed), checks each file against the
registry, and returns the cached parsed arrays or parses the files and caches
the result.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

import n2d.datasets._parsers as _parsers
from n2d.datasets._cache import cache_dir, cache_load, cache_save, valid_arrays
from n2d.datasets._catalog import CATALOG, DATASET_NAMES, CatalogEntry, Form
from n2d.datasets._catalog import entry as catalog_entry
from n2d.datasets._download import download as download_files
from n2d.datasets._download import missing_error
from n2d.datasets._local import (
    embedded_file,
    has_all,
    is_present,
    local_file,
    module_available,
    resolve_data_home,
)
from n2d.datasets._registry import registry, verify
from n2d.exceptions import DataFileError

__all__ = ["Dataset", "dataset_info", "list_datasets", "load_dataset"]


@dataclass(frozen=True, eq=False)
class Dataset:
    """A benchmark dataset: features, integer labels and class names.

    Parameters
    ----------
    name : str
        Canonical dataset name, one of :data:`DATASET_NAMES` (e.g. ``"mnist-test"``).
    x : ndarray of shape (n_samples, n_features), dtype float32
        Features, C-contiguous, preprocessed as in the N2D reference code.
    y : ndarray of shape (n_samples,), dtype int64
        Class labels in ``0 .. n_clusters - 1``.
    target_names : tuple of str
        Name of each class, indexed by label.
    n_clusters : int
        Number of classes.
    description : str
        What the data is, how it was preprocessed, its source URL, license and citation.

    Notes
    -----
    Instances compare by identity (comparing arrays elementwise is rarely meant),
    and the repr shows only the name, shape and number of clusters.
    """

    name: str
    x: np.ndarray
    y: np.ndarray
    target_names: tuple[str, ...]
    n_clusters: int
    description: str

    def __repr__(self) -> str:
        n, d = self.x.shape
        return (
            f"Dataset(name={self.name!r}, n_samples={n}, n_features={d}, "
            f"n_clusters={self.n_clusters})"
        )


Dataset.__module__ = "n2d.datasets"  # its public home: pickles and the docs name it so


# --------------------------------------------------------------------------------------
# Choosing the files to read
# --------------------------------------------------------------------------------------


def _located(home: Path, paths) -> dict[str, Path]:
    return {p: local_file(home, p) for p in paths}


def _needs_error(dataset: CatalogEntry, home: Path, form: Form) -> ImportError:
    """The error for a form that is present but needs a module that is not installed."""
    others = [f for f in dataset.forms if f.needs is None]
    files = ", ".join(str(home / p) for p in dataset.form_paths(form))
    instead = " and ".join(p.rsplit("/", 1)[-1] for f in others for p in dataset.form_paths(f))
    return ImportError(
        f"{files} is present but reading it needs {form.needs}, which is not "
        f"installed: pip install {form.needs}. Alternatively put "
        f"{instead} in {home / dataset.folder}; n2d reads those without {form.needs}."
    )


def _choose_form(dataset: CatalogEntry, home: Path, download: bool) -> tuple[Form, dict[str, Path]]:
    """Pick the source form and the files to parse, downloading missing ones if allowed.

    Forms are tried in the catalog's order: the first whose files are all in
    ``home`` (or embedded in the package) and whose parser's module can be
    imported. When none is, the last form's missing files are downloaded.

    Returns
    -------
    form : Form
    files : dict of str to Path
        Registry path -> file to read, in the order of the form's roles.
    """
    blocked = None
    for form in dataset.forms:
        paths = dataset.form_paths(form)
        if has_all(home, paths):
            if form.needs and not module_available(form.needs):
                blocked = blocked or form
                continue
            return form, _located(home, paths)
        if dataset.embedded:
            embedded = {p: embedded_file(p) for p in paths}
            if all(embedded.values()):
                return form, embedded
    if blocked is not None:
        raise _needs_error(dataset, home, blocked)

    fetched = dataset.forms[-1]
    required = dataset.form_paths(fetched)
    missing = [
        p for f in dataset.forms[:-1] for p in dataset.form_paths(f) if local_file(home, p) is None
    ] + [p for p in required if local_file(home, p) is None]
    if not download:
        raise missing_error(dataset, home, missing, what=dataset.missing_what)
    download_files(dataset, home, [p for p in required if local_file(home, p) is None])
    return fetched, _located(home, required)


# --------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------


def load_dataset(name: str, data_home=None, download: bool = True) -> Dataset:
    """Load one of the N2D paper's benchmark datasets.

    Parameters
    ----------
    name : str
        One of ``"mnist"``, ``"mnist-test"``, ``"fashion"``, ``"usps"``,
        ``"pendigits"``, ``"har"`` (case-insensitive; ``"mnist_test"``,
        ``"fashion-mnist"`` and ``"fmnist"`` are accepted too).
    data_home : str or path-like, default=None
        Directory holding one folder per dataset (``mnist/``, ``fashion/``, ...).
        None means ``$N2D_DATA_DIR``, else ``<n2d cache>/data`` (see
        :func:`resolve_data_home`). pendigits falls back to the copy embedded in
        the package when the directory has no ``pendigits/`` files.
    download : bool, default=True
        Download missing files (hash-checked) into the data directory. With
        False, missing files raise :class:`~n2d.exceptions.DatasetNotFoundError`.

    Returns
    -------
    dataset : Dataset
        ``x`` (float32, C-contiguous), ``y`` (int64, ``0..n_clusters-1``),
        ``target_names``, ``n_clusters`` and ``description``.

    Raises
    ------
    ValueError
        If ``name`` is not a known dataset (the message lists the valid names).
    DatasetNotFoundError
        If files are missing and cannot be downloaded (or ``download=False``);
        the message names the files, the directory, the URLs and how to point
        n2d at a directory holding them.
    ChecksumError
        If a file does not match its registry hash. The file is left untouched.
    ImportError
        If only ``usps.h5`` is available and h5py is not installed.

    Notes
    -----
    Preprocessing follows the paper's reference code (github.com/rymc/n2d):

    ==========  =====================  ==============================================
    name        shape                  preprocessing
    ==========  =====================  ==============================================
    mnist       (70000, 784)           train + test, flattened, / 255
    mnist-test  (10000, 784)           t10k only, flattened, / 255
    fashion     (70000, 784)           train + test, flattened, / 255
    usps        (9298, 256)            train + test, .jf grey values in [0, 2]
                                       (usps.h5 values x 2)
    pendigits   (10992, 16)            .tra + .tes, / 100
    har         (10299, 561)           X_train + X_test as distributed; y = id - 1
    ==========  =====================  ==============================================

    Every source file is checked against ``registry.txt`` before it is parsed.
    A gzip-compressed copy of a text file (e.g. ``har/X_train.txt.gz``) may
    stand in for the file; it is checked by its decompressed bytes.
    Parsed arrays are cached under ``<n2d cache>/parsed/`` (``$N2D_CACHE_DIR``
    overrides the cache root), keyed by the sources' hashes and the parser
    version; the data directory is never written to except by downloads.

    Examples
    --------
    >>> from n2d.datasets import load_dataset
    >>> ds = load_dataset("pendigits")  # embedded, works offline
    >>> ds.x.shape, ds.n_clusters
    ((10992, 16), 10)
    """
    dataset = catalog_entry(name)
    home = resolve_data_home(data_home)
    form, files = _choose_form(dataset, home, download)
    reg = registry()
    hashes = {rel: verify(path, reg[rel]) for rel, path in files.items()}
    folder = cache_dir(dataset, form.variant, hashes)
    cached = cache_load(dataset, folder)  # called from here: its warning points at our caller
    if cached is not None:
        x, y, names = cached
    else:
        x, y, names = getattr(_parsers, form.parser)(dataset.form_files(form, files))
        x = np.ascontiguousarray(x, dtype=np.float32)
        y = np.ascontiguousarray(y, dtype=np.int64)
        names = tuple(dataset.target_names if names is None else names)
        if not valid_arrays(dataset, x, y, names):
            raise DataFileError(
                f"Parsing {dataset.name} gave x{x.shape} {x.dtype}, y{y.shape} with labels "
                f"{int(y.min()) if y.size else '-'}..{int(y.max()) if y.size else '-'}; expected "
                f"{dataset.n_features} features and labels 0..{dataset.n_classes - 1}."
            )
        cache_save(dataset, folder, x, y, names, hashes)
    return Dataset(
        name=dataset.name,
        x=x,
        y=y,
        target_names=names,
        n_clusters=dataset.n_classes,
        description=dataset.description,
    )


def dataset_info(name) -> dict:
    """Static facts about a dataset (no file access).

    Parameters
    ----------
    name : str
        Dataset name or alias (see :func:`load_dataset`).

    Returns
    -------
    info : dict
        ``name``, ``n_samples``, ``n_features``, ``n_classes``, ``license``,
        ``source`` (URL) and ``files`` (registry paths relative to the data
        directory; usps lists both source forms, either of which is enough).
    """
    dataset = catalog_entry(name)
    return {
        "name": dataset.name,
        "n_samples": dataset.n_samples,
        "n_features": dataset.n_features,
        "n_classes": dataset.n_classes,
        "license": dataset.license,
        "source": dataset.source,
        "files": list(dataset.paths),
    }


def list_datasets(data_home=None) -> list[dict]:
    """Every dataset's :func:`dataset_info` plus whether it is available locally.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Data directory (see :func:`resolve_data_home`).

    Returns
    -------
    datasets : list of dict
        One dict per name in :data:`DATASET_NAMES`, with the extra key
        ``present``: True when the files needed to load it exist in the data
        directory (for usps either form; pendigits counts its embedded copy).
        Hashes are not checked here; use :func:`verify_dataset`.
    """
    home = resolve_data_home(data_home)
    return [{**dataset_info(n), "present": is_present(CATALOG[n], home)} for n in DATASET_NAMES]
