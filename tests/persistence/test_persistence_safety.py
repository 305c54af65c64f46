"""Saved models under crashes and hostile files: recoverable replacement, clean temporaries, checked loading."""

import hashlib
import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from sklearn.cluster import KMeans

import n2d
from n2d import N2D
from n2d.exceptions import ModelFormatError
from n2d.persistence import load_model, save_model

SRC = str(Path(n2d.__file__).resolve().parents[1])


@pytest.fixture(scope="module")
def fitted(blobs):
    model = N2D(n_clusters=3, hidden_dims=(16,), epochs=2, device="cpu", random_state=0, verbose=0).fit(blobs[0])
    return model, blobs[0]


def _kmeans(k):
    return KMeans(n_clusters=k, n_init=1, random_state=0).fit(np.random.RandomState(0).rand(40, 2))


def _killed_save(path, when):
    """Run save_model(KMeans(3)) in a child process that dies (os._exit, no cleanup) at ``when``."""
    code = f"""
import os, sys
import numpy as np
from sklearn.cluster import KMeans
import safetensors.numpy
from n2d.persistence import save_model

real_replace, real_save = os.replace, safetensors.numpy.save_file
def replace(src, dst):
    real_replace(src, dst)
    if {when!r} == "between-moves" and ".old-" in os.path.basename(str(dst)):
        os._exit(9)  # killed after moving the old model aside, before moving the new one in
def save_file(*a, **k):
    real_save(*a, **k)
    if {when!r} == "while-writing":
        os._exit(9)  # killed while the new model is half written
os.replace, safetensors.numpy.save_file = replace, save_file
save_model(KMeans(n_clusters=3, n_init=1, random_state=0).fit(np.random.RandomState(0).rand(40, 2)), sys.argv[1])
"""
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""), OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-c", code, str(path)], check=False, env=env, capture_output=True, text=True)
    assert proc.returncode == 9, proc.stderr


# -- 3: replacing a model is recoverable ---------------------------------------------- #


def test_save_killed_between_the_two_moves_is_recovered_on_load(tmp_path):
    path = tmp_path / "m"
    save_model(_kmeans(2), path)
    _killed_save(path, "between-moves")
    assert not path.exists() and any(p.name.startswith(".m.old-") for p in tmp_path.iterdir())
    assert load_model(path).n_clusters == 2  # the old model, moved back
    assert [p.name for p in tmp_path.iterdir()] == ["m"]  # and nothing else left behind


def test_next_save_after_a_kill_between_moves_replaces_the_restored_model(tmp_path):
    path = tmp_path / "m"
    save_model(_kmeans(2), path)
    _killed_save(path, "between-moves")
    with pytest.raises(FileExistsError, match="already holds a model"):
        save_model(_kmeans(4), path, overwrite=False)
    save_model(_kmeans(4), path)
    assert load_model(path).n_clusters == 4
    assert [p.name for p in tmp_path.iterdir()] == ["m"]


def test_a_live_saves_moved_aside_model_is_never_restored_or_deleted(tmp_path):
    import n2d.persistence._replace

    path = tmp_path / "m"
    save_model(_kmeans(2), path)
    live = n2d.persistence._replace._temp_path(path, "old")  # named for this (live) process
    os.replace(path, live)
    save_model(_kmeans(3), tmp_path / "other")  # a save of another path ignores it
    assert live.is_dir() and not path.exists()
    n2d.persistence._replace._recover(path)
    assert live.is_dir() and not path.exists()


def test_full_disk_during_save_fails_cleanly_and_keeps_the_old_model(tmp_path, monkeypatch):
    from safetensors import SafetensorError

    path = tmp_path / "m"
    save_model(_kmeans(2), path)

    def full_disk(*a, **k):
        raise SafetensorError("No space left on device (os error 28)")

    monkeypatch.setattr("safetensors.numpy.save_file", full_disk)
    with pytest.raises(OSError, match="Could not write the model to .*No space left on device"):
        save_model(_kmeans(4), path)
    monkeypatch.undo()
    assert [p.name for p in tmp_path.iterdir()] == ["m"]
    assert load_model(path).n_clusters == 2


def test_load_waits_for_a_live_save_between_its_two_moves(tmp_path):
    import threading

    import n2d.persistence._replace

    path = tmp_path / "m"
    save_model(_kmeans(2), path)
    live = n2d.persistence._replace._temp_path(path, "old")  # a live save (this process) has just moved it aside
    os.replace(path, live)
    threading.Timer(0.3, os.replace, (live, path)).start()  # ... and moves a model in soon after
    assert load_model(path).n_clusters == 2


# -- 4: stale temporaries are cleaned, live ones kept --------------------------------- #


def test_killed_save_leaves_a_temporary_that_the_next_save_removes(tmp_path):
    path = tmp_path / "m"
    _killed_save(path, "while-writing")
    leftovers = [p.name for p in tmp_path.iterdir()]
    assert len(leftovers) == 1 and leftovers[0].startswith(".m.tmp-")
    save_model(_kmeans(2), path)
    assert [p.name for p in tmp_path.iterdir()] == ["m"]


