import math

import numpy as np
import pytest

from n2d.metrics import ari, best_label_map, cluster_acc, evaluate, nmi


def test_cluster_acc_perfect_up_to_renaming():
    assert cluster_acc([0, 0, 1, 1, 2, 2], [2, 2, 0, 0, 1, 1]) == 1.0


def test_cluster_acc_known_value():
    # best matching: cluster 0 -> class 0 (2 right), cluster 1 -> class 1 (2 right); 4 of 6
    y_true = [0, 0, 0, 1, 1, 1]
    y_pred = [0, 0, 1, 1, 1, 0]
    assert cluster_acc(y_true, y_pred) == pytest.approx(4 / 6)


def test_cluster_acc_hungarian_beats_greedy():
    # Greedy majority voting would give both clusters class 0; matching is one-to-one.
    y_true = np.array([0] * 5 + [1] * 3)
    y_pred = np.array([0] * 3 + [1] * 2 + [1] * 3)
    # cluster 0 -> class 0 (3), cluster 1 -> class 1 (3) = 6/8
    assert cluster_acc(y_true, y_pred) == pytest.approx(6 / 8)


def test_cluster_acc_string_labels_and_more_clusters_than_classes():
    y_true = ["cat", "cat", "dog", "dog"]
    y_pred = [5, 7, 9, 9]  # three clusters, two classes: cluster 5 or 7 stays unmatched
    assert cluster_acc(y_true, y_pred) == pytest.approx(3 / 4)
    mapping = best_label_map(y_true, y_pred)
    assert mapping[9] == "dog" and len(mapping) == 2


def test_nmi_ari_known_values():
    assert nmi([0, 0, 1, 1], [1, 1, 0, 0]) == pytest.approx(1.0)
    assert ari([0, 0, 1, 1], [1, 1, 0, 0]) == pytest.approx(1.0)
    # independent labelings: NMI 0, ARI negative (-0.5 for this case, by hand)
    assert nmi([0, 0, 1, 1], [0, 1, 0, 1]) == pytest.approx(0.0, abs=1e-12)
    assert ari([0, 0, 1, 1], [0, 1, 0, 1]) == pytest.approx(-0.5)


def test_evaluate_returns_all_three():
    scores = evaluate([0, 0, 1, 1], [0, 0, 1, 0])
    assert set(scores) == {"acc", "nmi", "ari"}
    assert scores["acc"] == pytest.approx(0.75)
    assert all(isinstance(v, float) for v in scores.values())


@pytest.mark.parametrize(
    "y_true, y_pred, match",
    [([0, 1], [0], "same length"), ([[0, 1]], [[0, 1]], "1-D"), ([], [], "empty")],
)
def test_metrics_reject_bad_input(y_true, y_pred, match):
    with pytest.raises(ValueError, match=match):
        evaluate(y_true, y_pred)


@pytest.mark.parametrize(
    "y_true, y_pred, acc",
    [
        # more clusters than classes: cluster 1 stays unmatched, its 1 point counts as an error
        ([0, 0, 0, 1, 1, 1], [0, 0, 1, 2, 2, 2], 5 / 6),
        # fewer clusters than classes: cluster 0 matches class 0 or 1 (2 points), cluster 1 class 2
        ([0, 0, 1, 1, 2, 2], [0, 0, 0, 0, 1, 1], 4 / 6),
        # -1 (noise) is one more label: here it is better left unmatched
        ([0, 0, 0, 1, 1, 1], [-1, 0, 0, 1, 1, -1], 4 / 6),
        # ... and here the matching pairs it with class 0
        ([0, 0, 1, 1, 1], [-1, -1, 0, 0, 0], 1.0),
    ],
)
def test_cluster_acc_hand_computed(y_true, y_pred, acc):
    assert cluster_acc(y_true, y_pred) == pytest.approx(acc)
    scores = evaluate(y_true, y_pred)
    assert scores["acc"] == pytest.approx(acc) and set(scores) == {"acc", "nmi", "ari"}
    assert all(math.isfinite(v) for v in scores.values())
