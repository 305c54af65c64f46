"""``n2d predict``: errors, and a CSV's columns matched to the model's features by name (point 8)."""

import json

import numpy as np

from n2d.cli import main

SMALL = ["--epochs", "2", "--hidden-dims", "16", "--device", "cpu", "-q"]


def _error(capsys, args):
    code = main(args)
    err = capsys.readouterr().err
    assert code != 0
    assert err.startswith("n2d: error: ") and "Traceback" not in err
    return err


def test_cli_predict_errors(capsys, tmp_path, blobs):
    np.save(tmp_path / "x.npy", blobs[0])
    assert "not an n2d model" in _error(capsys, ["predict", str(tmp_path), str(tmp_path / "x.npy")])
    assert main(["cluster", str(tmp_path / "x.npy"), "--n-clusters", "3", "--out", str(tmp_path / "o"), *SMALL]) == 0
    np.save(tmp_path / "five.npy", blobs[0][:, :5])
    assert "5 features" in _error(capsys, ["predict", str(tmp_path / "o" / "model"), str(tmp_path / "five.npy")])
    arrays = tmp_path / "o" / "model" / "arrays.safetensors"
    arrays.write_bytes(arrays.read_bytes()[:100])
    err = _error(capsys, ["predict", str(tmp_path / "o" / "model"), str(tmp_path / "x.npy")])
    assert "truncated or corrupted" in err


def test_cli_predict_matches_csv_columns_by_name(tmp_path, blob_csv, capsys):
    from n2d import N2D

    out = tmp_path / "run"
    assert main(["cluster", str(blob_csv), "--label-column", "kind", "--out", str(out), *SMALL]) == 0
    model = N2D.load(out / "model")
    assert list(model.feature_names_in_) == [f"f{i}" for i in range(8)]
    assert json.loads((out / "result.json").read_text())["feature_names"] == [f"f{i}" for i in range(8)]
    capsys.readouterr()
    header, *rows = blob_csv.read_text().splitlines()
    table = np.array([r.split(",") for r in [header, *rows]])
    # the same data with its columns in another order (label first, features reversed)
    order = [8, *range(7, -1, -1)]
    shuffled = tmp_path / "shuffled.csv"
    shuffled.write_text("\n".join(",".join(r[order]) for r in table) + "\n")
    assert main(["predict", str(out / "model"), str(blob_csv), "--label-column", "kind",
                 "--out", str(tmp_path / "a.csv")]) == 0
    assert main(["predict", str(out / "model"), str(shuffled), "--label-column", "kind",
                 "--out", str(tmp_path / "b.csv")]) == 0
    assert "matched by name" in capsys.readouterr().err
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "b.csv").read_text()
    # a renamed column: refused, naming both the missing and the unknown column
    renamed = tmp_path / "renamed.csv"
    renamed.write_text("\n".join([header.replace("f3", "g3"), *rows]) + "\n")
    err = _error(capsys, ["predict", str(out / "model"), str(renamed), "--label-column", "kind",
                          "--out", str(tmp_path / "c.csv")])
    assert "missing column(s) 'f3'; column(s) 'g3' the model was not fitted on" in err
    # an extra column: refused with the hint, accepted once dropped
    extra = tmp_path / "extra.csv"
    extra.write_text("\n".join([header + ",id", *(f"{r},{i}" for i, r in enumerate(rows))]) + "\n")
    err = _error(capsys, ["predict", str(out / "model"), str(extra), "--label-column", "kind"])
    assert "column(s) 'id' the model was not fitted on" in err and "--drop-columns" in err
    assert main(["predict", str(out / "model"), str(extra), "--label-column", "kind", "--drop-columns", "id",
                 "--out", str(tmp_path / "d.csv")]) == 0
    assert (tmp_path / "d.csv").read_text() == (tmp_path / "a.csv").read_text()
    # an array has no names: taken by position, and the note says so
    x = table[1:, :8].astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    capsys.readouterr()
    assert main(["predict", str(out / "model"), str(tmp_path / "x.npy"), "--out", str(tmp_path / "e.csv")]) == 0
    assert "has no column names; its 8 columns are taken in the training order (f0, f1" in capsys.readouterr().err
    a = np.loadtxt(tmp_path / "a.csv", delimiter=",", skiprows=1, dtype=str)[:, 1]
    assert (np.loadtxt(tmp_path / "e.csv", delimiter=",", skiprows=1, dtype=str)[:, 1] == a).all()
