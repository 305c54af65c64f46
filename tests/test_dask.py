"""n2d.dask: prediction on a real Dask cluster (two worker processes).

Lazily and without pickling the model (issue 14).
"""

import importlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")
pd = pytest.importorskip("pandas")

import n2d.dask as n2d_dask  # noqa: E402
from n2d import N2D  # noqa: E402
from n2d.exceptions import ModelFormatError  # noqa: E402

NAMES = [f"f{i}" for i in range(8)]


@pytest.fixture(scope="module")
def client():
    """Two worker processes of one thread each: the workers load models themselves, in other processes."""
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


@pytest.fixture(scope="module")
def model(blobs):
    return N2D(n_clusters=3, hidden_dims=(16,), epochs=2, device="cpu", random_state=0, verbose=0).fit(blobs[0])


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, model):
    return model.save(tmp_path_factory.mktemp("model") / "model")


@pytest.fixture(scope="module")
def named_model_dir(tmp_path_factory, model_dir):
    """The same model with feature names f0..f7, as n2d cluster records them from a CSV header."""
    named = N2D.load(model_dir)
    named.feature_names_in_ = np.asarray(NAMES, dtype=object)
    return named.save(tmp_path_factory.mktemp("named") / "model")


@pytest.fixture(scope="module")
def x(blobs):
    return blobs[0]


@pytest.fixture(scope="module")
def expected(model, x):
    return model.predict(x), model.predict_proba(x)


def _on_workers(client):
    """The worker processes' pids: the computation must run there, not in this process."""
    return set(client.run(lambda: __import__("os").getpid()).values())


# --------------------------------------------------------------------------- #
# Same results as in memory, lazily
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("kind", ["path", "instance"])
def test_array_labels_and_probabilities_equal_in_memory(client, kind, model, model_dir, x, expected):
    source = model_dir if kind == "path" else model
    X = da.from_array(x, chunks=(70, 8))  # 5 row blocks, the last of 20 rows
    labels = n2d_dask.predict(source, X)
    proba = n2d_dask.predict_proba(source, X)
    assert isinstance(labels, da.Array) and labels.dtype == np.int64 and labels.chunks == ((70, 70, 70, 70, 20),)
    assert isinstance(proba, da.Array) and proba.dtype == np.float64 and proba.chunks == (X.chunks[0], (3,))
    got_labels, got_proba = client.compute([labels, proba], sync=True)
    assert (got_labels == expected[0]).all()
    block_proba = np.vstack([model.predict_proba(x[s:s + 70]) for s in range(0, 300, 70)])
    assert np.array_equal(got_proba, block_proba)  # each block is exactly model.predict_proba(block)
    np.testing.assert_allclose(got_proba, expected[1], rtol=1e-6, atol=1e-12)  # = one call on everything


def test_result_is_lazy_until_computed(client, model_dir, x):
    def boom(block):
        raise RuntimeError("X was computed")

    X = da.from_array(x, chunks=(100, 8)).map_blocks(boom, dtype=np.float32)
    labels = n2d_dask.predict(model_dir, X)  # builds the graph; computes nothing
    proba = n2d_dask.predict_proba(model_dir, X)
    assert isinstance(labels, da.Array) and isinstance(proba, da.Array)
    with pytest.raises(RuntimeError, match="X was computed"):
        labels.compute()


def test_columns_in_several_blocks_are_merged(client, model_dir, x, expected):
    labels = n2d_dask.predict(model_dir, da.from_array(x, chunks=(100, 3)))
    assert labels.chunks == ((100, 100, 100),)
    assert (labels.compute() == expected[0]).all()


def test_int_array_is_accepted(client, model, x):
    xi = np.round(x).astype(np.int32)
    assert (n2d_dask.predict(model, da.from_array(xi, chunks=100)).compute() == model.predict(xi)).all()


def test_instance_is_shipped_as_saved_files_not_pickled(client, model, x, expected, monkeypatch):
    def refuse(self):
        raise AssertionError("the N2D estimator was pickled")

    monkeypatch.setattr(N2D, "__getstate__", refuse)
    labels = n2d_dask.predict(model, da.from_array(x, chunks=(100, 8)))
    assert (client.compute(labels, sync=True) == expected[0]).all()
    ref = n2d_dask._model_reference(model)[1]
    assert ref[0] == "bytes" and set(ref[1].files) == {"manifest.json", "arrays.safetensors"}


