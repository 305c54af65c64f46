"""Sphinx extension for n2d's docs: the command-line reference and checks of the examples.

``.. n2d-cli::``
    Writes the reference of every ``n2d`` command, sub-command and option from
    :func:`n2d.cli.build_parser` when the docs are built, so the page cannot
    drift from the parser: usage, description, and each argument with its
    help text, choices and default.

Example checks (run on every page, every build; a failure is a Sphinx warning,
so ``-W`` turns it into a failed build):

- Every ``python`` code block that is not executed as a doctest is parsed, and
  each call of a public n2d class, function or method (``N2D(...)``,
  ``n2d.dask.predict(...)``, ``nd.n2d(...)``, ``model.save(...)``...) is bound
  to the callable's real signature: a renamed or removed parameter, or a
  wrong number of positional arguments, fails the build.
- Every ``bash``/``console`` line that starts with ``n2d`` is parsed by the
  real argument parser (nothing runs): an unknown option or sub-command, or a
  bad choice, fails the build.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import importlib
import inspect
import io
import re
import shlex

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles

logger = logging.getLogger(__name__)

PUBLIC_MODULES = (
    "n2d", "n2d.autoencoder", "n2d.manifold", "n2d.cluster", "n2d.metrics", "n2d.plotting", "n2d.datasets",
    "n2d.cache", "n2d.persistence", "n2d.compat", "n2d.dask", "n2d.reproduce", "n2d.exceptions",
    "n2d.estimator",
)

# --------------------------------------------------------------------------- #
# The command-line reference
# --------------------------------------------------------------------------- #

_RST_SPECIAL = re.compile(r"([\\`*_|\[\]<>])")


def _escape(text: str) -> str:
    """Plain text as inline reST: no markup, no references."""
    return _RST_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


USAGE_WIDTH = 64
"""Columns of the usage lines, whatever the terminal that builds the docs."""


def _formatter(parser):
    return argparse.HelpFormatter(parser.prog, width=USAGE_WIDTH)


def _usage(parser) -> str:
    formatter = _formatter(parser)
    formatter.add_usage(parser.usage, parser._actions, parser._mutually_exclusive_groups)
    return formatter.format_help().strip()


def _subparsers(parser):
    return [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]


def _option_signature(formatter, action) -> str:
    if not action.option_strings:
        return formatter._format_args(action, action.dest)  # positional: its metavar
    if action.nargs == 0:
        return ", ".join(action.option_strings)
    args = formatter._format_args(action, action.dest.upper())
    return ", ".join(f"{o} {args}" for o in action.option_strings)


def _help(formatter, action) -> str:
    text = formatter._expand_help(action) if action.help else ""
    default = action.default
    if (
        action.option_strings
        and action.nargs != 0
        and default not in (None, argparse.SUPPRESS)
        and "default" not in text
    ):
        text = f"{text} (default: {default})".strip()
    return text


def _parser_lines(parser, prog: str, level: int, help_text: str | None) -> list[str]:
    adornment = "-~^\""[level]
    title = f"``{prog}``"
    out = [title, adornment * len(title), ""]
    if help_text:
        out += [_escape(help_text[0].upper() + help_text[1:]) + ".", ""]
    out += [".. code-block:: text", ""]
    out += ["   " + line for line in _usage(parser).splitlines()]
    out += [""]
    if parser.description and parser.description != help_text:
        out += [_escape(parser.description), ""]
    formatter = _formatter(parser)
    out += [f".. program:: {prog}", ""]
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        out += [f".. option:: {_option_signature(formatter, action)}", ""]
        text = _help(formatter, action)
        if action.choices and action.option_strings:
            choices = ", ".join(f"``{c}``" for c in action.choices)
            text = f"{text} One of {choices}." if text else f"One of {choices}."
            out += ["   " + _escape(text).replace("\\`\\`", "``"), ""]
        elif text:
            out += ["   " + _escape(text), ""]
    for sub_action in _subparsers(parser):
        helps = {a.dest: a.help for a in sub_action._choices_actions}
        for name, sub in sub_action.choices.items():
            out += _parser_lines(sub, f"{prog} {name}", level + 1, helps.get(name))
    return out


def cli_reference_lines() -> list[str]:
    """The reST of the whole command line, from ``n2d.cli.build_parser()``."""
    from n2d.cli import build_parser

    parser = build_parser()
    lines = []
    formatter = _formatter(parser)
    lines += [".. code-block:: text", ""] + ["   " + line for line in _usage(parser).splitlines()]
    lines += ["", ".. program:: n2d", ""]
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        lines += [f".. option:: {_option_signature(formatter, action)}", "",
                  "   " + _escape(_help(formatter, action)), ""]
    for sub_action in _subparsers(parser):
        helps = {a.dest: a.help for a in sub_action._choices_actions}
        for name, sub in sub_action.choices.items():
            lines += _parser_lines(sub, f"n2d {name}", 0, helps.get(name))
    return lines


class CliReference(SphinxDirective):
    """``.. n2d-cli::`` -- the reference of every command and option, from the parser itself."""

    has_content = False

    def run(self):
        lines = cli_reference_lines()
        node = nodes.section()
        node.document = self.state.document
        nested_parse_with_titles(self.state, StringList(lines, source="n2d.cli.build_parser()"), node)
        return node.children


# --------------------------------------------------------------------------- #
# Checks of the code examples that are not executed
# --------------------------------------------------------------------------- #


def _public_callables():
    """Short name -> callable for n2d's public classes/functions; method name -> method when unique."""
    by_name, methods = {}, {}
    for modname in PUBLIC_MODULES:
        try:
            mod = importlib.import_module(modname)
        except ImportError:  # n2d.dask without dask: its calls are then not checked
            continue
        for name in getattr(mod, "__all__", ()):
            obj = getattr(mod, name, None)
            if callable(obj):
                by_name.setdefault(name, obj)
            if inspect.isclass(obj) and obj.__module__.startswith("n2d"):
                for mname, fn in vars(obj).items():
                    if mname.startswith("_") or not callable(fn) and not isinstance(fn, (classmethod, staticmethod)):
                        continue
                    methods.setdefault(mname, set()).add((obj, mname))
    unique = {m: next(iter(v)) for m, v in methods.items() if len(v) == 1}
    return by_name, unique


