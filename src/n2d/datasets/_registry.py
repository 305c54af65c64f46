"""The registry of dataset files (``registry.txt``) and checking files against it.

Every file is listed in ``registry.txt`` (package data) with its sha256 (or,
for the two HAR feature matrices whose sha256 is not known to the project, its
git blob id) and a download URL; the file's header describes the format. A file
is checked against the registry before it is used; a mismatch raises
:class:`~n2d.exceptions.ChecksumError` and the file is never deleted, replaced
or modified. A gzip-compressed copy of a text file is checked by its
decompressed bytes.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import re
import time
import zlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from n2d._util.files import file_sha256
from n2d.datasets._catalog import entry as catalog_entry
from n2d.datasets._errors import checksum_error, short
from n2d.datasets._local import embedded_file, local_file, resolve_data_home

__all__ = [
    "RegistryEntry",
    "file_digest",
    "git_blob_sha1",
    "is_gz_copy",
    "parse_registry",
    "registry",
    "verify",
    "verify_dataset",
]

_HASH_LENGTHS = {"sha256": 64, "gitblob": 40}

_RACY_NS = 2_000_000_000
"""Hash results of files modified less than this many ns ago are not memoized.

File mtimes have coarse (timer-tick) resolution, so a file rewritten twice
within a tick can keep the same size and mtime; recent files are re-hashed.
"""

_DIGEST_CACHE: dict[tuple, str] = {}


@dataclass(frozen=True)
class RegistryEntry:
    """One registry line: a file, its expected hash and where it comes from."""

    dataset: str  # the registry group (mnist-test's files are in group mnist)
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


# --------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------


def parse_registry(text: str, source: str = "registry.txt") -> dict[str, RegistryEntry]:
    """Parse registry text (``dataset path hash url`` lines, ``#`` comments).

    Raises
    ------
    ValueError
        On a malformed line, naming the line number.
    """
    entries: dict[str, RegistryEntry] = {}
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
        entries[path] = RegistryEntry(dataset, path, alg, digest, None if url == "-" else url)
    return entries


def _read_package_text(name: str) -> str:
    """Read a text file shipped inside the n2d.datasets package."""
    try:
        return (resources.files("n2d.datasets") / name).read_text(encoding="utf-8")
    except (ImportError, FileNotFoundError, TypeError, ModuleNotFoundError, OSError):
        return (Path(__file__).resolve().parent / name).read_text(encoding="utf-8")


@functools.lru_cache(maxsize=1)
def registry() -> dict[str, RegistryEntry]:
    """The package registry, keyed by relative path (parsed once per process)."""
    return parse_registry(_read_package_text("registry.txt"))


# --------------------------------------------------------------------------------------
# Hashing
# --------------------------------------------------------------------------------------


def git_blob_sha1(path, size: int | None = None, chunk: int = 1 << 20) -> str:
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
        return f"<unreadable gzip data: {short(exc, 120)}>"


def file_digest(path, alg: str = "sha256", *, gunzip: bool = False) -> str:
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
        digest = git_blob_sha1(path, st.st_size)
    else:  # pragma: no cover - the registry parser rejects other algorithms
        raise ValueError(f"Unknown hash algorithm {alg!r}.")
    if time.time_ns() - st.st_mtime_ns > _RACY_NS:
        _DIGEST_CACHE[key] = digest
    return digest


# --------------------------------------------------------------------------------------
# Verification
# --------------------------------------------------------------------------------------


def is_gz_copy(path: Path, entry: RegistryEntry) -> bool:
    """True when ``path`` is a gzip-compressed local copy of a plain registry file."""
    return path.name.endswith(".gz") and not entry.fname.endswith(".gz")


def verify(path: Path, entry: RegistryEntry) -> str:
    """Check ``path`` against its registry entry; return ``"alg:digest"`` or raise.

    A gzip-compressed copy (``<file>.gz``) is checked by its decompressed bytes.

    Raises
    ------
    ChecksumError
        If the file does not match; the file is left as it is.
    """
    actual = file_digest(path, entry.alg, gunzip=is_gz_copy(path, entry))
    if actual != entry.digest:
        raise checksum_error(path, entry, actual)
    return entry.hash_str


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
    dataset = catalog_entry(name)
    home = resolve_data_home(data_home)
    reg = registry()
    results = []
    for rel in dataset.paths:
        entry = reg[rel]
        path, label = local_file(home, rel), rel
        if path is None and dataset.embedded:
            path = embedded_file(rel)
            label = f"{rel} (embedded)"
        if path is None:
            results.append((rel, "missing"))
            continue
        if is_gz_copy(path, entry):
            label = f"{rel} (as {path.name})"
        actual = file_digest(path, entry.alg, gunzip=is_gz_copy(path, entry))
        if actual == entry.digest:
            results.append((label, "ok"))
        else:
            results.append(
                (label, f"MISMATCH: expected {entry.hash_str}, got {entry.alg}:{actual}")
            )
    return results
