"""What ``n2d cluster`` tells about a fit: the printed summary and the record written as ``result.json``.

The record says how the result was made, so that it can be made again: the
data, every setting as given and as resolved, each stage's class and
parameters, where each run's autoencoder came from, the command line and the
software and hardware it ran on. The docs describe it on the
command-line page (``docs/guide/cli.rst``).
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import numpy as np

from n2d._util.names import class_path
from n2d.cluster._select_k import k_search_record


def run_report(model, n_init: int, seed: int) -> tuple[list[dict], str]:
    """Per run: seed and where its autoencoder came from; and the line that says so."""
    sources = getattr(model, "autoencoder_sources_", None) or [None] * n_init
    trained_epochs = getattr(model, "autoencoder_epochs_", None) or [0] * len(sources)
    runs, words = [], []
    for i, (source, trained) in enumerate(zip(sources, trained_epochs)):
        run_seed = seed + i
        epochs = trained if source == "trained" else 0
        runs.append({"run": i, "seed": run_seed, "autoencoder": source, "epochs_trained": epochs})
        what = {
            "trained": f"trained {trained} epochs", "cache": "reused cached weights", "weights": "given weights",
        }.get(source, "none")
        words.append(what if len(sources) == 1 else f"run {i} (seed {run_seed}) {what}")
    line = "autoencoder: " + words[0] if len(sources) == 1 else (
        "autoencoders: " + "; ".join(words) + f"; kept run {model.best_init_}"
    )
    return runs, line


def print_summary(model, autoencoder_line: str, total: float, estimated: bool = False) -> None:
    """Print the clusters found (and, when k was ``estimated``, how), the device, and time per stage."""
    if estimated:
        how_k = "found by HDBSCAN"
        if hasattr(model, "k_scores_"):
            from n2d.cluster._select_k import describe_k_evidence

            ks = model.k_candidates_  # the range searched, grown past k_range where the search grew it
            how_k = (f"chosen by {model.k_criterion_} among {ks[0]}..{ks[-1]}; "
                     f"{describe_k_evidence(model.k_evidence_)}")
        noise = int(np.sum(model.labels_ < 0))
        print(f"clusters: {model.n_clusters_} ({how_k})" + (f"; {noise} noise points (label -1)" if noise else ""))
    print(f"device: {model.device_}; {autoencoder_line}")
    for setting, value in getattr(model, "adjustments_", {}).items():
        print(f"adjusted to run on this data: {setting} = {value:g}")
    for stage, sec in model.timings_.items():
        print(f"  {stage:<12} {sec:8.1f} s")
    print(f"  {'total':<12} {total:8.1f} s")


def result_record(args, plan, data, fitted, runs: list[dict]) -> dict:
    """The ``result.json`` record of a fit (the scores are added by the caller when labels are known).

    ``plan``, ``data`` and ``fitted`` are :class:`n2d.cli.cluster.Plan`,
    :class:`~n2d.cli.cluster.Data` and :class:`~n2d.cli.cluster.Fitted`.
    """
    from n2d._util.provenance import environment

    model, x = fitted.model, data.x
    return {
        "data": plan.name,
        "source": str(Path(args.data).resolve()) if plan.is_file else f"dataset {plan.name}",
        "n_samples": int(x.shape[0]),
        "n_features": int(x.shape[1]),
        "feature_names": data.feature_names,
        "n_clusters": int(model.n_clusters_),
        "n_clusters_requested": data.k,
        "k_search": k_search_record(model),
        "settings": _settings_record(args, plan, model),
        "stages": {
            "autoencoder": stage_record(model.autoencoder_),
            "manifold": stage_record(model.manifold_),
            "clusterer": stage_record(model.clusterer_),
        },
        "adjustments": {k: float(v) for k, v in getattr(model, "adjustments_", {}).items()},
        "runs": runs,
        "best_init": int(model.best_init_),
        "init_scores": [float(s) for s in model.init_scores_],
        "seconds": model.timings_,
        "total_seconds": fitted.total,
        "started": fitted.started.isoformat(timespec="seconds"),
        "command": shlex.join(["n2d", *getattr(args, "argv", sys.argv[1:])]),
        "environment": environment(),
    }


def _settings_record(args, plan, model) -> dict:
    """Every setting as given on the command line, and as resolved where the fit settled it."""
    return {
        "epochs": args.epochs,
        "epochs_resolved": getattr(model.autoencoder_, "epochs_", None),
        "precision": args.precision,
        "precision_used": getattr(model.autoencoder_, "precision_", None),
        "batch_size": args.batch_size,
        "hidden_dims": list(plan.hidden_dims),
        "seed": args.seed,
        "n_init": args.n_init,
        "fit_sample": args.fit_sample,
        "fit_sample_size": int(model.fit_sample_size_),
        "manifold": plan.manifold or "none",
        "clusterer": plan.clusterer,
        "device": args.device,
        "device_used": model.device_,
        "cache": not args.no_cache,
        "weights": None if args.weights is None else str(Path(args.weights).resolve()),
        "label_column": args.label_column,
        "columns": args.columns,
        "drop_columns": args.drop_columns,
    }


def stage_record(est) -> dict | None:
    """A stage's class path and parameters, JSON-safe (None for a skipped stage)."""
    if est is None:
        return None
    cls = type(est)
    params = est.get_params(deep=False) if hasattr(est, "get_params") else {}
    return {"class": class_path(cls), "params": jsonable(params)}


def jsonable(value):
    """A JSON-safe copy of a parameter value (numbers, strings, lists, dicts; anything else as its repr)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, Path):
        return str(value)
    return repr(value)
