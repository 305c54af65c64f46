"""The ``n2d`` command line: a thin front end over N2D, the datasets and the metrics."""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from n2d._util.names import class_path
from n2d._version import __version__
from n2d.cli._labels import write_labels
from n2d.cli._options import (
    add_columns_options,
    add_dataset_options,
    add_device_option,
    check_k_criterion,
    check_ranges,
    check_weights_file,
    choice,
    epochs_arg,
    fit_sample_arg,
    hidden_dims_arg,
    k_range_arg,
    n_clusters_arg,
)

EXIT_ERROR = 2
_MARKER = ".n2d-output.json"  # n2d.cli._outdir.MARKER, spelt out so that building the parser imports nothing


def _add_cluster(sub):
    from n2d.cluster._factory import CLUSTERERS
    from n2d.manifold._umap_learn import MANIFOLDS

    p = sub.add_parser(
        "cluster",
        help="cluster a dataset or a data file",
        description="Fit N2D on a named dataset (e.g. pendigits) or a .npy/.npz/.csv file; "
        "print time per stage and, when labels are known, ACC/NMI/ARI; write labels, the model and result.json "
        "into the output folder. Every check that does not need the trained autoencoder runs before training.",
    )
    p.add_argument("data", help="dataset name (see 'n2d datasets list') or a .npy/.npz/.csv file")
    p.add_argument("--n-clusters", default=None,
                   help="number of clusters, at least 2, or 'auto' to estimate it without labels (default: the "
                        "dataset's classes; 'auto' for a data file without labels)")
    p.add_argument("--k-range", default=None, metavar="LOW,HIGH",
                   help="candidate cluster counts for --n-clusters auto (default: 2,30)")
    p.add_argument("--k-criterion", default=None, metavar="NAME",
                   help="how --n-clusters auto chooses k: auto (default: bic-knee, the knee of the mixture's BIC "
                        "curve, for gmm; silhouette for other clusterers), bic-knee, silhouette, icl or bic")
    p.add_argument("--epochs", default=None,
                   help="autoencoder epochs: 'auto' (default: 2,000 optimizer steps up to 10,000 rows, growing "
                        "as sqrt(rows) above, 20 epochs on MNIST; sooner once the reconstruction leaves under 1%% "
                        "of the variance unexplained, 12-17 epochs on pendigits) or a number (1000 is the "
                        "paper's)")
    p.add_argument("--precision", choices=("auto", "float32", "bfloat16"), default=None,
                   help="training arithmetic: auto (default: bfloat16 mixed precision on CPUs with native bf16, "
                        "else float32), float32 or bfloat16")
    p.add_argument("--paper", action="store_true",
                   help="the paper's training: 1000 float32 epochs (same as --epochs 1000 --precision float32)")
    p.add_argument("--batch-size", type=int, default=256,
                   help="autoencoder batch size (default: 256)")
    p.add_argument("--hidden-dims", default="500,500,2000", help="encoder widths (default: 500,500,2000)")
    p.add_argument("--manifold", default="umap", help=f"{', '.join(MANIFOLDS)} or none (default: umap)")
    p.add_argument("--clusterer", default="gmm", help=f"{', '.join(CLUSTERERS)} (default: gmm)")
    p.add_argument("--seed", type=int, default=0,
                   help="random seed (default: 0); reproducible on CPU")
    p.add_argument(
        "--n-init", type=int, default=1,
        help="whole N2D runs (seeds seed..seed+n-1); keep the one that agrees most with the others (default: 1)",
    )
    add_device_option(p)
    p.add_argument(
        "--fit-sample", default="auto", metavar="N|auto|all",
        help="rows the manifold and clusterer are fitted on at most; the others are placed by transform/predict "
        "(default: auto, 100,000; all: every row)",
    )
    add_dataset_options(p)
    p.add_argument("--label-column", help="CSV column (name or 0-based index) holding true labels")
    add_columns_options(p)
    p.add_argument(
        "--out",
        help="output folder (default: n2d-out/<data name>): new, empty, or written by n2d cluster before "
        f"(marked by {_MARKER}); files n2d did not write are never overwritten",
    )
    p.add_argument("--no-cache", action="store_true", help="train the autoencoder even if cached weights exist")
    p.add_argument(
        "--weights", metavar="FILE",
        help="pretrained autoencoder weights: .safetensors (Autoencoder.save_weights) or a Keras .h5 of the "
        "paper's code (needs h5py); nothing is trained",
    )
    p.add_argument(
        "--plot",
        action="store_true",
        help="also write clusters.png: predicted clusters (and true classes) on a 2-D UMAP of the code; needs matplotlib",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_cluster)


