"""Options shared by the sub-commands, and the parsers and checks of option values.

The checks turn the text argparse hands over into values N2D takes, or raise
one ``ValueError`` that names the option (the main CLI prints it as one line).
None of them loads data or builds a model: ``n2d cluster`` runs them all
before anything expensive. Module-level imports stay light, because building
the parser (``n2d --help``) imports this module.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_columns_options(parser) -> None:
    """``--columns`` / ``--drop-columns``: the feature columns of a data file (one or the other)."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--columns", metavar="COLS",
        help="comma-separated columns to use as features: CSV header names or 0-based indices (indices also "
        "work on .npy/.npz); default: all but the label column",
    )
    group.add_argument(
        "--drop-columns", metavar="COLS",
        help="comma-separated CSV columns (header names or 0-based indices) to leave out of the features",
    )


def add_device_option(parser) -> None:
    """``--device``: resolved by :func:`n2d._util.device.resolve_device` when the command runs."""
    parser.add_argument("--device", default="auto", help="auto (default), cpu, cuda or cuda:N")


def add_dataset_options(parser) -> None:
    """``--data-dir`` and ``--no-download``: where named datasets are read from, and whether to fetch them."""
    parser.add_argument(
        "--data-dir", help="directory holding the dataset files (default: $N2D_DATA_DIR or the cache)"
    )
    parser.add_argument("--no-download", action="store_true", help="fail instead of downloading missing dataset files")


def chunk_size_arg(text):
    """``--chunk-size``: an integer >= 1, refused by argparse (before anything is loaded) otherwise."""
    from n2d._util.streaming import check_chunk_size

    try:
        return check_chunk_size(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1 (rows per block); got {text!r}") from None


def choice(option: str, value: str, allowed) -> str:
    """``value`` lower-cased if it is one of ``allowed``; else an error that suggests the closest one."""
    import difflib

    v = value.strip().lower()
    if v not in allowed:
        close = difflib.get_close_matches(v, allowed, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(f"{option} must be one of {', '.join(allowed)}; got {value!r}{hint}.")
    return v


def check_ranges(checks) -> None:
    """Raise for the first ``(option, value, low, high)`` whose value is outside [low, high].

    None as a bound means no bound; None as a value means the option was not given.
    """
    for option, value, low, high in checks:
        if value is not None and (value < low or (high is not None and value > high)):
            allowed = f"an integer >= {low}" if high is None else f"an integer in [{low}, {high}]"
            raise ValueError(f"{option} must be {allowed}; got {value}.")


def epochs_arg(text):
    """``--epochs``: None (not given), 'auto' or an integer >= 0."""
    if text is None or text == "auto" or isinstance(text, int):
        return text
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise ValueError(f"--epochs must be 'auto' or an integer >= 0; got {text!r}.")
    return value


def fit_sample_arg(text):
    """``--fit-sample``: 'auto', None ('all') or an integer >= :data:`~n2d._util.sampling.MIN_FIT_SAMPLE`."""
    from n2d._util.sampling import MIN_FIT_SAMPLE

    if text in ("auto", None):
        return "auto"
    if text == "all":
        return None
    try:
        value = int(text)
    except (TypeError, ValueError):
        value = -1
    if value < MIN_FIT_SAMPLE:
        raise ValueError(
            f"--fit-sample must be 'auto', 'all' or an integer >= {MIN_FIT_SAMPLE} (rows to fit the manifold and "
            f"clusterer on); got {text!r}."
        )
    return value


def hidden_dims_arg(text) -> tuple:
    """``--hidden-dims``: comma-separated positive integers, as a tuple."""
    try:
        hidden = tuple(int(v) for v in str(text).split(",") if v.strip())
    except ValueError:
        hidden = None
    if hidden is None or any(d < 1 for d in hidden):
        raise ValueError(f"--hidden-dims must be comma-separated positive integers, e.g. 500,500,2000; got {text!r}.")
    return hidden


def n_clusters_arg(value):
    """``--n-clusters``: None (not given), 'auto' or an integer (its range is checked with the other counts)."""
    if value is None or value == "auto":
        return value
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError(f"--n-clusters must be an integer >= 2 or 'auto'; got {value!r}.") from None


def k_range_arg(value) -> str | tuple[int, int]:
    """``--k-range``: ``auto`` or two integers ``LOW,HIGH`` (checked by :func:`n2d.cluster._select_k.check_k_range`)."""
    if str(value).strip() == "auto":
        return "auto"
    try:
        low, high = (int(v) for v in str(value).split(","))
    except ValueError:
        raise ValueError(f"--k-range must be 'auto' or two integers LOW,HIGH, e.g. 2,30; got {value!r}.") from None
    return (low, high)


def finds_k(clusterer: str) -> bool:
    """Whether the named clusterer finds the number of clusters itself (HDBSCAN), by the library's rule."""
    from n2d.cluster import finds_k as estimator_finds_k
    from n2d.cluster import make_clusterer

    return estimator_finds_k(make_clusterer(clusterer))


def check_k_criterion(criterion: str, clusterer: str) -> None:
    """Refuse a criterion that the named clusterer cannot be scored by (one that needs a mixture).

    The rule is N2D's own (:func:`n2d.cluster._select_k.check_criterion`, on the
    clusterer N2D would build); a clusterer that finds k itself searches no k,
    so any criterion passes, as in N2D. Only the message is the command line's.
    """
    from n2d.cluster import make_clusterer
    from n2d.cluster._select_k import check_criterion

    if finds_k(clusterer):
        return
    try:
        check_criterion(criterion, make_clusterer(clusterer))
    except ValueError:
        raise ValueError(
            f"--k-criterion {criterion} needs the mixture clusterer (gmm); with --clusterer {clusterer} "
            "use --k-criterion silhouette."
        ) from None


def check_weights_file(path) -> None:
    """Fail early if --weights is not a readable weights file (its shapes are checked before training).

    A Keras HDF5 file of the paper's code is read in full (it is small) and its
    layout checked; anything else must open as safetensors.
    """
    from safetensors import safe_open

    from n2d.autoencoder._keras import is_hdf5, read_keras_weights

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"--weights {path}: no such file.")
    if is_hdf5(path):
        try:
            read_keras_weights(path)
        except (ValueError, ImportError) as exc:
            raise ValueError(f"--weights {path}: {exc}") from None
        return
    try:
        with safe_open(str(path), framework="pt") as f:
            keys = list(f.keys())
    except Exception as exc:
        raise ValueError(f"--weights {path} is not a readable safetensors weights file ({exc}).") from None
    if not keys:
        raise ValueError(f"--weights {path} holds no tensors.")
