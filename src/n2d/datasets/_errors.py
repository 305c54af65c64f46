"""The wording of the errors about dataset files: a one-line cause, a checksum mismatch.

Kept apart so that parsers, the registry, the downloader and the cache word
their errors alike without importing one another.
"""

from __future__ import annotations

from pathlib import Path

from n2d.datasets._local import DATA_ENV
from n2d.exceptions import ChecksumError

__all__ = ["checksum_error", "short"]


def short(exc: BaseException, limit: int = 300) -> str:
    """``"<ExceptionType>: <message>"`` on one line, cut to ``limit`` characters."""
    text = " ".join(str(exc).split())
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def checksum_error(path: Path, entry, actual: str, *, url: str | None = None) -> ChecksumError:
    """The error for a file that does not match its registry entry.

    Parameters
    ----------
    path : Path
        The file checked (for a download: its staging folder).
    entry : n2d.datasets._registry.RegistryEntry
        The registry line it was checked against.
    actual : str
        The file's hex digest, by the entry's algorithm.
    url : str, default=None
        Where it was downloaded from; None for a file already in the data directory.
    """
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
