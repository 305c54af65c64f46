"""``n2d predict MODEL FILE``: label the rows of a data file with a model ``n2d cluster`` saved.

The labels file is checked before anything is loaded (n2d replaces only its
own labels files), the file's columns are matched to the model's features by
name where both have names, and rows are predicted and written in blocks, so a
memory-mapped ``.npy`` file larger than memory is labelled in bounded memory
(see the docs' big data page, ``docs/guide/big_data.rst``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from n2d.cli._labels import is_labels_file, write_label_blocks, write_labels
from n2d.cli._options import add_columns_options, chunk_size_arg


def add_parser(subparsers) -> None:
    """Register the ``predict`` sub-command on an argparse sub-parsers object; it runs :func:`run`."""
    p = subparsers.add_parser(
        "predict",
        help="predict clusters of new data with a saved model",
        description="Load a model written by 'n2d cluster' and write the cluster of each row of FILE. A CSV with "
        "a header is matched to the model's features by column name (in any order). Rows are predicted and "
        "written in blocks of --chunk-size rows; a .npy file is memory-mapped and read block by block, so a file "
        "larger than memory is labelled in bounded memory (.npz and .csv files are read into memory first). "
        "The labels file is written under a temporary name and renamed into place when complete.",
    )
    p.add_argument("model", help="model directory written by 'n2d cluster' (<out>/model)")
    p.add_argument("file", help=".npy, .npz or .csv file with the same features as the training data")
    p.add_argument("--label-column", help="CSV column holding true labels (scored if present)")
    add_columns_options(p)
    p.add_argument(
        "--out",
        help="labels CSV to write (default: <file stem>.labels.csv beside FILE); an existing file is replaced "
        "only if it is an n2d labels file",
    )
    p.add_argument(
        "--chunk-size", type=chunk_size_arg, default=None, metavar="N",
        help="rows predicted at a time, an integer >= 1 (default: 65536); bounds the memory used",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args) -> int:
    """Predict and write the labels (scored when the file has true labels); returns the exit code."""
    from n2d._util.streaming import DEFAULT_CHUNK_SIZE, predict_chunks
    from n2d.estimator import N2D
    from n2d.metrics import evaluate

    out = Path(args.out) if args.out else Path(args.file).with_suffix(".labels.csv")
    _check_out(out, Path(args.file), Path(args.model))
    model = N2D.load(args.model)
    x, keep, y = _features(model, args)
    chunk_size = args.chunk_size or DEFAULT_CHUNK_SIZE
    blocks = predict_chunks(model, x, chunk_size, columns=keep, where=args.file, progress=not args.quiet)
    if y is None:
        n = write_label_blocks(out, blocks)
    else:
        labels = np.concatenate([b for _, b in blocks]) if len(x) else np.empty(0, dtype=np.int64)
        write_labels(out, labels, y)
        n = len(labels)
        print("ACC {acc:.4f}  NMI {nmi:.4f}  ARI {ari:.4f}".format(**evaluate(y, labels)))
    print(f"wrote {n} labels to {out}")
    return 0


def _check_out(path: Path, data_file: Path, model_dir: Path) -> None:
    """Refuse, before loading anything, to write the labels over a file n2d did not write."""
    if path.resolve() == data_file.resolve():
        raise FileExistsError(f"--out {path} is the input file; give another name for the labels.")
    if path.resolve() == model_dir.resolve() or path.is_dir():
        raise FileExistsError(f"--out {path} is a folder; give a file name for the labels CSV.")
    if path.exists() and not is_labels_file(path):
        raise FileExistsError(
            f"Refusing to overwrite {path}: it is not a labels file written by n2d. "
            "Move it away or give another --out."
        )


def _features(model, args):
    """The rows to predict, the columns to keep of each block (or None) and the true labels (or None).

    A ``.npy`` file is memory-mapped and its columns picked block by block;
    any other file is read whole, and its columns matched to the model's.
    """
    from n2d._util.datafiles import map_npy, read_data

    if Path(args.file).suffix.lower() == ".npy":
        x, keep = map_npy(args.file, args.label_column, args.columns, args.drop_columns)
        _check_width(model, x.shape[1] if keep is None else len(keep), args.file)
        return x, keep, None
    d = read_data(args.file, args.label_column, args.columns, args.drop_columns)
    return _match_columns(model, d, args.file), None, d.y


def _match_columns(model, d, path) -> np.ndarray:
    """The features of ``d`` in the model's column order, matched by CSV header name where the model has names."""
    fitted = getattr(model, "feature_names_in_", None)
    x = d.x
    if fitted is None or d.feature_names is None:
        _check_width(model, x.shape[1], path)
        return x
    fitted = [str(n) for n in fitted]
    have = list(d.feature_names)
    missing = [n for n in fitted if n not in have]
    extra = [n for n in have if n not in fitted]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing column(s) {_some(missing)}")
        if extra:
            parts.append(f"column(s) {_some(extra)} the model was not fitted on")
        hint = " (leave them out with --drop-columns, or name a label column with --label-column)" if extra else ""
        raise ValueError(f"{path} does not match the model's features: {'; '.join(parts)}{hint}.")
    order = [have.index(n) for n in fitted]
    if order != list(range(len(order))):
        print(f"note: {path} has the model's columns in another order; they are matched by name", file=sys.stderr)
    return np.ascontiguousarray(x[:, order])


def _check_width(model, width: int, path) -> None:
    """Refuse a file without column names whose width is not the model's; note the order taken."""
    fitted = getattr(model, "feature_names_in_", None)
    if width != model.n_features_in_:
        raise ValueError(f"{path} has {width} features, but the model was fitted on {model.n_features_in_}.")
    if fitted is not None:
        print(
            f"note: {path} has no column names; its {width} columns are taken in the training order "
            f"({', '.join(str(n) for n in fitted[:5])}{', ...' if len(fitted) > 5 else ''})",
            file=sys.stderr,
        )


def _some(names, limit: int = 8) -> str:
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")

