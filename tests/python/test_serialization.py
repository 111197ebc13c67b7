"""Model files, bytes, pickling, multiprocessing, and agreement with the `maddness` program."""

import copy
import multiprocessing
import os
import pathlib
import pickle
import subprocess

import numpy as np
import pytest

import maddness
from conftest import C

CLI = os.environ.get("MADDNESS_CLI", "")
needs_cli = pytest.mark.skipif(
    not os.path.isfile(CLI), reason="MADDNESS_CLI does not name the maddness program"
)


def run_cli(*args):
    result = subprocess.run([CLI, *map(str, args)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_save_and_load(model, a_test, tmp_path):
    path = tmp_path / "model.maddness"
    model.save(path)  # os.PathLike
    assert path.read_bytes() == model.to_bytes()
    for loaded in (maddness.load(path), maddness.load(str(path))):
        assert loaded.to_bytes() == model.to_bytes()
        np.testing.assert_array_equal(loaded(a_test), model(a_test))
    encoder = maddness.fit_encoder(a_test, codebooks=2)
    encoder.save(str(path))
    assert maddness.load(path).encoder_only


def test_load_errors(model, tmp_path):
    with pytest.raises(FileNotFoundError):
        maddness.load(tmp_path / "missing.maddness")
    truncated = tmp_path / "truncated.maddness"
    truncated.write_bytes(model.to_bytes()[:100])
    with pytest.raises(maddness.Error, match="truncated.maddness"):
        maddness.load(truncated)
    with pytest.raises(maddness.Error):
        maddness.from_bytes(b"MADDNESS but not a model")
    with pytest.raises(TypeError, match="data must be bytes"):
        maddness.from_bytes("text")
    with pytest.raises(maddness.Error):
        model.save(tmp_path / "no such folder" / "model.maddness")


def test_bytes_from_any_buffer(model, a_test):
    data = model.to_bytes()
    assert isinstance(data, bytes)
    for buffer in (data, bytearray(data), memoryview(data), np.frombuffer(data, dtype=np.uint8)):
        np.testing.assert_array_equal(maddness.from_bytes(buffer)(a_test), model(a_test))


def test_pickle_and_copy(model, a_test):
    expected = model(a_test)
    for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
        restored = pickle.loads(pickle.dumps(model, protocol=protocol))
        assert isinstance(restored, maddness.Model)
        assert restored.to_bytes() == model.to_bytes()
        np.testing.assert_array_equal(restored(a_test), expected)
    for duplicate in (copy.copy(model), copy.deepcopy(model)):
        np.testing.assert_array_equal(duplicate(a_test), expected)
    # A pickled encoder_only model stays one.
    encoder = maddness.fit_encoder(a_test, codebooks=2)
    assert pickle.loads(pickle.dumps(encoder)).encoder_only


def apply_one_thread(model, a):
    """Runs in worker processes: the model and the rows arrive pickled."""
    return model(a, threads=1)


def test_multiprocessing(model, a_test):
    chunks = np.array_split(a_test, 3)
    # spawn: the workers are fresh interpreters that import maddness and unpickle the model.
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        results = pool.starmap(apply_one_thread, [(model, chunk) for chunk in chunks])
    np.testing.assert_array_equal(np.concatenate(results), model(a_test))


@needs_cli
def test_cli_apply_and_encode_give_the_same_results(model, a_test, tmp_path):
    model_path = tmp_path / "model.maddness"
    model.save(model_path)
    a64 = a_test.astype(np.float64) * 1.01  # the program converts float64 to float32 too
    for name, a in (("float32", a_test), ("float64", a64)):
        np.save(tmp_path / f"a_{name}.npy", a)
        run_cli("apply", model_path, "--a", tmp_path / f"a_{name}.npy", "-o", tmp_path / "y.npy")
        np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), model(a), err_msg=name)
        run_cli("encode", model_path, "--a", tmp_path / f"a_{name}.npy", "-o", tmp_path / "c.npy")
        np.testing.assert_array_equal(np.load(tmp_path / "c.npy"), model.encode(a), err_msg=name)


@needs_cli
def test_cli_train_makes_the_same_model(a_train, b, tmp_path):
    np.save(tmp_path / "a_train.npy", a_train)
    np.save(tmp_path / "b.npy", b)
    options = dict(
        codebooks=C, variant="pq", ridge_lambda=0.5, max_train_rows=1500, seed=11,
        aggregation="exact",
    )
    run_cli(
        "train", "--a", tmp_path / "a_train.npy", "--b", tmp_path / "b.npy", "--codebooks", C,
        "--variant", "pq", "--lambda", 0.5, "--max-train-rows", 1500, "--seed", 11,
        "--aggregation", "exact", "--threads", 1, "--quiet", "-o", tmp_path / "cli.maddness",
    )
    from_python = maddness.fit(a_train, b, threads=2, **options)
    assert pathlib.Path(tmp_path / "cli.maddness").read_bytes() == from_python.to_bytes()
