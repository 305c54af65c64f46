"""The output folder of ``n2d cluster``: decide before fitting whether it is ours, and never overwrite a user's file.

A folder is ours if it does not exist yet, is empty, or holds the marker file
:data:`MARKER` that ``n2d cluster`` writes into every output folder. The marker
lists each file n2d wrote there with its sha256 (``null`` while it is being
written), so a later run replaces only files that are still exactly what n2d
wrote. Anything else in the folder is left alone.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

from n2d._util.files import atomic_path, file_sha256
from n2d._version import __version__

MARKER = ".n2d-output.json"
"""Marker file of an output folder written by ``n2d cluster``."""
FORMAT = "n2d-output"
MODEL = "model"
"""The model sub-folder; written through :meth:`n2d.N2D.save`, which replaces only n2d models."""
_SHOW = 5


class OutputFolder:
    """An output folder claimed for writing; create it with :meth:`claim`.

    Attributes
    ----------
    path : pathlib.Path
    files : dict
        Name -> sha256 (``None`` while being written; ``"model"`` for the model folder)
        of every entry n2d wrote here.
    """

    def __init__(self, path: Path, files: dict):
        self.path = path
        self.files = files

    @classmethod
    def claim(cls, path, names) -> OutputFolder:
        """Check, without writing anything, that ``names`` may be written into the folder ``path``.

        Parameters
        ----------
        path : str or path-like
            The output folder.
        names : iterable of str
            Entries the run will write (``"model"`` is the model folder).

        Returns
        -------
        OutputFolder

        Raises
        ------
        FileExistsError
            If ``path`` is a file, a folder that n2d did not write, or holds one of
            ``names`` that n2d did not write or that was changed since.
        PermissionError
            If the folder cannot be created or written.
        """
        path = Path(path)
        if path.exists() and not path.is_dir():
            raise FileExistsError(
                f"--out {path} is a file, not a folder; give a new or empty folder, "
                "or one that n2d cluster wrote before."
            )
        if not path.exists():
            parent = next((p for p in path.parents if p.exists()), Path("."))
            if not parent.is_dir():
                raise FileExistsError(f"Cannot create the output folder {path}: {parent} is a file.")
            if not os.access(parent, os.W_OK | os.X_OK):
                raise PermissionError(f"Cannot create the output folder {path}: {parent} is not writable.")
            return cls(path, {})
        if not os.access(path, os.W_OK | os.X_OK):
            raise PermissionError(f"Cannot write into the output folder {path}: it is not writable.")
        entries = sorted(p.name for p in path.iterdir())
        if not entries:
            return cls(path, {})
        if MARKER not in entries:
            shown = ", ".join(entries[:_SHOW]) + (f", ... ({len(entries)} entries)" if len(entries) > _SHOW else "")
            raise FileExistsError(
                f"Refusing to write into {path}: it is a folder that n2d cluster did not write (it holds {shown}) "
                f"and has no {MARKER}; give a new or empty folder with --out."
            )
        files = _read_marker(path)
        for name in names:
            target = path / name
            if not (target.exists() or target.is_symlink()):
                continue
            if name not in files:
                raise FileExistsError(
                    f"Refusing to overwrite {target}: n2d did not write it. Move it away or give another --out."
                )
            if name == MODEL:
                if target.is_symlink() or not target.is_dir():
                    raise FileExistsError(
                        f"Refusing to overwrite {target}: it is not the model folder n2d wrote. "
                        "Move it away or give another --out."
                    )
                continue
            if target.is_symlink() or not target.is_file():
                raise FileExistsError(f"Refusing to overwrite {target}: it is not a file n2d wrote.")
            recorded = files[name]
            if recorded is not None and file_sha256(target) != recorded:
                raise FileExistsError(
                    f"Refusing to overwrite {target}: it was changed after n2d wrote it. "
                    "Move it away or give another --out."
                )
        return cls(path, files)

    def _write_marker(self) -> None:
        marker = {
            "format": FORMAT,
            "written_by": f"n2d {__version__}",
            "updated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "files": dict(sorted(self.files.items())),
        }
        with atomic_path(self.path / MARKER) as tmp:
            tmp.write_text(json.dumps(marker, indent=1) + "\n", encoding="utf-8")

    def begin(self, names) -> None:
        """Create the folder and record ``names`` as being written by n2d, before writing them."""
        self.path.mkdir(parents=True, exist_ok=True)
        for name in names:
            self.files[name] = MODEL if name == MODEL else None
        self._write_marker()

    def done(self, name: str) -> Path:
        """Record the sha256 of a file just written; returns its path."""
        target = self.path / name
        if name != MODEL:
            self.files[name] = file_sha256(target)
        self._write_marker()
        return target

    def remove_stale(self, name: str) -> None:
        """Delete an entry an earlier run wrote and this one does not (e.g. an old plot), if unchanged."""
        target = self.path / name
        recorded = self.files.get(name)
        if name == MODEL or not target.is_file() or target.is_symlink():
            return
        if recorded is not None and file_sha256(target) == recorded:
            target.unlink()
            del self.files[name]
            self._write_marker()


def _read_marker(path: Path) -> dict:
    marker = path / MARKER
    try:
        data = json.loads(marker.read_text(encoding="utf-8"))
        if data.get("format") != FORMAT or not isinstance(data.get("files"), dict):
            raise ValueError("not an n2d output marker")
        files = data["files"]
        if not all(isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in files.items()):
            raise ValueError("bad file list")
    except (OSError, ValueError, AttributeError, UnicodeDecodeError) as exc:
        raise FileExistsError(
            f"Refusing to write into {path}: its {MARKER} is unreadable ({exc}); give a new or empty folder with --out."
        ) from None
    return dict(files)
