"""The six benchmark datasets of the N2D paper: checksummed, cached, offline-friendly.

``load_dataset(name)`` returns a :class:`Dataset` (``x`` float32, ``y`` int64,
class names) for one of :data:`DATASET_NAMES`, preprocessed exactly as in the
paper's reference code (https://github.com/rymc/n2d, ``datasets.py``).

Where the files come from
-------------------------
Files live at ``<data_dir>/<dataset folder>/<file>`` (``mnist/``, ``fashion/``,
``usps/``, ``pendigits/``, ``har/``), the layout of the project's
``shared/data`` folder. The data directory is, in order: the ``data_home``
argument, the environment variable ``$N2D_DATA_DIR``, then
``<n2d cache>/data`` (``~/.cache/n2d/data`` on Linux, see
:func:`n2d._util.files.cache_root`). pendigits is also embedded in the package and
so always loads offline.

Every file is listed in ``registry.txt`` (package data) with its sha256 (or,
for the two HAR feature matrices whose sha256 is not known to the project, its
git blob id) and a download URL. A file is checked against the registry before
it is used; a mismatch raises :class:`~n2d.exceptions.ChecksumError` and the
file is never deleted, replaced or modified. Missing files are downloaded with
pooch (``download=True``), hash-checked in a staging folder and only then moved
into place; when they cannot be had, :class:`~n2d.exceptions.DatasetNotFoundError`
says which files are missing, where they were looked for, where to get them and
how to point n2d at them.

Parsed arrays are cached as ``.npy`` files under ``<n2d cache>/parsed/`` (never
in the data directory), keyed by the hashes of the source files and the parser
version, so a second load takes a fraction of a second.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import os
import re
import shutil
import struct
import tempfile
import time
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from n2d._util.files import atomic_path, cache_root, file_sha256
from n2d.exceptions import CacheWarning, ChecksumError, DataFileError, DatasetNotFoundError

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

DATASET_NAMES: tuple[str, ...] = ("mnist", "mnist-test", "fashion", "usps", "pendigits", "har")
"""Canonical names of the datasets :func:`load_dataset` knows, in the paper's order."""

DATA_ENV = "N2D_DATA_DIR"
"""Environment variable naming the data directory (used when ``data_home`` is None)."""

_PARSER_VERSION = 1
"""Bump when a parser's output changes, so stale parsed-array caches are not used."""

_USPS_SCALE = 2.0
"""USPS grey values are kept in [0, 2], as the N2D reference code reads the .jf files.

``usps.h5`` stores the same values divided by 2, so it is multiplied by this
factor to give the paper's input; the .jf values are used as they are.
"""

_RACY_NS = 2_000_000_000
"""Hash results of files modified less than this many ns ago are not memoized.

File mtimes have coarse (timer-tick) resolution, so a file rewritten twice
within a tick can keep the same size and mtime; recent files are re-hashed.
"""

_DIGEST_CACHE: dict[tuple, str] = {}

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


