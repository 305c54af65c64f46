"""Getting missing dataset files: pooch downloads, archives, and the error when that cannot be done.

Missing files are downloaded with pooch from the registry's URLs, hash-checked
in a staging folder inside the dataset's folder and only then moved into place;
an existing file is never replaced. A URL ending in ``.gz`` or ``.zip`` while
the file does not is an archive: the file is decompressed or extracted from it
(zips inside the zip are searched too). When files cannot be had,
:class:`~n2d.exceptions.DatasetNotFoundError` says which files are missing,
where they were looked for, where to get them and how to point n2d at them.
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import tempfile
import zipfile
from pathlib import Path

from n2d.datasets._catalog import CatalogEntry
from n2d.datasets._catalog import entry as catalog_entry
from n2d.datasets._errors import checksum_error, short
from n2d.datasets._local import DATA_ENV, is_present, local_file, resolve_data_home
from n2d.datasets._registry import RegistryEntry, file_digest, registry, verify
from n2d.exceptions import DataFileError, DatasetNotFoundError

__all__ = ["download", "fetch_dataset", "missing_error"]


def missing_error(
    dataset: CatalogEntry,
    home: Path,
    missing: list[str],
    *,
    what: str | None = None,
    reason: str | None = None,
    downloaded: bool = False,
) -> DatasetNotFoundError:
    """The error for files that are neither present nor downloadable.

    Parameters
    ----------
    dataset : CatalogEntry
        The dataset that cannot be loaded.
    home : Path
        The data directory.
    missing : list of str
        Registry paths of the missing files.
    what : str, default=None
        How to name the missing files; by default their names.
    reason : str, default=None
        Why a download failed.
    downloaded : bool, default=False
        Whether a download was tried.
    """
    folder = home / dataset.folder
    if what is None:
        what = ", ".join(p.rsplit("/", 1)[-1] for p in missing)
    reg = registry()
    urls: list[str] = []
    for p in missing:
        url = reg[p].url if p in reg else None
        if url and url not in urls:
            urls.append(url)
    parts = [f"Dataset {dataset.name!r} is not available: missing {what} in {folder}."]
    if reason:
        parts.append(reason)
    if urls:
        parts.append(f"Get {'it' if len(missing) == 1 else 'them'} from {' and '.join(urls)}.")
    for prefix, note in dataset.notes:
        if any(p.startswith(prefix) for p in missing):
            parts.append(note.format(folder=folder))
    parts.append(
        f"Put the files in {folder}, or point n2d at a directory DIR holding a "
        f"'{dataset.folder}/' folder with them: load_dataset({dataset.name!r}, data_home=DIR), "
        f"'--data-dir DIR' on the command line, or the environment variable {DATA_ENV}=DIR."
    )
    if not downloaded:
        parts.append(
            "Nothing was downloaded (download=False); with download=True n2d downloads "
            "them and checks their hashes."
        )
    return DatasetNotFoundError(" ".join(parts))


# --------------------------------------------------------------------------------------
# Archives
# --------------------------------------------------------------------------------------


def _archive_kind(url: str, entries: list[RegistryEntry]) -> str:
    """``"zip"`` or ``"gz"`` when ``url`` is an archive holding the files, else ``"direct"``."""
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
    the archive are searched when the outer level lacks a file. Found names are
    removed from ``wanted``.
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


# --------------------------------------------------------------------------------------
# Downloading
# --------------------------------------------------------------------------------------


def _retrieve_group(url: str, group: list[RegistryEntry], staging: Path) -> dict[str, Path]:
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


def download(dataset: CatalogEntry, home: Path, relpaths: list[str]) -> None:
    """Download registry files into ``home`` via pooch, checking every hash.

    Each URL is fetched into a fresh staging folder inside the dataset folder;
    files are checked there and only then renamed into place, and an existing
    file is never replaced. The staging folder is always removed.

    Raises
    ------
    DatasetNotFoundError
        If the folder is not writable or a download fails.
    ChecksumError
        If a downloaded file does not match the registry (nothing is moved into place).
    """
    reg = registry()
    groups: dict[str, list[RegistryEntry]] = {}
    for e in (reg[p] for p in relpaths):
        groups.setdefault(e.url, []).append(e)
    folder = home / dataset.folder

    def failed(group: list[RegistryEntry], reason: str) -> DatasetNotFoundError:
        return missing_error(dataset, home, [e.path for e in group], reason=reason, downloaded=True)

    for url, group in groups.items():
        try:
            folder.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=".n2d-download-", dir=folder))
        except OSError as exc:
            reason = f"They could not be downloaded: {folder} is not writable ({short(exc)})."
            raise failed(group, reason) from None
        try:
            try:
                staged = _retrieve_group(url, group, staging)
            except ValueError as exc:
                match = re.search(r"but got ([0-9a-fA-F]+)", str(exc))
                if match and len(group) == 1:  # pooch's hash check of a direct download
                    actual = match.group(1).lower()
                    raise checksum_error(staging, group[0], actual, url=url) from None
                raise failed(group, f"Downloading {url} failed ({short(exc)}).") from None
            except Exception as exc:  # noqa: BLE001 - network/archive errors: one clear error
                raise failed(group, f"Downloading {url} failed ({short(exc)}).") from None
            for e in group:
                actual = file_digest(staged[e.path], e.alg)
                if actual != e.digest:
                    raise checksum_error(staged[e.path], e, actual, url=url)
            for e in group:
                target = home / e.path
                if not target.exists():
                    os.replace(staged[e.path], target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


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
    dataset = catalog_entry(name)
    home = resolve_data_home(data_home)
    reg = registry()
    missing = [p for p in dataset.paths if local_file(home, p) is None]
    downloadable = [p for p in missing if reg[p].url]
    if downloadable:
        download(dataset, home, downloadable)
    for rel in dataset.paths:
        path = local_file(home, rel)
        if path is not None:
            verify(path, reg[rel])
    if not is_present(dataset, home):
        still = [p for p in dataset.paths if local_file(home, p) is None]
        raise missing_error(dataset, home, still, downloaded=True)
    return home / dataset.folder
