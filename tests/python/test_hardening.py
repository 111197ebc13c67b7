"""Hostile and degenerate inputs to the Python module (docs/reliability.md): each raises
maddness.Error (a ValueError), TypeError or MemoryError with a clear message, never a crash; and
degenerate but valid training data gives a usable model."""

import numpy as np
import pytest

import maddness

D, M, C = 8, 3, 4


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    a = rng.standard_normal((200, D)).astype(np.float32)
    b = rng.standard_normal((D, M)).astype(np.float32)
    return a, b


@pytest.fixture(scope="module")
def model(data):
    a, b = data
    return maddness.fit(a, b, codebooks=C, threads=1)


def repeated_rows(row, rows, cols=None):
    """A read-only view that repeats one row `rows` times (row stride 0): tiny in memory, huge in
    shape."""
    cols = row.shape[-1] if cols is None else cols
    return np.lib.stride_tricks.as_strided(row, shape=(rows, cols), strides=(0, row.strides[-1]),
                                           writeable=False)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_infinity_are_refused(data, model, bad):
    a, b = data
    a_bad = a.copy()
    a_bad[3, 2] = bad
    with pytest.raises(maddness.Error, match=r"A_train\[3, 2\] is (nan|inf|-inf)"):
        maddness.fit(a_bad, b, codebooks=C)
    b_bad = b.copy()
    b_bad[1, 2] = bad
    with pytest.raises(maddness.Error, match=r"B\[1, 2\]"):
        maddness.fit(a, b_bad, codebooks=C)
    encoder = maddness.fit_encoder(a, codebooks=C)
    with pytest.raises(maddness.Error, match=r"B\[1, 2\]"):
        encoder.set_b(b_bad)
    a_all_bad = a[:5].copy()
    a_all_bad[4, :] = bad  # every column, so a column the encoder reads
    with pytest.raises(maddness.Error, match=r"A\[4, \d+\]"):
        model(a_all_bad)
    with pytest.raises(maddness.Error, match=r"A\[4, \d+\]"):
        model.encode(a_all_bad)


def test_bad_ridge_lambda_is_refused(data):
    a, b = data
    for value, text in [(float("nan"), "nan"), (float("inf"), "inf"), (-1.0, "-1")]:
        with pytest.raises(maddness.Error, match=f"ridge_lambda is {text}"):
            maddness.fit(a, b, codebooks=C, ridge_lambda=value)


def test_too_few_rows_and_too_many_codebooks(data):
    a, b = data
    for rows in (1, 15):
        with pytest.raises(maddness.Error, match=f"A_train has {rows} rows; at least 16"):
            maddness.fit(a[:rows], b, codebooks=C)
    assert maddness.fit(a[:16], b, codebooks=C).num_train_rows == 16
    with pytest.raises(ValueError, match=r"codebooks is 9; it must be between 1 and min\(D"):
        maddness.fit(a, b, codebooks=D + 1)
    with pytest.raises(ValueError, match="codebooks is 257"):
        maddness.fit(np.ones((20, 300), np.float32), np.ones((300, 1), np.float32), codebooks=257)
    assert maddness.fit(a, b, codebooks=D).num_codebooks == D


def test_empty_inputs(data, model):
    a, b = data
    with pytest.raises(maddness.Error, match="A_train has 0 rows"):
        maddness.fit(a[:0], b, codebooks=C)
    with pytest.raises(maddness.Error, match="A_train has 0 columns; it needs at least 1"):
        maddness.fit(np.zeros((20, 0), np.float32), np.zeros((0, M), np.float32), codebooks=1)
    with pytest.raises(maddness.Error):
        maddness.from_bytes(b"")
    # An empty A is valid for apply and encode (documented): the results are empty too.
    assert model(a[:0]).shape == (0, M)
    assert model.encode(a[:0]).shape == (0, C)


def test_sizes_beyond_the_limits(data, model):
    a, _ = data
    with pytest.raises(maddness.Error, match="A_train has 1048577 columns; at most 1048576"):
        wide = np.lib.stride_tricks.as_strided(a[0], shape=(20, 2**20 + 1), strides=(0, 0),
                                               writeable=False)
        maddness.fit_encoder(wide, codebooks=C)
    # Outputs too large to allocate or address: an exception, not a crash.
    for rows in (2**40, 2**61):
        with pytest.raises((maddness.Error, ValueError, MemoryError)):
            model(repeated_rows(a[0], rows))
        with pytest.raises((maddness.Error, ValueError, MemoryError)):
            model.encode(repeated_rows(a[0], rows))


def test_mismatched_shapes(data, model):
    a, b = data
    for width in (D - 1, D + 1, 1):
        with pytest.raises(ValueError, match=f"A has shape \\(10, {width}\\) but the model"):
            model(np.ones((10, width), np.float32))
        with pytest.raises(ValueError, match=f"A has shape \\(10, {width}\\)"):
            model.encode(np.ones((10, width), np.float32))
    with pytest.raises(ValueError, match=r"B has shape \(7, 3\) but A_train has D = 8"):
        maddness.fit(a, b[:-1], codebooks=C)
    encoder = maddness.fit_encoder(a, codebooks=C)
    with pytest.raises(ValueError, match=r"B has shape \(9, 3\)"):
        encoder.set_b(np.ones((D + 1, M), np.float32))


@pytest.mark.parametrize("kind", ["constant", "zeros", "constant_columns", "duplicate_columns",
                                  "duplicate_rows", "extreme_magnitudes"])
@pytest.mark.parametrize("variant", ["maddness", "pq"])
def test_degenerate_training_data_gives_a_usable_model(data, kind, variant):
    a, b = data
    a = a[:64].copy()
    if kind == "constant":
        a[:] = 2.5
    elif kind == "zeros":
        a[:] = 0
    elif kind == "constant_columns":
        a[:, [1, 4]] = -7
    elif kind == "duplicate_columns":
        a[:] = a[:, :1]
    elif kind == "duplicate_rows":
        a[:] = a[np.arange(64) % 2]
    else:
        a[:, ::2] *= np.float32(1e30)
        a[:, 1::2] *= np.float32(1e-30)
    model = maddness.fit(a, b, codebooks=3, variant=variant, threads=1)
    y = model(a)
    assert y.shape == (64, M) and np.isfinite(y).all()
    again = maddness.from_bytes(model.to_bytes())
    assert np.array_equal(again(a), y)
