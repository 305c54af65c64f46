import json

import numpy as np
import pytest
from sklearn.base import BaseEstimator
from sklearn.cluster import KMeans

from n2d import N2D
from n2d.exceptions import ModelFormatError
from n2d.persistence import FORMAT_VERSION, load_model, save_model


@pytest.fixture(scope="module")
def fitted(blobs):
    model = N2D(n_clusters=3, hidden_dims=(16,), epochs=3, device="cpu", random_state=0, verbose=0).fit(blobs[0])
    return model, blobs[0]


def test_round_trip_predicts_exactly_the_same(fitted, tmp_path):
    model, x = fitted
    new = x + np.random.RandomState(2).normal(0, 0.3, x.shape).astype(np.float32)
    before = model.predict(new), model.predict_proba(new), model.transform(new)
    model.save(tmp_path / "m")
    loaded = N2D.load(tmp_path / "m")
    after = loaded.predict(new), loaded.predict_proba(new), loaded.transform(new)
    for a, b in zip(before, after):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(loaded.labels_, model.labels_)
    assert loaded.get_params() == model.get_params()
    assert loaded.timings_ == model.timings_


def test_saved_model_has_no_pickle(fitted, tmp_path):
    model, _ = fitted
    path = model.save(tmp_path / "m")
    assert sorted(p.name for p in path.iterdir()) == ["arrays.safetensors", "manifest.json"]
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["format"] == "n2d-model" and manifest["format_version"] == FORMAT_VERSION
    assert manifest["model"]["__estimator__"] == "n2d.estimator.N2D"
    for f in path.iterdir():
        assert b"\x80\x04\x95" not in f.read_bytes()  # pickle protocol 4 header


def test_swapped_sklearn_stages_round_trip(blobs, tmp_path):
    x = blobs[0]
    model = N2D(n_clusters=3, hidden_dims=(16,), epochs=2, manifold=None, clusterer=KMeans(n_init=2),
                device="cpu", random_state=0, verbose=0).fit(x)
    model.save(tmp_path / "k")
    np.testing.assert_array_equal(N2D.load(tmp_path / "k").predict(x), model.predict(x))


def test_model_with_explicit_stage_parameters_round_trips(blobs, tmp_path):
    from n2d import UMAP, Autoencoder

    x = blobs[0]
    model = N2D(n_clusters=3, autoencoder=Autoencoder(hidden_dims=(16,), cache=False), manifold=UMAP(n_neighbors=10),
                epochs=2, device="cpu", random_state=0, verbose=0).fit(x)
    model.save(tmp_path / "p")
    loaded = N2D.load(tmp_path / "p")
    assert loaded.autoencoder.get_params() == model.autoencoder.get_params()
    assert not hasattr(loaded.autoencoder, "module_")  # the parameter stays unfitted
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_unsavable_stage_raises_before_writing(blobs, tmp_path):
    class Custom(BaseEstimator):  # not importable from n2d or sklearn
        def fit_predict(self, X):
            self.labels_ = (X[:, 0] > np.median(X[:, 0])).astype(int)
            return self.labels_

    model = N2D(n_clusters=2, hidden_dims=(8,), epochs=1, manifold=None, clusterer=Custom(),
                device="cpu", random_state=0, verbose=0).fit(blobs[0])
    with pytest.raises(ValueError, match="only those can be saved"):
        model.save(tmp_path / "c")
    assert list(tmp_path.iterdir()) == []


def test_unfitted_model_cannot_be_saved(tmp_path):
    with pytest.raises(ValueError, match="not fitted"):
        N2D().save(tmp_path / "m")


def test_refuses_to_overwrite_a_directory_that_is_not_a_model(fitted, tmp_path):
    model, _ = fitted
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "thesis.tex").write_text("precious")
    with pytest.raises(FileExistsError, match="not an n2d model"):
        model.save(tmp_path / "docs")
    assert (tmp_path / "docs" / "thesis.tex").read_text() == "precious"


def test_overwrite_replaces_a_model_atomically(fitted, tmp_path):
    model, _ = fitted
    model.save(tmp_path / "m")
    model.save(tmp_path / "m")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]  # no temp or backup dirs left
    with pytest.raises(FileExistsError, match="overwrite=True"):
        model.save(tmp_path / "m", overwrite=False)


def test_failed_overwrite_leaves_the_old_model_intact(fitted, tmp_path, monkeypatch):
    model, x = fitted
    model.save(tmp_path / "m")
    import n2d.persistence as persistence

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr("safetensors.numpy.save_file", boom)
    with pytest.raises(OSError, match="disk full"):
        persistence.save_model(model, tmp_path / "m")
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]
    np.testing.assert_array_equal(N2D.load(tmp_path / "m").labels_, model.labels_)


def _saved(fitted, tmp_path):
    model, _ = fitted
    return model.save(tmp_path / "m")


def test_truncated_arrays_file_is_detected(fitted, tmp_path):
    path = _saved(fitted, tmp_path)
    data = (path / "arrays.safetensors").read_bytes()
    (path / "arrays.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFormatError, match="truncated or corrupted"):
        N2D.load(path)


def test_flipped_byte_is_detected(fitted, tmp_path):
    path = _saved(fitted, tmp_path)
    data = bytearray((path / "arrays.safetensors").read_bytes())
    data[-10] ^= 0xFF
    (path / "arrays.safetensors").write_bytes(bytes(data))
    with pytest.raises(ModelFormatError, match="checksum"):
        N2D.load(path)


def test_corrupted_manifest_is_detected(fitted, tmp_path):
    path = _saved(fitted, tmp_path)
    text = (path / "manifest.json").read_text()
    (path / "manifest.json").write_text(text[: len(text) // 2])
    with pytest.raises(ModelFormatError, match="corrupted or truncated"):
        N2D.load(path)


def test_newer_format_is_refused_with_upgrade_hint(fitted, tmp_path):
    path = _saved(fitted, tmp_path)
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["format_version"] = FORMAT_VERSION + 1
    manifest["versions"]["n2d"] = "9.0.0"
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelFormatError, match="n2d 9.0.0 in model format 2.*Upgrade n2d"):
        N2D.load(path)


@pytest.mark.parametrize("cls", ["os.system", "builtins.eval", "subprocess.Popen", "n2d._util.files.atomic_path"])
def test_loading_refuses_classes_outside_the_allow_list(fitted, tmp_path, cls):
    path = _saved(fitted, tmp_path)
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["model"]["__estimator__"] = cls
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelFormatError, match="Refusing to load"):
        load_model(path)


def test_missing_directory_or_files(tmp_path):
    with pytest.raises(ModelFormatError, match="manifest.json is missing"):
        N2D.load(tmp_path / "nowhere")


def test_model_saved_elsewhere_without_arrays(fitted, tmp_path):
    path = _saved(fitted, tmp_path)
    (path / "arrays.safetensors").unlink()
    with pytest.raises(ModelFormatError, match="incomplete"):
        N2D.load(path)


def test_plain_sklearn_estimator_round_trips(blobs, tmp_path):
    km = KMeans(n_clusters=3, n_init=2, random_state=0).fit(blobs[0])
    save_model(km, tmp_path / "km")
    np.testing.assert_array_equal(load_model(tmp_path / "km").predict(blobs[0]), km.predict(blobs[0]))
