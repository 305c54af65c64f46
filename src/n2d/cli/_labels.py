"""The labels CSV that ``n2d cluster`` and ``n2d predict`` write: ``index,cluster[,true_label]``.

It is always written under a temporary name and renamed into place when
complete, and ``n2d predict`` replaces only a file that starts with this
header (:func:`is_labels_file`).
"""

from __future__ import annotations

from pathlib import Path

HEADER = "index,cluster"
"""The first two columns of every labels file n2d writes."""


def is_labels_file(path: Path) -> bool:
    """Whether the file at ``path`` starts with n2d's labels header (unreadable files are not)."""
    try:
        with open(path, encoding="utf-8") as f:
            first = f.readline().strip()
    except (OSError, UnicodeDecodeError):
        first = ""
    return first.split(",")[:2] == HEADER.split(",")


def write_labels(path: Path, labels, y_true=None) -> None:
    """Write all ``labels`` (and ``y_true``, if given) at once; see :func:`write_label_blocks`."""
    write_label_blocks(path, [(0, labels)], y_true)


def write_label_blocks(path: Path, blocks, y_true=None) -> int:
    """Write the labels CSV from ``(start, labels)`` blocks, in order; returns the number of rows.

    The file is written under a temporary name beside ``path`` and renamed onto
    it only when every block is written: an error or a crash while the blocks
    are computed leaves ``path`` as it was. ``y_true`` (all rows, or None) adds a
    ``true_label`` column.
    """
    import numpy as np

    from n2d._util.files import atomic_path

    header = HEADER + (",true_label" if y_true is not None else "")
    n = 0
    with atomic_path(path) as tmp, open(tmp, "w") as f:
        f.write(header + "\n")
        for start, labels in blocks:
            cols = [range(start, start + len(labels)), np.asarray(labels).tolist()]
            if y_true is not None:
                cols.append(np.asarray(y_true[start : start + len(labels)]).tolist())
            f.writelines(",".join(str(v) for v in row) + "\n" for row in zip(*cols))
            n = start + len(labels)
    return n