def _resolve_dotted(parts):
    """``["n2d", "dask", "predict"]`` -> the object, or None."""
    if parts[0] == "nd":
        parts = ["n2d", *parts[1:]]
    if parts[0] != "n2d":
        return None
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return "missing"
        return obj
    return None


def _dotted(func) -> list[str] | None:
    parts = []
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if isinstance(func, ast.Name):
        return [func.id, *reversed(parts)]
    return None


def _check_call(call: ast.Call, by_name, methods):
    """Return an error message for a call that does not fit its n2d callable, else None."""
    parts = _dotted(call.func)
    if parts is None:
        return None
    bound_method = False
    if len(parts) == 1:
        target = by_name.get(parts[0])
    elif parts[0] in ("n2d", "nd"):
        target = _resolve_dotted(parts)
        if target == "missing":
            return f"{'.'.join(parts)} does not exist"
    elif parts[-1] in methods:  # model.save(...), harcluster.preTrainEncoder(...)
        cls, mname = methods[parts[-1]]
        raw = inspect.getattr_static(cls, mname)
        target = getattr(cls, mname)
        bound_method = not isinstance(raw, (classmethod, staticmethod))
    else:
        return None
    if target is None or not callable(target):
        return None
    if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
        return None
    try:
        sig = inspect.signature(target)
    except (TypeError, ValueError):
        return None
    args = [object()] * (len(call.args) + (1 if bound_method else 0))
    try:
        sig.bind(*args, **{k.arg: object() for k in call.keywords})
    except TypeError as exc:
        return f"{'.'.join(parts)}(...): {exc}"
    return None


