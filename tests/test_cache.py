"""The autoencoder weight cache: failures never stop a fit, entries are verified before use."""

import json
import os
import shutil
import stat
import warnings
from pathlib import Path

import numpy as np
import pytest

from n2d.autoencoder import Autoencoder
from n2d.exceptions import CacheWarning


def _ae(tmp_path, **kw):
    params = dict(n_components=3, hidden_dims=(16,), epochs=2, batch_size=64, device="cpu",
                  random_state=0, verbose=0, cache_dir=tmp_path)
    params.update(kw)
    return Autoencoder(**params)


@pytest.fixture(scope="module")
def x():
    return np.random.RandomState(0).rand(200, 8).astype(np.float32)


def _meta(path):
    from safetensors import safe_open

    with safe_open(str(path), framework="np") as f:
        return f.metadata()


# -- 1: a failed cache write warns and the fit goes on -------------------------------- #


@pytest.mark.parametrize("error", ["safetensor", "os", "runtime"])
def test_any_cache_write_failure_warns_and_keeps_the_trained_model(tmp_path, x, monkeypatch, error):
    from safetensors import SafetensorError

    exc = {"safetensor": SafetensorError("No space left on device (os error 28)"),
           "os": OSError(28, "No space left on device"), "runtime": RuntimeError("boom")}[error]

    def full_disk(*a, **k):
        raise exc

    monkeypatch.setattr("safetensors.torch.save_file", full_disk)
    with pytest.warns(CacheWarning, match="Could not write autoencoder cache entry"):
        ae = _ae(tmp_path).fit(x)
    assert ae.weights_source_ == "trained" and ae.n_iter_ == 2
    assert ae.transform(x).shape == (200, 3)
    assert list((tmp_path / "autoencoders").iterdir()) == []  # no half-written entry or temporary


# -- 2: entries record what they were made for, and a checksum of their tensors -------- #


def test_entry_records_data_settings_seed_and_checksum(tmp_path, x):
    ae = _ae(tmp_path).fit(x)
    meta = _meta(ae.cache_path_)
    made_for = json.loads(meta["made_for"])
    assert made_for["seed"] == 0 and made_for["settings"] == ae._settings()
    assert len(made_for["data"]) == 64  # sha256 of the training data
    assert len(meta["tensors_sha256"]) == 64


def test_entry_copied_under_another_key_is_rejected_and_rewritten(tmp_path, x):
    seed0 = _ae(tmp_path, random_state=0).fit(x)
    seed1 = _ae(tmp_path, random_state=1).fit(x)
    shutil.copyfile(seed0.cache_path_, seed1.cache_path_)  # seed 0's weights under seed 1's name
    with pytest.warns(CacheWarning, match="made for other data, settings or seed"):
        again = _ae(tmp_path, random_state=1).fit(x)
    assert again.weights_source_ == "trained" and again.n_iter_ == 2
    np.testing.assert_array_equal(again.transform(x), seed1.transform(x))
    assert json.loads(_meta(seed1.cache_path_)["made_for"])["seed"] == 1  # rewritten for seed 1
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheWarning)
        assert _ae(tmp_path, random_state=1).fit(x).weights_source_ == "cache"


def test_entry_with_flipped_tensor_bits_is_rejected_and_rewritten(tmp_path, x):
    first = _ae(tmp_path).fit(x)
    entry = Path(first.cache_path_)
    data = bytearray(entry.read_bytes())
    data[-3] ^= 0x10  # inside the last tensor's bytes, not the header
    entry.write_bytes(bytes(data))
    with pytest.warns(CacheWarning, match="checksum"):
        again = _ae(tmp_path).fit(x)
    assert again.weights_source_ == "trained"
    np.testing.assert_array_equal(again.transform(x), first.transform(x))
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheWarning)
        assert _ae(tmp_path).fit(x).weights_source_ == "cache"


def test_entry_without_verification_data_is_not_trusted(tmp_path, x):
    from safetensors.torch import load_file, save_file

    first = _ae(tmp_path).fit(x)
    save_file(load_file(first.cache_path_), first.cache_path_, metadata={"history": "[1.0, 0.5]"})
    with pytest.warns(CacheWarning, match="cannot be verified"):
        assert _ae(tmp_path).fit(x).weights_source_ == "trained"


def test_verified_entry_is_used_silently(tmp_path, x):
    first = _ae(tmp_path).fit(x)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheWarning)
        second = _ae(tmp_path).fit(x)
    assert second.weights_source_ == "cache" and second.history_ == pytest.approx(first.history_)


# -- 6: cache entries get the normal file mode ------------------------------------------ #


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_cache_entry_and_weights_file_get_the_umask_mode(tmp_path, x, umask_022):
    ae = _ae(tmp_path).fit(x)
    assert stat.S_IMODE(os.stat(ae.cache_path_).st_mode) == 0o644
    path = ae.save_weights(tmp_path / "w.safetensors")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644


# -- issue #17 point 6: the key says whether the weights were trained on a CPU or a GPU -- #


def test_cache_key_includes_the_device_type(tmp_path, x):
    ae = _ae(tmp_path).fit(x)
    assert ae._settings()["device"] == "cpu"
    cpu_key = ae._cache_key("data", 0)
    ae.device_ = "cuda:1"
    assert ae._settings()["device"] == "cuda"  # the type only: any GPU index shares entries
    assert ae._cache_key("data", 0) != cpu_key


# -- 4: temporaries of killed cache writes are removed by the next write ---------------- #


def test_next_cache_write_removes_temporaries_of_killed_writers_only(tmp_path, x):
    import subprocess
    import sys
    import time

    from n2d._util.files import HOST_TAG

    folder = tmp_path / "autoencoders"
    folder.mkdir()
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()  # a process that is gone
    dead = folder / f".{'a' * 32}.safetensors.{HOST_TAG}-{proc.pid}-abcd1234.safetensors.tmp"
    live = folder / f".{'b' * 32}.safetensors.{HOST_TAG}-{os.getpid()}-abcd1234.safetensors.tmp"
    other_host = folder / f".{'c' * 32}.safetensors.00000000-{proc.pid}-abcd1234.safetensors.tmp"
    old_unnamed = folder / f".{'d' * 32}.safetensors.abcd1234.safetensors.tmp"  # an older n2d's, two days old
    for f in (dead, live, other_host, old_unnamed):
        f.write_bytes(b"partial")
    two_days_ago = time.time() - 2 * 24 * 3600
    os.utime(old_unnamed, (two_days_ago, two_days_ago))
    ae = _ae(tmp_path).fit(x)
    left = sorted(p.name for p in folder.iterdir())
    assert left == sorted([live.name, other_host.name, os.path.basename(ae.cache_path_)])
