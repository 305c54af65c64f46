"""The parsers (n2d.datasets._parsers), one per file format."""

from __future__ import annotations

from datasets_helpers import (
    HAR_NAMES,
    HAR_TEST_COUNTS,
    HAR_TRAIN_COUNTS,
    counts,
    need,
)

from n2d.datasets import _parsers


def test_har_real_labels_parse_with_documented_counts(shared_data):
    need(shared_data, "har/y_train.txt", "har/y_test.txt", "har/activity_labels.txt")
    y_train = _parsers.read_har_labels(shared_data / "har" / "y_train.txt")
    y_test = _parsers.read_har_labels(shared_data / "har" / "y_test.txt")
    assert counts(y_train - 1, 6) == HAR_TRAIN_COUNTS
    assert counts(y_test - 1, 6) == HAR_TEST_COUNTS
    assert _parsers.read_har_activities(shared_data / "har" / "activity_labels.txt") == HAR_NAMES
