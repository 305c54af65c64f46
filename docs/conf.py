"""Sphinx configuration of n2d's documentation.

Build it from the repository root:

    python -m sphinx -W --keep-going -b html docs docs/_build/html
    python -m sphinx -W --keep-going -b doctest docs docs/_build/doctest

The examples gallery (``docs/examples``) is executed during the html build;
the command-line reference is generated from ``n2d.cli.build_parser()``.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

# Everything the docs run (examples, doctests) writes its weight cache to a
# throw-away folder, never to the reader's ~/.cache/n2d; and plots never open
# a window.
_OWN_CACHE = None
if not os.environ.get("N2D_CACHE_DIR"):
    _OWN_CACHE = os.environ["N2D_CACHE_DIR"] = tempfile.mkdtemp(prefix="n2d-docs-cache-")
os.environ.setdefault("MPLBACKEND", "agg")

import n2d  # noqa: E402

project = "n2d"
author = "n2d developers"
copyright = "n2d developers"
release = n2d.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.doctest",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "sphinx_copybutton",
    "sphinx_design",
    "n2d_docs",  # docs/_ext/n2d_docs.py: the CLI reference and a check of every code example's call signatures
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "examples/README.rst"]
root_doc = "index"
default_role = "literal"
# Quotes may curl, but "--option" must stay two hyphens (the CLI reference is full of them).
smartquotes_action = "qe"

# -- autodoc / autosummary / numpydoc --------------------------------------- #
autosummary_generate = True
autosummary_imported_members = False
autodoc_typehints = "none"  # the numpydoc sections say the types
autoclass_content = "class"
numpydoc_show_class_members = False  # the class template lists the methods itself
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True

# -- doctest ---------------------------------------------------------------- #
doctest_global_setup = """
import warnings
import numpy as np
warnings.filterwarnings("ignore", category=DeprecationWarning)
"""
doctest_default_flags = (
    __import__("doctest").ELLIPSIS
    | __import__("doctest").NORMALIZE_WHITESPACE
    | __import__("doctest").DONT_ACCEPT_TRUE_FOR_1
)

# -- intersphinx (links to numpy, scikit-learn, ...): only where reachable --- #
# Offline builds (CI has no network access guarantee) must not warn, so no
# inventories are fetched; references to external objects render as text.
intersphinx_mapping = {}

# -- examples gallery ------------------------------------------------------- #
sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",  # run every plot_*.py at build time
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "abort_on_example_error": True,
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "show_memory": False,
    "min_reported_time": 0,
    # "Examples using ..." on the API pages
    "doc_module": ("n2d",),
    "backreferences_dir": "api/generated/backreferences",
    "reference_url": {"n2d": None},
}

# -- HTML ------------------------------------------------------------------- #
html_theme = "pydata_sphinx_theme"
html_title = f"n2d {release}"
html_static_path = ["_static"]
html_css_files = ["n2d.css"]
html_show_sourcelink = False
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 5,
    # the pages with wide tables of measurements use the room of the page's table of contents
    "secondary_sidebar_items": {
        "**": ["page-toc"],
        "guide/own_data": [],
        "guide/speed": [],
        "guide/reproducing": [],
    },
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_sidebars = {"index": [], "auto_examples/index": []}
html_context = {"default_mode": "light"}

copybutton_prompt_text = r">>> |\.\.\. |\$ "
copybutton_prompt_is_regexp = True


def _remove_own_cache(app, exception):
    """Delete the throw-away weight cache the build made (never a cache the caller pointed to)."""
    if _OWN_CACHE is not None:
        import shutil

        shutil.rmtree(_OWN_CACHE, ignore_errors=True)


def setup(app):
    app.connect("build-finished", _remove_own_cache)
