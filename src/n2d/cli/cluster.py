"""``n2d cluster DATA``: fit N2D on a named dataset or a data file; write labels, the model and ``result.json``.

:func:`run` goes through these steps, each a function here:

- :func:`plan`: check every option, resolve the data source and claim the
  output folder, before anything is loaded or trained (a bad option, an
  unknown dataset or a user's folder fails at once, not after the fit);
- :func:`load` and :func:`fit`: read the data, check what needs it (k against
  its labels and rows), then fit;
- :func:`report`: print the summary and build the ``result.json`` record
  (:mod:`n2d.cli._report`);
- :func:`write`: write the model, labels, plots and record into the output
  folder, which :mod:`n2d.cli._outdir` claims again first, since it may have
  changed during the fit.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from n2d._util.params import MAX_SEED, PRECISIONS
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
    finds_k,
    fit_sample_arg,
    hidden_dims_arg,
    k_range_arg,
    n_clusters_arg,
)
from n2d.cli._outdir import MARKER, MODEL, OutputFolder
from n2d.cli._report import print_summary, result_record, run_report


def add_parser(subparsers) -> None:
    """Register the ``cluster`` sub-command on an argparse sub-parsers object; it runs :func:`run`."""
    p = subparsers.add_parser(
        "cluster",
        help="cluster a dataset or a data file",
        description="Fit N2D on a named dataset (e.g. pendigits) or a .npy/.npz/.csv file; "
        "print time per stage and, when labels are known, ACC/NMI/ARI; write labels, the model and result.json "
        "into the output folder. Every check that does not need the trained autoencoder runs before training.",
    )
    p.add_argument("data", help="dataset name (see 'n2d datasets list') or a .npy/.npz/.csv file")
    _add_model_options(p)
    add_device_option(p)
    p.add_argument(
        "--fit-sample", default="auto", metavar="N|auto|all",
        help="rows the manifold and clusterer are fitted on at most; the others are placed by transform/predict "
        "(default: auto, 100,000; all: every row)",
    )
    _add_input_output_options(p)
    p.set_defaults(func=run)


def _add_model_options(p) -> None:
    """The number of clusters and the stages' settings."""
    from n2d.cluster import CLUSTERERS
    from n2d.cluster._select_k import K_CEILING, K_RANGE, ROWS_PER_CLUSTER
    from n2d.manifold import MANIFOLDS

    p.add_argument("--n-clusters", default=None,
                   help="number of clusters, at least 2, or 'auto' to estimate it without labels (default: the "
                        "dataset's classes; 'auto' for a data file without labels)")
    p.add_argument("--k-range", default=None, metavar="auto|LOW,HIGH",
                   help=f"candidate cluster counts for --n-clusters auto (default: auto, which starts at "
                        f"{K_RANGE[0]},{K_RANGE[1]} and, with the consensus or bic-knee criterion, grows where the "
                        f"evidence asks, up to one cluster per {ROWS_PER_CLUSTER} rows and at most {K_CEILING})")
    p.add_argument("--k-criterion", default=None, metavar="NAME",
                   help="how --n-clusters auto chooses k: auto (default: consensus, the median of the knee of "
                        "the mixture's BIC curve, two votes of the code's neighbour graph and HDBSCAN's count, for "
                        "gmm; silhouette for other clusterers), consensus, bic-knee, silhouette, icl or bic")
    p.add_argument("--epochs", default=None,
                   help="autoencoder epochs: 'auto' (default: 2,000 optimizer steps up to 10,000 rows, growing "
                        "as sqrt(rows) above, 20 epochs on MNIST; sooner once the reconstruction leaves under 1%% "
                        "of the variance unexplained, 12-17 epochs on pendigits) or a number (1000 is the "
                        "paper's)")
    p.add_argument("--precision", choices=PRECISIONS, default=None,
                   help="training arithmetic: auto (default: bfloat16 mixed precision on CPUs with native bf16, "
                        "else float32), float32 or bfloat16")
    p.add_argument("--paper", action="store_true",
                   help="the paper's settings: 1000 float32 epochs (same as --epochs 1000 --precision float32) and "
                        "a code width and UMAP dimension of k, whatever the data's shape")
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