def _check_python_block(text: str, by_name, methods) -> list[str]:
    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        return [f"python example does not parse: {exc.msg} (line {exc.lineno})"]
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            msg = _check_call(node, by_name, methods)
            if msg:
                problems.append(msg)
    return problems


def _check_shell_block(text: str) -> list[str]:
    from n2d.cli import build_parser

    problems = []
    logical = text.replace("\\\n", " ")
    for line in logical.splitlines():
        line = line.strip()
        if line.startswith("$ "):
            line = line[2:]
        for command in re.split(r"&&|;", line):
            command = command.strip()
            if not command.startswith("n2d "):
                continue
            try:
                argv = shlex.split(command, comments=True)[1:]
            except ValueError as exc:
                problems.append(f"{command!r}: {exc}")
                continue
            if "|" in argv or any(a.startswith("[") or a in ("...", "NAME", "DATA") for a in argv):
                continue  # a synopsis line, not a command
            parser = build_parser()
            err = io.StringIO()
            try:
                with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                    parser.parse_args(argv)
            except SystemExit as exc:
                if exc.code:
                    msg = err.getvalue().strip().splitlines()
                    problems.append(f"{command!r}: {msg[-1] if msg else 'refused by the parser'}")
    return problems


def check_examples(app, doctree):
    by_name, methods = _public_callables()
    docname = app.env.docname
    for block in doctree.findall(nodes.literal_block):
        if block.get("testnodetype") or "doctest" in block.get("classes", []):
            continue  # executed by the doctest builder
        language = block.get("language", "")
        text = block.astext()
        if text.lstrip().startswith(">>>"):
            continue  # a doctest block, executed by the doctest builder
        if language in ("python", "python3", "py"):
            problems = _check_python_block(text, by_name, methods)
        elif language in ("bash", "console", "shell", "sh"):
            problems = _check_shell_block(text)
        else:
            continue
        for msg in problems:
            logger.warning(f"code example: {msg}", location=(docname, block.line))


# --------------------------------------------------------------------------- #
# Every public name has a page
# --------------------------------------------------------------------------- #


def check_api_complete(app, env):
    """Warn about every name in a public module's ``__all__`` that the API reference does not document.

    A name re-exported by the package (``n2d.Autoencoder`` is
    ``n2d.autoencoder.Autoencoder``) counts as documented where either is.
    """
    documented = set(env.get_domain("py").objects)
    top = importlib.import_module("n2d")
    for modname in PUBLIC_MODULES:
        try:
            mod = importlib.import_module(modname)
        except ImportError:
            logger.warning(f"API reference: cannot import {modname} to check its names (is its extra installed?)")
            continue
        if modname not in documented and modname != "n2d.estimator":  # its one name, N2D, is n2d.N2D
            logger.warning(f"API reference: module {modname} has no page")
        names = getattr(mod, "__all__", None)
        if names is None:
            names = [n for n, o in vars(mod).items() if inspect.isclass(o) and o.__module__ == modname]
        for name in names:
            obj = getattr(mod, name)
            aliases = {f"{modname}.{name}"}
            aliases |= {f"n2d.{n}" for n in top.__all__ if getattr(top, n) is obj and not isinstance(obj, (str, int))}
            if not aliases & documented:
                logger.warning(f"API reference: {modname}.{name} is public (in __all__) but has no page")


def skip_sklearn_generated(app, what, name, obj, skip, options):
    """Leave out the ``set_*_request`` methods scikit-learn generates on every estimator class."""
    if re.fullmatch(r"set_\w+_request", name):
        return True
    return None


def setup(app):
    app.add_directive("n2d-cli", CliReference)
    app.connect("autodoc-skip-member", skip_sklearn_generated)
    app.connect("doctree-read", check_examples)
    app.connect("env-check-consistency", check_api_complete)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
