"""The six benchmark datasets of the N2D paper: checksummed, cached, offline-friendly.

``load_dataset(name)`` returns a :class:`Dataset` (``x`` float32, ``y`` int64,
class names) for one of :data:`DATASET_NAMES`, preprocessed exactly as in the
paper's reference code (https://github.com/rymc/n2d, ``datasets.py``). Files
are read from a data directory (:func:`resolve_data_home`), checked against the
package's registry of hashes before use, downloaded when missing, and the
parsed arrays are cached. The modules behind it:

- ``_catalog``: one entry per dataset (names, files and their roles, forms, size, license, source);
- ``_local``: where the files are (data directory, .gz copies, embedded copies);
- ``_registry``: ``registry.txt`` (hashes, URLs) and checking files against it;
- ``_download``: fetching missing files with pooch, and the error when they cannot be had;
- ``_parsers``: one parser per file format;
- ``_cache``: the parsed-array cache;
- ``_load``: :func:`load_dataset`, :class:`Dataset`, :func:`dataset_info`, :func:`list_datasets`;
- ``_errors``: the wording shared by their errors.
"""

from n2d.datasets import _catalog, _local
from n2d.datasets._download import fetch_dataset
from n2d.datasets._load import Dataset, dataset_info, list_datasets, load_dataset
from n2d.datasets._local import resolve_data_home
from n2d.datasets._registry import verify_dataset

__all__ = [
    "DATASET_NAMES",
    "DATA_ENV",
    "Dataset",
    "dataset_info",
    "fetch_dataset",
    "list_datasets",
    "load_dataset",
    "resolve_data_home",
    "verify_dataset",
]

DATASET_NAMES: tuple[str, ...] = _catalog.DATASET_NAMES
"""Canonical names of the datasets :func:`load_dataset` knows, in the paper's order."""

DATA_ENV: str = _local.DATA_ENV
"""Environment variable naming the data directory (used when ``data_home`` is None)."""
