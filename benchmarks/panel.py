"""The public panel: n2d and the tools users pick instead, on real labelled sets beyond the paper's and stress cases.

Data: ``benchmarks/panel_data.py`` (the registry: package, version, file, sha256 and scaling of each real
set; the seeded synthetic stress cases). For each set and seed, in one process on the same (scaled) data:

==============  =================================================================================================
n2d             ``N2D(n_clusters=k, random_state=seed)``: the default with the true k
n2d-auto        ``N2D(n_clusters="auto", random_state=seed)``: the default k search (``k_range="auto"``)
umap-hdbscan    umap-learn's documented clustering recipe ("Using UMAP for Clustering"):
                ``umap.UMAP(n_neighbors=30, min_dist=0.0, n_components=2, random_state=seed)`` then scikit-learn's
                ``HDBSCAN(min_samples=min(10, m), min_cluster_size=m)``. The recipe's MNIST values are
                min_cluster_size=500 for 70,000 rows (0.71%), min_samples=10; here ``m = max(5, round(n * 500 /
                70000))``, the same share of the rows (never below HDBSCAN's default of 5). k is not used.
umap-gmm        ``N2D(n_clusters=k, autoencoder=None, random_state=seed)``: UMAP + GMM on the raw (scaled) data
evoc            ``evoc.EVoC(random_state=seed)``: EVoC's defaults, finds k itself (its README's usage; on float
                data it uses cosine distance, as it is built for embedding vectors; it gets the same data)
evoc-k          ``evoc.EVoC(approx_n_clusters=k, random_state=seed)``: EVoC told the true k
kmeans          ``KMeans(k, n_init=10, random_state=seed)``
hdbscan-raw     scikit-learn's ``HDBSCAN`` on the data itself, the same ``m`` as umap-hdbscan (issue 28's peer)
==============  =================================================================================================

Scores: ``n2d.metrics.evaluate`` (ACC under the best one-to-one matching, NMI, ARI) on every row. Noise
(label -1, from HDBSCAN and EVoC) is kept as a label of its own, so unclustered rows count against ACC
unless the matching gives "noise" a class; ``fraction_clustered`` is the share of rows not labelled -1 and
``nmi_clustered`` the NMI on those rows alone (umap-learn's docs report both). ``k_found`` counts the
clusters, noise excluded. Before the timed runs each method runs once, untimed, on 300 rows of blobs, so
that numba's first-call compilation (UMAP, HDBSCAN, EVoC) is not charged to the first set. Each n2d fit
gets a fresh, empty weight cache, so its seconds include training. A method that raises is recorded
(``crashed``, the exception's type, message and last frames), and the run goes on. Rows are appended to
``benchmarks/results/panel-<tag>.jsonl`` (resumable: rows already there are skipped), each with
``hardware()`` and ``os.getloadavg()``.

The full run (all 18 sets, all methods, 3 seeds; hours on a 2-core CPU):

    python benchmarks/panel.py --seeds 0,1,2 --tag full
    python benchmarks/panel.py --summarize benchmarks/results/panel-full.jsonl

A smoke run (``--quick``: n2d trains 2 epochs, sets cut to 1,000 rows; its numbers are NOT results):

    python benchmarks/panel.py --quick --datasets wine,syn-k-ge-d --seeds 0
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
import traceback
import warnings
from pathlib import Path

import numpy as np

from panel_data import REGISTRY, PanelData, load  # benchmarks/panel_data.py (scripts run from this folder's path)

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
METHODS = ("n2d", "n2d-auto", "umap-hdbscan", "umap-gmm", "evoc", "evoc-k", "kmeans", "hdbscan-raw")
PEERS = ("umap-hdbscan", "umap-gmm", "evoc", "evoc-k", "kmeans", "hdbscan-raw")
K_FINDING = ("umap-hdbscan", "evoc", "hdbscan-raw")
"""The peers that find k themselves (issue 28 measures n2d-auto against them)."""
QUICK_ROWS = 1000
QUICK_EPOCHS = 2
RECIPE_ROWS, RECIPE_MIN_CLUSTER_SIZE, RECIPE_MIN_SAMPLES = 70_000, 500, 10  # umap-learn's MNIST recipe


def hdbscan_sizes(n: int) -> dict:
    """umap-learn's recipe values scaled to ``n`` rows (module docstring)."""
    m = max(5, round(n * RECIPE_MIN_CLUSTER_SIZE / RECIPE_ROWS))
    return {"min_cluster_size": m, "min_samples": min(RECIPE_MIN_SAMPLES, m)}


