"""Prediction beyond memory: ``n2d predict`` on a large .npy file, and ``n2d.dask`` on a LocalCluster.

1. Fit N2D (CPU default, 10 clusters) on a 20,000 x 50 float32 sample of 10
   Gaussian blobs and save it.
2. Write ``--rows`` x 50 float32 rows of the same blobs to a .npy file in a
   temporary folder, block by block (never whole in memory), with the true
   blob of each row beside it.
3. Run ``n2d predict MODEL big.npy`` as a subprocess, as a user runs it (its
   default 65,536-row blocks, the file memory-mapped): wall time, rows/s and
   the process's peak resident memory (its ``ru_maxrss``, and psutil samples
   every 0.1 s). Check: the first and last blocks equal ``model.predict`` of
   those blocks exactly; on a random sample of rows, agreement with one
   in-memory ``model.predict`` of the sample; ARI of all labels against the
   true blobs.
4. ``n2d.dask.predict`` of the first ``--dask-rows`` rows (65,536-row blocks,
   read from the file by the workers) on a ``distributed.LocalCluster`` with
   1 and with 2 worker processes of 1 thread: rows/s of each (after a warm-up
   that loads the model into every worker), the 2-vs-1 ratio, and the labels
   against ``n2d predict``'s (same blocks, so they must be equal) and against
   in-memory predict on a sample.

Before step 2, ``--light-rows`` rows (default 10 million, 1.9 GiB) are labelled
the same way by a light model (autoencoder 50-64-10, no manifold, the
mixture), whose blocks take milliseconds instead of seconds: the memory of
``n2d predict`` on a file of that size, measured in about a minute. (The
default model's UMAP placement costs seconds per block, so 10 million rows
with it take about an hour on a 2-core CPU.)

    python benchmarks/scale_predict.py                        # 10 million rows, 1 million on Dask (hours on 2 cores)
    python benchmarks/scale_predict.py --rows 1000000 --dask-rows 262144   # what results/ holds (25 min)
    python benchmarks/scale_predict.py --rows 300000 --dask-rows 200000 --light-rows 0 --epochs 2   # a quick check

The input file is read from the page cache (it was just written and fits in
this machine's memory), so the figures measure n2d, not the disk. Targets
(issue 14): at most 2 GB peak RSS for 10 million rows, rows/s printed; Dask
labels equal to in-memory ones, 2-worker vs 1-worker throughput printed. The
figures depend on the load of the machine: the load average is recorded
before and after each step.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from _common import hardware  # benchmarks/_common.py

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
WRITE_BLOCK = 500_000
FIT_BLOCK = 2**32 - 1
"""The random stream of the training sample (the file's blocks use 0, 1, 2, ...)."""


class Blobs:
    """Ten Gaussian blobs in 50 dimensions (sklearn's make_blobs layout).

    Row block ``i`` is drawn from seed (seed, i).
    """

    def __init__(self, n_features: int, n_clusters: int, seed: int):
        from sklearn.datasets import make_blobs

        _, _, self.centers = make_blobs(n_samples=n_clusters, centers=n_clusters, n_features=n_features,
                                        random_state=seed, return_centers=True)
        self.seed = seed

    def draw(self, n: int, block: int) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng([self.seed, block])
        y = rng.integers(0, len(self.centers), n)
        x = self.centers[y] + rng.standard_normal((n, self.centers.shape[1]))
        return x.astype(np.float32), y.astype(np.int8)


class NpyRows:
    """Rows of a .npy file, read on demand (for ``dask.array.from_array``): pickles as its path, not its data."""

    def __init__(self, path: str, n_rows: int):
        head = np.load(path, mmap_mode="r")
        self.path, self.shape, self.dtype, self.ndim = path, (n_rows, head.shape[1]), head.dtype, 2

    def __getitem__(self, key):
        return np.array(np.load(self.path, mmap_mode="r")[: self.shape[0]][key])


def write_npy(path: Path, truth: Path, blobs: Blobs, rows: int) -> float:
    """Write ``rows`` rows block by block (header first, then raw float32 rows); returns seconds."""
    t0 = time.perf_counter()
    header = {"descr": np.lib.format.dtype_to_descr(np.dtype(np.float32)), "fortran_order": False,
              "shape": (rows, blobs.centers.shape[1])}
    y_all = np.lib.format.open_memmap(truth, mode="w+", dtype=np.int8, shape=(rows,))
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(f, header)
        for i, start in enumerate(range(0, rows, WRITE_BLOCK)):
            x, y = blobs.draw(min(WRITE_BLOCK, rows - start), i)
            f.write(x.tobytes())
            y_all[start : start + len(y)] = y
    y_all.flush()
    del y_all
    return time.perf_counter() - t0


_MAXRSS = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:]).returncode\n"
    "print('maxrss_kb', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(code)\n"
)
"""Runs a command as its only child and prints that child's peak RSS (``ru_maxrss``, kB on Linux) last on stderr."""


