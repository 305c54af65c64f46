"""`n2d cluster` never overwrites a user's files, and every error that does not need the
trained autoencoder comes before any data loading or training (issue 11 point 7, issue 10)."""

import json
import sys
import time

import numpy as np
import pytest

from n2d import N2D
from n2d.cli import main

SMALL = ["--epochs", "2", "--hidden-dims", "16", "--device", "cpu", "-q"]
MARKER = ".n2d-output.json"


@pytest.fixture
def x_npy(tmp_path, blobs):
    path = tmp_path / "x.npy"
    np.save(path, blobs[0])
    return path


@pytest.fixture
def expensive(monkeypatch):
    """Records every data load and fit, which a refused run must not reach."""
    calls = []
    import n2d._util.datafiles
    import n2d.datasets

    real_read, real_fit = getattr(n2d._util.datafiles, "read_data", None), N2D.fit

    def read_data(*a, **k):
        calls.append("read_data")
        return real_read(*a, **k)

    def load_dataset(*a, **k):
        calls.append("load_dataset")
        raise AssertionError("load_dataset must not be reached")

    def fit(self, *a, **k):
        calls.append("fit")
        return real_fit(self, *a, **k)

    monkeypatch.setattr(n2d._util.datafiles, "read_data", read_data, raising=False)
    monkeypatch.setattr(n2d.datasets, "load_dataset", load_dataset)
    monkeypatch.setattr(N2D, "fit", fit)
    return calls


def _refused(capsys, argv, expensive, message):
    t0 = time.perf_counter()
    code = main(argv)
    took = time.perf_counter() - t0
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("n2d: error: ") and err.count("\n") == 1, err
    assert message in err, err
    assert "fit" not in expensive and "load_dataset" not in expensive, expensive
    assert took < 5, f"refused after {took:.1f} s"
    return err


# --------------------------------------------------------------------------- #
# --out: ours (new, empty, marked) or refused before fitting
# --------------------------------------------------------------------------- #


def test_out_naming_a_file_is_refused_before_fitting(capsys, tmp_path, x_npy, expensive):
    target = tmp_path / "results.txt"
    target.write_text("my notes\n")
    _refused(capsys, ["cluster", str(x_npy), "--n-clusters", "3", "--out", str(target), *SMALL], expensive,
             f"--out {target} is a file, not a folder")
    assert target.read_text() == "my notes\n"


def test_out_under_a_file_is_refused_before_fitting(capsys, tmp_path, x_npy, expensive):
    (tmp_path / "f").write_text("x")
    _refused(capsys, ["cluster", str(x_npy), "--n-clusters", "3", "--out", str(tmp_path / "f" / "o"), *SMALL],
             expensive, "is a file")


def test_out_folder_with_the_users_files_is_refused_before_fitting(capsys, tmp_path, x_npy, expensive):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "labels.csv").write_text("my,own,labels\n")
    _refused(capsys, ["cluster", str(x_npy), "--n-clusters", "3", "--out", str(out), *SMALL], expensive,
             f"Refusing to write into {out}: it is a folder that n2d cluster did not write (it holds labels.csv)")
    assert (out / "labels.csv").read_text() == "my,own,labels\n"
    assert sorted(p.name for p in out.iterdir()) == ["labels.csv"]


def test_out_folder_is_ours_new_empty_or_marked(capsys, tmp_path, x_npy, expensive):
    out = tmp_path / "empty"
    out.mkdir()
    assert main(["cluster", str(x_npy), "--n-clusters", "3", "--out", str(out), *SMALL]) == 0
    marker = json.loads((out / MARKER).read_text())
    assert marker["format"] == "n2d-output"
    assert set(marker["files"]) == {"labels.csv", "result.json", "model"}
    assert all(v for v in marker["files"].values())
    # a second run into the folder it wrote replaces its own files; the user's note stays
    (out / "notes.txt").write_text("keep me\n")
    before = (out / "labels.csv").read_text()
    assert main(["cluster", str(x_npy), "--n-clusters", "3", "--out", str(out), *SMALL]) == 0
    assert (out / "labels.csv").read_text() == before and (out / "notes.txt").read_text() == "keep me\n"
    assert N2D.load(out / "model").n_features_in_ == 8
    capsys.readouterr()
    expensive.clear()
    # a file n2d wrote but the user changed since is not overwritten
    (out / "labels.csv").write_text(before + "edited by hand\n")
    _refused(capsys, ["cluster", str(x_npy), "--n-clusters", "3", "--out", str(out), *SMALL], expensive,
             f"Refusing to overwrite {out / 'labels.csv'}: it was changed after n2d wrote it")
    assert (out / "labels.csv").read_text().endswith("edited by hand\n")
    # a file n2d never wrote, where it would write one, is not overwritten either
    (out / "labels.csv").write_text(before)
    (out / "clusters.png").write_bytes(b"the user's picture")
    _refused(capsys, ["cluster", str(x_npy), "--n-clusters", "3", "--out", str(out), "--plot", *SMALL], expensive,
             f"Refusing to overwrite {out / 'clusters.png'}: n2d did not write it")
    assert (out / "clusters.png").read_bytes() == b"the user's picture"