def _n2d(x, settings):
    from _common import empty_weight_cache  # imports torch, so not at module level (tests import this)
    from n2d import N2D

    with empty_weight_cache("n2d-panel-"):  # the fit trains its autoencoder, as a user's first fit does
        est = N2D(verbose=0, **settings).fit(x)
    clusterer = getattr(est, "clusterer_", None)
    extra = {"n_clusters_": int(est.n_clusters_), "timings": {k: float(v) for k, v in est.timings_.items()},
             "fit_sample_size": getattr(est, "fit_sample_size_", None),
             "reg_covar": getattr(clusterer, "reg_covar", None), "k_criterion": getattr(est, "k_criterion_", None)}
    return est.labels_, extra


def _umap_hdbscan(x, seed):
    import umap
    from sklearn.cluster import HDBSCAN

    umap_settings = {"n_neighbors": 30, "min_dist": 0.0, "n_components": 2, "random_state": seed}
    sizes = hdbscan_sizes(x.shape[0])
    emb = umap.UMAP(**umap_settings).fit_transform(x)
    return HDBSCAN(**sizes).fit_predict(emb), {"umap": umap_settings, "hdbscan": sizes}


METHOD_FUNCS = {}


def _method(name):
    def register(fn):
        METHOD_FUNCS[name] = fn
        return fn
    return register


@_method("n2d")
def _m_n2d(x, k, seed, quick):
    settings = {"n_clusters": k, "random_state": seed, **({"epochs": QUICK_EPOCHS} if quick else {})}
    labels, extra = _n2d(x, settings)
    return labels, settings, extra


@_method("n2d-auto")
def _m_n2d_auto(x, k, seed, quick):
    settings = {"n_clusters": "auto", "random_state": seed, **({"epochs": QUICK_EPOCHS} if quick else {})}
    labels, extra = _n2d(x, settings)
    return labels, settings, extra


@_method("umap-gmm")
def _m_umap_gmm(x, k, seed, quick):
    settings = {"n_clusters": k, "autoencoder": None, "random_state": seed}
    labels, extra = _n2d(x, settings)
    return labels, settings, extra


@_method("umap-hdbscan")
def _m_umap_hdbscan(x, k, seed, quick):
    labels, settings = _umap_hdbscan(x, seed)
    return labels, settings, {"noise": int((labels < 0).sum())}


@_method("evoc")
def _m_evoc(x, k, seed, quick):
    import evoc

    settings = {"random_state": seed}
    return evoc.EVoC(**settings).fit_predict(x), settings, {}


@_method("evoc-k")
def _m_evoc_k(x, k, seed, quick):
    import evoc

    settings = {"approx_n_clusters": k, "random_state": seed}
    return evoc.EVoC(**settings).fit_predict(x), settings, {}


@_method("kmeans")
def _m_kmeans(x, k, seed, quick):
    from sklearn.cluster import KMeans

    settings = {"n_clusters": k, "n_init": 10, "random_state": seed}
    return KMeans(**settings).fit_predict(x), settings, {}


@_method("hdbscan-raw")
def _m_hdbscan_raw(x, k, seed, quick):
    from sklearn.cluster import HDBSCAN

    settings = hdbscan_sizes(x.shape[0])
    return HDBSCAN(**settings).fit_predict(x), settings, {}


def warm_up(methods) -> float:
    """Run each method once, untimed and unrecorded, on 300 rows of blobs: numba compiles UMAP's, EVoC's and
    HDBSCAN's kernels on their first call (over a minute for EVoC here), which would otherwise be charged to
    whichever set comes first. Returns the seconds it took."""
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 100)
    x = (rng.normal(size=(3, 8))[y] * 3 + rng.normal(size=(300, 8))).astype(np.float32)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for m in methods:
            try:
                METHOD_FUNCS[m](x, 3, 0, True)
            except Exception as e:
                print(f"warm-up: {m} raised {type(e).__name__}: {e}", flush=True)
    return time.perf_counter() - t0


