"""`n2d predict` in blocks: a memory-mapped .npy, labels written block by block and atomically (issue 14)."""

import numpy as np
import pytest

from n2d import N2D
from n2d._util.streaming import DEFAULT_CHUNK_SIZE, check_chunk_size, chunk_bounds, predict_chunks
from n2d.cli import main


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, blobs):
    path = tmp_path_factory.mktemp("model") / "model"
    N2D(n_clusters=3, hidden_dims=(16,), epochs=2, device="cpu", random_state=0, verbose=0).fit(blobs[0]).save(path)
    return path


@pytest.fixture(scope="module")
def model(model_dir):
    return N2D.load(model_dir)


@pytest.fixture
def x_npy(tmp_path, blobs):
    path = tmp_path / "x.npy"
    np.save(path, blobs[0])
    return path


def _labels(path):
    lines = path.read_text().splitlines()
    assert lines[0] == "index,cluster"
    table = np.array([line.split(",") for line in lines[1:]], dtype=np.int64)
    assert (table[:, 0] == np.arange(len(table))).all()
    return table[:, 1]


def _predict(argv):
    return main(["predict", *argv, "-q"])


def _calls(monkeypatch):
    """Records every N2D.predict call (the rows it got)."""
    seen = []
    real = N2D.predict

    def predict(self, X):
        seen.append(len(X))
        return real(self, X)

    monkeypatch.setattr(N2D, "predict", predict)
    return seen


# --------------------------------------------------------------------------- #
# Same labels as in memory
# --------------------------------------------------------------------------- #


def test_streamed_labels_equal_in_memory_predict(tmp_path, x_npy, model_dir, model, blobs, monkeypatch):
    seen = _calls(monkeypatch)
    out = tmp_path / "x.labels.csv"
    assert _predict([str(model_dir), str(x_npy), "--chunk-size", "97"]) == 0  # 300 = 3 x 97 + 9
    assert seen == [97, 97, 97, 9]
    labels = _labels(out)
    x = blobs[0]
    expected_blocks = np.concatenate([model.predict(x[s:s + 97]) for s in range(0, 300, 97)])
    assert (labels == expected_blocks).all()  # each block is exactly model.predict(block)
    assert (labels == model.predict(x)).all()  # and one predict of everything (per-point placement)


def test_default_chunk_size_and_stdout(tmp_path, x_npy, model_dir, capsys, monkeypatch):
    seen = _calls(monkeypatch)
    assert DEFAULT_CHUNK_SIZE == 65_536
    assert _predict([str(model_dir), str(x_npy), "--out", str(tmp_path / "l.csv")]) == 0
    assert seen == [300]
    assert f"wrote 300 labels to {tmp_path / 'l.csv'}" in capsys.readouterr().out


def test_npy_is_memory_mapped_and_never_read_whole(tmp_path, x_npy, model_dir, monkeypatch):
    import n2d._util.datafiles
    import n2d._util.streaming

    loads, given = [], []
    real_load, real_chunks = np.load, n2d._util.streaming.predict_chunks

    def load(*a, **k):
        loads.append(k.get("mmap_mode"))
        return real_load(*a, **k)

    def chunks(model, X, *a, **k):
        given.append(X)
        return real_chunks(model, X, *a, **k)

    def read_data(*a, **k):
        raise AssertionError("a .npy input must not be read into memory")

    monkeypatch.setattr(n2d._util.datafiles.np, "load", load)
    monkeypatch.setattr(n2d._util.streaming, "predict_chunks", chunks)
    monkeypatch.setattr(n2d._util.datafiles, "read_data", read_data)
    assert _predict([str(model_dir), str(x_npy), "--chunk-size", "64", "--out", str(tmp_path / "l.csv")]) == 0
    assert loads == ["r"]
    assert isinstance(given[0], np.memmap) and given[0].mode == "r"


def test_npy_columns_are_selected_per_block(tmp_path, model_dir, model, blobs):
    x = blobs[0]
    wide = np.hstack([x, np.full((len(x), 2), np.nan, dtype=np.float32)])  # the dropped columns are never checked
    np.save(tmp_path / "wide.npy", wide)
    out = tmp_path / "l.csv"
    assert _predict([str(model_dir), str(tmp_path / "wide.npy"), "--drop-columns", "8,9", "--chunk-size", "128",
                     "--out", str(out)]) == 0
    assert (_labels(out) == model.predict(x)).all()


def test_csv_input_is_predicted_in_blocks_too(tmp_path, model_dir, model, blobs, monkeypatch):
    x, y = blobs
    path = tmp_path / "x.csv"
    path.write_text("\n".join(",".join(f"{v:.7g}" for v in row) + f",{t}" for row, t in zip(x, y)) + "\n")
    seen = _calls(monkeypatch)
    out = tmp_path / "l.csv"
    assert _predict([str(model_dir), str(path), "--label-column", "8", "--chunk-size", "100", "--out", str(out)]) == 0
    assert seen == [100, 100, 100]
    lines = out.read_text().splitlines()
    assert lines[0] == "index,cluster,true_label" and len(lines) == 301
    assert [int(line.split(",")[2]) for line in lines[1:]] == y.tolist()