# --------------------------------------------------------------------------------------
# The Dataset container
# --------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    """One registry line: a file, its expected hash and where it comes from."""

    dataset: str
    path: str  # relative to the data directory, with "/" separators
    alg: str  # "sha256" or "gitblob"
    digest: str  # lower-case hex
    url: str | None  # None when there is no stable direct URL

    @property
    def fname(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def hash_str(self) -> str:
        return f"{self.alg}:{self.digest}"


_HASH_LENGTHS = {"sha256": 64, "gitblob": 40}


def _parse_registry(text: str, source: str = "registry.txt") -> dict[str, _Entry]:
    """Parse registry text (``dataset path hash url`` lines, ``#`` comments).

    Raises
    ------
    ValueError
        On a malformed line, naming the line number.
    """
    entries: dict[str, _Entry] = {}
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = re.split(r"(?:^|\s)#", raw, maxsplit=1)[0].strip()
        if not line:
            continue
        fields = line.split()
        if len(fields) != 4:
            raise ValueError(
                f"{source}, line {lineno}: expected 4 fields 'dataset path hash url' "
                f"('-' for no url), got {len(fields)}: {raw.strip()!r}"
            )
        dataset, path, hash_field, url = fields
        alg, sep, digest = hash_field.partition(":")
        if not sep:
            alg, digest = "sha256", hash_field
        alg, digest = alg.lower(), digest.lower()
        if alg not in _HASH_LENGTHS:
            raise ValueError(
                f"{source}, line {lineno}: unknown hash algorithm {alg!r}; "
                f"expected one of {sorted(_HASH_LENGTHS)}."
            )
        if len(digest) != _HASH_LENGTHS[alg] or not re.fullmatch(r"[0-9a-f]+", digest):
            raise ValueError(
                f"{source}, line {lineno}: {alg} hash must be {_HASH_LENGTHS[alg]} hex "
                f"digits, got {digest!r}."
            )
        if path in entries:
            raise ValueError(f"{source}, line {lineno}: duplicate entry for {path!r}.")
        entries[path] = _Entry(dataset, path, alg, digest, None if url == "-" else url)
    return entries


def _read_package_text(name: str) -> str:
    """Read a text file shipped inside the n2d package."""
    try:
        from importlib import resources

        return (resources.files(__package__ or "n2d") / name).read_text(encoding="utf-8")
    except (ImportError, FileNotFoundError, TypeError, ModuleNotFoundError, OSError):
        return (Path(__file__).resolve().parent / name).read_text(encoding="utf-8")


@functools.lru_cache(maxsize=1)
def _registry() -> dict[str, _Entry]:
    """The package registry, keyed by relative path (parsed once per process)."""
    return _parse_registry(_read_package_text("registry.txt"))


def _entry(relpath: str) -> _Entry:
    try:
        return _registry()[relpath]
    except KeyError:
        raise ValueError(f"File {relpath!r} is not in n2d's dataset registry.") from None


# --------------------------------------------------------------------------------------
# Dataset specifications
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Spec:
    name: str
    directory: str
    files: tuple[str, ...]  # registry paths that belong to this dataset
    n_samples: int
    n_features: int
    n_classes: int
    license: str
    source: str
    description: str


_DIGITS = tuple(str(i) for i in range(10))
_FASHION_NAMES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip
_REF = "the N2D reference code (https://github.com/rymc/n2d, datasets.py)"

_SPECS: dict[str, _Spec] = {
    "mnist": _Spec(
        name="mnist",
        directory="mnist",
        files=(
            "mnist/train-images-idx3-ubyte.gz",
            "mnist/train-labels-idx1-ubyte.gz",
            "mnist/t10k-images-idx3-ubyte.gz",
            "mnist/t10k-labels-idx1-ubyte.gz",
        ),
        n_samples=70000,
        n_features=784,
        n_classes=10,
        license="CC BY-SA 3.0 (customary)",
        source="http://yann.lecun.com/exdb/mnist/",
        description=(
            "MNIST handwritten digits: the 60,000 training and 10,000 test images "
            "concatenated (70,000 x 784), as in the N2D paper. Preprocessing, as in "
            f"{_REF}: each 28x28 uint8 image is flattened row-major to 784 values and "
            "divided by 255 (float32 in [0, 1]); labels are the digits 0-9. "
            "Source: http://yann.lecun.com/exdb/mnist/ (Y. LeCun, C. Cortes, C. J. C. "
            "Burges; files from the https://ossci-datasets.s3.amazonaws.com/mnist/ "
            "mirror). License: none stated by the authors, customarily cited as "
            "CC BY-SA 3.0. Cite: Y. LeCun et al., 'Gradient-based learning applied to "
            "document recognition', Proc. IEEE 86(11), 1998."
        ),
    ),
    "mnist-test": _Spec(
        name="mnist-test",
        directory="mnist",
        files=("mnist/t10k-images-idx3-ubyte.gz", "mnist/t10k-labels-idx1-ubyte.gz"),
        n_samples=10000,
        n_features=784,
        n_classes=10,
        license="CC BY-SA 3.0 (customary)",
        source="http://yann.lecun.com/exdb/mnist/",
        description=(
            "MNIST-test: the 10,000 MNIST test (t10k) images alone (10,000 x 784), the "
            "paper's 'MNIST-test'. Preprocessing, as in "
            f"{_REF}: images flattened to 784 values and divided by 255 (float32 in "
            "[0, 1]); labels 0-9. Source: http://yann.lecun.com/exdb/mnist/ (files from "
            "the https://ossci-datasets.s3.amazonaws.com/mnist/ mirror). License: none "
            "stated, customarily cited as CC BY-SA 3.0. Cite: Y. LeCun et al., Proc. "
            "IEEE 86(11), 1998."
        ),
    ),
    "fashion": _Spec(
        name="fashion",
        directory="fashion",
        files=(
            "fashion/train-images-idx3-ubyte.gz",
            "fashion/train-labels-idx1-ubyte.gz",
            "fashion/t10k-images-idx3-ubyte.gz",
            "fashion/t10k-labels-idx1-ubyte.gz",
        ),
        n_samples=70000,
        n_features=784,
        n_classes=10,
        license="MIT",
        source="https://github.com/zalandoresearch/fashion-mnist",
        description=(
            "Fashion-MNIST: Zalando article images, the 60,000 training and 10,000 test "
            "images concatenated (70,000 x 784), 10 classes (T-shirt/top ... Ankle boot). "
            f"Preprocessing, as in {_REF}: each 28x28 image flattened to 784 values and "
            "divided by 255 (float32 in [0, 1]). Source: "
            "https://github.com/zalandoresearch/fashion-mnist (files from "
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/). License: MIT, "
            "(c) 2017 Zalando SE. Cite: H. Xiao, K. Rasul, R. Vollgraf, 'Fashion-MNIST: "
            "a Novel Image Dataset for Benchmarking Machine Learning Algorithms', "
            "arXiv:1708.07747, 2017."
        ),
    ),
    "usps": _Spec(
        name="usps",
        directory="usps",
        files=("usps/usps.h5", "usps/usps_train.jf", "usps/usps_test.jf"),
        n_samples=9298,
        n_features=256,
        n_classes=10,
        license="none stated",
        source="http://www-i6.informatik.rwth-aachen.de/~keysers/usps.html",
        description=(
            "USPS handwritten digits (US Postal Service zip codes, CEDAR/SUNY Buffalo): "
            "the 7,291 training and 2,007 test 16x16 images concatenated (9,298 x 256), "
            f"labels 0-9. Preprocessing, as in {_REF}: the grey values of the .jf "
            "files, in [0, 2], are used unscaled (float32). usps.h5 (Kaggle, "
            "bistaumanga) stores them divided by 2 and is multiplied by 2 to match; "
            "it is preferred when present and h5py is installed, otherwise "
            "usps_train.jf/usps_test.jf are read. Source: "
            "http://www-i6.informatik.rwth-aachen.de/~keysers/usps.html. License: none "
            "stated; freely redistributed for research. Cite: J. J. Hull, 'A database "
            "for handwritten text recognition research', IEEE PAMI 16(5), 1994."
        ),
    ),
    "pendigits": _Spec(
        name="pendigits",
        directory="pendigits",
        files=("pendigits/pendigits.tra", "pendigits/pendigits.tes", "pendigits/pendigits.names"),
        n_samples=10992,
        n_features=16,
        n_classes=10,
        license="CC BY 4.0",
        source="https://archive.ics.uci.edu/dataset/81/pen+based+recognition+of+handwritten+digits",
        description=(
            "Pen-Based Recognition of Handwritten Digits (UCI): pendigits.tra and "
            "pendigits.tes concatenated (10,992 x 16): (x, y) coordinates of 8 points "
            "resampled along each pen trajectory, integers 0-100; labels are the digits "
            f"0-9. Preprocessing, as in {_REF}: features divided by 100 (float32 in "
            "[0, 1]). Embedded in the n2d package. Source: "
            "https://archive.ics.uci.edu/dataset/81/pen+based+recognition+of+handwritten+digits "
            "(E. Alpaydin, F. Alimoglu, Bogazici University, 1998). License: CC BY 4.0. "
            "Cite: F. Alimoglu, E. Alpaydin, 'Methods of combining multiple classifiers "
            "based on different representations for pen-based handwriting recognition', "
            "TAINN 1996."
        ),
    ),
    "har": _Spec(
        name="har",
        directory="har",
        files=(
            "har/README.txt",
            "har/features_info.txt",
            "har/features.txt",
            "har/activity_labels.txt",
            "har/y_train.txt",
            "har/y_test.txt",
            "har/subject_train.txt",
            "har/subject_test.txt",
            "har/X_train.txt",
            "har/X_test.txt",
        ),
        n_samples=10299,
        n_features=561,
        n_classes=6,
        license="CC BY 4.0",
        source="https://archive.ics.uci.edu/dataset/240/human+activity+recognition+using+smartphones",
        description=(
            "Human Activity Recognition Using Smartphones v1.0 (UCI): 561 time- and "
            "frequency-domain features of smartphone accelerometer/gyroscope windows, "
            "X_train.txt and X_test.txt concatenated (10,299 x 561), 6 activities "
            "(WALKING ... LAYING). Preprocessing, as in "
            f"{_REF}: the features as distributed (already normalized to [-1, 1]), as "
            "float32; labels are the activity ids minus 1 (0-5). Source: "
            "https://archive.ics.uci.edu/dataset/240/human+activity+recognition+using+smartphones "
            "(J. L. Reyes-Ortiz, D. Anguita, A. Ghio, L. Oneto, X. Parra). License: CC BY "
            "4.0. Cite: D. Anguita et al., 'A Public Domain Dataset for Human Activity "
            "Recognition Using Smartphones', ESANN 2013."
        ),
    ),
}

