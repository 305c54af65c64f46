"""Choosing among several whole runs without labels: the run that agrees most with the others."""

from __future__ import annotations

__all__ = ["consensus_choice"]


def consensus_choice(labelings):
    """Pick, among several clusterings of the same points, the one that agrees most with the rest.

    Agreement is the adjusted Rand index, which needs no true labels and
    ignores cluster numbering. A run that went wrong (two classes merged, one
    split) disagrees with the runs that did not, so the medoid of the runs is a
    label-free choice that is robust to a minority of bad runs.

    Parameters
    ----------
    labelings : sequence of array-like of shape (n_samples,)
        At least one clustering.

    Returns
    -------
    best : int
        Index of the chosen clustering (the first on ties).
    scores : ndarray of shape (n_labelings,)
        Mean ARI of each clustering to the others (1.0 for a single one).
    """
    import numpy as np
    from sklearn.metrics import adjusted_rand_score

    labelings = [np.asarray(lab).ravel() for lab in labelings]
    if not labelings:
        raise ValueError("consensus_choice needs at least one clustering; got none.")
    n = len(labelings[0])
    if any(len(lab) != n for lab in labelings):
        raise ValueError(f"All clusterings must label the same points; got lengths {[len(lab) for lab in labelings]}.")
    r = len(labelings)
    if r == 1:
        return 0, np.ones(1)
    agree = np.eye(r)
    for i in range(r):
        for j in range(i + 1, r):
            agree[i, j] = agree[j, i] = adjusted_rand_score(labelings[i], labelings[j])
    scores = (agree.sum(axis=1) - 1.0) / (r - 1)
    return int(np.argmax(scores)), scores