def test_each_worker_loads_a_path_model_once(client, model_dir, tmp_path, x, expected):
    path = shutil.copytree(model_dir, tmp_path / "model")
    before = client.run(lambda: n2d_dask._load_path.cache_info())
    labels = n2d_dask.predict(path, da.from_array(x, chunks=(30, 8)))  # 10 blocks
    assert (labels.compute() == expected[0]).all()
    assert (labels.compute() == expected[0]).all()
    after = client.run(lambda: n2d_dask._load_path.cache_info())
    assert set(after) == set(before) and len(after) == 2
    loads = sum(after[w].misses - before[w].misses for w in after)
    hits = sum(after[w].hits - before[w].hits for w in after)
    assert 1 <= loads <= 2 and hits == 20 - loads


# --------------------------------------------------------------------------- #
# DataFrames
# --------------------------------------------------------------------------- #


def test_dataframe_columns_matched_by_name(client, named_model_dir, x, expected):
    frame = pd.DataFrame(x, columns=NAMES)[NAMES[::-1]]  # the model's columns, in reverse order
    df = dd.from_pandas(frame, npartitions=4)
    labels = n2d_dask.predict(named_model_dir, df)
    proba = n2d_dask.predict_proba(named_model_dir, df)
    assert isinstance(labels, da.Array) and labels.dtype == np.int64 and labels.numblocks == (4,)
    assert (labels.compute() == expected[0]).all()
    assert proba.compute().shape == (300, 3)
    np.testing.assert_allclose(proba.compute(), expected[1], rtol=1e-6, atol=1e-12)


def test_dataframe_with_other_columns_is_refused(client, named_model_dir, x):
    frame = pd.DataFrame(x, columns=NAMES).rename(columns={"f3": "g3"}).assign(id=np.arange(300))
    with pytest.raises(ValueError, match="missing column\\(s\\) 'f3'; column\\(s\\) 'g3', 'id' the model was not "
                                         "fitted on. Select the model's columns"):
        n2d_dask.predict(named_model_dir, dd.from_pandas(frame, npartitions=2))


def test_dataframe_without_model_names_is_taken_in_order(client, model_dir, x, expected):
    df = dd.from_pandas(pd.DataFrame(x, columns=list("abcdefgh")), npartitions=3)
    assert (n2d_dask.predict(model_dir, df).compute() == expected[0]).all()
    with pytest.raises(ValueError, match="X has 7 columns, but the model was fitted on 8 features"):
        n2d_dask.predict(model_dir, df[list("abcdefg")])


def test_dataframe_text_column_is_refused(client, named_model_dir, x):
    frame = pd.DataFrame(x, columns=NAMES).astype({"f2": str})
    with pytest.raises(ValueError, match="Column 'f2' of X must hold numbers"):
        n2d_dask.predict(named_model_dir, dd.from_pandas(frame, npartitions=2))


def test_dataframe_of_nullable_ints_is_accepted_and_its_missing_values_named(client, model, x):
    frame = pd.DataFrame(np.round(x).astype(np.int64), columns=NAMES).astype("Int64")
    df = dd.from_pandas(frame, npartitions=2)
    expected = model.predict(frame.to_numpy(dtype=np.float32))
    assert (n2d_dask.predict(model, df).compute() == expected).all()
    frame.loc[200, "f1"] = pd.NA
    with pytest.raises(ValueError, match=r"partition 1: missing value \(NaN\) .*index label 200\), column 'f1'"):
        n2d_dask.predict(model, dd.from_pandas(frame, npartitions=2)).compute()


def test_nan_in_a_dataframe_partition_names_it(client, model_dir, x):
    bad = x.copy()
    bad[160, 5] = np.nan
    df = dd.from_pandas(pd.DataFrame(bad, columns=NAMES), npartitions=4)  # partitions of 75 rows
    with pytest.raises(ValueError, match=r"X, partition 2: missing value \(NaN\) at row 10 of the partition "
                                         r"\(index label 160\), column 'f5'"):
        n2d_dask.predict(model_dir, df).compute()


# --------------------------------------------------------------------------- #
# Refused when the graph is built
# --------------------------------------------------------------------------- #


def test_one_dimensional_array_is_refused(model_dir, x):
    with pytest.raises(ValueError, match=r"X must be a 2-D dask array .* got shape \(300,\)"):
        n2d_dask.predict(model_dir, da.from_array(x[:, 0], chunks=100))


