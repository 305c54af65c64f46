"""Saving and loading fitted models without pickle.

A saved model is a directory:

- ``manifest.json``: format name and version, n2d and library versions, and the
  model as a tree of estimators, each with its class path, its constructor
  parameters and its fitted attributes. Values are JSON; arrays are references.
- ``arrays.safetensors``: every array, by reference name. Its sha256 is in the
  manifest, so truncation or corruption is detected before anything is built.

Loading imports classes only from ``n2d`` and ``sklearn`` and only subclasses of
scikit-learn's ``BaseEstimator``, calls their constructors with JSON values and
sets plain attributes; nothing in the files can make it run other code.

Saving never leaves a half-written model, and replacing one is recoverable:
the new directory is written beside ``path`` under a temporary name, the old
one is moved aside to a hidden ``.<name>.old-*`` folder, the new one is moved
in, and the old one is deleted. If the process dies between the two moves, the
next :func:`save_model` or :func:`load_model` of ``path`` moves the old model
back. Temporary folders carry the writer's host and process id
(``.<name>.tmp-<host>-<pid>-<random>``); the next save or load of ``path``
deletes those whose process is gone (on this host) or, for other hosts and
older n2d versions, that are older than a day, and never one of a live save.

Loading checks, before building anything: the arrays file's sha256, the JSON
(nesting depth, types), every array's shape and dtype against the manifest,
and each estimator's arrays against its parameters and each other (see
:mod:`n2d.persistence._state`). Every failure is a :class:`ModelFormatError`.

Estimators control their own state with two optional hooks,
``_n2d_get_state() -> dict`` and ``_n2d_set_state(dict)``; otherwise every
instance attribute that is not a constructor parameter is saved. A value that
cannot be represented safely (an arbitrary object, a callable) is refused at save
time with a message naming it, before anything is written.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
from pathlib import Path

import numpy as np

from n2d._util.files import file_sha256, set_normal_mode
from n2d._version import __version__
from n2d.exceptions import ModelFormatError
from n2d.persistence._codec import _Decoder, _Encoder
from n2d.persistence._replace import (
    FORMAT,
    MANIFEST,
    _is_model_dir,
    _recover,
    _temp_path,
    _wait_for_live_save,
)

__all__ = ["save_model", "load_model", "FORMAT_VERSION"]

FORMAT_VERSION = 1
ARRAYS = "arrays.safetensors"
MAX_DEPTH = 64
"""Deepest JSON nesting a manifest may have (n2d's own are about 10 deep)."""


def _library_versions() -> dict:
    import sklearn
    import torch

    versions = {
        "n2d": __version__, "numpy": np.__version__, "scikit-learn": sklearn.__version__, "torch": torch.__version__,
    }
    try:
        from importlib.metadata import version

        versions["umap-learn"] = version("umap-learn")
    except Exception:  # pragma: no cover - umap-learn is a dependency
        pass
    return versions


def save_model(model, path, overwrite: bool = True) -> Path:
    """Save a fitted estimator to the directory ``path``.

    Everything is encoded in memory first, so an unsavable model raises before
    any file is touched. The directory is written under a temporary name beside
    ``path`` and renamed into place. An existing ``path`` is replaced only if it
    is an n2d model directory (or empty) and ``overwrite`` is true; it is moved
    aside first and deleted last, and a save killed in between is undone by the
    next save or load (see the module documentation). Files get the normal
    mode for the user's umask.

    Returns
    -------
    path : pathlib.Path
    """
    from safetensors.numpy import save_file

    if not hasattr(model, "labels_") and not any(k.endswith("_") for k in vars(model)):
        raise ValueError(f"This {type(model).__name__} is not fitted yet; fit it before saving.")
    path = Path(path)
    enc = _Encoder()
    tree = enc.estimator(model, "model")
    _recover(path)
    if path.exists():
        if not path.is_dir():
            raise FileExistsError(f"Cannot save the model to {path}: a file of that name exists.")
        if any(path.iterdir()) and not _is_model_dir(path):
            raise FileExistsError(
                f"Refusing to save the model into {path}: it is a non-empty directory that is not an n2d model."
            )
        if not overwrite and any(path.iterdir()):
            raise FileExistsError(f"{path} already holds a model; pass overwrite=True to replace it.")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_path(path, "tmp")
    tmp.mkdir()
    try:
        try:
            save_file(enc.arrays, str(tmp / ARRAYS), metadata={"format": FORMAT})
        except Exception as exc:  # safetensors raises SafetensorError, not OSError, on a full disk
            if isinstance(exc, OSError):
                raise
            raise OSError(f"Could not write the model to {path}: {exc}") from exc
        set_normal_mode(tmp / ARRAYS)  # safetensors creates it 0600
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "versions": _library_versions(),
            "arrays_sha256": file_sha256(tmp / ARRAYS),
            "model": tree,
        }
        with open(tmp / MANIFEST, "w") as f:
            json.dump(manifest, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        if path.exists():
            old = _temp_path(path, "old")
            os.replace(path, old)
            try:
                os.replace(tmp, path)
            except BaseException:
                if not path.exists():
                    os.replace(old, path)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return path


def _check_depth(tree, where: Path) -> None:
    """Raise ModelFormatError if the JSON ``tree`` nests deeper than :data:`MAX_DEPTH` (checked without recursion)."""
    stack = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ModelFormatError(
                f"{where} nests deeper than {MAX_DEPTH} levels; an n2d manifest never does, "
                "so it was edited or corrupted."
            )
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)