# --------------------------------------------------------------------------- #
# Checks that run before any data is loaded or anything is trained
# --------------------------------------------------------------------------- #


def _check_cluster_args(args) -> dict:
    """Validate every option that does not need the data; returns the N2D settings they give."""
    from n2d._util.device import resolve_device
    from n2d.cluster._factory import CLUSTERERS
    from n2d.manifold._umap_learn import MANIFOLDS

    from n2d.cluster._select_k import CRITERIA, DEFAULT_CRITERION, K_RANGE, check_k_range

    args.n_clusters = n_clusters_arg(args.n_clusters)
    args.k_options_given = args.k_range is not None or args.k_criterion is not None
    args.k_range = K_RANGE if args.k_range is None else k_range_arg(args.k_range)
    check_k_range(args.k_range, owner="n2d cluster (--k-range)")
    args.k_criterion = choice("--k-criterion", args.k_criterion or DEFAULT_CRITERION, ("auto", *CRITERIA))
    if args.n_clusters not in (None, "auto") and args.k_options_given:
        raise ValueError("--k-range and --k-criterion apply to --n-clusters auto; drop them or use --n-clusters auto.")
    check_ranges((
        ("--n-clusters", None if args.n_clusters == "auto" else args.n_clusters, 2, None),
        ("--batch-size", args.batch_size, 1, None),
        ("--n-init", args.n_init, 1, None),
        ("--seed", args.seed, 0, 2**32 - 1),
    ))
    args.fit_sample = fit_sample_arg(args.fit_sample)
    args.epochs = epochs_arg(args.epochs)
    if args.paper:
        if args.epochs not in (None, 1000) or args.precision not in (None, "float32"):
            raise ValueError(
                "--paper means --epochs 1000 --precision float32; drop --epochs/--precision or drop --paper."
            )
        args.epochs, args.precision = 1000, "float32"
    args.epochs = "auto" if args.epochs is None else args.epochs
    args.precision = args.precision or "auto"
    manifold = choice("--manifold", args.manifold, (*MANIFOLDS, "none"))
    clusterer = choice("--clusterer", args.clusterer, CLUSTERERS)
    if args.n_clusters == "auto":
        check_k_criterion(args.k_criterion, clusterer)
    hidden = hidden_dims_arg(args.hidden_dims)
    device = resolve_device(args.device)  # e.g. cuda without a GPU: fail now, not after loading the data
    if args.plot:
        from n2d.plotting import _matplotlib

        _matplotlib()  # fail now, not after a long fit, if matplotlib is missing
    if args.weights is not None:
        check_weights_file(args.weights)
    return dict(
        manifold=None if manifold == "none" else manifold, clusterer=clusterer, hidden_dims=hidden, device=str(device)
    )


def _source_name(args) -> tuple[bool, str]:
    """(is a file, short name) of the data argument, without loading it; unknown dataset names raise."""
    from n2d._util.datafiles import SUFFIXES
    from n2d.datasets import dataset_info
    from n2d.exceptions import DataFileError

    data = args.data
    if Path(data).suffix.lower() in SUFFIXES or Path(data).exists():
        if not Path(data).is_file():
            raise DataFileError(f"Data file not found: {data}")
        return True, Path(data).stem
    return False, dataset_info(data)["name"]


def _load_input(args, is_file: bool):
    """Features, labels (or None), class names (or None), feature names (or None) and the number of clusters."""
    from n2d._util.datafiles import read_data
    from n2d.datasets import load_dataset

    if is_file:
        d = read_data(args.data, args.label_column, args.columns, args.drop_columns)
        k = args.n_clusters
        if k is None:  # no labels: estimate k; labels: as many clusters as classes
            k = "auto" if d.y is None else len(np.unique(d.y))
        return d.x, d.y, None, d.feature_names, k
    if args.label_column is not None or args.columns is not None or args.drop_columns is not None:
        raise ValueError("--label-column, --columns and --drop-columns apply to data files, not to named datasets.")
    ds = load_dataset(args.data, data_home=args.data_dir, download=not args.no_download)
    return ds.x, ds.y, ds.target_names, None, args.n_clusters or ds.n_clusters


