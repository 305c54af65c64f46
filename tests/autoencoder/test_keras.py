"""Keras HDF5 autoencoder weights (the N2D reference code's format) read into n2d's torch network.

The files are written by Keras itself (keras 3 with the torch backend, its
legacy HDF5 writer and its whole-model HDF5 writer), and the codes of our
encoder are compared with Keras's on the same input. A Keras 2 file (TensorFlow
variable names, ``kernel:0``) is rebuilt from a Keras-written one by renaming
its datasets the way Keras 2.2.4's ``save_weights_to_hdf5_group`` names them.
"""

import importlib.util
import os
import sys

import numpy as np
import pytest

from n2d import Autoencoder
from n2d.autoencoder._keras import is_hdf5, read_keras_weights

h5py = pytest.importorskip("h5py")  # n2d imports h5py only when it reads a file, so n2d can be imported first

N_FEATURES, HIDDEN, K = 16, (500, 500, 2000), 6


@pytest.fixture(scope="module")
def keras_model():
    """The reference code's autoencoder (rymc/n2d ``autoencoder(dims)``) in Keras 3, torch backend, random weights."""
    if importlib.util.find_spec("keras") is None:
        pytest.skip("keras is not installed (it is in the test extra: pip install '.[test]' from the source)")
    if "keras" not in sys.modules:
        os.environ["KERAS_BACKEND"] = "torch"  # read once, when keras is first imported
    import keras  # installed: an import error here is a failure, not a skip

    if keras.backend.backend() != "torch":
        pytest.skip(f"keras was imported earlier with the {keras.backend.backend()} backend; these tests need torch")
    from keras import layers

    dims = [N_FEATURES, *HIDDEN, K]
    n_stacks = len(dims) - 1
    x = keras.Input(shape=(dims[0],), name="input")
    h = x
    for i in range(n_stacks - 1):
        h = layers.Dense(dims[i + 1], activation="relu", name=f"encoder_{i}")(h)
    h = layers.Dense(dims[-1], name=f"encoder_{n_stacks - 1}")(h)
    for i in range(n_stacks - 1, 0, -1):
        h = layers.Dense(dims[i], activation="relu", name=f"decoder_{i}")(h)
    h = layers.Dense(dims[0], name="decoder_0")(h)
    model = keras.Model(inputs=x, outputs=h)
    rng = np.random.RandomState(0)
    # non-zero biases, so that a bias mapped to the wrong layer or left out shows
    model.set_weights([w + rng.normal(scale=0.05, size=w.shape).astype(w.dtype) for w in model.get_weights()])
    encoder = keras.Model(inputs=model.input, outputs=model.get_layer(f"encoder_{n_stacks - 1}").output)
    return keras, model, encoder


@pytest.fixture(scope="module")
def x_data():
    return np.random.RandomState(1).uniform(size=(64, N_FEATURES)).astype(np.float32)


@pytest.fixture(scope="module")
def legacy_file(keras_model, tmp_path_factory):
    """A weights file from Keras's legacy HDF5 weight writer: layer groups at the file's root."""
    try:  # Keras >= 3.4 (sources under keras.src)
        from keras.src.legacy.saving.legacy_h5_format import save_weights_to_hdf5_group
    except ImportError:  # Keras 3.0 to 3.3
        from keras.legacy.saving.legacy_h5_format import save_weights_to_hdf5_group

    _, model, _ = keras_model
    path = tmp_path_factory.mktemp("keras") / "pendigits-1000-ae_weights.h5"
    with h5py.File(path, "w") as f:
        save_weights_to_hdf5_group(f, model)
    return path


def _numpy(t):
    return t.detach().cpu().numpy() if hasattr(t, "detach") else np.asarray(t)


def _check_same_codes(keras_model, path, x):
    _, model, encoder = keras_model
    ae = Autoencoder(n_components=K, hidden_dims=HIDDEN, weights=str(path), device="cpu", verbose=0).fit(x)
    assert ae.weights_source_ == "weights"
    np.testing.assert_allclose(ae.transform(x), _numpy(encoder(x)), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ae.reconstruct(x), _numpy(model(x)), rtol=1e-4, atol=1e-5)


def test_keras3_legacy_weights_file_gives_keras_codes(keras_model, legacy_file, x_data):
    with h5py.File(legacy_file, "r") as f:  # the layout this test is about
        assert "encoder_0/encoder_0/kernel" in f and "model_weights" not in f
    _check_same_codes(keras_model, legacy_file, x_data)


def test_keras3_whole_model_h5_gives_keras_codes(keras_model, tmp_path, x_data):
    _, model, _ = keras_model
    path = tmp_path / "model.h5"
    model.save(path)  # Keras's legacy whole-model HDF5 writer: weights under /model_weights
    with h5py.File(path, "r") as f:
        assert "model_weights/encoder_3/encoder_3/kernel" in f
    _check_same_codes(keras_model, path, x_data)