def run_measured(cmd: list[str]) -> dict:
    """Run ``cmd``: its wall time and peak RSS (``ru_maxrss``, and psutil samples every 0.1 s)."""
    import psutil

    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", _MAXRSS, *cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    wrapper, sampled = psutil.Process(proc.pid), 0
    while proc.poll() is None:
        try:
            sampled = max([sampled] + [c.memory_info().rss for c in wrapper.children()])
        except psutil.Error:
            pass
        time.sleep(0.1)
    out, err = proc.communicate()
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err}")
    err, _, last = err.strip().rpartition("\n")
    maxrss = int(last.split()[1]) * 1024
    return {"wall_seconds": wall, "peak_rss_bytes": maxrss, "sampled_peak_rss_bytes": sampled,
            "stdout": out.strip(), "stderr_tail": err.strip()[-500:]}


def predict_file(model_dir: Path, path: Path, rows: int, chunk_size: int) -> tuple[dict, Path]:
    """``n2d predict MODEL FILE`` as a user runs it, measured; returns the record and the labels file."""
    labels_csv = path.with_suffix(".labels.csv")
    cmd = [sys.executable, "-m", "n2d", "predict", str(model_dir), str(path), "--out", str(labels_csv), "-q"]
    if chunk_size != 65_536:
        cmd += ["--chunk-size", str(chunk_size)]
    load = os.getloadavg()
    run = run_measured(cmd)
    run.update(rows=rows, file_bytes=path.stat().st_size, rows_per_second=rows / run["wall_seconds"],
               load_before=load, load_after=os.getloadavg(), command=" ".join(["n2d", *cmd[3:]]))
    print(f"n2d predict: {rows:,} rows ({run['file_bytes'] / 2**30:.2f} GiB) in {run['wall_seconds']:.1f} s = "
          f"{run['rows_per_second']:,.0f} rows/s; peak RSS {run['peak_rss_bytes'] / 2**30:.2f} GiB (sampled "
          f"{run['sampled_peak_rss_bytes'] / 2**30:.2f} GiB); load {load[0]:.2f} -> {run['load_after'][0]:.2f}",
          flush=True)
    return run, labels_csv


def read_labels(path: Path) -> np.ndarray:
    import pandas as pd

    table = pd.read_csv(path, usecols=["cluster"], dtype={"cluster": np.int64}, engine="c")
    return table["cluster"].to_numpy()


def check_sample(model, x_file: np.ndarray, labels: np.ndarray, n: int, seed: int) -> dict:
    """Agreement of ``labels`` with one in-memory ``model.predict`` of a random sample of rows."""
    rows = np.sort(np.random.default_rng(seed).choice(len(labels), size=min(n, len(labels)), replace=False))
    mine = model.predict(np.array(x_file[rows]))
    return {"rows": int(len(rows)), "agreement": float((mine == labels[rows]).mean())}


