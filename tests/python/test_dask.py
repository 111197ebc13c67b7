"""The Dask example (examples/dask_apply.py): map_blocks over a chunked array gives exactly the
single-process result, with the model pickled to worker processes."""

import importlib.util
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import maddness
from conftest import D, M

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "examples" / "dask_apply.py"


def load_example():
    spec = importlib.util.spec_from_file_location("dask_apply", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def example():
    return load_example()


@pytest.mark.parametrize("scheduler", ["synchronous", "threads", "processes"])
def test_blocks_match_single_process(example, model, a_test, scheduler):
    # Uneven blocks (the last one short) and a block smaller than a 64-row code block.
    lazy = example.apply_blocks(da.from_array(a_test, chunks=(47, D)), model)
    assert lazy.shape == (a_test.shape[0], M) and lazy.dtype == np.float32
    assert lazy.numblocks[0] == 7
    with dask.config.set(scheduler=scheduler):
        got = lazy.compute()
    expected = model.apply(a_test, threads=1)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    assert got.tobytes() == expected.tobytes()


def test_columns_split_over_chunks_are_joined(example, model, a_test):
    lazy = example.apply_blocks(da.from_array(a_test, chunks=(100, D // 4)), model)
    with dask.config.set(scheduler="synchronous"):
        got = lazy.compute()
    assert got.tobytes() == model.apply(a_test, threads=1).tobytes()


def test_rejects_wrong_width_and_encoder_only(example, model, a_train):
    with pytest.raises(ValueError, match="D = 32"):
        example.apply_blocks(da.zeros((10, D + 1), chunks=5, dtype=np.float32), model)
    encoder = maddness.fit_encoder(a_train, codebooks=4, threads=1)
    with pytest.raises(ValueError, match="no lookup tables"):
        example.apply_blocks(da.zeros((10, D), chunks=5, dtype=np.float32), encoder)


def test_example_runs_end_to_end(tmp_path):
    result = subprocess.run(
        [sys.executable, str(EXAMPLE), "--rows", "3000", "--chunk-rows", "700",
         "--cols", "16", "--codebooks", "4", "--scheduler", "processes"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "identical: True" in result.stdout
