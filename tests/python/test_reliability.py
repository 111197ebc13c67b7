"""Regression tests of issue 17: outputs that are not regular files, pickling at every protocol,
and the other holes a hostile or careless user found."""

import os
import pickle
import stat
import subprocess
import sys

import numpy as np
import pytest

import maddness
from conftest import C, D


def test_save_into_a_fifo_keeps_it(model, tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    # The read end is opened first, without blocking: save's open returns at once and the model
    # (smaller than a pipe's buffer) waits in the pipe; a save that replaced the FIFO leaves it
    # empty instead of hanging.
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        model.save(fifo)
        received = b""
        while True:
            try:
                chunk = os.read(reader, 1 << 16)
            except BlockingIOError:
                break
            if not chunk:
                break
            received += chunk
    finally:
        os.close(reader)
    assert received == model.to_bytes()
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert sorted(os.listdir(tmp_path)) == ["fifo"]


def test_save_through_a_symlink(model, tmp_path):
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "model.maddness"
    target.write_bytes(b"old")
    link = tmp_path / "link.maddness"
    link.symlink_to(target)
    model.save(link)
    assert link.is_symlink()
    assert target.read_bytes() == model.to_bytes()
    dangling = tmp_path / "dangling.maddness"
    dangling.symlink_to(tmp_path / "missing.maddness")
    with pytest.raises(maddness.Error, match="symbolic link"):
        model.save(dangling)
    assert dangling.is_symlink() and not dangling.exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="mknod of a character device needs root")
def test_save_into_a_character_device_keeps_it(model, tmp_path):
    null = tmp_path / "null"
    os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    model.save(null)
    assert stat.S_ISCHR(os.lstat(null).st_mode)
    full = tmp_path / "full"
    os.mknod(full, stat.S_IFCHR | 0o666, os.makedev(1, 7))
    with pytest.raises(maddness.Error, match="space"):
        model.save(full)
    assert stat.S_ISCHR(os.lstat(full).st_mode)
    assert sorted(os.listdir(tmp_path)) == ["full", "null"]


# Each pickling runs in a child interpreter: before the fix, protocols 0 and 1 aborted it.
PICKLE_PROGRAM = r"""
import pickle, sys
import numpy as np
import maddness
rng = np.random.default_rng(5)
a = rng.standard_normal((200, 16)).astype(np.float32)
b = rng.standard_normal((16, 3)).astype(np.float32)
kind, protocol = sys.argv[1], int(sys.argv[2])
if kind == "model":
    model = maddness.fit(a, b, codebooks=4, threads=1)
    restored = pickle.loads(pickle.dumps(model, protocol=protocol))
    assert restored.to_bytes() == model.to_bytes()
    np.testing.assert_array_equal(restored(a), model(a))
elif kind == "encoder":
    encoder = maddness.fit_encoder(a, codebooks=4, threads=1)
    restored = pickle.loads(pickle.dumps(encoder, protocol=protocol))
    assert restored.encoder_only and restored.to_bytes() == encoder.to_bytes()
else:
    import torch
    import maddness.torch
    layer = torch.nn.Linear(16, 3)
    replaced = maddness.torch.Linear.from_linear(layer, a, codebooks=4)
    restored = pickle.loads(pickle.dumps(replaced, protocol=protocol))
    x = torch.from_numpy(a)
    np.testing.assert_array_equal(restored(x).numpy(), replaced(x).numpy())
print("ok")
"""


@pytest.mark.parametrize("kind", ["model", "encoder", "torch"])
def test_pickle_at_every_protocol(kind):
    if kind == "torch":
        pytest.importorskip("torch")
    for protocol in range(0, pickle.HIGHEST_PROTOCOL + 1):
        result = subprocess.run(
            [sys.executable, "-c", PICKLE_PROGRAM, kind, str(protocol)],
            capture_output=True,
            text=True,
            env=dict(os.environ),
        )
        assert result.returncode == 0 and result.stdout.strip() == "ok", (
            f"{kind} at protocol {protocol}: status {result.returncode}, {result.stderr[-2000:]}"
        )


def test_load_reads_no_more_than_the_header_allows(model, tmp_path):
    # /dev/zero never ends: load must refuse it after its first bytes.
    with pytest.raises(maddness.Error, match="not a maddness model file"):
        maddness.load("/dev/zero")
    longer = tmp_path / "longer.maddness"
    longer.write_bytes(model.to_bytes() + b"\0" * 1000)
    with pytest.raises(maddness.Error, match="trailing data"):
        maddness.load(longer)


def test_apply_into_an_empty_out(model):
    # numpy gives empty arrays zero strides; there is nothing to lay out.
    for out in (np.empty((0, model.output_dim), np.float32), np.zeros((0, model.output_dim), np.float32)):
        result = model.apply(np.zeros((0, D), np.float32), out=out)
        assert result.shape == (0, model.output_dim)
    with pytest.raises(ValueError, match="shape"):
        model.apply(np.zeros((0, D), np.float32), out=np.empty((1, model.output_dim), np.float32))


def test_conversions_follow_the_command_line_rules(model, a_train, b):
    a = np.zeros((3, D), np.float64)
    a[1, 2] = 1e300
    with pytest.raises(ValueError, match=r"A\[1, 2\] is 1e\+300; it is outside the range of float32"):
        model.apply(a)
    big = np.zeros((3, D), np.int64)
    big[2, 0] = 2**24 + 1
    with pytest.raises(ValueError, match=r"A\[2, 0\] is 16777217; it is an integer larger"):
        model.apply(big)
    with pytest.raises(ValueError, match=r"B\[0, 1\] is -1e\+300"):
        wide = b.astype(np.float64)
        wide[0, 1] = -1e300
        maddness.fit(a_train, wide, codebooks=C)
    # Within the rules, conversions are accepted: 2^24 itself, and float64 rounding.
    exact = np.full((3, D), 2**24, np.int64)
    np.testing.assert_array_equal(model.apply(exact), model.apply(exact.astype(np.float32)))
    # The table_scale value is spelled as on the command line too.
    encoder = maddness.fit_encoder(a_train, codebooks=C, threads=1)
    encoder.set_b(b, table_scale="per-output")
    other = maddness.fit_encoder(a_train, codebooks=C, threads=1)
    other.set_b(b, table_scale="per_output")
    assert encoder.to_bytes() == other.to_bytes()


def test_tensors_requiring_grad_or_bfloat16_are_converted(model, a_test):
    torch = pytest.importorskip("torch")
    tensor = torch.from_numpy(a_test.copy()).requires_grad_(True)
    np.testing.assert_array_equal(model(tensor), model(a_test))
    half = torch.from_numpy(a_test.copy()).to(torch.bfloat16)
    expected = model(half.float().numpy())
    np.testing.assert_array_equal(model(half), expected)
    np.testing.assert_array_equal(model(half.requires_grad_(True)), expected)


def test_learning_options_and_huge_b(a_train, b):
    for rows in (1, 15):
        with pytest.raises(maddness.Error, match=f"max_train_rows is {rows}; it must be 0"):
            maddness.fit(a_train, b, codebooks=C, max_train_rows=rows)
    model = maddness.fit(a_train, b, codebooks=C, max_train_rows=16, threads=1)
    assert model.num_train_rows == 16
    huge = np.where(np.arange(D * 3).reshape(D, 3) % 2 == 0, 3e38, -3e38).astype(np.float32)
    with pytest.raises(maddness.Error, match="B is too large"):
        maddness.fit(a_train, huge, codebooks=3)