def dask_run(model_dir: Path, big: Path, rows: int, chunk: int, n_workers: int) -> dict:
    import dask.array as da
    import distributed

    import n2d.dask

    X = da.from_array(NpyRows(str(big), rows), chunks=(chunk, -1), asarray=False)
    with distributed.LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        threads = client.run(lambda: __import__("torch").get_num_threads())
        t0 = time.perf_counter()
        n2d.dask.predict(model_dir, X[: chunk * n_workers]).compute()  # every worker loads the model
        warm = time.perf_counter() - t0
        loaded = client.run(lambda: n2d.dask._load_path.cache_info().currsize)
        load = os.getloadavg()
        t0 = time.perf_counter()
        labels = n2d.dask.predict(model_dir, X).compute()
        wall = time.perf_counter() - t0
    return {"workers": n_workers, "threads_per_worker": 1, "torch_threads_per_worker": sorted(threads.values()),
            "models_loaded_per_worker": sorted(loaded.values()), "warmup_seconds": warm, "wall_seconds": wall,
            "rows_per_second": rows / wall, "load_before": load, "load_after": os.getloadavg(), "labels": labels}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=10_000_000, help="rows of the .npy file (default 10,000,000)")
    ap.add_argument("--dask-rows", type=int, default=1_000_000, help="rows predicted on Dask (default 1,000,000)")
    ap.add_argument("--light-rows", type=int, default=10_000_000,
                    help="rows of a second file labelled by a light model (autoencoder 50-64-10, no manifold), "
                    "to measure n2d predict's memory on a large file quickly; 0 skips it (default 10,000,000)")
    ap.add_argument("--fit-rows", type=int, default=20_000, help="rows of the training sample (default 20,000)")
    ap.add_argument("--features", type=int, default=50)
    ap.add_argument("--clusters", type=int, default=10)
    ap.add_argument("--epochs", default=None, help="autoencoder epochs (default: the CPU default, 'auto')")
    ap.add_argument("--chunk-size", type=int, default=65_536, help="rows per block (default 65,536, n2d's)")
    ap.add_argument("--sample", type=int, default=20_000, help="rows checked against in-memory predict")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workdir", default=None, help="folder for the model and the .npy (default: a temporary one)")
    ap.add_argument("--out", default=str(RESULTS / "scale-predict-cpu.json"))
    args = ap.parse_args()
    if args.dask_rows > args.rows:
        raise SystemExit("--dask-rows must be at most --rows (the Dask run reads the first rows of the file).")

    work = Path(args.workdir or tempfile.mkdtemp(prefix="n2d-scale-predict-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ["N2D_CACHE_DIR"] = str(work / "cache")  # a fresh weight cache: the autoencoder really trains
    from sklearn.metrics import adjusted_rand_score

    from n2d import N2D

    record = {
        "command": " ".join(["scale_predict.py", *sys.argv[1:]]),
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "hardware": hardware(),
        "settings": {k: v for k, v in vars(args).items() if k not in ("workdir", "out")},
    }
    try:
        blobs = Blobs(args.features, args.clusters, args.seed)
        x_fit, y_fit = blobs.draw(args.fit_rows, FIT_BLOCK)
        epochs = None if args.epochs in (None, "auto") else int(args.epochs)
        t0 = time.perf_counter()
        model = N2D(n_clusters=args.clusters, epochs=epochs, device="cpu", random_state=args.seed, verbose=0).fit(x_fit)
        fit_s = time.perf_counter() - t0
        model_dir = model.save(work / "model")
        record["fit"] = {"rows": args.fit_rows, "seconds": fit_s,
                         "epochs": getattr(model.autoencoder_, "epochs_", None),
                         "ari_train": float(adjusted_rand_score(y_fit, model.labels_))}
        print(f"fit: {args.fit_rows} x {args.features} in {fit_s:.1f} s ({record['fit']['epochs']} epochs), "
              f"ARI {record['fit']['ari_train']:.3f}", flush=True)

        if args.light_rows:
            light = N2D(n_clusters=args.clusters, hidden_dims=(64,), epochs=5, manifold=None, device="cpu",
                        random_state=args.seed, verbose=0).fit(x_fit)
            light_dir = light.save(work / "light-model")
            path = work / "light.npy"
            write_s = write_npy(path, work / "light-truth.npy", blobs, args.light_rows)
            print(f"wrote {path}: {args.light_rows:,} x {args.features} float32 in {write_s:.1f} s", flush=True)
            print("light model (autoencoder 50-64-10, no manifold, mixture):", end=" ")
            run, labels_csv = predict_file(light_dir, path, args.light_rows, args.chunk_size)
            labels = read_labels(labels_csv)
            run["checks"] = {"n_labels": int(len(labels)),
                             "ari_truth": float(adjusted_rand_score(np.load(work / "light-truth.npy"), labels))}
            record["light"] = run
            path.unlink()
            labels_csv.unlink()
            del labels

        big, truth = work / "big.npy", work / "truth.npy"
        write_s = write_npy(big, truth, blobs, args.rows)
        record["file"] = {"rows": args.rows, "bytes": big.stat().st_size, "write_seconds": write_s}
        print(f"wrote {big}: {args.rows:,} x {args.features} float32 in {write_s:.1f} s", flush=True)
        print("default model:", end=" ")
        cli, labels_csv = predict_file(model_dir, big, args.rows, args.chunk_size)

        labels = read_labels(labels_csv)
        x_file = np.load(big, mmap_mode="r")
        assert len(labels) == args.rows, (len(labels), args.rows)
        c = args.chunk_size
        last = (args.rows - 1) // c * c
        first_ok = bool((model.predict(np.array(x_file[:c])) == labels[:c]).all())
        last_ok = bool((model.predict(np.array(x_file[last:])) == labels[last:]).all())
        sample = check_sample(model, x_file, labels, args.sample, args.seed)
        ari = float(adjusted_rand_score(np.load(truth), labels))
        cli["checks"] = {"first_block_equal": first_ok, "last_block_equal": last_ok, "sample": sample, "ari_truth": ari}
        record["cli"] = cli
        print(f"  first and last blocks equal to model.predict of those blocks: {first_ok}, {last_ok}; "
              f"agreement with in-memory predict on {sample['rows']:,} sampled rows: {sample['agreement']:.5f}; "
              f"ARI against the true blobs (all rows): {ari:.4f}", flush=True)

        runs = []
        for n_workers in (1, 2):
            run = dask_run(model_dir, big, args.dask_rows, c, n_workers)
            dask_labels = run.pop("labels")
            run["equal_to_n2d_predict"] = bool((dask_labels == labels[: args.dask_rows]).all())
            run["sample"] = check_sample(model, x_file, dask_labels, args.sample, args.seed + 1)
            runs.append(run)
            print(f"dask, {n_workers} worker(s) x 1 thread: {args.dask_rows:,} rows in {run['wall_seconds']:.1f} s = "
                  f"{run['rows_per_second']:,.0f} rows/s (warm-up {run['warmup_seconds']:.1f} s); labels equal to "
                  f"n2d predict's: {run['equal_to_n2d_predict']}; agreement with in-memory predict on "
                  f"{run['sample']['rows']:,} rows: {run['sample']['agreement']:.5f}; load {run['load_before'][0]:.2f} "
                  f"-> {run['load_after'][0]:.2f}", flush=True)
        ratio = runs[1]["rows_per_second"] / runs[0]["rows_per_second"]
        record["dask"] = {"rows": args.dask_rows, "runs": runs, "speedup_2_vs_1": ratio}
        print(f"dask: 2 workers vs 1: {ratio:.2f}x", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    hw = record["hardware"]
    print(f"hardware: {hw['cpu']}, {hw['cores']} cores, torch {hw['torch']}, load before {hw['load_average']}, "
          f"after {list(os.getloadavg())}")
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
