"""The ``n2d cache`` sub-command: ``info`` and ``clear [--older-than WHEN] [--dry-run]``.

The main CLI calls :func:`add_parser` with its sub-parsers object; the parser
sets :func:`run` (which returns the exit code) as ``func`` through
``set_defaults``. Errors propagate to the main CLI, which prints them as one line.
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timedelta

from n2d import cache as _cache
from n2d._util.files import CACHE_ENV, cache_root


def add_parser(subparsers) -> None:
    """Register the ``cache`` sub-command on an argparse sub-parsers object.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        What ``ArgumentParser.add_subparsers()`` returned.

    Returns
    -------
    None
    """
    parser = subparsers.add_parser(
        "cache",
        help="show or clear n2d's cache of trained autoencoders and parsed datasets",
        description=(
            f"n2d caches trained autoencoder weights (about 10 MB each for pendigits, 13 MB for MNIST) and "
            f"parsed datasets under its cache root: ${CACHE_ENV} if set, else the user cache directory. "
            "Only entries n2d wrote are counted and removed; downloaded dataset files (data/) are never removed."
        ),
    )
    parser.set_defaults(func=run)
    sub = parser.add_subparsers(dest="cache_command", metavar="{info,clear}")
    sub.required = True
    p_info = sub.add_parser("info", help="location, number of entries and size")
    p_info.add_argument("--cache-dir", metavar="DIR", help=f"cache root (default: ${CACHE_ENV} or the user cache)")
    p_clear = sub.add_parser(
        "clear",
        help="remove cache entries (all, or those older than a date or a number of days)",
        description="Remove n2d's cache entries: all of them, or with --older-than those last written before a "
        "date or more than N days ago. Files n2d did not write and downloaded datasets stay.",
    )
    p_clear.add_argument(
        "--older-than", metavar="WHEN",
        help="a date (2026-01-31, or an ISO date and time) or an age in days (30 or 30d)",
    )
    p_clear.add_argument("--dry-run", action="store_true", help="list what would be removed; remove nothing")
    p_clear.add_argument("--cache-dir", metavar="DIR", help=f"cache root (default: ${CACHE_ENV} or the user cache)")


def run(args) -> int:
    """Run ``n2d cache info`` or ``n2d cache clear``; returns the exit code."""
    return {"info": _cmd_info, "clear": _cmd_clear}[args.cache_command](args)


def parse_when(text: str, now: datetime | None = None) -> datetime:
    """Turn ``--older-than`` into a time: an ISO date or date and time, or an age like ``30`` or ``30d``.

    Parameters
    ----------
    text : str
    now : datetime, default=None
        The time ages count back from (default: now).

    Returns
    -------
    datetime
        Naive dates and times are local time.

    Raises
    ------
    ValueError
        If ``text`` is neither.
    """
    value = text.strip()
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(d|days?)?", value, re.I)
    if m:
        return (now or datetime.now()) - timedelta(days=float(m.group(1)))
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"--older-than must be a date such as 2026-01-31 (or an ISO date and time) or an age in days "
            f"such as 30 or 30d; got {text!r}."
        ) from None


def size(n: int) -> str:
    """Bytes as a short human-readable size (decimal units: 1 MB = 10**6 bytes)."""
    for unit in ("bytes", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"  # pragma: no cover - the loop returns


def _where(args) -> str:
    root = cache_root(args.cache_dir)
    origin = "--cache-dir" if args.cache_dir else f"${CACHE_ENV}" if os.environ.get(CACHE_ENV) else "default"
    return f"Cache root: {root} ({origin})"


def _date(ts) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M") if ts is not None else "-"


def _cmd_info(args) -> int:
    info = _cache.cache_info(args.cache_dir)
    print(_where(args))
    rows = [
        ("autoencoder weights", "autoencoder", f"{_cache.AUTOENCODERS}/"),
        ("parsed datasets", "parsed", f"{_cache.PARSED}/"),
        ("interrupted writes", "temporary", "temporary files"),
    ]
    for label, kind, where in rows:
        k = info["kinds"][kind]
        if kind == "temporary" and not k["entries"]:
            continue
        print(f"  {label:<20} {k['entries']:>5} entries {size(k['bytes']):>10}  ({where})")
    print(f"  {'total':<20} {info['entries']:>5} entries {size(info['bytes']):>10}")
    if info["entries"]:
        print(f"  written between {_date(info['oldest'])} and {_date(info['newest'])}")
    print(f"  downloaded datasets ({_cache.DATA}/, kept by 'n2d cache clear'): {size(info['data_bytes'])}")
    if info["foreign"]:
        shown = ", ".join(info["foreign"][:3]) + (", ..." if len(info["foreign"]) > 3 else "")
        print(f"  not n2d's, left alone: {len(info['foreign'])} ({shown})")
    return 0


def _cmd_clear(args) -> int:
    when = parse_when(args.older_than) if args.older_than is not None else None
    removed = _cache.clear_cache(args.cache_dir, older_than=when, dry_run=args.dry_run)
    print(_where(args))
    verb = "would remove" if args.dry_run else "removed"
    for e in removed if args.dry_run else ():
        print(f"  {e.kind:<12} {size(e.bytes):>10}  {_date(e.mtime)}  {e.path}")
    scope = f" last written before {when:%Y-%m-%d %H:%M}" if when is not None else ""
    print(f"{verb} {len(removed)} entries{scope} ({size(sum(e.bytes for e in removed))})")
    return 0
