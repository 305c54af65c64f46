"""The ``n2d`` command line: a thin front end over N2D, the datasets and the metrics.

One module per sub-command, each with ``add_parser(subparsers)``; the parser it adds sets
``func``, which runs the command and returns the exit code (``run(args)``; ``datasets``
sets one per leaf command):

- :mod:`n2d.cli.cluster`: ``n2d cluster``, fit N2D and write labels, the model and ``result.json``;
- :mod:`n2d.cli.predict`: ``n2d predict``, label new data with a saved model, in blocks of rows;
- :mod:`n2d.cli.reproduce`: ``n2d reproduce``, the paper's comparison table over several seeds;
- :mod:`n2d.cli.datasets`: ``n2d datasets``, list, verify or download the benchmark datasets;
- :mod:`n2d.cli.cache`: ``n2d cache``, show or clear n2d's cache.

Shared by them:

- :mod:`n2d.cli._options`: options several commands take, and the parsers and checks of option values;
- :mod:`n2d.cli._report`: the summary ``n2d cluster`` prints and the record it writes as ``result.json``;
- :mod:`n2d.cli._labels`: the labels CSV that ``cluster`` and ``predict`` write;
- :mod:`n2d.cli._outdir`: the output folder of ``n2d cluster``, which never overwrites a user's file.

This module only builds the parser and runs the chosen command (:func:`main`).
"""

from __future__ import annotations

import argparse
import logging
import sys

from n2d._version import __version__

EXIT_ERROR = 2
"""Exit code of a command that failed with an error (argparse's usage errors exit with 2 too)."""


def build_parser() -> argparse.ArgumentParser:
    """The parser of the whole command line; each command's parser sets ``func``, the function that runs it."""
    from n2d.cli import cache, cluster, datasets, predict, reproduce

    parser = argparse.ArgumentParser(
        prog="n2d",
        description="N2D: (Not Too) Deep Clustering (McConville et al., ICPR 2020).",
    )
    parser.add_argument("--version", action="version", version=f"n2d {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in (cluster, predict, reproduce, datasets, cache):  # the order of 'n2d --help'
        command.add_parser(sub)
    return parser


def main(argv=None) -> int:
    """Entry point of the ``n2d`` console script; returns the exit code.

    Errors print as one message without a traceback; set ``N2D_DEBUG=1`` to
    get the traceback instead.
    """
    import os

    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    args.argv = argv
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("n2d: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if os.environ.get("N2D_DEBUG"):
            raise
        msg = str(exc).strip() or type(exc).__name__
        print("n2d: error: " + msg.replace("\n", "\n  "), file=sys.stderr)
        return EXIT_ERROR