def test_killed_save_temporary_is_removed_by_load(tmp_path):
    path = tmp_path / "m"
    save_model(_kmeans(2), path)
    _killed_save(path, "while-writing")
    assert len(list(tmp_path.iterdir())) == 2
    assert load_model(path).n_clusters == 2
    assert [p.name for p in tmp_path.iterdir()] == ["m"]


def test_cleaning_spares_live_foreign_recent_and_unrelated_folders(tmp_path):
    import n2d.persistence._replace

    path = tmp_path / "m"
    live = n2d.persistence._replace._temp_path(path, "tmp")  # this process: alive
    other_host = tmp_path / f".m.tmp-{'0' * 8}-{os.getpid()}-abcdef01"  # another host, recent
    old_style = tmp_path / ".m.tmp-abcdef02"  # an older n2d's name, recent
    old_style_stale = tmp_path / ".m.tmp-abcdef03"  # an older n2d's name, two days old
    other_model = tmp_path / ".other.tmp-abcdef04"  # another path's temporary
    user = tmp_path / ".m.tmp-mine"  # not our naming
    for d in (live, other_host, old_style, old_style_stale, other_model, user):
        d.mkdir()
        (d / "f").write_text("x")
    two_days_ago = time.time() - 2 * 24 * 3600
    os.utime(old_style_stale, (two_days_ago, two_days_ago))
    os.utime(other_model, (two_days_ago, two_days_ago))
    save_model(_kmeans(2), path)
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted(p.name for p in (path, live, other_host, old_style, other_model, user))


def test_temporary_of_a_dead_process_is_stale(tmp_path):
    import n2d.persistence._replace

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    name = f".m.tmp-{n2d.persistence._replace._HOST}-{proc.pid}-abcdef05"
    (tmp_path / name).mkdir()
    save_model(_kmeans(2), tmp_path / "m")
    assert [p.name for p in tmp_path.iterdir()] == ["m"]


# -- 5: tampered manifests and arrays ------------------------------------------------- #


def _tamper(path, manifest_fn=None, arrays_fn=None):
    """Edit a saved model's manifest and/or arrays, keeping the arrays checksum valid (a deliberate edit)."""
    from safetensors.numpy import load_file, save_file

    manifest = json.loads((path / "manifest.json").read_text())
    if arrays_fn is not None:
        arrays = load_file(str(path / "arrays.safetensors"))
        arrays_fn(arrays)
        save_file(arrays, str(path / "arrays.safetensors"), metadata={"format": "n2d-model"})
        manifest["arrays_sha256"] = hashlib.sha256((path / "arrays.safetensors").read_bytes()).hexdigest()
    if manifest_fn is not None:
        manifest_fn(manifest)
    (path / "manifest.json").write_text(manifest if isinstance(manifest, str) else json.dumps(manifest))


def _stage(manifest, stage):
    return manifest["model"]["state"][stage]


def _set_hidden_dims(dims):
    def edit(m):
        _stage(m, "autoencoder_")["params"]["hidden_dims"] = {"__tuple__": list(dims)}
    return edit


@pytest.mark.parametrize("dims", [(5_000_000,), (-5,), (16, 16), ()])
def test_autoencoder_is_not_built_from_tampered_hidden_dims(fitted, tmp_path, monkeypatch, dims):
    import n2d.autoencoder

    path = fitted[0].save(tmp_path / "m")
    _tamper(path, _set_hidden_dims(dims))
    built = []
    real = n2d.autoencoder.MLPAutoencoder
    monkeypatch.setattr(n2d.autoencoder, "MLPAutoencoder", lambda *a: built.append(a) or real(*a))
    with pytest.raises(ModelFormatError, match=r"hidden_dims is|do not fit the architecture|"
                                               r"weight encoder.0.weight has shape \(16, 8\)"):
        N2D.load(path)
    assert built == []  # no network was allocated


def test_deeply_nested_manifest_is_a_format_error(fitted, tmp_path):
    path = fitted[0].save(tmp_path / "m")
    text = (path / "manifest.json").read_text()
    deep = "[" * 100_000 + "]" * 100_000
    (path / "manifest.json").write_text(text.replace('"verbose": 0', f'"verbose": {deep}', 1))
    with pytest.raises(ModelFormatError, match="nest"):
        N2D.load(path)


def test_moderately_nested_manifest_is_a_format_error(fitted, tmp_path):
    path = fitted[0].save(tmp_path / "m")
    text = (path / "manifest.json").read_text()
    deep = "[" * 500 + "]" * 500  # json reads it, the decoder's recursion would not
    (path / "manifest.json").write_text(text.replace('"verbose": 0', f'"verbose": {deep}', 1))
    with pytest.raises(ModelFormatError, match="nests deeper than"):
        N2D.load(path)