def test_unknown_chunk_sizes_are_refused(model_dir, x):
    X = da.from_array(x, chunks=(100, 8))
    X = X[X[:, 0] > -1e9]  # a boolean mask: the row counts are unknown until computed
    with pytest.raises(ValueError, match=r"unknown chunk sizes.*X\.compute_chunk_sizes\(\)"
                                         r".*to_dask_array\(lengths=True\)"):
        n2d_dask.predict(model_dir, X)


def test_wrong_number_of_columns_is_refused(model_dir, x):
    with pytest.raises(ValueError, match="X has 5 columns, but the model was fitted on 8 features"):
        n2d_dask.predict_proba(model_dir, da.from_array(x[:, :5], chunks=100))


def test_non_numeric_dtype_is_refused(model_dir):
    with pytest.raises(ValueError, match="X must hold numbers \\(float or int\\); got dtype bool"):
        n2d_dask.predict(model_dir, da.zeros((10, 8), dtype=bool, chunks=5))


def test_not_a_dask_collection_is_refused(model_dir, x):
    with pytest.raises(TypeError, match="X must be a dask array or a dask DataFrame; got numpy.ndarray"):
        n2d_dask.predict(model_dir, x)


def test_bad_model_argument_is_refused(tmp_path, x):
    X = da.from_array(x, chunks=100)
    with pytest.raises(TypeError, match="model must be a path to a saved model directory or a fitted n2d.N2D"):
        n2d_dask.predict(42, X)
    with pytest.raises(ModelFormatError, match="not an n2d model directory"):
        n2d_dask.predict(tmp_path, X)
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        n2d_dask.predict(N2D(), X)


def test_clusterer_without_predict_proba_is_refused_at_once(blobs, x):
    kmeans = N2D(n_clusters=3, hidden_dims=(16,), epochs=1, clusterer="kmeans", device="cpu", random_state=0,
                 verbose=0).fit(blobs[0])
    with pytest.raises(TypeError, match="has no predict_proba"):
        n2d_dask.predict_proba(kmeans, da.from_array(x, chunks=100))


# --------------------------------------------------------------------------- #
# Found when a block is computed, on a worker
# --------------------------------------------------------------------------- #


def test_nan_in_a_block_names_the_partition_and_its_rows(client, model_dir, x):
    bad = x.copy()
    bad[150, 3] = np.nan
    labels = n2d_dask.predict(model_dir, da.from_array(bad, chunks=(70, 8)))
    with pytest.raises(ValueError, match=r"X, partition 2 \(rows from 140\): missing value \(NaN\) in rows "
                                         r"140\.\.209 \(0-based\), first at row 150, column 3"):
        labels.compute()
    bad[150, 3] = np.inf
    with pytest.raises(ValueError, match=r"partition 2 \(rows from 140\): infinite value \(inf\)"):
        n2d_dask.predict_proba(model_dir, da.from_array(bad, chunks=(70, 8))).compute()


def test_model_path_a_worker_cannot_read_is_named(client, model_dir, tmp_path, x):
    path = shutil.copytree(model_dir, tmp_path / "model")
    labels = n2d_dask.predict(path, da.from_array(x, chunks=(100, 8)))
    path.rename(tmp_path / "moved")
    with pytest.raises(FileNotFoundError) as exc:
        labels.compute()
    message = str(exc.value)
    assert f"cannot load the n2d model at {path}" in message and "The Dask worker on host" in message
    assert _on_workers(client) and "same path" in message


def test_model_saved_again_after_the_graph_was_built_is_refused(client, model_dir, tmp_path, blobs, x):
    path = shutil.copytree(model_dir, tmp_path / "model")
    labels = n2d_dask.predict(path, da.from_array(x, chunks=(100, 8)))
    N2D(n_clusters=3, hidden_dims=(16,), epochs=1, device="cpu", random_state=1, verbose=0).fit(blobs[0]).save(path)
    with pytest.raises(ModelFormatError, match=f"cannot load the n2d model at {path}.*saved again"):
        labels.compute()


# --------------------------------------------------------------------------- #
# The optional dependency
# --------------------------------------------------------------------------- #


def test_import_without_dask_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "dask", None)
    monkeypatch.setitem(sys.modules, "dask.array", None)
    monkeypatch.delitem(sys.modules, "n2d.dask")
    with pytest.raises(ImportError, match='pip install "dask\\[array,dataframe\\]" distributed'):
        importlib.import_module("n2d.dask")
    monkeypatch.undo()
    assert importlib.import_module("n2d.dask") is n2d_dask


def test_importing_n2d_does_not_import_dask():
    code = "import sys, n2d; print('dask' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "False\n"