def test_out_model_folder_replaced_by_a_file_is_refused(capsys, tmp_path, x_npy, expensive):
    out = tmp_path / "o"
    out.mkdir()
    (out / MARKER).write_text(json.dumps({"format": "n2d-output", "files": {"labels.csv": None}}))
    (out / "model").write_text("not a model")
    _refused(capsys, ["cluster", str(x_npy), "--n-clusters", "3", "--out", str(out), *SMALL], expensive,
             f"Refusing to overwrite {out / 'model'}: n2d did not write it")


def test_out_with_a_corrupt_marker_is_refused(capsys, tmp_path, x_npy, expensive):
    out = tmp_path / "o"
    out.mkdir()
    (out / MARKER).write_text("{not json")
    _refused(capsys, ["cluster", str(x_npy), "--n-clusters", "3", "--out", str(out), *SMALL], expensive,
             f"its {MARKER} is unreadable")


# --------------------------------------------------------------------------- #
# Bad options: a clear one-line error before any data is loaded or anything trained
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    "options, message",
    [
        (["--manifold", "umpa"],
         "--manifold must be one of umap, tsne, isomap, lle, none; got 'umpa' (did you mean 'umap'?)"),
        (["--clusterer", "gmn"], "--clusterer must be one of gmm, kmeans, spectral, agglomerative, hdbscan; got 'gmn'"),
        (["--hidden-dims", "64,x"], "--hidden-dims must be comma-separated positive integers"),
        (["--hidden-dims", "64,0"], "--hidden-dims must be comma-separated positive integers"),
        (["--epochs", "-1"], "--epochs must be 'auto' or an integer >= 0; got '-1'"),
        (["--epochs", "fast"], "--epochs must be 'auto' or an integer >= 0; got 'fast'"),
        (["--paper", "--epochs", "50"], "--paper means --epochs 1000 --precision float32"),
        (["--paper", "--precision", "bfloat16"], "--paper means --epochs 1000 --precision float32"),
        (["--batch-size", "0"], "--batch-size must be an integer >= 1; got 0"),
        (["--n-clusters", "1"], "--n-clusters must be an integer >= 2; got 1"),
        (["--n-init", "0"], "--n-init must be an integer >= 1; got 0"),
        (["--seed", "-3"], "--seed must be an integer in [0, 4294967295]; got -3"),
        (["--device", "tpu"], "device must be one of 'auto', 'cpu', 'cuda' or 'cuda:N'; got 'tpu'"),
        (["--fit-sample", "500"], "--fit-sample must be 'auto', 'all' or an integer >= 1000"),
        (["--fit-sample", "most"],
         "--fit-sample must be 'auto', 'all' or an integer >= 1000 (rows to fit the manifold and clusterer on); "
         "got 'most'"),
        (["--weights", "{tmp}/none.safetensors"], "--weights {tmp}/none.safetensors: no such file"),
        (["--weights", "{tmp}/junk.safetensors"], "is not a readable safetensors weights file"),
    ],
)
def test_bad_option_fails_before_loading_data_or_training(capsys, tmp_path, expensive, options, message):
    (tmp_path / "junk.safetensors").write_bytes(b"\x00" * 64)
    options = [o.format(tmp=tmp_path) for o in options]
    out = tmp_path / "o"
    # a named dataset that is not there: reaching the data would give another error
    argv = ["cluster", "mnist", "--data-dir", str(tmp_path / "nodata"), "--no-download", "--out", str(out),
            "--epochs", "2", "--device", "cpu", "-q", *options]
    _refused(capsys, argv, expensive, message.format(tmp=tmp_path))
    assert not out.exists()


def test_bad_option_on_a_file_fails_before_reading_it(capsys, tmp_path, x_npy, expensive):
    _refused(capsys, ["cluster", str(x_npy), "--n-clusters", "3", "--manifold", "tnse", "--out", str(tmp_path / "o")],
             expensive, "did you mean 'tsne'?")
    assert "read_data" not in expensive


