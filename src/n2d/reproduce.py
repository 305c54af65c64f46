"""Rebuild the paper's comparison: every method, several seeds, mean ± std beside the paper.

:func:`reproduce` (and ``n2d reproduce`` on the command line) runs, for each
dataset, the shallow baselines on the raw data (GMM, k-means, spectral
clustering), the autoencoder with a GMM and no manifold, Isomap / t-SNE / UMAP
on the raw data then a GMM, and N2D with Isomap, t-SNE and UMAP, plus N2D's
robust recipe (:data:`METHODS`). One set of hyper-parameters serves every
dataset (:data:`SETTINGS`); nothing is tuned on labels, which are used only to
score.

Every run is appended to ``runs.jsonl`` as soon as it ends, so an interrupted
study resumes where it stopped; ``runs.csv``, ``summary.json`` and
``table.md`` (mean ± std next to the paper's numbers) are rewritten after each
run. Autoencoders are trained once per dataset and seed, all seeds together
(:func:`n2d.autoencoder.fit_autoencoders`), and reused from the weight cache
by every method and every rerun.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path

import numpy as np

from n2d._util.files import atomic_path
from n2d._util.provenance import environment, package_versions

__all__ = ["METHODS", "SETTINGS", "Method", "reproduce", "paper_results", "summarize", "markdown_table", "load_runs"]

FORMAT_VERSION = 1
LARGE = 20_000
"""Isomap and raw-data spectral clustering are not run above this many samples.