# --------------------------------------------------------------------------- #
# Refused before anything is loaded or predicted
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("value", ["0", "-5", "1.5", "many", ""])
def test_bad_chunk_size_is_an_argparse_error_before_loading(capsys, tmp_path, x_npy, model_dir, value, monkeypatch):
    def load(*a, **k):
        raise AssertionError("the model must not be loaded")

    monkeypatch.setattr(N2D, "load", load)
    with pytest.raises(SystemExit) as exc:
        main(["predict", str(model_dir), str(x_npy), "--chunk-size", value])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f"argument --chunk-size: must be an integer >= 1 (rows per block); got {value!r}" in err
    assert not (tmp_path / "x.labels.csv").exists()


def test_wrong_number_of_columns_fails_before_any_prediction(capsys, tmp_path, model_dir, blobs, monkeypatch):
    seen = _calls(monkeypatch)
    np.save(tmp_path / "five.npy", blobs[0][:, :5])
    assert _predict([str(model_dir), str(tmp_path / "five.npy")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("n2d: error: ") and "five.npy has 5 features, but the model was fitted on 8" in err
    assert seen == [] and not (tmp_path / "five.labels.csv").exists()


def test_not_an_array_file_is_refused(capsys, tmp_path, model_dir):
    np.save(tmp_path / "flat.npy", np.zeros(10, dtype=np.float32))
    assert _predict([str(model_dir), str(tmp_path / "flat.npy")]) == 2
    assert "must hold a 2-D array" in capsys.readouterr().err
    np.save(tmp_path / "text.npy", np.array([["a", "b"]]))
    assert _predict([str(model_dir), str(tmp_path / "text.npy")]) == 2
    assert "must hold numbers" in capsys.readouterr().err
    assert _predict([str(model_dir), str(tmp_path / "flat.npy"), "--label-column", "0"]) == 2
    assert "--label-column applies to .csv files only" in capsys.readouterr().err


def test_nan_names_the_rows_of_its_block(capsys, tmp_path, model_dir, blobs):
    x = blobs[0].copy()
    x[150, 2] = np.nan
    x[160, 0] = np.inf
    np.save(tmp_path / "x.npy", x)
    assert _predict([str(model_dir), str(tmp_path / "x.npy"), "--chunk-size", "64"]) == 2
    err = capsys.readouterr().err
    assert "x.npy: missing value (NaN) in rows 128..191 (0-based), first at row 150, column 2" in err
    assert "2 non-finite value(s) in these rows" in err
    assert not (tmp_path / "x.labels.csv").exists()


# --------------------------------------------------------------------------- #
# Atomic: a failure half-way leaves the previous labels file as it was
# --------------------------------------------------------------------------- #


def test_a_failure_mid_write_keeps_the_previous_labels_file(capsys, tmp_path, x_npy, model_dir, monkeypatch):
    out = tmp_path / "labels.csv"
    assert _predict([str(model_dir), str(x_npy), "--chunk-size", "100", "--out", str(out)]) == 0
    before = out.read_bytes()
    real, calls = N2D.predict, []

    def predict(self, X):
        calls.append(len(X))
        if len(calls) == 3:  # two blocks are already in the temporary file
            raise MemoryError("injected fault")
        return real(self, X)

    monkeypatch.setattr(N2D, "predict", predict)
    assert _predict([str(model_dir), str(x_npy), "--chunk-size", "100", "--out", str(out)]) == 2
    assert "injected fault" in capsys.readouterr().err
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["labels.csv", "x.npy"]  # no temporary left behind


def test_a_file_n2d_did_not_write_is_still_refused(capsys, tmp_path, x_npy, model_dir, monkeypatch):
    seen = _calls(monkeypatch)
    mine = tmp_path / "mine.csv"
    mine.write_text("a,b\n1,2\n")
    assert _predict([str(model_dir), str(x_npy), "--chunk-size", "10", "--out", str(mine)]) == 2
    assert "Refusing to overwrite" in capsys.readouterr().err
    assert mine.read_text() == "a,b\n1,2\n" and seen == []


# --------------------------------------------------------------------------- #
# predict_chunks itself
# --------------------------------------------------------------------------- #


def test_predict_chunks_yields_each_block_in_order(model, blobs):
    x = blobs[0]
    starts, parts = zip(*predict_chunks(model, x, 128))
    assert starts == (0, 128, 256)
    assert (np.concatenate(parts) == np.concatenate([model.predict(x[s:s + 128]) for s in starts])).all()
    starts, probas = zip(*predict_chunks(model, x, 128, method="predict_proba"))
    assert all(np.array_equal(p, model.predict_proba(x[s:s + 128])) for s, p in zip(starts, probas))


def test_predict_chunks_checks_before_the_first_block(model, blobs):
    x = blobs[0]
    with pytest.raises(ValueError, match="X has 5 features, but the model was fitted on 8"):
        predict_chunks(model, x[:, :5])
    with pytest.raises(ValueError, match="2-D array"):
        predict_chunks(model, x[0])
    with pytest.raises(ValueError, match="method must be one of"):
        predict_chunks(model, x, method="transform")
    with pytest.raises(ValueError, match="integer >= 1"):
        predict_chunks(model, x, 0)


@pytest.mark.parametrize("value", [0, -1, 2.0, True, "x", None])
def test_check_chunk_size_refuses(value):
    with pytest.raises(ValueError, match=r"the chunk size must be an integer >= 1 \(rows per block\); got"):
        check_chunk_size(value)


def test_chunk_bounds():
    assert check_chunk_size("65_536") == 65_536 and check_chunk_size(np.int64(3)) == 3
    assert chunk_bounds(10, 4) == [(0, 4), (4, 8), (8, 10)]
    assert chunk_bounds(8, 4) == [(0, 4), (4, 8)] and chunk_bounds(0, 4) == []