def _add_input_output_options(p) -> None:
    """Where the data comes from and where the results go."""
    add_dataset_options(p)
    p.add_argument("--label-column", help="CSV column (name or 0-based index) holding true labels")
    add_columns_options(p)
    p.add_argument(
        "--out",
        help="output folder (default: n2d-out/<data name>): new, empty, or written by n2d cluster before "
        f"(marked by {MARKER}); files n2d did not write are never overwritten",
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
        help="also write clusters.png: predicted clusters (and true classes) on a 2-D UMAP of the code; "
        "needs matplotlib",
    )
    p.add_argument(
        "--report",
        action="store_true",
        help="also write report.html: an interactive page of the clusters that opens offline in a browser (map "
        "with hover, sizes, per-cluster summaries, scores, the k search, the run); needs bokeh",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")


# --------------------------------------------------------------------------- #
# The steps
# --------------------------------------------------------------------------- #


@dataclass
class Plan:
    """What :func:`plan` settled before any work: the stages, the data source and the output folder."""

    manifold: str | None
    clusterer: str
    hidden_dims: tuple
    device: str
    is_file: bool
    name: str
    out: Path
    entries: list
    """What the run will write into ``out`` (``"model"`` is the model folder)."""


@dataclass
class Data:
    """What :func:`load` read: features, true labels, class and feature names (or None) and k."""

    x: np.ndarray
    y: np.ndarray | None
    target_names: list | None
    feature_names: list | None
    k: int | str
    into: str
    """What the run clusters into, in words, for the line printed before the fit."""


@dataclass
class Fitted:
    """What :func:`fit` made: the model, its labels, when it started and how long it took in all."""

    model: object
    labels: np.ndarray
    started: datetime
    total: float


def run(args) -> int:
    """Plan, load, fit, report and write; returns the exit code (errors are raised)."""
    planned = plan(args)
    data = load(args, planned)
    fitted = fit(args, planned, data)
    result = report(args, planned, data, fitted)
    write(args, planned, data, fitted, result)
    return 0


def plan(args) -> Plan:
    """Check every option and resolve the data source, then claim the output folder: all before any loading.

    Normalises ``args`` in place (see :func:`check_options`).
    """
    settings = check_options(args)
    is_file, name = _source_name(args)
    out = Path(args.out or Path("n2d-out") / name)
    maybe_auto = args.n_clusters == "auto" or (is_file and args.n_clusters is None)
    entries = [MODEL, "labels.csv", "result.json"] + (["clusters.png"] if args.plot else [])
    entries += ["k_scores.png"] if args.plot and maybe_auto else []
    entries += ["report.html"] if args.report else []
    OutputFolder.claim(out, entries)  # refuse a user's folder or file before anything expensive
    return Plan(**settings, is_file=is_file, name=name, out=out, entries=entries)


def load(args, plan: Plan) -> Data:
    """Read the data; check what needs it (k from its labels, the candidates of k against its rows)."""
    from n2d._util.datafiles import read_data
    from n2d.datasets import load_dataset

    if plan.is_file:
        d = read_data(args.data, args.label_column, args.columns, args.drop_columns)
        k = args.n_clusters
        if k is None:  # no labels: estimate k; labels: as many clusters as classes
            k = "auto" if d.y is None else len(np.unique(d.y))
        x, y, target_names, feature_names = d.x, d.y, None, d.feature_names
    else:
        if args.label_column is not None or args.columns is not None or args.drop_columns is not None:
            raise ValueError("--label-column, --columns and --drop-columns apply to data files, not to named datasets.")
        ds = load_dataset(args.data, data_home=args.data_dir, download=not args.no_download)
        x, y, target_names, feature_names, k = ds.x, ds.y, ds.target_names, None, args.n_clusters or ds.n_clusters
    into = _check_k(args, plan, k, x.shape[0])
    return Data(x, y, target_names, feature_names, k, into)


def fit(args, plan: Plan, data: Data) -> Fitted:
    """Fit N2D on the data, with the settings of the options; prints what it clusters first."""
    from n2d import N2D
    from n2d.autoencoder._estimator import Autoencoder

    manifold, width = plan.manifold, {}
    if args.paper and data.k != "auto":  # the paper's sizes: code width and UMAP dimension k, whatever the data
        from n2d.manifold import make_manifold

        width = {"n_components": int(data.k)}
        manifold = None if manifold is None else make_manifold(manifold, **width)
    model = N2D(
        n_clusters=data.k,
        autoencoder=Autoencoder(cache=not args.no_cache, weights=args.weights, precision=args.precision, **width),
        manifold=manifold,
        clusterer=plan.clusterer,
        n_init=args.n_init,
        k_range=args.k_range,
        k_criterion=args.k_criterion,
        hidden_dims=plan.hidden_dims,
        epochs=args.epochs,
        batch_size=args.batch_size,
        random_state=args.seed,
        device=args.device,
        fit_sample=args.fit_sample,
        verbose=0 if args.quiet else 1,
    )
    n, d = data.x.shape
    print(f"n2d {__version__}: clustering {plan.name} ({n} x {d}) into {data.into}", flush=True)
    started = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    labels = model.fit_predict(data.x)
    total = time.perf_counter() - t0
    if data.feature_names is not None:
        model.feature_names_in_ = np.asarray(data.feature_names, dtype=object)  # predict then matches columns by name
    return Fitted(model, labels, started, total)


def report(args, plan: Plan, data: Data, fitted: Fitted) -> dict:
    """Print the summary (and the scores, when labels are known); returns the ``result.json`` record."""
    from n2d.metrics import evaluate

    runs, autoencoder_line = run_report(fitted.model, args.n_init, args.seed)
    print_summary(fitted.model, autoencoder_line, fitted.total, estimated=data.k == "auto")
    result = result_record(args, plan, data, fitted, runs)
    if data.y is not None:
        scores = evaluate(data.y, fitted.labels)
        result.update(scores)
        print("ACC {acc:.4f}  NMI {nmi:.4f}  ARI {ari:.4f}".format(**scores))
    return result


def write(args, plan: Plan, data: Data, fitted: Fitted, result: dict) -> None:
    """Write the model, labels, plots and ``result.json``, recording each in the folder's marker as it is done."""
    from n2d._util.files import atomic_path

    model, out = fitted.model, plan.out
    entries = plan.entries
    if not hasattr(model, "k_scores_"):
        entries = [n for n in entries if n != "k_scores.png"]  # no search, no plot of it
    folder = OutputFolder.claim(out, entries)  # again: the folder may have changed during the fit
    folder.begin(entries)
    model.save(out / MODEL)
    folder.done(MODEL)
    write_labels(out / "labels.csv", fitted.labels, data.y)
    folder.done("labels.csv")
    _write_plots(args, plan, data, fitted, result, folder)
    with atomic_path(out / "result.json") as tmp:
        tmp.write_text(json.dumps(result, indent=1) + "\n")
    folder.done("result.json")
    print("wrote " + ", ".join(str(out / n) for n in entries))


# --------------------------------------------------------------------------- #
# Helpers of the steps
# --------------------------------------------------------------------------- #


def check_options(args) -> dict:
    """Check every option that does not need the data; returns the N2D settings they give.

    Normalises ``args`` in place: ``n_clusters``, ``k_range``, ``k_criterion``,
    ``epochs``, ``precision`` and ``fit_sample`` become the values N2D takes.
    The checks run in a fixed order, so that a command with several bad options
    always names the same one.
    """
    from n2d._util.device import resolve_device
    from n2d.cluster import CLUSTERERS
    from n2d.manifold import MANIFOLDS

    _check_k_options(args)
    check_ranges((
        ("--n-clusters", None if args.n_clusters == "auto" else args.n_clusters, 2, None),
        ("--batch-size", args.batch_size, 1, None),
        ("--n-init", args.n_init, 1, None),
        ("--seed", args.seed, 0, MAX_SEED),
    ))
    _check_training_options(args)
    manifold = choice("--manifold", args.manifold, (*MANIFOLDS, "none"))
    clusterer = choice("--clusterer", args.clusterer, CLUSTERERS)
    if args.n_clusters == "auto":
        check_k_criterion(args.k_criterion, clusterer)
    hidden = hidden_dims_arg(args.hidden_dims)
    device = resolve_device(args.device)  # e.g. cuda without a GPU: fail now, not after loading the data
    if args.plot:
        from n2d.plotting import _matplotlib

        _matplotlib()  # fail now, not after a long fit, if matplotlib is missing
    if args.report:
        from n2d.report import _check_bokeh

        _check_bokeh()  # the same for bokeh
    if args.weights is not None:
        check_weights_file(args.weights)
    return dict(
        manifold=None if manifold == "none" else manifold, clusterer=clusterer, hidden_dims=hidden, device=str(device)
    )


def _check_k_options(args) -> None:
    """``--n-clusters``, ``--k-range`` and ``--k-criterion``: parsed, and the k options only with auto."""
    from n2d.cluster._select_k import CRITERIA, DEFAULT_CRITERION, check_k_range

    args.n_clusters = n_clusters_arg(args.n_clusters)
    args.k_options_given = args.k_range is not None or args.k_criterion is not None
    args.k_range = "auto" if args.k_range is None else k_range_arg(args.k_range)
    check_k_range(args.k_range, owner="n2d cluster (--k-range)")
    args.k_criterion = choice("--k-criterion", args.k_criterion or DEFAULT_CRITERION, ("auto", *CRITERIA))
    if args.n_clusters not in (None, "auto") and args.k_options_given:
        raise ValueError("--k-range and --k-criterion apply to --n-clusters auto; drop them or use --n-clusters auto.")


def _check_training_options(args) -> None:
    """``--fit-sample``, ``--epochs``, ``--precision`` and ``--paper`` (which means 1000 float32 epochs)."""
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


def _check_k(args, plan: Plan, k, n_rows: int) -> str:
    """Check the k options against the data; returns what the run clusters into, in words.

    A file without labels means k is estimated even without ``--n-clusters
    auto``, so the criterion is checked again here; a labelled file gives k
    (its classes), so k options would be ignored and are refused.
    """
    from n2d.cluster import make_clusterer
    from n2d.cluster._select_k import GROWING_CRITERIA, check_k_range, data_k_range, k_ceiling, resolve_criterion

    if k == "auto":
        check_k_criterion(args.k_criterion, plan.clusterer)
        if finds_k(plan.clusterer):  # HDBSCAN finds k itself: no candidates to check
            return "the clusters HDBSCAN finds"
        searched = data_k_range(args.k_range, n_rows)  # the default range, capped on a few rows as N2D caps it
        check_k_range(searched, n_rows, owner="n2d cluster (--k-range)")  # before training
        ceiling = k_ceiling(args.k_range, n_rows)
        grows = ""
        if ceiling and ceiling > searched[1] and resolve_criterion(
                args.k_criterion, make_clusterer(plan.clusterer)) in GROWING_CRITERIA:
            grows = f" (growing up to {ceiling} where the evidence asks)"
        return f"k clusters, k in {searched[0]}..{searched[1]}{grows} chosen by criterion {args.k_criterion}"
    if args.k_options_given:
        raise ValueError(
            f"--k-range and --k-criterion apply only when k is estimated, but {args.data} has labels, so k is "
            f"their {k} classes; add --n-clusters auto to estimate it."
        )
    return f"{k} clusters"


def _write_plots(args, plan: Plan, data: Data, fitted: Fitted, result: dict, folder) -> None:
    """With ``--plot``: clusters.png (its time goes into ``result``) and, after a search for k, k_scores.png;
    with ``--report``: report.html (its time too).

    Without, an earlier run's plots and report are removed if n2d wrote them and they
    are unchanged: they would not show these labels.
    """
    model, out = fitted.model, plan.out
    if args.plot:
        from n2d.plotting import plot_model

        print("plotting: 2-D UMAP of the code ...", flush=True)
        t1 = time.perf_counter()
        plot_model(model, data.x, data.y, labels=fitted.labels, target_names=data.target_names,
                   path=out / "clusters.png", title=f"N2D on {plan.name}")
        result["plot_seconds"] = time.perf_counter() - t1
        folder.done("clusters.png")
    else:
        folder.remove_stale("clusters.png")
    if args.plot and hasattr(model, "k_scores_"):
        from n2d.plotting import plot_k_scores

        plot_k_scores(model, path=out / "k_scores.png")
        folder.done("k_scores.png")
    else:
        folder.remove_stale("k_scores.png")
    if args.report:
        from n2d.report import write_report

        print("report: 2-D UMAP of the code and the page ...", flush=True)
        t1 = time.perf_counter()
        write_report(model, data.x, data.y, path=out / "report.html", training_data=True,
                     target_names=data.target_names, feature_names=data.feature_names, source=plan.name,
                     title=f"n2d on {plan.name}", overwrite=True)  # the folder is n2d's: claimed above
        result["report_seconds"] = time.perf_counter() - t1
        folder.done("report.html")
    else:
        folder.remove_stale("report.html")