Isomap's geodesic distance matrix is dense (70,000 points: 39 GB in float64)
and spectral clustering's eigen-solve on the raw 784-pixel graph takes hours
on a CPU; the paper, too, leaves Isomap out on the 70,000-image sets.
"""


@dataclass(frozen=True)
class Method:
    """One row of the comparison: which stages N2D runs with."""

    name: str
    label: str
    autoencoder: bool
    manifold: str | None
    clusterer: str
    main: bool = False  # run with --seeds (the others with --baseline-seeds)
    max_samples: int | None = None
    robust: bool = False
    gmm_starts: int | None = None  # None: the library's default (10)

    def build(self, n_clusters: int, seed: int, settings: dict, device: str):
        from n2d.autoencoder import Autoencoder
        from n2d.estimator import N2D

        ae = Autoencoder(**_ae_params(settings)) if self.autoencoder else None
        manifold = self.manifold
        if manifold == "umap":  # the setting says which: n2d's torch UMAP, or umap-learn on a CPU
            from n2d.manifold import UMAP, TorchUMAP

            umap = {"n_neighbors": settings["n_neighbors"], "min_dist": settings["min_dist"]}
            learn = settings.get("umap", "umap-learn on a CPU") != "n2d" and not device.startswith("cuda")
            manifold = UMAP(**umap) if learn else TorchUMAP(**umap, device=device)
        elif manifold is not None:
            from n2d.manifold import make_manifold

            manifold = make_manifold(manifold, n_components=n_clusters, n_neighbors=settings["n_neighbors"])
        clusterer = self.clusterer
        if self.gmm_starts is not None:
            from n2d.cluster import make_clusterer

            clusterer = make_clusterer("gmm", n_clusters).set_params(n_init=self.gmm_starts)
        return N2D(
            n_clusters,
            autoencoder=ae,
            manifold=manifold,
            clusterer=clusterer,
            n_init=settings["robust_runs"] if self.robust else 1,
            random_state=seed,
            device=device,
            verbose=0,
        )


METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        # One EM start on the raw data, as the paper's code: a full-covariance mixture
        # in 784 dimensions costs minutes per start on a CPU.
        Method("gmm", "GMM (raw data, 1 start)", False, None, "gmm", gmm_starts=1),
        Method("kmeans", "k-means (raw data)", False, None, "kmeans"),
        Method("spectral", "Spectral clustering (raw data)", False, None, "spectral", max_samples=LARGE),
        Method("isomap-gmm", "Isomap + GMM (raw data)", False, "isomap", "gmm", max_samples=LARGE),
        Method("tsne-gmm", "t-SNE + GMM (raw data)", False, "tsne", "gmm"),
        Method("umap-gmm", "UMAP + GMM (raw data)", False, "umap", "gmm"),
        Method("ae-gmm", "AE + GMM", True, None, "gmm", main=True),
        Method("n2d-isomap", "N2D with Isomap", True, "isomap", "gmm", max_samples=LARGE),
        Method("n2d-tsne", "N2D with t-SNE", True, "tsne", "gmm"),
        Method("n2d", "N2D (UMAP)", True, "umap", "gmm", main=True),
        Method("n2d-robust", "N2D, consensus of 3 runs", True, "umap", "gmm", main=True, robust=True),
    )
}
"""The methods, in table order; keys are the names ``--methods`` takes."""

_COMMON = {
    "hidden_dims": [500, 500, 2000],
    "batch_size": 256,
    "lr": 1e-3,
    "n_neighbors": 20,
    "min_dist": 0.0,
    "gmm": "full covariance, 10 restarts, best by likelihood",
    "robust_runs": 3,
}
SETTINGS: dict[str, dict] = {
    "default": {"epochs": "auto", "precision": "auto", "umap": "n2d", **_COMMON},
    "cpu": {"epochs": 50, **_COMMON},  # float32, umap-learn on a CPU (the keys' defaults)
    "paper": {"epochs": 1000, "precision": "float32", "umap": "umap-learn on a CPU", **_COMMON},
}
"""``"default"`` is what ``N2D()`` does: ``epochs="auto"`` (a number of optimizer
steps that grows with the rows, see :func:`n2d.autoencoder._training.auto_steps`), bfloat16 mixed
precision where the CPU has it, n2d's torch UMAP. ``"paper"`` is the paper's 1000 float32 epochs, for a GPU, with
umap-learn (the paper's library) on a CPU. ``"cpu"`` is the earlier CPU
setting (50 float32 epochs, umap-learn), under which
``benchmarks/results/reproduce-cpu`` was made. Everything else is the paper's and the same for every dataset."""

_CSV_FIELDS = (
    "dataset", "method", "seed", "status", "acc", "nmi", "ari", "seconds", "ae_seconds",
    "n_samples", "n_features", "n_clusters", "setting", "device", "reason", "finished",
)


# --------------------------------------------------------------------------- #
# paper numbers
# --------------------------------------------------------------------------- #


def paper_results() -> dict[tuple[str, str], dict]:
    """The paper's ACC and NMI by (dataset, method), from the package's ``paper_results.csv``.

    The file's header comments give the citation and which table each number
    was read from; methods the paper table does not report are absent.
    """
    text = resources.files("n2d").joinpath("paper_results.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(line for line in io.StringIO(text) if not line.startswith("#"))
    out = {}
    for row in rows:
        if row["acc"] or row["nmi"]:
            out[(row["dataset"], row["method"])] = {
                "acc": float(row["acc"]) if row["acc"] else None,
                "nmi": float(row["nmi"]) if row["nmi"] else None,
            }
    return out


# --------------------------------------------------------------------------- #
# arguments
# --------------------------------------------------------------------------- #


def _names(value, allowed, what: str) -> list[str]:
    if isinstance(value, str):
        items = [v.strip().lower() for v in value.split(",") if v.strip()]
    else:
        items = [str(v).strip().lower() for v in value]
    if items == ["all"]:
        return list(allowed)
    if not items:
        raise ValueError(f"No {what} given; expected 'all' or a comma-separated list of {', '.join(allowed)}.")
    unknown = [v for v in items if v not in allowed]
    if unknown:
        raise ValueError(
            f"Unknown {what} {', '.join(map(repr, unknown))}; expected 'all' or any of {', '.join(allowed)}."
        )
    return list(dict.fromkeys(items))


def _seed_count(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1; got {value!r}.")
    return int(value)


# --------------------------------------------------------------------------- #
# the run log
# --------------------------------------------------------------------------- #


@dataclass
class _Log:
    """``runs.jsonl`` in ``out``: one JSON object per finished run, appended as it ends."""

    path: Path
    records: list[dict] = field(default_factory=list)

    @classmethod
    def open(cls, path: Path) -> _Log:
        log = cls(path)
        if not path.exists():
            return log
        raw = path.read_bytes()
        lines = raw.split(b"\n")
        good = 0
        for i, line in enumerate(lines):
            if not line.strip():
                good += len(line) + 1
                continue
            try:
                rec = json.loads(line)
                if not isinstance(rec, dict) or "dataset" not in rec or "method" not in rec or "seed" not in rec:
                    raise ValueError("not a run record")
            except ValueError as exc:
                if i == len(lines) - 1 or all(not rest.strip() for rest in lines[i + 1 :]):
                    # A run cut off while its line was written: drop the partial line.
                    print(f"n2d reproduce: ignoring an incomplete last line in {path}", file=sys.stderr)
                    with atomic_path(path) as tmp:
                        tmp.write_bytes(raw[:good])
                    break
                raise ValueError(
                    f"{path} line {i + 1} is not a run record ({exc}); it was not written by n2d reproduce, "
                    "or was edited. Move it away or choose another --out."
                ) from None
            log.records.append(rec)
            good += len(line) + 1
        last = {(r["dataset"], r["method"], r["seed"]): r for r in log.records}  # a retried run replaces its failure
        log.records = list(last.values())
        return log

    def done(self, dataset: str, method: str, seed: int) -> dict | None:
        for rec in self.records:
            if (rec["dataset"], rec["method"], rec["seed"]) == (dataset, method, seed) and rec["status"] != "failed":
                return rec
        return None

    def append(self, rec: dict) -> None:
        self.records = [
            r for r in self.records
            if (r["dataset"], r["method"], r["seed"]) != (rec["dataset"], rec["method"], rec["seed"])
        ] + [rec]
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(rec, sort_keys=True) + "\n")
            f.flush()
            os.fsync(f.fileno())


def _check_config(out: Path, setting: str, settings: dict) -> None:
    """Write ``config.json`` the first time; refuse to mix settings in one folder later."""
    path = out / "config.json"
    config = {"format_version": FORMAT_VERSION, "setting": setting, "settings": settings}
    if path.exists():
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            raise ValueError(
                f"{path} is not valid JSON; it was not written by n2d reproduce. Choose another --out."
            ) from None
        if not isinstance(old, dict) or old.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"{path} was not written by this version of n2d reproduce. Choose another --out.")
        if old.get("setting") != setting or old.get("settings") != json.loads(json.dumps(settings)):
            raise ValueError(
                f"{out} holds runs made with the {old.get('setting')!r} setting, and this run asks for {setting!r}"
                f"{' (with other values)' if old.get('setting') == setting else ''}; results of different settings "
                "are not mixed. Use another --out."
            )
        return
    if out.exists() and any(p.name not in {"config.json"} for p in out.iterdir()) and not (out / "runs.jsonl").exists():
        raise ValueError(f"{out} exists and is not an n2d reproduce folder; choose an empty or new --out.")
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(config, indent=1) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------- #
# summaries
# --------------------------------------------------------------------------- #


def summarize(records: list[dict]) -> list[dict]:
    """Mean and (sample) standard deviation of ACC/NMI/ARI per dataset and method."""
    paper = paper_results()
    groups: dict[tuple[str, str], list[dict]] = {}
    for rec in records:
        groups.setdefault((rec["dataset"], rec["method"]), []).append(rec)
    out = []
    for (dataset, method), recs in groups.items():
        ok = [r for r in recs if r["status"] == "ok"]
        row = {"dataset": dataset, "method": method, "n_runs": len(ok), "seeds": sorted(r["seed"] for r in ok)}
        for metric in ("acc", "nmi", "ari", "seconds"):
            vals = np.array([r[metric] for r in ok], dtype=float)
            row[metric] = float(vals.mean()) if len(vals) else None
            row[metric + "_std"] = float(vals.std(ddof=1)) if len(vals) > 1 else None
        skipped = [r for r in recs if r["status"] == "skipped"]
        if not ok and skipped:
            row["not_run"] = skipped[0]["reason"]
        p = paper.get((dataset, method), {})
        row["paper_acc"], row["paper_nmi"] = p.get("acc"), p.get("nmi")
        out.append(row)
    return out


def _fmt(mean, std) -> str:
    if mean is None:
        return ""
    return f"{mean:.3f}" + (f" ± {std:.3f}" if std is not None else "")


def _epochs_text(settings: dict) -> str:
    if settings["epochs"] == "auto":
        from n2d.autoencoder._training import AUTO_CAP_ROWS, AUTO_FVU, AUTO_ROWS, AUTO_SMALL_ROWS, AUTO_STEPS

        return (
            f"autoencoder epochs 'auto' ({AUTO_STEPS} optimizer steps from {AUTO_SMALL_ROWS:,} to {AUTO_ROWS:,} "
            f"rows, fewer below, times sqrt(rows / {AUTO_ROWS:,}) up to {AUTO_CAP_ROWS:,} rows; sooner once the loss "
            f"is below {AUTO_FVU:g} of the "
            f"data's variance), precision"
            f" {settings.get('precision', 'float32')}"
        )
    return f"{settings['epochs']} autoencoder epochs"


def markdown_table(summary: list[dict], datasets: list[str], methods: list[str], setting: str, settings: dict) -> str:
    """The comparison as Markdown: one table per metric, methods down, datasets across."""
    by_key = {(r["dataset"], r["method"]): r for r in summary}
    lines = [
        f"Setting `{setting}`: {_epochs_text(settings)}, UMAP n_neighbors {settings['n_neighbors']}, "
        f"min_dist {settings['min_dist']:g}; GMM {settings['gmm']}. Cells: mean ± sample std over seeds (n = runs); "
        "[paper] = the paper's figure where it reports one; not run = skipped for size (see the reason).",
        "",
    ]
    for metric in ("acc", "nmi", "ari"):
        lines.append(f"**{metric.upper()}**")
        lines.append("")
        lines.append("| method | " + " | ".join(datasets) + " |")
        lines.append("| --- |" + " --- |" * len(datasets))
        for method in methods:
            cells = []
            for dataset in datasets:
                row = by_key.get((dataset, method))
                if row is None:
                    cells.append("")
                    continue
                if row.get("not_run"):
                    cell = "not run"
                elif row[metric] is None:
                    cell = "failed"
                else:
                    cell = f"{_fmt(row[metric], row[metric + '_std'])} (n={row['n_runs']})"
                p = row.get("paper_" + metric)
                if p is not None:
                    cell += f" [{p:.3f}]"
                cells.append(cell)
            lines.append(f"| {METHODS[method].label} | " + " | ".join(cells) + " |")
        lines.append("")
    reasons = sorted({r["not_run"] for r in summary if r.get("not_run")})
    if reasons:
        lines += ["Not run: " + "; ".join(reasons), ""]
    return "\n".join(lines)


def _write_outputs(out: Path, log: _Log, datasets, methods, setting, settings) -> None:
    records = sorted(log.records, key=lambda r: (r["dataset"], list(METHODS).index(r["method"]), r["seed"]))
    with atomic_path(out / "runs.csv") as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=_CSV_FIELDS, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(records)
    summary = summarize(records)
    with atomic_path(out / "summary.json") as tmp:
        tmp.write_text(json.dumps({"setting": setting, "settings": settings, "summary": summary}, indent=1) + "\n")
    all_datasets = list(dict.fromkeys([*datasets, *(r["dataset"] for r in records)]))
    all_methods = [m for m in METHODS if m in set(methods) | {r["method"] for r in records}]
    with atomic_path(out / "table.md") as tmp:
        tmp.write_text(markdown_table(summary, all_datasets, all_methods, setting, settings), encoding="utf-8")


# --------------------------------------------------------------------------- #
# running
# --------------------------------------------------------------------------- #


def _plot(out: Path, dataset, methods, first_seed: int, settings: dict, device: str, verbose: int) -> list[Path]:
    """One PNG per method: its clusters (first seed) and the true classes, on a 2-D UMAP of the code."""
    from n2d.manifold import UMAP
    from n2d.plotting import _pyplot, plot_clusters

    todo = [m for m in methods if (out / "labels" / dataset.name / f"{m}-seed{first_seed}.npy").exists()]
    todo = [m for m in todo if not (out / "plots" / f"{dataset.name}-{m}.png").exists()]
    if not todo:
        return []
    coords = out / "plots" / f"{dataset.name}-umap2d.npy"
    if coords.exists():
        xy = np.load(coords)
    else:
        (ae,) = _autoencoders(dataset, [first_seed], settings, device, verbose)
        if verbose:
            print(f"[n2d] {dataset.name}: 2-D UMAP of the autoencoded embedding for the plots ...", file=sys.stderr,
                  flush=True)
        xy = UMAP(n_components=2, n_neighbors=20, min_dist=0.1, random_state=0).fit_transform(ae.transform(dataset.x))
        _save_npy(coords, xy)
    plt = _pyplot()
    written = []
    for m in todo:
        labels = np.load(out / "labels" / dataset.name / f"{m}-seed{first_seed}.npy")
        fig = plot_clusters(
            xy, labels, dataset.y, target_names=dataset.target_names,
            title=f"{METHODS[m].label} on {dataset.name} (seed {first_seed})",
        )
        path = out / "plots" / f"{dataset.name}-{m}.png"
        with atomic_path(path, suffix=".png") as tmp:
            fig.savefig(tmp, dpi=120, format="png")
        plt.close(fig)
        written.append(path)
    return written


def _ae_params(settings: dict) -> dict:
    """The study's autoencoder settings, as :class:`n2d.Autoencoder` parameters."""
    return {
        "hidden_dims": tuple(settings["hidden_dims"]),
        "epochs": settings["epochs"],
        "precision": settings.get("precision", "float32"),
        "batch_size": settings["batch_size"],
        "lr": settings["lr"],
    }


def _autoencoders(dataset, seeds: list[int], settings: dict, device: str, verbose: int) -> list:
    """The autoencoders ``N2D(random_state=s)`` trains for each study seed ``s``: cached, or trained together."""
    from n2d.autoencoder import fit_autoencoders
    from n2d.estimator import stage_seeds

    return fit_autoencoders(
        dataset.x, [stage_seeds(s)[0] for s in seeds], n_components=dataset.n_clusters, device=device,
        verbose=verbose, **_ae_params(settings),
    )


def _pretrain(dataset, seeds: list[int], settings: dict, device: str, verbose: int) -> dict[int, float]:
    """Train (or load) every seed's autoencoder at once; the per-seed training time by seed."""
    if verbose:
        print(f"[n2d] {dataset.name}: autoencoders for seeds {seeds}, trained together ...", file=sys.stderr,
              flush=True)
    t0 = time.perf_counter()
    aes = _autoencoders(dataset, seeds, settings, device, verbose)
    trained = [s for s, ae in zip(seeds, aes) if ae.weights_source_ not in ("cache", "weights")]
    share = (time.perf_counter() - t0) / len(trained) if trained else 0.0
    return {s: share for s in trained}


def reproduce(
    datasets="all",
    methods="all",
    seeds: int = 5,
    baseline_seeds: int | None = None,
    out="n2d-reproduce",
    *,
    paper: bool = False,
    setting: str | None = None,
    epochs: int | None = None,
    n_samples: int | None = None,
    plot: bool = False,
    data_home=None,
    download: bool = True,
    device: str = "auto",
    verbose: int = 1,
) -> list[dict]:
    """Run the comparison and write its results under ``out``; returns the summary rows.

    Parameters
    ----------
    datasets : "all", str or list of str
        Dataset names (:data:`n2d.datasets.DATASET_NAMES`), comma-separated or a list.
    methods : "all", str or list of str
        Method names (:data:`METHODS`).
    seeds : int, default=5
        Seeds 0 .. seeds-1 for AE + GMM and the N2D rows (``main`` methods).
    baseline_seeds : int or None, default=None
        Seeds for the other methods; None uses ``seeds``.
    out : path, default="n2d-reproduce"
        Results folder. Rerunning with the same folder skips finished runs; a
        folder holding another setting's runs is refused.
    paper : bool, default=False
        The paper's setting (1000 float32 epochs; :data:`SETTINGS`), the same
        as ``setting="paper"``.
    setting : {"default", "paper", "cpu"} or None, default=None
        Which of :data:`SETTINGS`; None means ``"default"`` (or ``"paper"``
        with ``paper=True``).
    epochs : int or None, default=None
        Override the setting's autoencoder epochs (recorded in the settings).
    n_samples : int or None, default=None
        Run on a fixed random subset of this many samples of each dataset (the
        same subset for every method and seed; recorded in the settings), for
        quick trials.
    plot : bool, default=False
        Write ``plots/<dataset>-<method>.png`` (needs matplotlib).
    data_home, download
        As in :func:`n2d.load_dataset`.
    device : str, default="auto"
    verbose : int, default=1
        0 silent; 1 a progress bar and one line per run.
    """
    from tqdm.auto import tqdm

    from n2d._util.progress import progress as progress_bar
    from n2d.datasets import DATASET_NAMES, load_dataset
    from n2d.metrics import evaluate

    datasets = _names(datasets, DATASET_NAMES, "dataset")
    methods = _names(methods, list(METHODS), "method")
    n_main = _seed_count(seeds, "seeds")
    n_base = n_main if baseline_seeds is None else _seed_count(baseline_seeds, "baseline_seeds")
    if plot:
        from n2d.plotting import _matplotlib

        _matplotlib()  # fail now, not after hours of work
    from n2d._util.device import resolve_device

    device_used = str(resolve_device(device))
    if setting is None:
        setting = "paper" if paper else "default"
    elif setting not in SETTINGS or (paper and setting != "paper"):
        raise ValueError(f"setting must be one of {list(SETTINGS)} (and 'paper' with paper=True); got {setting!r}.")
    settings = dict(SETTINGS[setting])
    if epochs is not None:
        settings["epochs"] = _seed_count(epochs, "epochs")
    if n_samples is not None:
        settings["n_samples"] = _seed_count(n_samples, "n_samples")
    out = Path(out)
    _check_config(out, setting, settings)
    log = _Log.open(out / "runs.jsonl")
    versions = package_versions()

    plan = []
    for name in datasets:
        for method in methods:
            for seed in range(n_main if METHODS[method].main else n_base):
                plan.append((name, method, seed))
    todo = [p for p in plan if log.done(*p) is None]
    if verbose:
        print(
            f"n2d reproduce: {len(plan)} runs ({len(plan) - len(todo)} already done) on {', '.join(datasets)}; "
            f"setting {setting!r}; results in {out}",
            file=sys.stderr,
            flush=True,
        )
    bar = progress_bar(total=len(plan), initial=len(plan) - len(todo), desc="runs", unit="run", disable=not verbose,
               file=sys.stderr)
    for name in datasets:
        mine = [p for p in todo if p[0] == name]
        if not mine and not plot:
            continue
        dataset = _subset(load_dataset(name, data_home=data_home, download=download), settings.get("n_samples"))
        n, d = dataset.x.shape
        ae_seeds = sorted(
            {
                s + i
                for _, m, s in mine
                if METHODS[m].autoencoder and not _too_large(METHODS[m], n)
                for i in range(settings["robust_runs"] if METHODS[m].robust else 1)
            }
        )
        ae_time = _pretrain(dataset, ae_seeds, settings, device_used, verbose) if ae_seeds else {}
        for _, method, seed in mine:
            spec = METHODS[method]
            rec = {
                "dataset": name, "method": method, "seed": seed, "setting": setting, "settings": settings,
                "n_samples": n, "n_features": d, "n_clusters": dataset.n_clusters, "device": device_used,
                "versions": versions, "acc": None, "nmi": None, "ari": None, "seconds": None,
                "ae_seconds": _ae_seconds(spec, seed, ae_time, settings), "reason": "",
            }
            if _too_large(spec, n):
                rec.update(status="skipped", reason=f"{spec.label} is not run above {spec.max_samples:,} samples")
            else:
                bar.set_description(f"{name} {method} seed {seed}")
                try:
                    model = spec.build(dataset.n_clusters, seed, settings, device_used)
                    t0 = time.perf_counter()
                    labels = model.fit_predict(dataset.x)
                    rec["seconds"] = time.perf_counter() - t0
                    rec.update(evaluate(dataset.y, labels), status="ok", timings=model.timings_)
                    rec["stages"] = {
                        st: type(getattr(model, st + "_")).__name__ for st in ("autoencoder", "manifold", "clusterer")
                    }
                    if spec.robust:
                        rec["consensus"] = {
                            "kept_run": model.best_init_, "mean_ari_to_others": model.init_scores_.tolist(),
                        }
                    compact = np.int16 if labels.max(initial=0) < 2**15 else np.int64  # 5x smaller results
                    _save_npy(out / "labels" / name / f"{method}-seed{seed}.npy", labels.astype(compact))
                except (KeyboardInterrupt, MemoryError):
                    raise
                except Exception as exc:  # one failed run must not end a study of hours
                    rec.update(status="failed", reason=f"{type(exc).__name__}: {exc}")
            rec["finished"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
            log.append(rec)
            _write_outputs(out, log, datasets, methods, setting, settings)
            if verbose:
                what = (
                    f"ACC {rec['acc']:.3f} NMI {rec['nmi']:.3f} ARI {rec['ari']:.3f} ({rec['seconds']:.1f} s)"
                    if rec["status"] == "ok" else f"{rec['status']}: {rec['reason']}"
                )
                tqdm.write(f"{name:>10} {method:<11} seed {seed}: {what}", file=sys.stderr)
            bar.update(1)
        if plot:
            _plot(out, dataset, methods, 0, settings, device_used, verbose)
    bar.close()
    _write_outputs(out, log, datasets, methods, setting, settings)
    env = environment(command=" ".join(sys.argv), setting=setting)
    with atomic_path(out / "environment.json") as tmp:
        tmp.write_text(json.dumps(env, indent=1) + "\n")
    return summarize([r for r in log.records if r["dataset"] in datasets and r["method"] in methods])


def _save_npy(path: Path, array: np.ndarray) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.save(f, array)


def _subset(dataset, n_samples):
    if n_samples is None or n_samples >= len(dataset.x):
        return dataset
    import dataclasses

    idx = np.sort(np.random.RandomState(0).permutation(len(dataset.x))[:n_samples])
    return dataclasses.replace(dataset, x=np.ascontiguousarray(dataset.x[idx]), y=dataset.y[idx])


def _ae_seconds(spec: Method, seed: int, ae_time: dict, settings: dict):
    """Training time of the autoencoders a run used, if they were trained in this call."""
    if not spec.autoencoder:
        return None
    used = [ae_time.get(seed + i) for i in range(settings["robust_runs"] if spec.robust else 1)]
    return None if None in used else sum(used)


def _too_large(spec: Method, n: int) -> bool:
    return spec.max_samples is not None and n > spec.max_samples


def load_runs(out) -> list[dict]:
    """The run records in a results folder (the latest record of each dataset, method and seed)."""
    return _Log.open(Path(out) / "runs.jsonl").records
