"""Where a dataset's files are on this machine: the data directory, .gz copies, embedded copies.

Files live at ``<data_dir>/<dataset folder>/<file>`` (``mnist/``, ``fashion/``,
``usps/``, ``pendigits/``, ``har/``), the layout of the project's
``shared/data`` folder. The data directory is, in order: the ``data_home``
argument, the environment variable ``$N2D_DATA_DIR``, then ``<n2d cache>/data``
(``~/.cache/n2d/data`` on Linux, see :func:`n2d._util.files.cache_root`). A
gzip-compressed copy (``<file>.gz``) may stand in for a text file. Datasets
marked ``embedded`` in the catalog (pendigits) also ship inside the package and
so always load offline. Nothing here reads or checks a file's content.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from n2d._util.files import cache_root
from n2d.datasets._catalog import CatalogEntry

__all__ = [
    "DATA_ENV",
    "embedded_file",
    "has_all",
    "is_present",
    "local_file",
    "module_available",
    "resolve_data_home",
]

DATA_ENV = "N2D_DATA_DIR"
"""Environment variable naming the data directory (used when ``data_home`` is None)."""

_GZ_SIBLING_OK = (".txt", ".jf", ".tra", ".tes", ".names")
"""Files whose gzip-compressed copy (``<file>.gz``) is accepted in their place."""


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


def local_file(home: Path, relpath: str) -> Path | None:
    """The local copy of a registry file: ``<home>/<relpath>``, else ``<relpath>.gz``.

    A gzip-compressed copy is accepted for the text files (HAR's large feature
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


def embedded_file(relpath: str) -> Path | None:
    """Path of the copy of a registry file embedded in the package (``data/<relpath>``), or None."""
    candidates = []
    try:
        candidates.append(Path(str(resources.files("n2d.datasets") / "data" / relpath)))
    except Exception:  # noqa: BLE001 - any importlib.resources quirk: use the fallback
        pass
    candidates.append(Path(__file__).resolve().parent / "data" / relpath)
    for p in candidates:
        if p.is_file():
            return p
    return None


def module_available(name: str) -> bool:
    """True when the module ``name`` can be imported (a ``None`` entry in sys.modules blocks it)."""
    try:
        __import__(name)
    except ImportError:
        return False
    return True


def has_all(home: Path, paths) -> bool:
    """True when every registry path in ``paths`` has a local copy in ``home``."""
    return all(local_file(home, p) for p in paths)


def is_present(entry: CatalogEntry, home: Path) -> bool:
    """True when the files of one of the dataset's forms are in ``home`` (or embedded).

    Hashes are not checked, and a form whose parser needs a missing module
    still counts.
    """
    for form in entry.forms:
        paths = entry.form_paths(form)
        if has_all(home, paths):
            return True
        if entry.embedded and all(embedded_file(p) for p in paths):
            return True
    return False