_ALIASES = {
    "mnisttest": "mnist-test",
    "mnist-t10k": "mnist-test",
    "fashion-mnist": "fashion",
    "fashionmnist": "fashion",
    "fmnist": "fashion",
    "pen-digits": "pendigits",
    "uci-har": "har",
}

# Files that must be present for a dataset to load, per alternative source form.
_PENDIGITS_FILES = ("pendigits/pendigits.tra", "pendigits/pendigits.tes")
_HAR_FILES = (
    "har/X_train.txt",
    "har/X_test.txt",
    "har/y_train.txt",
    "har/y_test.txt",
    "har/activity_labels.txt",
)
_USPS_H5 = ("usps/usps.h5",)
_USPS_JF = ("usps/usps_train.jf", "usps/usps_test.jf")


def _canonical_name(name) -> str:
    """Map a dataset name or alias (any case, '_' or '-') to its canonical name."""
    if not isinstance(name, str):
        raise ValueError(
            f"Dataset name must be a string, one of {', '.join(DATASET_NAMES)}; got {name!r}."
        )
    key = name.strip().lower().replace("_", "-").replace(" ", "-")
    key = _ALIASES.get(key, key)
    if key not in _SPECS:
        raise ValueError(
            f"Unknown dataset {name!r}. Valid names are: {', '.join(DATASET_NAMES)} "
            "(case-insensitive; aliases: mnist_test, fashion-mnist, fmnist)."
        )
    return key


def _spec(name) -> _Spec:
    return _SPECS[_canonical_name(name)]


# --------------------------------------------------------------------------------------
# Hashing
# --------------------------------------------------------------------------------------


def _git_blob_sha1(path, size: int | None = None, chunk: int = 1 << 20) -> str:
    """Git blob id of a file: sha1 of ``b"blob <size>\\0"`` followed by the content.

    This is what ``git hash-object FILE`` prints.
    """
    path = Path(path)
    if size is None:
        size = path.stat().st_size
    h = hashlib.sha1(usedforsecurity=False)
    h.update(b"blob %d\0" % size)
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _gunzip_digest(path: Path, alg: str, chunk: int = 1 << 20) -> str:
    """Digest of the decompressed content of a gzip file (a marker text if it is corrupt)."""
    try:
        with gzip.open(path, "rb") as f:
            if alg == "gitblob":  # the blob header needs the size first
                data = f.read()
                return hashlib.sha1(
                    b"blob %d\0" % len(data) + data, usedforsecurity=False
                ).hexdigest()
            h = hashlib.sha256()
            while block := f.read(chunk):
                h.update(block)
            return h.hexdigest()
    except (OSError, EOFError, zlib.error) as exc:  # reported as a mismatch by the caller
        return f"<unreadable gzip data: {_short(exc, 120)}>"


def _file_digest(path, alg: str = "sha256", *, gunzip: bool = False) -> str:
    """Hex digest of a file (``alg`` is "sha256" or "gitblob"), memoized per process.

    With ``gunzip`` the digest is that of the decompressed content. The memo key
    is (path, size, mtime, inode); files modified in the last two seconds are
    always re-hashed (see ``_RACY_NS``).
    """
    path = Path(path)
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns, st.st_ino, alg, gunzip)
    hit = _DIGEST_CACHE.get(key)
    if hit is not None:
        return hit
    if gunzip:
        digest = _gunzip_digest(path, alg)
    elif alg == "sha256":
        digest = file_sha256(path)
    elif alg == "gitblob":
        digest = _git_blob_sha1(path, st.st_size)
    else:  # pragma: no cover - the registry parser rejects other algorithms
        raise ValueError(f"Unknown hash algorithm {alg!r}.")
    if time.time_ns() - st.st_mtime_ns > _RACY_NS:
        _DIGEST_CACHE[key] = digest
    return digest


def _checksum_error(
    path: Path, entry: _Entry, actual: str, *, url: str | None = None
) -> ChecksumError:
    if url is not None:
        return ChecksumError(
            f"The file {entry.fname} downloaded from {url} does not match n2d's registry "
            f"entry {entry.path}: expected {entry.hash_str}, got {entry.alg}:{actual}. The "
            "download was discarded and nothing in the data directory was changed. The "
            "download may have been corrupted (try again) or the upstream file has changed; "
            "get the canonical file by hand and check it with `n2d datasets verify`."
        )
    return ChecksumError(
        f"Checksum mismatch for {path} (registry entry {entry.path}): expected "
        f"{entry.hash_str}, got {entry.alg}:{actual}. The file was not used and has not "
        "been changed. It is truncated, corrupted or not the canonical version: move it "
        f"aside and run `n2d datasets fetch {entry.dataset}` (or download it from "
        f"{entry.url or 'its source, see the dataset description'}), or point data_home= / "
        f"--data-dir / ${DATA_ENV} at a directory that holds the correct file."
    )


def _is_gz_copy(path: Path, entry: _Entry) -> bool:
    """True when ``path`` is a gzip-compressed local copy of a plain registry file."""
    return path.name.endswith(".gz") and not entry.fname.endswith(".gz")


