"""The ``n2d`` command line: a thin front end over N2D, the datasets and the metrics."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np

from ._version import __version__

EXIT_ERROR = 2


def _add_cluster(sub):
    p = sub.add_parser(
        "cluster",
        help="cluster a dataset or a data file",
        description="Fit N2D on a named dataset (e.g. pendigits) or a .npy/.npz/.csv file; "
        "print time per stage and, when labels are known, ACC/NMI/ARI; write labels and the model.",
    )
    p.add_argument("data", help="dataset name (see 'n2d datasets list') or a .npy/.npz/.csv file")
    p.add_argument("--n-clusters", type=int, help="number of clusters (default: the dataset's classes)")
    p.add_argument("--epochs", type=int, default=1000, help="autoencoder epochs (default: 1000, the paper's)")
    p.add_argument("--batch-size", type=int, default=256, help="autoencoder batch size (default: 256)")
    p.add_argument("--hidden-dims", default="500,500,2000", help="encoder widths (default: 500,500,2000)")
    p.add_argument("--manifold", default="umap", help="umap (default), tsne, isomap, lle or none")
    p.add_argument("--clusterer", default="gmm", help="gmm (default), kmeans, spectral or agglomerative")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0); reproducible on CPU")
    p.add_argument(
        "--n-init", type=int, default=1,
        help="whole N2D runs (seeds seed..seed+n-1); keep the one that agrees most with the others (default: 1)",
    )
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda or cuda:N")
    p.add_argument("--data-dir", help="directory holding the dataset files (default: $N2D_DATA_DIR or the cache)")
    p.add_argument("--no-download", action="store_true", help="fail instead of downloading missing dataset files")
    p.add_argument("--label-column", help="CSV column (name or 0-based index) holding true labels")
    p.add_argument("--out", help="output directory (default: n2d-out/<data name>)")
    p.add_argument("--no-cache", action="store_true", help="train the autoencoder even if cached weights exist")
    p.add_argument("--weights", help="pretrained autoencoder weights instead of training: .safetensors or a Keras .h5 of the paper's code")
    p.add_argument(
        "--plot",
        action="store_true",
        help="also write clusters.png: predicted clusters (and true classes) on a 2-D UMAP of the code; needs n2d[plot]",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_cluster)


def _add_predict(sub):
    p = sub.add_parser(
        "predict",
        help="predict clusters of new data with a saved model",
        description="Load a model written by 'n2d cluster' and write the cluster of each row of FILE.",
    )
    p.add_argument("model", help="model directory written by 'n2d cluster' (<out>/model)")
    p.add_argument("file", help=".npy, .npz or .csv file with the same features as the training data")
    p.add_argument("--label-column", help="CSV column holding true labels (scored if present)")
    p.add_argument("--out", help="labels CSV to write (default: <file stem>.labels.csv beside FILE)")
    p.set_defaults(func=cmd_predict)


def _load_input(args):
    """Features, labels (or None), class names (or None), a short name and the default k."""
    from ._files import SUFFIXES, read_data_file
    from .datasets import load_dataset

    data = args.data
    if Path(data).suffix.lower() in SUFFIXES or Path(data).exists():
        x, y = read_data_file(data, args.label_column)
        k = args.n_clusters
        if k is None:
            if y is None:
                raise ValueError(f"{data} has no labels, so --n-clusters is required.")
            k = len(np.unique(y))
        return x, y, None, Path(data).stem, k
    ds = load_dataset(data, data_home=args.data_dir, download=not args.no_download)
    return ds.x, ds.y, ds.target_names, ds.name, args.n_clusters or ds.n_clusters


def _write_labels(path: Path, labels, y_true=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    cols = [np.arange(len(labels)), labels] + ([y_true] if y_true is not None else [])
    header = "index,cluster" + (",true_label" if y_true is not None else "")
    with open(path, "w") as f:
        f.write(header + "\n")
        for row in zip(*cols):
            f.write(",".join(str(v) for v in row) + "\n")


def cmd_cluster(args) -> int:
    from . import N2D
    from .autoencoder import Autoencoder
    from .metrics import evaluate

    if args.plot:
        from .plotting import _matplotlib

        _matplotlib()  # fail now, not after a long fit, if matplotlib is missing
    x, y, names, name, k = _load_input(args)
    try:
        hidden = tuple(int(v) for v in str(args.hidden_dims).split(",") if v.strip())
    except ValueError:
        raise ValueError(f"--hidden-dims must be comma-separated integers, e.g. 500,500,2000; got {args.hidden_dims!r}.") from None
    manifold = None if args.manifold.lower() == "none" else args.manifold.lower()
    verbose = 0 if args.quiet else 1
    model = N2D(
        n_clusters=k,
        autoencoder=Autoencoder(cache=not args.no_cache, weights=args.weights),
        manifold=manifold,
        clusterer=args.clusterer.lower(),
        n_init=args.n_init,
        hidden_dims=hidden,
        epochs=args.epochs,
        batch_size=args.batch_size,
        random_state=args.seed,
        device=args.device,
        verbose=verbose,
    )
    out = Path(args.out or Path("n2d-out") / name)
    print(f"n2d {__version__}: clustering {name} ({x.shape[0]} x {x.shape[1]}) into {k} clusters", flush=True)
    t0 = time.perf_counter()
    labels = model.fit_predict(x)
    total = time.perf_counter() - t0
    ae = model.autoencoder_
    if ae is not None:
        how = {"cache": "reused cached weights", "weights": "given weights"}.get(ae.weights_source_, f"{ae.n_iter_} epochs")
        print(f"device: {model.device_}; autoencoder: {how}")
    for stage, sec in model.timings_.items():
        print(f"  {stage:<12} {sec:8.1f} s")
    print(f"  {'total':<12} {total:8.1f} s")
    result = {"data": name, "n_samples": int(x.shape[0]), "n_clusters": int(k), "seconds": model.timings_, "total_seconds": total}
    if y is not None:
        scores = evaluate(y, labels)
        result.update(scores)
        print("ACC {acc:.4f}  NMI {nmi:.4f}  ARI {ari:.4f}".format(**scores))
    _write_labels(out / "labels.csv", labels, y)
    model.save(out / "model")
    (out / "result.json").write_text(json.dumps(result, indent=1))
    written = [out / "labels.csv", out / "model", out / "result.json"]
    if args.plot:
        from .plotting import plot_model

        print("plotting: 2-D UMAP of the code ...", flush=True)
        plot_model(model, x, y, labels=labels, target_names=names, path=out / "clusters.png", title=f"N2D on {name}")
        written.append(out / "clusters.png")
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


def cmd_predict(args) -> int:
    from ._files import read_data_file
    from .estimator import N2D
    from .metrics import evaluate

    model = N2D.load(args.model)
    x, y = read_data_file(args.file, args.label_column)
    if x.shape[1] != model.n_features_in_:
        raise ValueError(
            f"{args.file} has {x.shape[1]} features, but the model at {args.model} was fitted on {model.n_features_in_}."
        )
    labels = model.predict(x)
    out = Path(args.out) if args.out else Path(args.file).with_suffix(".labels.csv")
    _write_labels(out, labels, y)
    if y is not None:
        print("ACC {acc:.4f}  NMI {nmi:.4f}  ARI {ari:.4f}".format(**evaluate(y, labels)))
    print(f"wrote {len(labels)} labels to {out}")
    return 0


def _add_reproduce(sub):
    from .reproduce import METHODS

    p = sub.add_parser(
        "reproduce",
        help="rebuild the paper's comparison table over several seeds",
        description="Run the paper's methods (raw-data baselines, AE + GMM, manifold learners, N2D variants) on "
        "datasets over several seeds; write every run (runs.jsonl/runs.csv), a summary (summary.json) and a Markdown "
        "table of mean +- std next to the paper's numbers (table.md). A rerun with the same --out resumes.",
    )
    p.add_argument("--datasets", default="pendigits", help="'all' or comma-separated names (default: pendigits)")
    p.add_argument(
        "--methods", default="all", help="'all' (default) or comma-separated: " + ", ".join(METHODS)
    )
    p.add_argument("--seeds", type=int, default=5, help="seeds for AE + GMM and N2D (default: 5)")
    p.add_argument("--baseline-seeds", type=int, help="seeds for the other methods (default: as --seeds)")
    p.add_argument("--out", default="n2d-reproduce", help="results folder (default: n2d-reproduce)")
    p.add_argument("--paper", action="store_true", help="the paper's 1000 autoencoder epochs (default: 50, for a CPU)")
    p.add_argument("--epochs", type=int, help="override the autoencoder epochs of the setting")
    p.add_argument("--n-samples", type=int, help="use a fixed random subset of each dataset (quick trials)")
    p.add_argument("--plot", action="store_true", help="write plots/<dataset>-<method>.png (needs n2d[plot])")
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda or cuda:N")
    p.add_argument("--data-dir", help="directory holding the dataset files (default: $N2D_DATA_DIR or the cache)")
    p.add_argument("--no-download", action="store_true", help="fail instead of downloading missing dataset files")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=cmd_reproduce)


def cmd_reproduce(args) -> int:
    from .reproduce import load_runs, reproduce

    reproduce(
        args.datasets, args.methods, args.seeds, args.baseline_seeds, args.out, paper=args.paper, epochs=args.epochs,
        n_samples=args.n_samples, plot=args.plot,
        data_home=args.data_dir, download=not args.no_download, device=args.device, verbose=0 if args.quiet else 1,
    )
    out = Path(args.out)
    print((out / "table.md").read_text(encoding="utf-8"))
    print(f"wrote {out / 'runs.csv'}, {out / 'summary.json'}, {out / 'table.md'}")
    failed = [r for r in load_runs(out) if r["status"] == "failed"]
    if failed:
        print(f"n2d reproduce: {len(failed)} run(s) failed; see 'reason' in {out / 'runs.csv'}", file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="n2d",
        description="N2D: (Not Too) Deep Clustering (McConville et al., ICPR 2020).",
    )
    parser.add_argument("--version", action="version", version=f"n2d {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_cluster(sub)
    _add_predict(sub)
    _add_reproduce(sub)
    from ._cli_datasets import add_parser as add_datasets

    add_datasets(sub)
    return parser


def main(argv=None) -> int:
    """Entry point of the ``n2d`` console script; returns the exit code.

    Errors print as one message without a traceback; set ``N2D_DEBUG=1`` to
    get the traceback instead.
    """
    import os

    parser = build_parser()
    args = parser.parse_args(argv)
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
