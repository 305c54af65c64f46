"""The name a class goes by: the shortest public module path that exports it."""

from __future__ import annotations

import importlib

__all__ = ["class_path"]


def class_path(cls: type) -> str:
    """``module.QualName`` of ``cls``, through the package above its private modules when that exports it.

    n2d's stages are defined in private modules (``n2d.manifold._torch_umap``)
    and exported by their package (``n2d.manifold``); saved models and
    ``result.json`` name the package, so the private layout can change without
    breaking files (and older n2d releases, whose modules exported the same
    names, load them too). scikit-learn's classes are named the same way
    (``sklearn.mixture.GaussianMixture``). A class its package does not export
    keeps its defining module.
    """
    module, name = cls.__module__, cls.__qualname__
    parts = module.split(".")
    private = next((i for i, part in enumerate(parts) if part.startswith("_")), None)
    if private:
        parent = ".".join(parts[:private])
        try:
            if getattr(importlib.import_module(parent), name, None) is cls:
                return f"{parent}.{name}"
        except ImportError:  # pragma: no cover - the parent of an imported module imports
            pass
    return f"{module}.{name}"