def _cut_rows(key, fraction=0.5):
    def edit(arrays):
        arrays[key] = np.ascontiguousarray(arrays[key][: int(len(arrays[key]) * fraction)])
    return edit


def _fix_declared_shapes(arrays_holder):
    def edit(m):
        def walk(v):
            if isinstance(v, dict):
                if "__array__" in v and v["__array__"] in arrays_holder:
                    v["shape"] = list(arrays_holder[v["__array__"]].shape)
                    v["dtype"] = arrays_holder[v["__array__"]].dtype.str
                for x in v.values():
                    walk(x)
            elif isinstance(v, list):
                for x in v:
                    walk(x)
        walk(m)
    return edit


@pytest.mark.parametrize(
    "key, change, message",
    [
        ("model.manifold_.fit_data_", lambda a: a[: len(a) // 2],
         r"fit_data_ has shape \(150, 3\), expected \(300, 3\)"),
        ("model.manifold_.embedding_", lambda a: a[:, :2], "embedding_ has 2 columns but n_components is 3"),
        ("model.clusterer_.means_", lambda a: a[:2], r"means_ has shape \(2, 3\), expected \(3, 3\)"),
        ("model.clusterer_.covariances_", lambda a: a[:, :2], r"covariances_ has shape \(3, 2, 3\)"),
        ("model.clusterer_.precisions_cholesky_", lambda a: a[:1], r"precisions_cholesky_ has shape"),
        ("model.clusterer_.weights_", lambda a: a.astype(np.int32), "weights_ has dtype int32"),
        ("model.autoencoder_.module_state_.encoder.0.weight", lambda a: a[:, :4], "encoder.0.weight has shape"),
        ("model.labels_", lambda a: a[:-1], r"embedding_ has shape \(300, 3\), expected \(299, any\)"),
        ("model.manifold_.embedding_", lambda a: np.full_like(a, np.nan), "contains NaN"),
    ],
)
def test_arrays_inconsistent_with_the_model_are_format_errors(fitted, tmp_path, key, change, message):
    """Arrays edited together with their declared shape (and checksum): caught by the cross-checks."""
    path = fitted[0].save(tmp_path / "m")
    holder = {}

    def edit_arrays(arrays):
        arrays[key] = np.ascontiguousarray(change(arrays[key]))
        holder[key] = arrays[key]

    _tamper(path, arrays_fn=edit_arrays, manifest_fn=_fix_declared_shapes(holder))
    with pytest.raises(ModelFormatError, match=message):
        N2D.load(path)


def test_array_not_matching_its_declared_shape_is_a_format_error(fitted, tmp_path):
    path = fitted[0].save(tmp_path / "m")
    _tamper(path, arrays_fn=_cut_rows("model.manifold_.fit_data_"))
    with pytest.raises(ModelFormatError, match=r"fit_data_' has shape \(150, 3\).*manifest says \[300, 3\]"):
        N2D.load(path)


def test_stage_widths_must_chain(fitted, tmp_path):
    path = fitted[0].save(tmp_path / "m")

    def edit(m):
        _stage(m, "clusterer_")["state"]["n_features_in_"] = 5
    _tamper(path, edit)
    with pytest.raises(ModelFormatError, match=r"means_ has shape \(3, 3\), expected \(3, 5\)"):
        N2D.load(path)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda m: m.__setitem__("model", [1, 2]), "no model entry"),
        (lambda m: m["model"].__setitem__("params", [1]), "needs 'params' and 'state' objects"),
        (lambda m: m["model"]["params"].__setitem__("n_clusters", "ten"), "n_clusters is 'ten'"),
        (lambda m: _stage(m, "manifold_")["state"].__setitem__("n_neighbors_", 10_000), "n_neighbors_ is 10000"),
        (lambda m: _stage(m, "manifold_")["state"].__setitem__("a_", "x"), "a_ is 'x'"),
        (lambda m: m["model"]["state"].__setitem__("best_init_", {"__scalar__": "|O", "value": 1}), "only numbers"),
        (lambda m: m["model"]["state"].__setitem__("best_init_", 3), "best_init_ is 3, but init_scores_ has only 1"),
    ],
)
def test_malformed_manifest_values_are_format_errors(fitted, tmp_path, edit, message):
    path = fitted[0].save(tmp_path / "m")
    _tamper(path, edit)
    with pytest.raises(ModelFormatError, match=message):
        N2D.load(path)


def test_untampered_model_still_loads_and_predicts_the_same(fitted, tmp_path):
    model, x = fitted
    path = model.save(tmp_path / "m")
    np.testing.assert_array_equal(N2D.load(path).predict(x), model.predict(x))


# -- 6: saved files get the normal umask mode ----------------------------------------- #


def test_saved_model_files_get_the_umask_mode(fitted, tmp_path):
    old = os.umask(0o022)
    try:
        path = fitted[0].save(tmp_path / "m")
    finally:
        os.umask(old)
    for name in ("arrays.safetensors", "manifest.json"):
        assert stat.S_IMODE(os.stat(path / name).st_mode) == 0o644, name