def _str(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def _as_keras2(src, dst):
    """Rewrite a Keras 3 legacy weights file as Keras 2.2.4 writes one (TF variable names ``<layer>/kernel:0``)."""
    with h5py.File(src, "r") as fin, h5py.File(dst, "w") as fout:
        layers = [_str(n) for n in fin.attrs["layer_names"]]
        # Keras 2 stores these attributes as numpy arrays of bytes (h5py: fixed-length strings)
        fout.attrs["layer_names"] = np.array([n.encode() for n in layers])
        fout.attrs["backend"] = b"tensorflow"
        fout.attrs["keras_version"] = b"2.2.4"
        for name in layers:
            g = fout.create_group(name)
            names = [_str(w) + ":0" for w in fin[name].attrs["weight_names"]]
            g.attrs["weight_names"] = np.array([n.encode() for n in names], dtype="S")
            for n in names:
                g.create_dataset(n, data=fin[name][n[:-2]][()])


def test_keras2_file_layout_gives_keras_codes(keras_model, legacy_file, tmp_path, x_data):
    path = tmp_path / "keras2.h5"
    _as_keras2(legacy_file, path)
    with h5py.File(path, "r") as f:
        assert "encoder_0/encoder_0/kernel:0" in f
    _check_same_codes(keras_model, path, x_data)


def test_keras_file_is_found_by_signature_not_name(keras_model, legacy_file, tmp_path, x_data):
    renamed = tmp_path / "weights.bin"
    renamed.write_bytes(legacy_file.read_bytes())
    assert is_hdf5(renamed)
    _check_same_codes(keras_model, renamed, x_data)


def test_read_without_architecture_takes_widths_from_file(legacy_file):
    state = read_keras_weights(legacy_file)
    assert tuple(state["encoder.0.weight"].shape) == (500, N_FEATURES)  # kernel (in, out) -> (out, in)
    assert tuple(state["encoder.6.weight"].shape) == (K, 2000)
    assert tuple(state["decoder.0.weight"].shape) == (2000, K)
    assert tuple(state["decoder.6.bias"].shape) == (N_FEATURES,)


def _copy_renaming(src, dst, old, new):
    with h5py.File(src, "r") as fin, h5py.File(dst, "w") as fout:
        for k, v in fin.attrs.items():
            fout.attrs[k] = v
        fout.attrs["layer_names"] = np.array(
            [(new if _str(n) == old else _str(n)).encode() for n in fin.attrs["layer_names"]])
        for name in fin:
            fin.copy(fin[name], fout, name=new if name == old else name)


def test_wrong_layer_names_are_refused(legacy_file, tmp_path, x_data):
    path = tmp_path / "renamed.h5"
    _copy_renaming(legacy_file, path, "encoder_2", "dense_2")
    with pytest.raises(ValueError, match=r"missing \['encoder_2'\], unexpected \['dense_2'\]"):
        Autoencoder(n_components=K, weights=str(path), device="cpu", verbose=0).fit(x_data)


def test_wrong_shapes_are_refused(legacy_file, x_data):
    # a file for 6 clusters does not fit a 5-cluster model
    with pytest.raises(ValueError, match=r"encoder_3/kernel has shape \(2000, 6\), expected \(2000, 5\)"):
        Autoencoder(n_components=5, weights=str(legacy_file), device="cpu", verbose=0).fit(x_data)
    # nor other hidden widths
    with pytest.raises(ValueError, match=r"encoder_0/kernel has shape \(16, 500\), expected \(16, 400\)"):
        Autoencoder(n_components=K, hidden_dims=(400, 500, 2000), weights=str(legacy_file), verbose=0).fit(x_data)
    # nor another depth
    with pytest.raises(ValueError, match=r"unexpected \['encoder_3', 'decoder_3'\]"):
        Autoencoder(n_components=K, hidden_dims=(500, 500), weights=str(legacy_file), verbose=0).fit(x_data)


def test_not_hdf5_is_refused(tmp_path, x_data):
    path = tmp_path / "mnist-1000-ae_weights.h5"
    path.write_text("this is not a weights file\n")
    with pytest.raises(ValueError, match="no HDF5 signature"):
        Autoencoder(n_components=K, weights=str(path), verbose=0).fit(x_data)
    with pytest.raises(ValueError, match="is not an HDF5 file"):
        read_keras_weights(path)


def test_hdf5_without_keras_layout_is_refused(tmp_path, x_data):
    path = tmp_path / "data.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("x", data=np.zeros((3, 3)))
    with pytest.raises(ValueError, match="not Keras model weights.*'layer_names'"):
        Autoencoder(n_components=K, weights=str(path), verbose=0).fit(x_data)


def test_seed_api_loads_the_reference_codes_keras_file(keras_model, legacy_file, x_data):
    import n2d as nd

    _, _, encoder = keras_model
    cluster = nd.n2d(x_data, nclust=K, device="cpu")
    cluster.preTrainEncoder(weights=str(legacy_file))
    np.testing.assert_allclose(cluster.autoencoder.transform(x_data), _numpy(encoder(x_data)), rtol=1e-4, atol=1e-5)


def test_cli_cluster_with_keras_weights(keras_model, legacy_file, x_data, tmp_path, capsys):
    from sklearn.metrics import adjusted_rand_score

    from n2d.cli import main

    _, _, encoder = keras_model
    data = tmp_path / "x.npy"
    np.save(data, x_data)
    out = tmp_path / "out"
    rc = main([
        "cluster", str(data), "--n-clusters", str(K), "--weights", str(legacy_file), "--manifold", "none",
        "--clusterer", "kmeans", "--device", "cpu", "--out", str(out), "-q",
    ])
    assert rc == 0
    assert "autoencoder: given weights" in capsys.readouterr().out
    # k-means on the Keras codes, as the CLI ran it
    from n2d import N2D

    model = N2D.load(out / "model")
    np.testing.assert_allclose(model.autoencoder_.transform(x_data), _numpy(encoder(x_data)), rtol=1e-4, atol=1e-5)
    labels = np.loadtxt(out / "labels.csv", delimiter=",", skiprows=1, usecols=1)
    assert adjusted_rand_score(labels, model.labels_) == 1.0