def _verify(path: Path, entry: _Entry) -> str:
    """Check ``path`` against its registry entry; return ``"alg:digest"`` or raise.

    A gzip-compressed copy (``<file>.gz``) is checked by its decompressed bytes.
    """
    actual = _file_digest(path, entry.alg, gunzip=_is_gz_copy(path, entry))
    if actual != entry.digest:
        raise _checksum_error(path, entry, actual)
    return entry.hash_str


# --------------------------------------------------------------------------------------
# Locations
# --------------------------------------------------------------------------------------


def resolve_data_home(data_home=None) -> Path:
    """The data directory: the argument, else ``$N2D_DATA_DIR``, else ``<cache>/data``.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Directory that holds one folder per dataset (``mnist/``, ``fashion/``,
        ``usps/``, ``pendigits/``, ``har/``).

    Returns
    -------
    path : pathlib.Path
        Absolute, normalized path of the data directory (not created here).
    """
    if data_home is None:
        env = os.environ.get(DATA_ENV)
        base = Path(env) if env else cache_root() / "data"
    else:
        base = Path(data_home)
    return Path(os.path.abspath(base.expanduser()))


_GZ_SIBLING_OK = (".txt", ".jf", ".tra", ".tes", ".names")


def _local_file(home: Path, relpath: str) -> Path | None:
    """The local copy of a registry file: ``<home>/<relpath>``, else ``<relpath>.gz``.

    A gzip-compressed copy is accepted for the text files (HAR's 92 MB feature
    matrices are often kept compressed); it is verified by its decompressed bytes.
    """
    path = home / relpath
    if path.is_file():
        return path
    if relpath.endswith(_GZ_SIBLING_OK):
        gz = home / f"{relpath}.gz"
        if gz.is_file():
            return gz
    return None


def _embedded_file(relpath: str) -> Path | None:
    """Path of an embedded copy of a pendigits file, or None."""
    fname = relpath.rsplit("/", 1)[-1]
    candidates = []
    try:
        from importlib import resources

        res = resources.files(__package__ or "n2d") / "data" / "pendigits" / fname
        candidates.append(Path(str(res)))
    except Exception:  # noqa: BLE001 - any importlib.resources quirk: use the fallback
        pass
    candidates.append(Path(__file__).resolve().parent / "data" / "pendigits" / fname)
    for p in candidates:
        if p.is_file():
            return p
    return None


def _h5py_available() -> bool:
    try:
        import h5py  # noqa: F401
    except ImportError:
        return False
    return True


def _is_present(spec: _Spec, home: Path) -> bool:
    def have(paths):
        return all(_local_file(home, p) for p in paths)

    if spec.name == "pendigits":
        return have(_PENDIGITS_FILES) or all(_embedded_file(p) for p in _PENDIGITS_FILES)
    if spec.name == "usps":
        return have(_USPS_H5) or have(_USPS_JF)
    if spec.name == "har":
        return have(_HAR_FILES)
    return have(spec.files)


# --------------------------------------------------------------------------------------
# Errors for missing files
# --------------------------------------------------------------------------------------


def _missing_error(
    spec: _Spec,
    home: Path,
    missing: list[str],
    *,
    what: str | None = None,
    reason: str | None = None,
    downloaded: bool = False,
) -> DatasetNotFoundError:
    """Build the error for files that are neither present nor downloadable."""
    folder = home / spec.directory
    if what is None:
        what = ", ".join(p.rsplit("/", 1)[-1] for p in missing)
    reg = _registry()
    urls: list[str] = []
    for p in missing:
        url = reg[p].url if p in reg else None
        if url and url not in urls:
            urls.append(url)
    parts = [f"Dataset {spec.name!r} is not available: missing {what} in {folder}."]
    if reason:
        parts.append(reason)
    if urls:
        parts.append(f"Get {'it' if len(missing) == 1 else 'them'} from {' and '.join(urls)}.")
    if any(p.startswith("har/") for p in missing):
        parts.append(_HAR_ZIP_NOTE.format(folder=folder))
    if "usps/usps.h5" in missing:
        parts.append(_USPS_H5_NOTE)
    parts.append(
        f"Put the files in {folder}, or point n2d at a directory DIR holding a "
        f"'{spec.directory}/' folder with them: load_dataset({spec.name!r}, data_home=DIR), "
        f"'--data-dir DIR' on the command line, or the environment variable {DATA_ENV}=DIR."
    )
    if not downloaded:
        parts.append(
            "Nothing was downloaded (download=False); with download=True n2d downloads "
            "them and checks their hashes."
        )
    return DatasetNotFoundError(" ".join(parts))


# --------------------------------------------------------------------------------------
# Downloading
# --------------------------------------------------------------------------------------