def score(y: np.ndarray, labels: np.ndarray) -> dict:
    """ACC/NMI/ARI with noise (-1) as a label of its own, the clustered share, and NMI on clustered rows."""
    from sklearn.metrics import normalized_mutual_info_score

    from n2d.metrics import evaluate

    labels = np.asarray(labels).astype(np.int64)
    clustered = labels >= 0
    out = {k: float(v) for k, v in evaluate(y, labels).items()}
    out["k_found"] = int(np.unique(labels[clustered]).size)
    out["fraction_clustered"] = float(clustered.mean())
    out["nmi_clustered"] = (float(normalized_mutual_info_score(y[clustered], labels[clustered]))
                            if clustered.any() else None)
    return out


def _warnings_of(caught) -> list[str]:
    seen = []
    for w in caught:
        if issubclass(w.category, (DeprecationWarning, FutureWarning, PendingDeprecationWarning, ImportWarning)):
            continue
        text = f"{w.category.__name__}: {str(w.message)[:300]}"
        if text not in seen:
            seen.append(text)
    return seen[:5]


def one_row(method: str, data: PanelData, seed: int, quick: bool) -> dict:
    """Run one method on one set with one seed; never raises (an exception becomes ``crashed``)."""
    row = {"dataset": data.name, "method": method, "seed": seed, "quick": quick, "n_rows": int(data.x.shape[0]),
           "n_features": int(data.x.shape[1]), "k_true": data.n_clusters, "crashed": False}
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            labels, settings, extra = METHOD_FUNCS[method](data.x, data.n_clusters, seed, quick)
            row["seconds"] = time.perf_counter() - t0
            row.update(score(data.y, labels), settings=settings, extra=extra)
        except Exception as e:  # the benchmark reports crashes; it does not die of them
            row["seconds"] = time.perf_counter() - t0
            row.update(crashed=True, error_type=type(e).__name__, error=str(e)[:2000],
                       traceback=traceback.format_exc(limit=-4)[-3000:])
    row["warnings"] = _warnings_of(caught)
    row["data"] = data.meta
    row["loadavg_before"], row["loadavg_after"] = list(load_before), list(os.getloadavg())
    return row


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("evoc", "sktime"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = None
    return out


def _select(spec: str, known, groups: dict) -> list[str]:
    names = []
    for part in spec.split(","):
        part = part.strip()
        for name in groups.get(part, [part]):
            if name not in known:
                raise SystemExit(f"unknown name {name!r}; known: {', '.join(known)} (or {', '.join(groups)})")
            if name not in names:
                names.append(name)
    return names


def run(args) -> Path:
    from _common import hardware  # benchmarks/_common.py; imports torch, so not at module level (tests import this)

    datasets = _select(args.datasets, REGISTRY, {
        "all": list(REGISTRY), "real": [n for n, e in REGISTRY.items() if e.kind == "real"],
        "synthetic": [n for n, e in REGISTRY.items() if e.kind == "synthetic"]})
    methods = _select(args.methods, METHODS, {"all": list(METHODS)})
    seeds = [int(s) for s in args.seeds.split(",")]
    tag = args.tag or ("quick" if args.quick else "full")
    out = Path(args.out) if args.out else RESULTS / f"panel-{tag}.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    done = set()
    if out.exists():
        for line in out.read_text().splitlines():
            r = json.loads(line)
            done.add((r["dataset"], r["method"], r["seed"], r["quick"]))
    if args.quick:
        print(f"QUICK SMOKE RUN (n2d epochs={QUICK_EPOCHS}, at most {QUICK_ROWS} rows): not for reporting",
              flush=True)
    versions = _versions()
    todo = [m for m in methods if any((n, m, s, args.quick) not in done for n in datasets for s in seeds)]
    if todo and not args.no_warm_up:
        print(f"warm-up (untimed, numba compilation): {warm_up(todo):.1f} s", flush=True)
    for name in datasets:
        try:
            data = load(name, max_rows=QUICK_ROWS if args.quick else None)
        except Exception as e:  # a missing package: say so and go on with the others
            print(f"{name}: not loaded: {type(e).__name__}: {e}", flush=True)
            continue
        for seed in seeds:
            for method in methods:
                if (name, method, seed, args.quick) in done:
                    print(f"{name} {method} seed {seed}: already in {out}", flush=True)
                    continue
                row = one_row(method, data, seed, args.quick)
                row.update(command=" ".join(sys.argv), tag=tag,
                           date=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                           hardware=hardware(**versions))
                with out.open("a") as f:
                    f.write(json.dumps(row, default=float) + "\n")
                if row["crashed"]:
                    print(f"{name} {method} seed {seed}: CRASHED after {row['seconds']:.1f} s: "
                          f"{row['error_type']}: {row['error'][:200]}", flush=True)
                else:
                    print(f"{name} {method} seed {seed}: NMI {row['nmi']:.3f} ACC {row['acc']:.3f} "
                          f"k {row['k_found']}/{row['k_true']} clustered {row['fraction_clustered']:.2f} "
                          f"{row['seconds']:.1f} s", flush=True)
    return out


def _mean(rows, key):
    return float(np.mean([r[key] for r in rows])) if rows else None


def _fmt(v, fmt=".3f"):
    return "-" if v is None else format(v, fmt)


def _rows(path: Path, replace: Path | None = None) -> list[dict]:
    """The rows of ``path``; with ``replace``, its rows take the place of the same (set, method, seed) there:
    a re-run of one method (e.g. after a default changed) against the peers' earlier rows."""
    rows = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    if replace is None:
        return rows
    new = [json.loads(line) for line in Path(replace).read_text().splitlines() if line.strip()]
    keys = {(r["dataset"], r["method"], r["seed"]) for r in new}
    return [r for r in rows if (r["dataset"], r["method"], r["seed"]) not in keys] + new


def summarize(path: Path, replace: Path | None = None) -> None:
    """Markdown tables of the seed means (crashed runs excluded from the means, counted apart)."""
    rows = _rows(path, replace)
    if not rows:
        print(f"{path}: no rows")
        return
    if any(r["quick"] for r in rows):
        print("**QUICK SMOKE RUN (`--quick`): n2d trained 2 epochs on at most 1,000 rows. Not results.**\n")
    datasets = list(dict.fromkeys(r["dataset"] for r in rows))
    methods = [m for m in METHODS if any(r["method"] == m for r in rows)]
    cell = {}
    for d in datasets:
        for m in methods:
            rs = [r for r in rows if r["dataset"] == d and r["method"] == m]
            if not rs:
                continue
            ok = [r for r in rs if not r["crashed"]]
            cell[d, m] = {"runs": len(rs), "crashes": len(rs) - len(ok), "nmi": _mean(ok, "nmi"),
                          "acc": _mean(ok, "acc"), "ari": _mean(ok, "ari"), "k": _mean(ok, "k_found"),
                          "clustered": _mean(ok, "fraction_clustered"),
                          "seconds": float(np.mean([r["seconds"] for r in rs])),
                          "k_true": rs[0]["k_true"], "errors": sorted({r["error_type"] for r in rs if r["crashed"]})}

    def best(d):
        scored = [(c["nmi"], m) for (dd, m), c in cell.items() if dd == d and c["nmi"] is not None]
        return max(scored)[1] if scored else None

    print("NMI, mean over seeds (best per set in bold; `crash`: every seed crashed; `(c/n c)`: c of n crashed):\n")
    print("| set | k | " + " | ".join(methods) + " |")
    print("| --- | ---: |" + " ---: |" * len(methods))
    wins = near = total = 0
    for d in datasets:
        b = best(d)
        cells = []
        for m in methods:
            c = cell.get((d, m))
            if c is None:
                cells.append("")
                continue
            text = "crash" if c["nmi"] is None else f"{c['nmi']:.3f}"
            if m == b:
                text = f"**{text}**"
            if c["crashes"] and c["nmi"] is not None:
                text += f" ({c['crashes']}/{c['runs']} c)"
            cells.append(text)
        k_true = next(c["k_true"] for (dd, _), c in cell.items() if dd == d)
        print(f"| {d} | {k_true} | " + " | ".join(cells) + " |")
        own = cell.get((d, "n2d"))
        peers = [cell[d, m]["nmi"] for m in PEERS if (d, m) in cell and cell[d, m]["nmi"] is not None]
        if own is not None and peers:
            total += 1
            gap = (own["nmi"] if own["nmi"] is not None else -1.0) - max(peers)
            wins += gap >= 0
            near += -0.02 <= gap < 0
    if total:
        print(f"\nn2d (true k) NMI >= the best peer's on {wins} of {total} sets, within .02 on {near} more.")
    auto = [(d, cell[d, "n2d-auto"]["nmi"], max(cell[d, m]["nmi"] for m in K_FINDING if (d, m) in cell))
            for d in datasets if (d, "n2d-auto") in cell and any((d, m) in cell for m in K_FINDING)]
    if auto:
        ahead = [d for d, own, peer in auto if own is not None and own >= peer]
        print(f"n2d-auto NMI >= the best k-finding peer's ({', '.join(K_FINDING)}) on {len(ahead)} of {len(auto)} "
              f"sets: {', '.join(ahead)}.")
    print("\n| set | method | seeds | NMI | ACC | ARI | k found (true) | clustered | seconds | crashes |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for d in datasets:
        b = best(d)
        for m in methods:
            c = cell.get((d, m))
            if c is None:
                continue
            name = f"**{m}**" if m == b else m
            crashes = f"{c['crashes']} ({', '.join(c['errors'])})" if c["crashes"] else "0"
            print(f"| {d} | {name} | {c['runs']} | {_fmt(c['nmi'])} | {_fmt(c['acc'])} | {_fmt(c['ari'])} | "
                  f"{_fmt(c['k'], '.1f')} ({c['k_true']}) | {_fmt(c['clustered'], '.2f')} | {c['seconds']:.1f} | "
                  f"{crashes} |")
    hw = rows[-1].get("hardware", {})
    loads = [r["loadavg_after"][0] for r in rows if r.get("loadavg_after")]
    print(f"\nhardware: {hw.get('cpu')}, {hw.get('cores')} cores, torch {hw.get('torch')}, n2d {hw.get('n2d')}; "
          f"1-min load during the run {min(loads):.2f}-{max(loads):.2f}")


def rst_table(path: Path, replace: Path | None = None) -> None:
    """The docs' table (reStructuredText): NMI mean ± sample std over seeds per set and method, best in bold."""
    rows = _rows(path, replace)
    datasets = list(dict.fromkeys(r["dataset"] for r in rows))
    methods = [m for m in METHODS if any(r["method"] == m for r in rows)]
    print(".. list-table::\n   :header-rows: 1\n")
    print("   * - set (k)\n" + "".join(f"     - {m}\n" for m in methods), end="")
    for d in datasets:
        stats = {}
        for m in methods:
            ok = [r["nmi"] for r in rows if r["dataset"] == d and r["method"] == m and not r["crashed"]]
            runs = sum(r["dataset"] == d and r["method"] == m for r in rows)
            if runs:
                sd = float(np.std(ok, ddof=1)) if len(ok) > 1 else 0.0
                stats[m] = (float(np.mean(ok)) if ok else None, sd, runs - len(ok))
        top = max((v[0] for v in stats.values() if v[0] is not None), default=None)
        k_true = next(r["k_true"] for r in rows if r["dataset"] == d)
        print(f"   * - {d} ({k_true})")
        for m in methods:
            if m not in stats:
                print("     -")
                continue
            mean, sd, crashed = stats[m]
            text = "crash" if mean is None else f"{mean:.3f} ± {sd:.3f}".replace("0.", ".")
            if mean is not None and mean == top:
                text = f"**{text}**"
            print(f"     - {text}{f' ({crashed} crashed)' if crashed and mean is not None else ''}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--datasets", default="all", help="comma-separated names, or all, real, synthetic")
    ap.add_argument("--methods", default="all", help=f"comma-separated from {', '.join(METHODS)} (or all)")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--quick", action="store_true",
                    help=f"smoke run: n2d epochs={QUICK_EPOCHS}, sets cut to {QUICK_ROWS} rows; not for reporting")
    ap.add_argument("--tag", default=None, help="output benchmarks/results/panel-<tag>.jsonl (default: full/quick)")
    ap.add_argument("--out", default=None, help="output path (overrides --tag)")
    ap.add_argument("--no-warm-up", action="store_true", help="skip the untimed first call of each method")
    ap.add_argument("--summarize", metavar="JSONL", nargs="?", const="", default=None,
                    help="print the markdown summary of a results file (default: the --tag file) and exit")
    ap.add_argument("--rst", action="store_true", help="with --summarize: the docs' reStructuredText table")
    ap.add_argument("--replace", type=Path, default=None,
                    help="with --summarize: a results file whose rows replace the same (set, method, seed) rows")
    args = ap.parse_args()
    if args.summarize is not None:
        tag = args.tag or ("quick" if args.quick else "full")
        path = Path(args.summarize) if args.summarize else RESULTS / f"panel-{tag}.jsonl"
        (rst_table if args.rst else summarize)(path, args.replace)
        return
    out = run(args)
    print(f"wrote {out}\n")
    summarize(out)


if __name__ == "__main__":
    main()