def test_plot_without_matplotlib_fails_before_loading_data(capsys, tmp_path, expensive, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    argv = ["cluster", "mnist", "--data-dir", str(tmp_path), "--no-download", "--plot", "--out", str(tmp_path / "o")]
    _refused(capsys, argv, expensive, "pip install matplotlib")


def test_unknown_dataset_fails_before_anything(capsys, tmp_path, expensive):
    _refused(capsys, ["cluster", "mnsit", "--out", str(tmp_path / "o")], expensive, "mnsit")


def test_weights_of_another_shape_fail_before_training(capsys, tmp_path, x_npy, monkeypatch):
    """Shapes need the data's width, so they are checked after reading it, but nothing trains."""
    from n2d.autoencoder import Autoencoder

    ae = Autoencoder(n_components=3, hidden_dims=(16,), epochs=1, device="cpu", verbose=0, random_state=0)
    ae.fit(np.random.RandomState(0).rand(50, 5).astype(np.float32))
    ae.save_weights(tmp_path / "w.safetensors")
    trained = []
    import n2d.autoencoder

    monkeypatch.setattr(n2d.autoencoder, "train_autoencoder", lambda *a, **k: trained.append(1))
    err = _error(capsys, ["cluster", str(x_npy), "--n-clusters", "3", "--weights", str(tmp_path / "w.safetensors"),
                          "--out", str(tmp_path / "o"), *SMALL])
    assert "do not fit this architecture" in err and not trained
    assert not (tmp_path / "o").exists()


def test_given_weights_train_nothing(capsys, tmp_path, x_npy, blobs, monkeypatch):
    from n2d.autoencoder import Autoencoder

    ae = Autoencoder(n_components=3, hidden_dims=(16,), epochs=1, device="cpu", verbose=0, random_state=0)
    ae.fit(blobs[0]).save_weights(tmp_path / "w.safetensors")
    import n2d.autoencoder

    monkeypatch.setattr(n2d.autoencoder, "train_autoencoder", lambda *a, **k: pytest.fail("trained"))
    argv = ["cluster", str(x_npy), "--n-clusters", "3", "--weights", str(tmp_path / "w.safetensors"),
            "--out", str(tmp_path / "o"), *SMALL]
    assert main(argv) == 0
    assert "autoencoder: given weights" in capsys.readouterr().out
    result = json.loads((tmp_path / "o" / "result.json").read_text())
    assert result["settings"]["weights"] == str((tmp_path / "w.safetensors").resolve())
    assert result["runs"] == [{"run": 0, "seed": 0, "autoencoder": "weights", "epochs_trained": 0}]


def _error(capsys, argv):
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("n2d: error: ") and err.count("\n") == 1, err
    return err


# --------------------------------------------------------------------------- #
# n2d predict --out
# --------------------------------------------------------------------------- #


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory, blobs):
    path = tmp_path_factory.mktemp("model") / "model"
    N2D(n_clusters=3, hidden_dims=(16,), epochs=2, device="cpu", random_state=0, verbose=0).fit(blobs[0]).save(path)
    return path


def test_predict_never_overwrites_a_file_it_did_not_write(capsys, tmp_path, x_npy, saved_model):
    mine = tmp_path / "mine.csv"
    mine.write_text("a,b\n1,2\n")
    assert "Refusing to overwrite" in _error(capsys, ["predict", str(saved_model), str(x_npy), "--out", str(mine)])
    assert mine.read_text() == "a,b\n1,2\n"
    assert "is the input file" in _error(capsys, ["predict", str(saved_model), str(x_npy), "--out", str(x_npy)])
    assert "is a folder" in _error(capsys, ["predict", str(saved_model), str(x_npy), "--out", str(tmp_path)])
    # its own labels file it replaces
    out = tmp_path / "labels.csv"
    assert main(["predict", str(saved_model), str(x_npy), "--out", str(out)]) == 0
    assert main(["predict", str(saved_model), str(x_npy), "--out", str(out)]) == 0
    assert out.read_text().startswith("index,cluster\n")


def test_missing_data_file_is_reported_before_the_output_folder(capsys, tmp_path, expensive):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("x")
    _refused(capsys, ["cluster", str(tmp_path / "nope.csv"), "--out", str(out)], expensive,
             f"Data file not found: {tmp_path / 'nope.csv'}")


def test_a_file_put_into_the_folder_during_the_fit_is_not_overwritten(capsys, tmp_path, x_npy, monkeypatch):
    out = tmp_path / "o"
    real_fit = N2D.fit

    def fit(self, *a, **k):
        out.mkdir()
        (out / "labels.csv").write_text("the user's, written while n2d was fitting\n")
        return real_fit(self, *a, **k)

    monkeypatch.setattr(N2D, "fit", fit)
    err = _error(capsys, ["cluster", str(x_npy), "--n-clusters", "3", "--out", str(out), *SMALL])
    assert "it is a folder that n2d cluster did not write (it holds labels.csv)" in err
    assert (out / "labels.csv").read_text() == "the user's, written while n2d was fitting\n"