def _jsonable(value):
    """A JSON-safe copy of a parameter value (numbers, strings, lists, dicts; anything else as its repr)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, Path):
        return str(value)
    return repr(value)


def _stage_record(est):
    if est is None:
        return None
    cls = type(est)
    params = est.get_params(deep=False) if hasattr(est, "get_params") else {}
    return {"class": class_path(cls), "params": _jsonable(params)}


def _run_report(model, args) -> tuple[list[dict], str]:
    """Per run: seed and where its autoencoder came from; and the line that says so."""
    sources = getattr(model, "autoencoder_sources_", None) or [None] * args.n_init
    trained_epochs = getattr(model, "autoencoder_epochs_", None) or [0] * len(sources)
    runs, words = [], []
    for i, (source, trained) in enumerate(zip(sources, trained_epochs)):
        seed = args.seed + i
        epochs = trained if source == "trained" else 0
        runs.append({"run": i, "seed": seed, "autoencoder": source, "epochs_trained": epochs})
        what = {
            "trained": f"trained {trained} epochs", "cache": "reused cached weights", "weights": "given weights",
        }.get(source, "none")
        words.append(what if len(sources) == 1 else f"run {i} (seed {seed}) {what}")
    line = "autoencoder: " + words[0] if len(sources) == 1 else (
        "autoencoders: " + "; ".join(words) + f"; kept run {model.best_init_}"
    )
    return runs, line


def cmd_cluster(args) -> int:
    from n2d import N2D
    from n2d._util.provenance import environment
    from n2d.cli._outdir import MODEL, OutputFolder
    from n2d.autoencoder._estimator import Autoencoder
    from n2d.metrics import evaluate

    settings = _check_cluster_args(args)
    is_file, name = _source_name(args)
    out = Path(args.out or Path("n2d-out") / name)
    maybe_auto = args.n_clusters == "auto" or (is_file and args.n_clusters is None)
    planned = [MODEL, "labels.csv", "result.json"] + (["clusters.png"] if args.plot else [])
    planned += ["k_scores.png"] if args.plot and maybe_auto else []
    folder = OutputFolder.claim(out, planned)  # refuse a user's folder or file before anything expensive
    x, y, names, feature_names, k = _load_input(args, is_file)
    verbose = 0 if args.quiet else 1
    model = N2D(
        n_clusters=k,
        autoencoder=Autoencoder(cache=not args.no_cache, weights=args.weights, precision=args.precision),
        manifold=settings["manifold"],
        clusterer=settings["clusterer"],
        n_init=args.n_init,
        k_range=args.k_range,
        k_criterion=args.k_criterion,
        hidden_dims=settings["hidden_dims"],
        epochs=args.epochs,
        batch_size=args.batch_size,
        random_state=args.seed,
        device=args.device,
        fit_sample=args.fit_sample,
        verbose=verbose,
    )
    if k == "auto":
        from n2d.cluster._select_k import check_k_range

        check_k_criterion(args.k_criterion, settings["clusterer"])  # also when auto because the file has no labels
        if settings["clusterer"] != "hdbscan":  # HDBSCAN finds k itself: no candidates to check
            check_k_range(args.k_range, x.shape[0], owner="n2d cluster (--k-range)")  # before training
        into = f"k clusters, k in {args.k_range[0]}..{args.k_range[1]} chosen by criterion {args.k_criterion}"
        if settings["clusterer"] == "hdbscan":
            into = "the clusters HDBSCAN finds"
    elif args.k_options_given:
        raise ValueError(
            f"--k-range and --k-criterion apply only when k is estimated, but {args.data} has labels, so k is "
            f"their {k} classes; add --n-clusters auto to estimate it."
        )
    else:
        into = f"{k} clusters"
    print(f"n2d {__version__}: clustering {name} ({x.shape[0]} x {x.shape[1]}) into {into}", flush=True)
    started = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    labels = model.fit_predict(x)
    total = time.perf_counter() - t0
    if feature_names is not None:
        model.feature_names_in_ = np.asarray(feature_names, dtype=object)  # predict then matches columns by name
    runs, how = _run_report(model, args)
    if k == "auto":
        how_k = (f"chosen by {model.k_criterion_} among {args.k_range[0]}..{args.k_range[1]}"
                 if hasattr(model, "k_scores_") else "found by HDBSCAN")
        noise = int(np.sum(model.labels_ < 0))
        print(f"clusters: {model.n_clusters_} ({how_k})" + (f"; {noise} noise points (label -1)" if noise else ""))
    print(f"device: {model.device_}; {how}")
    for stage, sec in model.timings_.items():
        print(f"  {stage:<12} {sec:8.1f} s")
    print(f"  {'total':<12} {total:8.1f} s")
    result = {
        "data": name,
        "source": str(Path(args.data).resolve()) if is_file else f"dataset {name}",
        "n_samples": int(x.shape[0]),
        "n_features": int(x.shape[1]),
        "feature_names": feature_names,
        "n_clusters": int(model.n_clusters_),
        "n_clusters_requested": k,
        "k_search": None if not hasattr(model, "k_scores_") else {
            "criterion": model.k_criterion_,
            "candidates": model.k_candidates_.tolist(),
            "scores": [None if not np.isfinite(v) else float(v) for v in model.k_scores_],
        },
        "settings": {
            "epochs": args.epochs,
            "epochs_resolved": getattr(model.autoencoder_, "epochs_", None),
            "precision": args.precision,
            "precision_used": getattr(model.autoencoder_, "precision_", None),
            "batch_size": args.batch_size,
            "hidden_dims": list(settings["hidden_dims"]),
            "seed": args.seed,
            "n_init": args.n_init,
            "fit_sample": args.fit_sample,
            "fit_sample_size": int(model.fit_sample_size_),
            "manifold": settings["manifold"] or "none",
            "clusterer": settings["clusterer"],
            "device": args.device,
            "device_used": model.device_,
            "cache": not args.no_cache,
            "weights": None if args.weights is None else str(Path(args.weights).resolve()),
            "label_column": args.label_column,
            "columns": args.columns,
            "drop_columns": args.drop_columns,
        },
        "stages": {
            "autoencoder": _stage_record(model.autoencoder_),
            "manifold": _stage_record(model.manifold_),
            "clusterer": _stage_record(model.clusterer_),
        },
        "runs": runs,
        "best_init": int(model.best_init_),
        "init_scores": [float(s) for s in model.init_scores_],
        "seconds": model.timings_,
        "total_seconds": total,
        "started": started.isoformat(timespec="seconds"),
        "command": shlex.join(["n2d", *getattr(args, "argv", sys.argv[1:])]),
        "environment": environment(),
    }
    if y is not None:
        scores = evaluate(y, labels)
        result.update(scores)
        print("ACC {acc:.4f}  NMI {nmi:.4f}  ARI {ari:.4f}".format(**scores))
    if not hasattr(model, "k_scores_"):
        planned = [n for n in planned if n != "k_scores.png"]  # no search, no plot of it
    folder = OutputFolder.claim(out, planned)  # again: the folder may have changed during the fit
    folder.begin(planned)
    model.save(out / MODEL)
    folder.done(MODEL)
    write_labels(out / "labels.csv", labels, y)
    folder.done("labels.csv")
    if args.plot:
        from n2d.plotting import plot_model

        print("plotting: 2-D UMAP of the code ...", flush=True)
        t1 = time.perf_counter()
        plot_model(model, x, y, labels=labels, target_names=names, path=out / "clusters.png", title=f"N2D on {name}")
        result["plot_seconds"] = time.perf_counter() - t1
        folder.done("clusters.png")
    else:
        folder.remove_stale("clusters.png")  # an earlier run's plot would not show these labels
    if args.plot and hasattr(model, "k_scores_"):
        from n2d.plotting import plot_k_scores

        plot_k_scores(model, path=out / "k_scores.png")
        folder.done("k_scores.png")
    else:
        folder.remove_stale("k_scores.png")
    from n2d._util.files import atomic_path

    with atomic_path(out / "result.json") as tmp:
        tmp.write_text(json.dumps(result, indent=1) + "\n")
    folder.done("result.json")
    written = [out / n for n in planned]
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="n2d",
        description="N2D: (Not Too) Deep Clustering (McConville et al., ICPR 2020).",
    )
    parser.add_argument("--version", action="version", version=f"n2d {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    from n2d.cli import cache, datasets, predict, reproduce

    _add_cluster(sub)
    predict.add_parser(sub)
    reproduce.add_parser(sub)
    datasets.add_parser(sub)
    cache.add_parser(sub)
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