def _short(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(str(exc).split())
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _archive_kind(url: str, entries: list[_Entry]) -> str:
    low = url.lower().split("?", 1)[0]
    if low.endswith(".zip") and not all(e.fname.lower().endswith(".zip") for e in entries):
        return "zip"
    if low.endswith(".gz") and not all(e.fname.lower().endswith(".gz") for e in entries):
        return "gz"
    return "direct"


def _copy_member(zf: zipfile.ZipFile, member: str, target: Path) -> None:
    with zf.open(member) as src, open(target, "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)


def _extract_from_zip(
    archive: Path, wanted: dict[str, Path], staging: Path, depth: int = 0
) -> None:
    """Extract the files named in ``wanted`` (basename -> target) from a (nested) zip.

    Members are matched by base name, ignoring ``__MACOSX`` metadata; zips inside
    the archive are searched when the outer level lacks a file.
    """
    with zipfile.ZipFile(archive) as zf:
        members = [m for m in zf.namelist() if not m.startswith("__MACOSX") and not m.endswith("/")]
        for base in list(wanted):
            hits = sorted((m for m in members if m.rsplit("/", 1)[-1] == base), key=len)
            if hits:
                _copy_member(zf, hits[0], wanted.pop(base))
        if wanted and depth < 2:
            for i, inner in enumerate(m for m in members if m.lower().endswith(".zip")):
                inner_path = staging / f".inner-{depth}-{i}.zip"
                _copy_member(zf, inner, inner_path)
                _extract_from_zip(inner_path, wanted, staging, depth + 1)
                inner_path.unlink()
                if not wanted:
                    break


def _retrieve_group(url: str, group: list[_Entry], staging: Path) -> dict[str, Path]:
    """Download ``url`` into ``staging`` and return the staged file of each entry."""
    import pooch

    kind = _archive_kind(url, group)
    if kind == "direct":
        (entry,) = group
        known = f"sha256:{entry.digest}" if entry.alg == "sha256" else None
        path = pooch.retrieve(
            url, known_hash=known, fname=entry.fname, path=staging, progressbar=False
        )
        return {entry.path: Path(path)}
    raw_name = ".download" + (".zip" if kind == "zip" else ".gz")
    archive = Path(
        pooch.retrieve(url, known_hash=None, fname=raw_name, path=staging, progressbar=False)
    )
    out = {e.path: staging / e.fname for e in group}
    if kind == "gz":
        (entry,) = group
        with gzip.open(archive, "rb") as src, open(out[entry.path], "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    else:
        wanted = {e.fname: staging / e.fname for e in group}
        _extract_from_zip(archive, wanted, staging)
        if wanted:
            raise DataFileError(
                f"The archive downloaded from {url} does not contain {', '.join(sorted(wanted))}."
            )
    archive.unlink()
    return out


def _download(spec: _Spec, home: Path, relpaths: list[str]) -> None:
    """Download registry files into ``home`` via pooch, checking every hash.

    Each URL is fetched into a fresh staging folder inside the dataset folder;
    files are checked there and only then renamed into place, and an existing
    file is never replaced. The staging folder is always removed.
    """
    reg = _registry()
    entries = [reg[p] for p in relpaths]
    groups: dict[str, list[_Entry]] = {}
    for e in entries:
        groups.setdefault(e.url, []).append(e)
    folder = home / spec.directory

    def failed(group: list[_Entry], reason: str) -> DatasetNotFoundError:
        return _missing_error(spec, home, [e.path for e in group], reason=reason, downloaded=True)

    for url, group in groups.items():
        try:
            folder.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=".n2d-download-", dir=folder))
        except OSError as exc:
            reason = f"They could not be downloaded: {folder} is not writable ({_short(exc)})."
            raise failed(group, reason) from None
        try:
            try:
                staged = _retrieve_group(url, group, staging)
            except ValueError as exc:
                match = re.search(r"but got ([0-9a-fA-F]+)", str(exc))
                if match and len(group) == 1:  # pooch's hash check of a direct download
                    actual = match.group(1).lower()
                    raise _checksum_error(staging, group[0], actual, url=url) from None
                raise failed(group, f"Downloading {url} failed ({_short(exc)}).") from None
            except Exception as exc:  # noqa: BLE001 - network/archive errors: one clear error
                raise failed(group, f"Downloading {url} failed ({_short(exc)}).") from None
            for e in group:
                actual = _file_digest(staged[e.path], e.alg)
                if actual != e.digest:
                    raise _checksum_error(staged[e.path], e, actual, url=url)
            for e in group:
                target = home / e.path
                if not target.exists():
                    os.replace(staged[e.path], target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


# --------------------------------------------------------------------------------------
# Parsers (one per source form); each returns (x float32, y int64, target_names)
# --------------------------------------------------------------------------------------


def _read_idx(path: Path, *, images: bool) -> np.ndarray:
    """Read a gzip-compressed IDX file (MNIST format) into a uint8 array."""
    try:
        with gzip.open(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as exc:
        raise DataFileError(f"{path} is not a readable gzip file ({_short(exc)}).") from None
    header = 16 if images else 8
    if len(data) < header:
        raise DataFileError(f"{path} is too short to be an IDX file.")
    magic, count = struct.unpack(">II", data[:8])
    expected_magic = 2051 if images else 2049
    if magic != expected_magic:
        raise DataFileError(f"{path}: IDX magic number {magic}, expected {expected_magic}.")
    shape: tuple[int, ...] = (count,)
    if images:
        rows, cols = struct.unpack(">II", data[8:16])
        shape = (count, rows, cols)
    if len(data) != header + int(np.prod(shape)):
        raise DataFileError(
            f"{path}: {len(data) - header} data bytes, expected {int(np.prod(shape))}."
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def _idx_pair(paths: dict[str, Path], images: str, labels: str) -> tuple[np.ndarray, np.ndarray]:
    x = _read_idx(paths[images], images=True)
    y = _read_idx(paths[labels], images=False)
    if x.shape[0] != y.shape[0]:
        raise DataFileError(
            f"{paths[images]} has {x.shape[0]} images but {paths[labels]} has {y.shape[0]} labels."
        )
    return x, y


def _images_to_features(parts: list[np.ndarray]) -> np.ndarray:
    imgs = np.concatenate(parts) if len(parts) > 1 else parts[0]
    x = imgs.reshape(imgs.shape[0], -1).astype(np.float32)
    x /= np.float32(255.0)
    return x


def _parse_idx_dataset(paths: dict[str, Path], folder: str, parts: tuple[str, ...], names):
    xs, ys = [], []
    for part in parts:
        x, y = _idx_pair(
            paths, f"{folder}/{part}-images-idx3-ubyte.gz", f"{folder}/{part}-labels-idx1-ubyte.gz"
        )
        xs.append(x)
        ys.append(y)
    x = _images_to_features(xs)
    y = np.concatenate(ys).astype(np.int64)
    return x, y, names


def _parse_mnist(paths: dict[str, Path]):
    """MNIST: train + test images, flattened to 784 and divided by 255.

    Follows ``load_mnist`` of the N2D reference code: ``x_train`` and ``x_test``
    concatenated (70,000 samples, train first), reshaped to (n, 784), divided by
    255. Returns float32 features in [0, 1] and int64 labels 0-9.
    """
    return _parse_idx_dataset(paths, "mnist", ("train", "t10k"), _DIGITS)


def _parse_mnist_test(paths: dict[str, Path]):
    """MNIST-test: the 10,000 t10k images only, divided by 255 and flattened to 784.

    Follows ``load_mnist_test`` of the N2D reference code.
    """
    return _parse_idx_dataset(paths, "mnist", ("t10k",), _DIGITS)


def _parse_fashion(paths: dict[str, Path]):
    """Fashion-MNIST: train + test (70,000), flattened to 784 and divided by 255.

    Follows ``load_fashion`` of the N2D reference code. Class names are the
    official Fashion-MNIST article names.
    """
    return _parse_idx_dataset(paths, "fashion", ("train", "t10k"), _FASHION_NAMES)


def _parse_usps_h5(paths: dict[str, Path]):
    """USPS from usps.h5: train + test (9,298 x 256), multiplied by 2.

    usps.h5 holds the .jf grey values divided by 2 (values in [0, 1]); the N2D
    reference code (``load_usps``) uses the .jf values unscaled, in [0, 2], so
    the h5 data is multiplied by :data:`_USPS_SCALE` to give the same input.
    Needs h5py (``pip install h5py``).
    """
    path = paths["usps/usps.h5"]
    try:
        import h5py
    except ImportError:
        raise ImportError(
            f"Reading {path} needs h5py, which is not installed: pip install h5py. "
            "Alternatively put usps_train.jf and usps_test.jf in "
            "the same folder; n2d reads those without h5py."
        ) from None
    xs, ys = [], []
    try:
        with h5py.File(path, "r") as f:
            for part in ("train", "test"):
                xs.append(np.asarray(f[part]["data"][:], dtype=np.float32))
                ys.append(np.asarray(f[part]["target"][:]).astype(np.int64))
    except (OSError, KeyError) as exc:
        raise DataFileError(
            f"{path} does not have the expected train/test data/target layout ({_short(exc)})."
        ) from None
    x = np.concatenate(xs)
    x *= np.float32(_USPS_SCALE)
    y = np.concatenate(ys)
    if x.ndim != 2 or x.shape[1] != 256 or x.shape[0] != y.shape[0]:
        raise DataFileError(f"{path}: unexpected shapes x{x.shape}, y{y.shape}.")
    return x, y, _DIGITS


def _parse_floats(text: str, path: Path) -> np.ndarray:
    """Parse whitespace-separated numbers with numpy's C parser, as float64.

    Parsing stops at the first token that is not a number (older numpy) or
    raises (newer numpy); callers compare the count with the expected one.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return np.fromstring(text, dtype=np.float64, sep=" ")
    except ValueError as exc:
        raise DataFileError(f"{path}: found text that is not a number ({_short(exc)}).") from None


def _read_text(path: Path) -> str:
    """Read an ASCII text file, decompressing it if its name ends in ``.gz``."""
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="ascii") as f:
            return f.read()
    except UnicodeDecodeError as exc:
        raise DataFileError(f"{path} is not an ASCII text file ({_short(exc)}).") from None


def _read_jf(path: Path) -> tuple[np.ndarray, np.ndarray]:
    text = _read_text(path)
    first, _, rest = text.partition("\n")
    if first.split() != ["10", "256"]:
        raise DataFileError(f"{path}: first line is {first!r}, expected '10 256'.")
    body, _, last = rest.rstrip().rpartition("\n")
    if last.strip() != "-1":
        raise DataFileError(f"{path}: last line is {last.strip()!r}, expected '-1'.")
    n_rows = body.count("\n") + 1
    values = _parse_floats(body, path)
    if values.size != n_rows * 257:
        raise DataFileError(
            f"{path}: {values.size} numbers in {n_rows} rows, expected 257 per row."
        )
    values = values.reshape(n_rows, 257)
    labels = values[:, 0]
    if not np.array_equal(labels, np.round(labels)) or labels.min() < 0 or labels.max() > 9:
        raise DataFileError(f"{path}: the first column must hold integer labels 0-9.")
    return values[:, 1:].astype(np.float32), labels.astype(np.int64)


def _parse_usps_jf(paths: dict[str, Path]):
    """USPS from the .jf text files: train + test (9,298 x 256), values unscaled in [0, 2].

    Follows ``load_usps`` of the N2D reference code: skip the first line
    (``10 256``) and the last (``-1``); each row is a label followed by 256 grey
    values; train and test are concatenated. Values are kept as distributed, in
    [0, 2] (usps.h5 holds them divided by 2).
    """
    xs, ys = zip(*(_read_jf(paths[p]) for p in _USPS_JF), strict=True)
    x = np.concatenate(xs)
    if _USPS_SCALE != 2.0:  # the .jf form is the paper's; rescale only if that changes
        x *= np.float32(_USPS_SCALE / 2.0)
    return x, np.concatenate(ys), _DIGITS


def _read_pendigits(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        data = np.loadtxt(path, delimiter=",", dtype=np.int64, ndmin=2)
    except ValueError as exc:
        raise DataFileError(
            f"{path} is not a comma-separated integer table ({_short(exc)})."
        ) from None
    if data.shape[1] != 17:
        raise DataFileError(f"{path}: {data.shape[1]} columns, expected 17.")
    return data[:, :16], data[:, 16]


def _parse_pendigits(paths: dict[str, Path]):
    """pendigits: .tra + .tes (10,992 x 16), features divided by 100.

    Follows ``load_pendigits`` of the N2D reference code: 16 integer coordinates
    in 0..100 per row, then the digit; the training file first, features divided
    by 100 (float32 in [0, 1]).
    """
    xs, ys = zip(*(_read_pendigits(paths[p]) for p in _PENDIGITS_FILES), strict=True)
    x = np.concatenate(xs).astype(np.float32)
    x /= np.float32(100.0)
    return x, np.concatenate(ys).astype(np.int64), _DIGITS


def _read_har_matrix(path: Path) -> np.ndarray:
    text = _read_text(path)
    n_rows = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
    values = _parse_floats(text, path)
    if n_rows == 0 or values.size != n_rows * 561:
        raise DataFileError(
            f"{path}: {values.size} numbers in {n_rows} lines, expected 561 per line."
        )
    return values.reshape(n_rows, 561).astype(np.float32)


def _read_har_labels(path: Path) -> np.ndarray:
    text = _read_text(path)
    try:
        y = np.array(text.split(), dtype=np.int64)
    except ValueError as exc:
        raise DataFileError(
            f"{path}: expected one integer activity id per line ({_short(exc)})."
        ) from None
    if y.size and (y.min() < 1 or y.max() > 6):
        raise DataFileError(f"{path}: activity ids must be 1-6, found {y.min()}-{y.max()}.")
    return y


def _read_har_activities(path: Path) -> tuple[str, ...]:
    pairs = [line.split() for line in _read_text(path).splitlines() if line.strip()]
    if [p[0] for p in pairs] != [str(i) for i in range(1, 7)] or any(len(p) != 2 for p in pairs):
        raise DataFileError(f"{path}: expected six lines '<id> <NAME>' with ids 1-6.")
    return tuple(p[1] for p in pairs)


def _parse_har(paths: dict[str, Path]):
    """HAR: X_train + X_test (10,299 x 561) as distributed; labels = activity id - 1.

    Follows ``load_har`` of the N2D reference code: the whitespace-separated
    features (already normalized to [-1, 1] by the dataset authors) are used
    unchanged, train first; the activity ids 1-6 of ``y_*.txt`` become 0-5.
    Class names come from ``activity_labels.txt``.
    """
    xs, ys = [], []
    for part in ("train", "test"):
        x = _read_har_matrix(paths[f"har/X_{part}.txt"])
        y = _read_har_labels(paths[f"har/y_{part}.txt"])
        if x.shape[0] != y.shape[0]:
            raise DataFileError(
                f"{paths[f'har/X_{part}.txt']} has {x.shape[0]} rows but "
                f"{paths[f'har/y_{part}.txt']} has {y.shape[0]} labels."
            )
        xs.append(x)
        ys.append(y)
    names = _read_har_activities(paths["har/activity_labels.txt"])
    return np.concatenate(xs), np.concatenate(ys) - 1, names


# --------------------------------------------------------------------------------------
# Source selection
# --------------------------------------------------------------------------------------


def _sources(spec: _Spec, home: Path, download: bool):
    """Pick the source form and files to parse, downloading missing ones if allowed.

    Returns
    -------
    variant : str
    files : dict of str to Path
        Registry path -> file to read.
    parser : callable
    """

    def local(paths):
        return {p: _local_file(home, p) for p in paths}

    def have(paths):
        return all(_local_file(home, p) for p in paths)

    name = spec.name
    if name == "pendigits":
        if have(_PENDIGITS_FILES):
            return "text", local(_PENDIGITS_FILES), _parse_pendigits
        embedded = {p: _embedded_file(p) for p in _PENDIGITS_FILES}
        if all(embedded.values()):
            return "text", embedded, _parse_pendigits
        required = _PENDIGITS_FILES
        variants = [("text", _PENDIGITS_FILES, _parse_pendigits)]
    elif name == "usps":
        variants = [("h5", _USPS_H5, _parse_usps_h5), ("jf", _USPS_JF, _parse_usps_jf)]
        required = _USPS_JF
    elif name == "har":
        variants = [("text", _HAR_FILES, _parse_har)]
        required = _HAR_FILES
    else:
        parser = {
            "mnist": _parse_mnist,
            "mnist-test": _parse_mnist_test,
            "fashion": _parse_fashion,
        }[name]
        variants = [("idx", spec.files, parser)]
        required = spec.files

    h5_blocked = False
    for variant, paths, parser in variants:
        if have(paths):
            if variant == "h5" and not _h5py_available():
                h5_blocked = True
                continue
            return variant, local(paths), parser
    if h5_blocked:
        raise ImportError(
            f"{home / 'usps' / 'usps.h5'} is present but reading it needs h5py, which is not "
            "installed: pip install h5py. Alternatively put "
            f"usps_train.jf and usps_test.jf in {home / 'usps'}; n2d reads those without h5py."
        )

    missing = [p for p in required if _local_file(home, p) is None]
    what = None
    if name == "usps":
        missing = ["usps/usps.h5", *missing]
        what = "usps.h5 (or both usps_train.jf and usps_test.jf)"
    if not download:
        raise _missing_error(spec, home, missing, what=what)
    _download(spec, home, [p for p in required if _local_file(home, p) is None])
    variant, paths, parser = next(v for v in variants if v[1] == required)
    return variant, local(paths), parser


# --------------------------------------------------------------------------------------
# Parsed-array cache
# --------------------------------------------------------------------------------------


def _cache_dir(spec: _Spec, variant: str, hashes: dict[str, str]) -> Path:
    payload = json.dumps(
        {"parser": _PARSER_VERSION, "dataset": spec.name, "variant": variant, "sources": hashes},
        sort_keys=True,
    )
    key = hashlib.sha256(payload.encode()).hexdigest()[:24]
    return cache_root() / "parsed" / f"{spec.name}-{key}"


def _valid_arrays(spec: _Spec, x: np.ndarray, y: np.ndarray, names) -> bool:
    return (
        x.dtype == np.float32
        and y.dtype == np.int64
        and x.ndim == 2
        and y.ndim == 1
        and x.shape[0] == y.shape[0] > 0
        and x.shape[1] == spec.n_features
        and x.flags.c_contiguous
        and len(names) == spec.n_classes
        and int(y.min()) >= 0
        and int(y.max()) < spec.n_classes
    )


def _cache_load(spec: _Spec, folder: Path):
    """Return (x, y, target_names) from a parsed-array cache entry, or None.

    An entry is used only if its meta.json matches the parser version, each
    .npy file has the sha256 recorded there, and the arrays have the expected
    dtypes and shapes. A present but invalid entry triggers a CacheWarning.
    """
    meta_path = folder / "meta.json"
    if not meta_path.is_file():
        return None
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("parser") != _PARSER_VERSION or meta.get("dataset") != spec.name:
            raise ValueError("parser version or dataset differs")
        arrays = {}
        for key, dtype in (("x", np.float32), ("y", np.int64)):
            path = folder / f"{key}.npy"
            if _file_digest(path) != meta[key]["sha256"]:
                raise ValueError(f"{path.name} does not match its recorded sha256")
            arr = np.load(path, allow_pickle=False)
            if arr.dtype != dtype or list(arr.shape) != list(meta[key]["shape"]):
                raise ValueError(f"{path.name} has dtype {arr.dtype} and shape {arr.shape}")
            arrays[key] = arr
        names = tuple(str(n) for n in meta["target_names"])
        if not _valid_arrays(spec, arrays["x"], arrays["y"], names):
            raise ValueError("arrays do not have the dataset's shape or labels")
    except (OSError, ValueError, KeyError, TypeError, AttributeError, EOFError) as exc:
        warnings.warn(
            f"Ignoring the parsed-data cache entry {folder} ({_short(exc)}); the data is "
            "parsed again from the verified source files and the entry rewritten.",
            CacheWarning,
            stacklevel=3,
        )
        return None
    return arrays["x"], arrays["y"], names


def _cache_save(spec: _Spec, folder: Path, x: np.ndarray, y: np.ndarray, names, hashes) -> None:
    """Write a parsed-array cache entry atomically (arrays first, meta.json last)."""
    try:
        meta = {
            "parser": _PARSER_VERSION,
            "dataset": spec.name,
            "sources": hashes,
            "target_names": list(names),
        }
        for key, arr in (("x", x), ("y", y)):
            with atomic_path(folder / f"{key}.npy") as tmp:
                with open(tmp, "wb") as f:
                    np.save(f, arr, allow_pickle=False)
                meta[key] = {
                    "sha256": file_sha256(tmp),
                    "shape": list(arr.shape),
                    "dtype": str(arr.dtype),
                }
        with atomic_path(folder / "meta.json") as tmp:
            tmp.write_text(json.dumps(meta, indent=1), encoding="utf-8")
    except OSError as exc:
        warnings.warn(
            f"Could not write the parsed-data cache entry {folder} ({_short(exc)}); "
            "the next load parses the source files again.",
            CacheWarning,
            stacklevel=3,
        )


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
    spec = _spec(name)
    home = resolve_data_home(data_home)
    variant, files, parser = _sources(spec, home, download)
    reg = _registry()
    hashes = {rel: _verify(path, reg[rel]) for rel, path in files.items()}
    folder = _cache_dir(spec, variant, hashes)
    cached = _cache_load(spec, folder)
    if cached is not None:
        x, y, names = cached
    else:
        x, y, names = parser(files)
        x = np.ascontiguousarray(x, dtype=np.float32)
        y = np.ascontiguousarray(y, dtype=np.int64)
        names = tuple(names)
        if not _valid_arrays(spec, x, y, names):
            raise DataFileError(
                f"Parsing {spec.name} gave x{x.shape} {x.dtype}, y{y.shape} with labels "
                f"{int(y.min()) if y.size else '-'}..{int(y.max()) if y.size else '-'}; expected "
                f"{spec.n_features} features and labels 0..{spec.n_classes - 1}."
            )
        _cache_save(spec, folder, x, y, names, hashes)
    return Dataset(
        name=spec.name,
        x=x,
        y=y,
        target_names=names,
        n_clusters=spec.n_classes,
        description=spec.description,
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
    spec = _spec(name)
    return {
        "name": spec.name,
        "n_samples": spec.n_samples,
        "n_features": spec.n_features,
        "n_classes": spec.n_classes,
        "license": spec.license,
        "source": spec.source,
        "files": list(spec.files),
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
    return [{**dataset_info(n), "present": _is_present(_SPECS[n], home)} for n in DATASET_NAMES]


def verify_dataset(name, data_home=None) -> list[tuple[str, str]]:
    """Check each registry file of a dataset against its hash.

    Parameters
    ----------
    name : str
        Dataset name or alias.
    data_home : str or path-like, default=None
        Data directory (see :func:`resolve_data_home`).

    Returns
    -------
    results : list of (str, str)
        ``(file, status)`` for each registry file of the dataset, ``file``
        relative to the data directory. ``status`` is ``"ok"``, ``"missing"`` or
        ``"MISMATCH: expected <hash>, got <hash>"``. For pendigits files absent
        from the data directory the embedded copy is checked and ``file`` reads
        ``"pendigits/<file> (embedded)"``; a gzip-compressed copy of a text file
        (``<file>.gz``) is checked by its decompressed bytes and reported as
        ``"<file> (as <file>.gz)"``. Files are never modified.
    """
    spec = _spec(name)
    home = resolve_data_home(data_home)
    reg = _registry()
    results = []
    for rel in spec.files:
        entry = reg[rel]
        path, label = _local_file(home, rel), rel
        if path is None and spec.name == "pendigits":
            path = _embedded_file(rel)
            label = f"{rel} (embedded)"
        if path is None:
            results.append((rel, "missing"))
            continue
        if _is_gz_copy(path, entry):
            label = f"{rel} (as {path.name})"
        actual = _file_digest(path, entry.alg, gunzip=_is_gz_copy(path, entry))
        if actual == entry.digest:
            results.append((label, "ok"))
        else:
            results.append(
                (label, f"MISMATCH: expected {entry.hash_str}, got {entry.alg}:{actual}")
            )
    return results


def fetch_dataset(name, data_home=None) -> Path:
    """Download a dataset's missing files into the data directory.

    Each missing registry file that has a URL is downloaded with pooch into a
    staging folder, checked against its registry hash, and only then moved into
    ``<data_home>/<dataset folder>/``; existing files are never replaced. Files
    already present are verified.

    Parameters
    ----------
    name : str
        Dataset name or alias.
    data_home : str or path-like, default=None
        Data directory (see :func:`resolve_data_home`).

    Returns
    -------
    folder : pathlib.Path
        The dataset's folder inside the data directory.

    Raises
    ------
    DatasetNotFoundError
        If a download fails (network error, unwritable directory) or the dataset
        still cannot be loaded afterwards (e.g. usps.h5, which has no URL, and
        no .jf files).
    ChecksumError
        If a downloaded file or a file already present does not match the
        registry. Nothing is replaced.

    Notes
    -----
    HAR files come out of the UCI zip archive (about 60 MB), which holds a second
    zip; both levels are opened and the extracted files are checked. USPS .jf
    files come gzipped and are checked after decompression.
    """
    spec = _spec(name)
    home = resolve_data_home(data_home)
    reg = _registry()
    missing = [p for p in spec.files if _local_file(home, p) is None]
    downloadable = [p for p in missing if reg[p].url]
    if downloadable:
        _download(spec, home, downloadable)
    for rel in spec.files:
        path = _local_file(home, rel)
        if path is not None:
            _verify(path, reg[rel])
    if not _is_present(spec, home):
        still = [p for p in spec.files if _local_file(home, p) is None]
        raise _missing_error(spec, home, still, downloaded=True)
    return home / spec.directory
