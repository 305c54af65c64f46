"""Models saved before the package layout (private module class paths) load unchanged and predict the same."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from n2d import N2D

SAVED = Path(__file__).resolve().parents[1] / "data" / "saved-models"
NAMES = sorted(p.name for p in SAVED.iterdir() if p.is_dir())


def _class_paths(tree) -> set[str]:
    if isinstance(tree, dict):
        found = {tree["__estimator__"]} if "__estimator__" in tree else set()
        return found.union(*(_class_paths(v) for v in tree.values()))
    if isinstance(tree, list):
        return set().union(*(_class_paths(v) for v in tree))
    return set()


def _manifest_paths(folder: Path) -> set[str]:
    return _class_paths(json.loads((folder / "manifest.json").read_text())["model"])


def test_the_fixtures_name_every_old_private_class_path():
    old = set().union(*(_manifest_paths(SAVED / name) for name in NAMES))
    assert {
        "n2d._umap_torch.TorchUMAP",
        "n2d._gmm_torch.TorchGaussianMixture",
        "n2d._hdbscan.HDBSCANClusterer",
        "n2d.manifold.UMAP",
        "n2d.autoencoder.Autoencoder",
        "n2d.estimator.N2D",
    } <= old


@pytest.mark.parametrize("name", NAMES)
def test_an_older_model_loads_and_predicts_identically(name):
    model = N2D.load(SAVED / name)
    expected = np.load(SAVED / name / "predictions.npz")
    np.testing.assert_array_equal(model.labels_, expected["labels"])
    np.testing.assert_array_equal(model.predict(expected["new_x"]), expected["predict"])
    if "predict_proba" in expected:
        np.testing.assert_allclose(model.predict_proba(expected["new_x"]), expected["predict_proba"], atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_a_resaved_model_names_its_classes_by_package(name, tmp_path):
    model = N2D.load(SAVED / name)
    model.save(tmp_path / name)
    paths = _manifest_paths(tmp_path / name)
    assert not [p for p in paths if any(part.startswith("_") for part in p.split("."))], paths
    again = N2D.load(tmp_path / name)
    expected = np.load(SAVED / name / "predictions.npz")
    np.testing.assert_array_equal(again.predict(expected["new_x"]), expected["predict"])