def load_model(path):
    """Load an estimator saved by :func:`save_model`.

    Before anything is built, the arrays file is checked against its sha256,
    the manifest's nesting depth and structure, and every array's shape and
    dtype against the manifest and the estimators' parameters (see
    :mod:`n2d.persistence._state`). A model that a killed save moved aside is moved
    back first, and stale temporary folders of ``path`` are deleted.

    Raises
    ------
    ModelFormatError
        If ``path`` is not a model directory, is corrupted, truncated or
        inconsistent, or was written in a newer format than this n2d reads.
    """
    from safetensors.numpy import load_file

    path = Path(path)
    _wait_for_live_save(path)
    _recover(path)
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        raise ModelFormatError(f"{path} is not an n2d model directory: {MANIFEST} is missing.")
    try:
        manifest = json.loads(manifest_path.read_text())
    except RecursionError as exc:
        raise ModelFormatError(
            f"{manifest_path} nests too deeply to read; an n2d manifest never does, so it was edited or corrupted."
        ) from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelFormatError(f"{manifest_path} is corrupted or truncated (invalid JSON: {exc}).") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ModelFormatError(f"{path} is not an n2d model directory (manifest format is not {FORMAT!r}).")
    _check_depth(manifest, manifest_path)
    version = manifest.get("format_version")
    if not isinstance(version, int):
        raise ModelFormatError(f"{manifest_path} has no valid format_version; the model is corrupted.")
    if version > FORMAT_VERSION:
        versions = manifest.get("versions")
        saved_by = versions.get("n2d", "a newer n2d") if isinstance(versions, dict) else "a newer n2d"
        raise ModelFormatError(
            f"{path} was saved by n2d {saved_by} in model format {version}; this n2d ({__version__}) reads "
            f"formats up to {FORMAT_VERSION}. Upgrade n2d (install a newer version from its source) to load it."
        )
    arrays_path = path / ARRAYS
    if not arrays_path.is_file():
        raise ModelFormatError(f"{path} is incomplete: {ARRAYS} is missing.")
    if file_sha256(arrays_path) != manifest.get("arrays_sha256"):
        raise ModelFormatError(
            f"{arrays_path} does not match the checksum in {MANIFEST}: the model is truncated or corrupted."
        )
    try:
        arrays = load_file(str(arrays_path))
    except Exception as exc:
        raise ModelFormatError(f"{arrays_path} cannot be read: {exc}") from exc
    model = manifest.get("model")
    if not isinstance(model, dict) or "__estimator__" not in model:
        raise ModelFormatError(f"{manifest_path} has no model entry (an object naming an estimator class).")
    try:
        return _Decoder(arrays).estimator(model)
    except ModelFormatError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, RecursionError) as exc:
        raise ModelFormatError(f"{manifest_path} is corrupted: {type(exc).__name__}: {exc}") from exc
