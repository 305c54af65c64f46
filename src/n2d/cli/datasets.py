"""The ``n2d datasets`` sub-command: ``list``, ``verify [NAME]`` and ``fetch NAME``.

The main CLI calls :func:`add_parser` with its sub-parsers object; each leaf
parser sets ``func(args) -> int`` (the exit code) through ``set_defaults``.
Errors (``ValueError``, ``DatasetNotFoundError``, ``ChecksumError``) propagate
to the main CLI, which prints them as one line.
"""

from __future__ import annotations

import argparse
import os

from n2d import datasets as _ds
from n2d.datasets._catalog import GROUPS, canonical_name
from n2d.datasets._catalog import entry as catalog_entry
from n2d.datasets._local import is_present


def add_parser(subparsers) -> None:
    """Register the ``datasets`` sub-command on an argparse sub-parsers object.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        What ``ArgumentParser.add_subparsers()`` returned.

    Returns
    -------
    None
    """
    parser = subparsers.add_parser(
        "datasets",
        help="list, verify or download the paper's benchmark datasets",
        description=(
            "List, verify or download the six benchmark datasets of the N2D paper. "
            "Files live in DIR/<dataset>/ where DIR is --data-dir, else "
            f"${_ds.DATA_ENV}, else the n2d cache's data/ folder."
        ),
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir",
        dest="data_dir",
        metavar="DIR",
        default=argparse.SUPPRESS,  # do not clobber a --data-dir given to the main parser
        help=f"data directory holding mnist/, fashion/, ... (default: ${_ds.DATA_ENV}, "
        "else the n2d cache's data/ folder)",
    )
    sub = parser.add_subparsers(dest="datasets_command", metavar="{list,verify,fetch}")
    sub.required = True

    p_list = sub.add_parser(
        "list", parents=[common], help="table of the datasets and whether they are present"
    )
    p_list.set_defaults(func=_cmd_list)

    p_verify = sub.add_parser(
        "verify",
        parents=[common],
        help="check files against their sha256 (exit code 1 if any is wrong or a dataset is incomplete)",
        description=(
            "Check each file of the named datasets (default: all) against its registry hash. "
            "The exit code is 1 if a file does not match, or if a dataset lacks a file it "
            "needs to load (a file with an alternative, such as usps.h5 beside the .jf files, "
            "is reported as not needed); otherwise 0."
        ),
    )
    p_verify.add_argument(
        "datasets", nargs="*", metavar="NAME", help="dataset names (default: all)"
    )
    p_verify.set_defaults(func=_cmd_verify)

    p_fetch = sub.add_parser(
        "fetch", parents=[common], help="download a dataset's missing files (hash-checked)"
    )
    p_fetch.add_argument("dataset", metavar="NAME", help=", ".join(_ds.DATASET_NAMES))
    p_fetch.set_defaults(func=_cmd_fetch)


def _data_dir(args):
    return getattr(args, "data_dir", None)


def _where(args) -> str:
    home = _ds.resolve_data_home(_data_dir(args))
    if _data_dir(args) is not None:
        origin = "--data-dir"
    elif os.environ.get(_ds.DATA_ENV):
        origin = f"${_ds.DATA_ENV}"
    else:
        origin = "default"
    return f"Data directory: {home} ({origin})"


def _cmd_list(args) -> int:
    rows = _ds.list_datasets(_data_dir(args))
    print(_where(args))
    header = ("name", "samples", "features", "classes", "license", "present")
    table = [
        (
            r["name"],
            f"{r['n_samples']:,}",
            str(r["n_features"]),
            str(r["n_classes"]),
            r["license"],
            "yes" if r["present"] else "no",
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in (header, *table)) for i in range(len(header))]
    right = {1, 2, 3}
    for row in (header, *table):
        cells = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        print("  ".join(cells).rstrip())
    return 0


def _cmd_verify(args) -> int:
    names = [canonical_name(n) for n in args.datasets] or list(GROUPS)  # GROUPS: each file once
    names = list(dict.fromkeys(names))  # each once, in the order given
    home = _ds.resolve_data_home(_data_dir(args))
    checked = []  # (dataset, file, status)
    incomplete = []
    for name in names:
        loadable = is_present(catalog_entry(name), home)
        if not loadable:
            incomplete.append(name)
        for fname, status in _ds.verify_dataset(name, _data_dir(args)):
            if status == "missing" and loadable:
                status = f"missing (not needed: {name} loads from the other files)"
            checked.append((fname, status))
    results = list(dict.fromkeys(checked))  # mnist and mnist-test share files
    print(_where(args))
    width = max(len(fname) for fname, _ in results)
    counts = {"ok": 0, "missing": 0, "bad": 0}
    for fname, status in results:
        print(f"  {fname.ljust(width)}  {status}")
        key = "ok" if status == "ok" else "missing" if status.startswith("missing") else "bad"
        counts[key] += 1
    summary = f"{counts['ok']} ok, {counts['missing']} missing, {counts['bad']} mismatched"
    if incomplete:
        summary += "; not loadable: " + ", ".join(incomplete) + " (missing files)"
    print(summary)
    return 1 if counts["bad"] or incomplete else 0


def _cmd_fetch(args) -> int:
    folder = _ds.fetch_dataset(args.dataset, _data_dir(args))
    print(f"{_ds.dataset_info(args.dataset)['name']}: files in {folder}")
    for fname, status in _ds.verify_dataset(args.dataset, _data_dir(args)):
        print(f"  {fname}  {status}")
    return 0
