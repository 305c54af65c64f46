"""Does the k search choose differently when its candidate fits are better? (issue 12)

``N2D(n_clusters="auto")`` fits each candidate k (2-30) on a 4,000-point
sample with one GMM start and picks the knee of the BIC curve. For each
dataset and seed (0-2) this fits the default N2D once (k = 10, the same
embedding auto mode uses on these sets), then repeats the search on that
embedding with 4,000 points or all of them, and 1 or 3 starts per candidate,
printing the chosen k, the knee on the range 2-20, the search seconds and
NMI at the chosen k. Labels only score.

    python benchmarks/auto_k_fits.py usps,mnist-test,pendigits

JSON lines: ``benchmarks/results/auto-k-fits.jsonl`` (appended).
"""
import json, sys, time, numpy as np, os
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import hardware  # noqa: E402
from n2d import N2D, evaluate, load_dataset
from n2d._select_k import search_k, knee_k
from n2d.cluster import make_clusterer
from pathlib import Path
out = open(Path(__file__).resolve().parent / "results" / "auto-k-fits.jsonl", "a")
print("hardware:", json.dumps(hardware()), flush=True)
for name in sys.argv[1].split(","):
    ds = load_dataset(name)
    for seed in (0, 1, 2):
        t = time.perf_counter()
        m = N2D(n_clusters=10, random_state=seed, verbose=0).fit(ds.x)
        emb = m.embedding_; seed_c = m.clusterer_.random_state
        make = lambda k: make_clusterer("gmm", k, random_state=seed_c)
        row = {"dataset": name, "seed": seed, "fit_s": time.perf_counter() - t, "hardware": hardware()}
        for label, size, ninit in (("s4000-n1", 4000, 1), ("s4000-n3", 4000, 3), ("all-n1", len(emb), 1), ("all-n3", len(emb), 3)):
            t = time.perf_counter()
            r = search_k(emb, make, (2, 30), "bic-knee", random_state=seed_c, sample_size=size, search_n_init=ninit)
            bic = r.all_scores["bic"]
            row[label] = {"k": r.n_clusters, "s": time.perf_counter() - t, "bic": {int(k): v for k, v in bic.items()},
                          "knee_2_20": knee_k({k: v for k, v in bic.items() if k <= 20}),
                          "nmi": evaluate(ds.y, r.labels)["nmi"]}
        out.write(json.dumps(row) + "\n"); out.flush()
        print(name, seed, {k: (v["k"], v["knee_2_20"], round(v["s"], 1), round(v["nmi"], 3)) for k, v in row.items() if isinstance(v, dict)}, flush=True)
