"""maddness.fit / fit_encoder / Model: results, input layouts and dtypes, errors."""

import copy
import os
import subprocess
import sys
import threading
import tracemalloc

import numpy as np
import pytest

import maddness
from conftest import C, D, M, nmse, structured_rows


def test_properties(model, a_train):
    assert model.input_dim == D
    assert model.num_codebooks == C
    assert model.output_dim == M
    assert model.variant == "maddness"
    assert model.aggregation == "average"
    assert model.num_train_rows == len(a_train)
    assert not model.encoder_only
    assert repr(model) == (
        f"maddness.Model(input_dim={D}, num_codebooks={C}, variant='maddness', "
        f"output_dim={M}, aggregation='average')"
    )


@pytest.mark.parametrize("variant, bound", [("maddness", 0.1), ("pq", 0.4)])
@pytest.mark.parametrize("aggregation", ["average", "exact"])
def test_apply_is_close_to_the_exact_product(a_train, a_test, b, variant, bound, aggregation):
    model = maddness.fit(a_train, b, codebooks=C, variant=variant, aggregation=aggregation)
    assert (model.variant, model.aggregation) == (variant, aggregation)
    y = model(a_test)
    assert y.dtype == np.float32 and y.shape == (len(a_test), M)
    assert y.flags.c_contiguous and y.flags.writeable
    assert nmse(y, a_test @ b) < bound


def test_call_apply_and_threads_agree_bit_for_bit(model, a_test):
    y = model(a_test)
    np.testing.assert_array_equal(model.apply(a_test), y)
    for threads in (1, 2, 3):
        np.testing.assert_array_equal(model.apply(a_test, threads=threads), y)
    # Several Python threads at once (the GIL is released while C++ runs).
    results = [None] * 4

    def work(index):
        results[index] = model(a_test, threads=1)

    workers = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    for result in results:
        np.testing.assert_array_equal(result, y)


def test_learning_does_not_depend_on_threads(a_train, b, model):
    other = maddness.fit(a_train, b, codebooks=C, threads=2)
    assert other.to_bytes() == model.to_bytes()


def layouts(a):
    """The same matrix as float32 views with other strides (read in place) and as other dtypes
    or unusual buffers (converted): name -> (array, rows of the result to compare with)."""
    n = len(a)
    wide = np.zeros((n, 3 * D), dtype=np.float32)
    wide[:, ::3] = a
    tall = np.zeros((2 * n, D), dtype=np.float32)
    tall[::2] = a
    reversed_rows = np.ascontiguousarray(a[::-1])[::-1]
    big_endian = a.astype(">f4")
    unaligned = np.frombuffer(b"\0" + a.tobytes(), dtype=np.float32, offset=1).reshape(n, D)
    return {
        "fortran": np.asfortranarray(a),
        "column stride 3": wide[:, ::3],
        "row stride 2D": tall[::2],
        "negative row stride": reversed_rows,
        "float64": a.astype(np.float64),
        "float16 exact": a.astype(np.float16),
        "big-endian float32": big_endian,
        "unaligned float32": unaligned,
        "list": a.tolist(),
    }


def test_layouts_and_dtypes_give_the_same_result(model, a_test):
    a = a_test[:70]
    expected = model(a)
    for name, variant in layouts(a).items():
        if name == "float16 exact":
            # float16 loses precision: compare with the float32 of the same values.
            np.testing.assert_array_equal(
                model(variant), model(variant.astype(np.float32)), err_msg=name
            )
            continue
        np.testing.assert_array_equal(model(variant), expected, err_msg=name)
        np.testing.assert_array_equal(model.encode(variant), model.encode(a), err_msg=name)


def test_integer_input_is_converted(model):
    rng = np.random.default_rng(5)
    a = rng.integers(-3, 4, size=(50, D))
    expected = model(a.astype(np.float32))
    for dtype in (np.int8, np.int32, np.int64):
        np.testing.assert_array_equal(model(a.astype(dtype)), expected)
    unsigned = np.abs(a)
    np.testing.assert_array_equal(
        model(unsigned.astype(np.uint16)), model(unsigned.astype(np.float32))
    )


def test_broadcast_rows_are_read_in_place(model, a_test):
    repeated = np.broadcast_to(a_test[3], (5, D))  # row stride 0
    assert repeated.strides[0] == 0
    np.testing.assert_array_equal(model(repeated), np.repeat(model(a_test[3:4]), 5, axis=0))


def test_one_row_and_zero_rows(model, a_test):
    y = model(a_test[:5])
    np.testing.assert_array_equal(model(a_test[2]), y[2])
    assert model(a_test[2]).shape == (M,)
    assert model.encode(a_test[2]).shape == (C,)
    np.testing.assert_array_equal(model.encode(a_test[2]), model.encode(a_test[:5])[2])
    assert model(a_test[:0]).shape == (0, M)
    assert model.encode(a_test[:0]).shape == (0, C)
    with pytest.raises(ValueError, match="columns"):
        model(np.zeros((0, D + 1), dtype=np.float32))


def test_out_argument(model, a_test):
    expected = model(a_test)
    out = np.full((len(a_test), M), np.nan, dtype=np.float32)
    assert model.apply(a_test, out=out) is out
    np.testing.assert_array_equal(out, expected)
    # Rows farther apart than M floats: a column slice of a wider array.
    wide = np.full((len(a_test), M + 3), -1.0, dtype=np.float32)
    model(a_test, out=wide[:, 1 : M + 1])
    np.testing.assert_array_equal(wide[:, 1 : M + 1], expected)
    assert (wide[:, 0] == -1).all() and (wide[:, M + 1 :] == -1).all()
    # One row.
    row = np.empty(M, dtype=np.float32)
    model(a_test[4], out=row)
    np.testing.assert_array_equal(row, expected[4])
    # A and out side by side in one buffer, interleaved row by row but not overlapping.
    shared = np.zeros((len(a_test), D + M), dtype=np.float32)
    shared[:, :D] = a_test
    model(shared[:, :D], out=shared[:, D:])
    np.testing.assert_array_equal(shared[:, D:], expected)


def test_fortran_order_output(model, a_test):
    """Column-major output (order='F', or a Fortran-order out) holds the same values."""
    expected = model(a_test)
    y = model.apply(a_test, order="F")
    assert y.flags.f_contiguous and y.shape == expected.shape and y.dtype == np.float32
    np.testing.assert_array_equal(y, expected)
    out = np.full((M, len(a_test)), np.nan, dtype=np.float32).T
    assert model(a_test, out=out) is out
    np.testing.assert_array_equal(out, expected)
    # Columns farther apart than N floats: a row slice of a taller array, transposed.
    tall = np.full((M, len(a_test) + 5), -1.0, dtype=np.float32)
    model(a_test, out=tall[:, 2 : len(a_test) + 2].T)
    np.testing.assert_array_equal(tall[:, 2 : len(a_test) + 2].T, expected)
    assert (tall[:, :2] == -1).all() and (tall[:, len(a_test) + 2 :] == -1).all()
    # Column-major A and output: the chained-layer layout.
    np.testing.assert_array_equal(model(np.asfortranarray(a_test), order="F"), expected)


def test_out_errors(model, a_test):
    n = len(a_test)
    with pytest.raises(ValueError, match=r"out has shape \(3, 6\); it must be \(300, 6\)"):
        model(a_test, out=np.empty((3, M), dtype=np.float32))
    with pytest.raises(TypeError, match="out has dtype float64; it must be float32"):
        model(a_test, out=np.empty((n, M)))
    with pytest.raises(TypeError, match="out must be a numpy.ndarray, not list"):
        model(a_test, out=[[0.0] * M] * n)
    read_only = np.empty((n, M), dtype=np.float32)
    read_only.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        model(a_test, out=read_only)
    with pytest.raises(ValueError, match="strides"):
        model(a_test, out=np.empty((n, 2 * M), dtype=np.float32)[:, ::2])
    with pytest.raises(ValueError, match="strides"):
        model(a_test, out=np.empty((M, 2 * n), dtype=np.float32)[:, ::2].T)
    with pytest.raises(ValueError, match="order is 'K'; it must be 'C' or 'F'"):
        model(a_test, order="K")
    square = np.zeros((M, M), dtype=np.float32)
    as_a = np.zeros((M, D), dtype=np.float32)
    buffer = np.zeros(M * D, dtype=np.float32)
    with pytest.raises(ValueError, match="out overlaps A"):
        model(buffer.reshape(M, D), out=buffer[: M * M].reshape(M, M))
    model(as_a, out=square)  # separate arrays are fine


def test_encode(model, a_test):
    codes = model.encode(a_test)
    assert codes.dtype == np.uint8 and codes.shape == (len(a_test), C)
    assert codes.max() < 16
    assert len(np.unique(codes)) == 16  # structured rows reach every bucket
    np.testing.assert_array_equal(model.encode(a_test, threads=2), codes)


# Learning with B may use it (objective 'auto' and grouping 'search' judge by A @ B); with the
# input objective and contiguous groups, learning the encoder first gives the same model.
PAPER = {"objective": "input", "grouping": "contiguous"}


def test_encoder_only_then_set_b(a_train, a_test, b):
    model = maddness.fit(a_train, b, codebooks=C, **PAPER)
    encoder = maddness.fit_encoder(a_train, codebooks=C, grouping="contiguous")
    assert encoder.encoder_only
    assert encoder.output_dim is None and encoder.aggregation is None
    assert "encoder_only=True" in repr(encoder)
    np.testing.assert_array_equal(encoder.encode(a_test), model.encode(a_test))
    with pytest.raises(ValueError, match=r"set_b\(B\)"):
        encoder(a_test)
    before = copy.copy(encoder)
    encoder.set_b(b)
    assert not encoder.encoder_only and before.encoder_only  # copies share nothing mutable
    assert encoder.to_bytes() == model.to_bytes()
    encoder.set_b(b[:, :2], aggregation="exact")
    assert (encoder.output_dim, encoder.aggregation) == (2, "exact")
    exact = maddness.fit(a_train, b[:, :2], codebooks=C, aggregation="exact", **PAPER)
    np.testing.assert_array_equal(encoder(a_test), exact(a_test))


def test_fit_options_reach_the_library(a_train, b, model):
    sampled = maddness.fit(a_train, b, codebooks=C, max_train_rows=500, seed=7)
    assert sampled.num_train_rows == 500
    other_seed = maddness.fit(a_train, b, codebooks=C, max_train_rows=500, seed=8)
    assert sampled.to_bytes() != other_seed.to_bytes()
    assert maddness.fit(a_train, b, codebooks=C, ridge_lambda=10.0).to_bytes() != model.to_bytes()
    assert maddness.fit(a_train, b, codebooks=C, candidate_dims=1).to_bytes() != model.to_bytes()
    assert maddness.fit(a_train, b, codebooks=4).num_codebooks == 4
    assert maddness.fit(a_train, b, codebooks=C, seed=2**64 - 1).to_bytes() == model.to_bytes()


def test_objective_grouping_and_table_scale(a_train, a_test, b, model):
    for option in [
        {"objective": "product"},
        {"objective": "input"},
        {"grouping": "contiguous"},
        {"table_scale": "global"},
    ]:
        fitted = maddness.fit(a_train, b, codebooks=C, **option)
        assert nmse(fitted(a_test), a_test @ b) < 0.1, option
    global_scale = maddness.fit(a_train, b, codebooks=C, table_scale="global")
    assert global_scale.to_bytes() != model.to_bytes()
    paper = maddness.fit(a_train, b, codebooks=C, table_scale="global", **PAPER)
    encoder = maddness.fit_encoder(a_train, codebooks=C, grouping="contiguous")
    encoder.set_b(b, table_scale="global")
    assert encoder.to_bytes() == paper.to_bytes()
    np.testing.assert_array_equal(maddness.from_bytes(paper.to_bytes())(a_test), paper(a_test))
    with pytest.raises(
        ValueError, match="objective is 'output'; it must be 'input', 'product' or 'auto'"
    ):
        maddness.fit(a_train, b, objective="output")
    with pytest.raises(ValueError, match="grouping is 'rows'; it must be 'contiguous' or 'search'"):
        maddness.fit(a_train, b, grouping="rows")
    with pytest.raises(ValueError, match="grouping is 'x'"):
        maddness.fit_encoder(a_train, grouping="x")
    with pytest.raises(ValueError, match="table_scale is 'local'"):
        maddness.fit(a_train, b, table_scale="local")
    with pytest.raises(ValueError, match="table_scale is 'x'"):
        encoder.set_b(b, table_scale="x")


def softmax_cross_entropy(scores, labels):
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_probs[np.arange(len(labels)), labels].mean())


def test_classifier_tables(a_train, b):
    rng = np.random.default_rng(3)
    bias = rng.standard_normal(M).astype(np.float32)
    labels = np.argmax(a_train @ b + bias, axis=1)
    plain = maddness.fit(a_train, b, codebooks=C)
    # Held-out choice (the default): never less accurate than the plain tables on the held-out
    # rows (every fifth), or the plain tables themselves.
    chosen = maddness.fit(a_train, b, codebooks=C, classifier=True, bias=bias, train_labels=labels)
    held_out = a_train[4::5]
    if chosen.to_bytes() != plain.to_bytes():
        assert np.mean(np.argmax(chosen(held_out) + bias, 1) == labels[4::5]) >= np.mean(
            np.argmax(plain(held_out) + bias, 1) == labels[4::5]
        )
    # One fit on every row: it lowers the training cross-entropy.
    fixed = {"classifier": True, "bias": bias, "classifier_fixed": True}
    fitted = maddness.fit(a_train, b, codebooks=C, train_labels=labels, **fixed)
    distilled = maddness.fit(a_train, b, codebooks=C, **fixed)
    plain_ce = softmax_cross_entropy(plain(a_train) + bias, labels)
    assert softmax_cross_entropy(fitted(a_train) + bias, labels) < 0.9 * plain_ce
    assert softmax_cross_entropy(distilled(a_train) + bias, labels) < plain_ce
    # The outputs still approximate A @ B, and the tables are the only difference.
    assert nmse(fitted(a_train), a_train @ b) < 0.3
    np.testing.assert_array_equal(fitted.encode(a_train), plain.encode(a_train))
    again = maddness.fit(a_train, b, codebooks=C, train_labels=labels, threads=1, **fixed)
    assert again.to_bytes() == fitted.to_bytes()

    with pytest.raises(ValueError, match=r"bias has shape \(3,\); it must be \(%d,\)" % M):
        maddness.fit(a_train, b, classifier=True, bias=bias[:3])
    with pytest.raises(ValueError, match="train_labels has shape"):
        maddness.fit(a_train, b, classifier=True, train_labels=labels[:-1])
    with pytest.raises(
        ValueError, match=r"train_labels: entry \[0\] is %d; labels must be in \[0, M\)" % M
    ):
        maddness.fit(a_train, b, classifier=True, train_labels=np.full(len(a_train), M))
    with pytest.raises(ValueError, match="only with classifier=True"):
        maddness.fit(a_train, b, bias=bias)
    with pytest.raises(maddness.Error, match="classifier.mse_weight is -1"):
        maddness.fit(a_train, b, classifier=True, mse_weight=-1.0)
    with pytest.raises(maddness.Error, match="classifier.max_iterations is 0"):
        maddness.fit(a_train, b, classifier=True, classifier_iterations=0)


def test_progress(a_train, b):
    calls = []
    maddness.fit(a_train, b, codebooks=4, progress=lambda *step: calls.append(step))
    assert calls
    for stage, done, total in calls:
        assert isinstance(stage, str) and 0 <= done <= total

    def stop(stage, done, total):
        raise KeyboardInterrupt("stop learning")

    with pytest.raises(KeyboardInterrupt, match="stop learning"):
        maddness.fit(a_train, b, codebooks=4, progress=stop)


def test_errors_in_apply_inputs(model, a_test):
    with pytest.raises(ValueError, match=r"A has shape \(300, 31\) but the model was learned"):
        model(a_test[:, :-1])
    with pytest.raises(ValueError, match=r"A has shape \(2, 3, 32\) \(3 dimensions\); it must"):
        model(np.zeros((2, 3, D), dtype=np.float32))
    with pytest.raises(ValueError, match="dimensions"):
        model(np.float32(1.0))
    with pytest.raises(TypeError, match="A has dtype <U1; it must hold real numbers"):
        model(np.full((2, D), "x"))
    with pytest.raises(TypeError, match="complex128"):
        model(np.zeros((2, D), dtype=complex))
    with pytest.raises(TypeError, match="bool"):
        model(np.zeros((2, D), dtype=bool))
    with pytest.raises(TypeError, match="object"):
        model(None)
    with pytest.raises(ValueError, match="threads is -1"):
        model(a_test, threads=-1)
    bad = a_test[:3].copy()
    bad[1, :] = np.nan
    with pytest.raises(maddness.Error, match=r"A\[1, \d+\] is nan"):
        model(bad)
    with pytest.raises(ValueError, match="nan"):  # maddness.Error is a ValueError
        model.encode(bad)


def test_errors_in_fit_inputs(a_train, b):
    with pytest.raises(ValueError, match=r"codebooks is 33; it must be between 1 and min\(D"):
        maddness.fit(a_train, b, codebooks=D + 1)
    with pytest.raises(ValueError, match="codebooks is 0"):
        maddness.fit(a_train, b, codebooks=0)
    with pytest.raises(ValueError, match=r"B has shape \(31, 6\) but A_train has D = 32 columns"):
        maddness.fit(a_train, b[:-1])
    with pytest.raises(ValueError, match="A_train has shape"):
        maddness.fit(a_train[0], b)
    with pytest.raises(ValueError, match="B has shape"):
        maddness.fit(a_train, b[:, 0])
    with pytest.raises(TypeError, match="fit_encoder"):
        maddness.fit(a_train, None)
    with pytest.raises(ValueError, match="variant is 'fast'; it must be 'maddness' or 'pq'"):
        maddness.fit(a_train, b, variant="fast")
    with pytest.raises(ValueError, match="aggregation is 'sum'"):
        maddness.fit(a_train, b, aggregation="sum")
    with pytest.raises(ValueError, match="seed is -1"):
        maddness.fit(a_train, b, seed=-1)
    with pytest.raises(ValueError, match="max_train_rows is -5"):
        maddness.fit(a_train, b, max_train_rows=-5)
    with pytest.raises(ValueError, match="threads is -2"):
        maddness.fit_encoder(a_train, threads=-2)
    with pytest.raises(TypeError, match="progress must be None or a callable"):
        maddness.fit(a_train, b, progress=3)
    with pytest.raises(maddness.Error, match="ridge_lambda is -1"):
        maddness.fit(a_train, b, ridge_lambda=-1.0)
    with pytest.raises(maddness.Error, match="A_train has 10 rows"):
        maddness.fit(a_train[:10], b)
    bad_b = b.copy()
    bad_b[3, 2] = np.inf
    with pytest.raises(maddness.Error, match="inf"):
        maddness.fit(a_train, bad_b)
    with pytest.raises(TypeError, match="dtype"):
        maddness.fit(a_train.astype(str), b)
    encoder = maddness.fit_encoder(a_train[:100], codebooks=2)
    with pytest.raises(ValueError, match=r"B has shape \(3, 6\) but the model was learned on"):
        encoder.set_b(b[:3])
    with pytest.raises(ValueError, match="aggregation is 'x'"):
        encoder.set_b(b, aggregation="x")


def test_help_is_useful():
    assert maddness.fit.__doc__.startswith("fit(A_train, B, *, codebooks=16, variant='maddness'")
    for name in ("ridge_lambda", "candidate_dims", "max_train_rows", "aggregation", "progress"):
        assert name in maddness.fit.__doc__
    assert maddness.Model.apply.__doc__.startswith("apply(A, *, threads=0, out=None, order='C')")
    assert "maddness.fit(A_train, B, codebooks=16)" in maddness.__doc__
    assert issubclass(maddness.Error, ValueError)



def peak_numpy_bytes(function):
    """Peak bytes that numpy (and Python) allocate while `function` runs: numpy reports its array
    buffers to tracemalloc, the C++ library's own buffers are not counted."""
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_float32_input_is_not_copied(model):
    a = structured_rows(np.random.default_rng(6), 20000)  # 2.5 MB; the output is 0.5 MB
    out_bytes = len(a) * M * 4
    wide = np.zeros((len(a), 2 * D), dtype=np.float32)
    wide[:, ::2] = a
    for name, view in (("C order", a), ("Fortran order", np.asfortranarray(a)),
                       ("strided", wide[:, ::2])):
        peak = peak_numpy_bytes(lambda: model(view))
        assert peak < out_bytes + a.nbytes // 4, name
        assert peak_numpy_bytes(lambda: model.encode(view)) < a.nbytes // 4, name
    a64 = a.astype(np.float64)
    assert peak_numpy_bytes(lambda: model(a64)) >= out_bytes + a.nbytes  # the one float32 copy


def test_simd_target_and_the_scalar_reference_agree(model, a_test, tmp_path):
    assert maddness.simd_target() in maddness.compiled_targets()
    # A fresh interpreter forced onto the scalar reference code gives the same bytes.
    np.save(tmp_path / "a.npy", a_test)
    model.save(tmp_path / "model.maddness")
    script = (
        "import sys, numpy as np, maddness\n"
        "print(maddness.simd_target())\n"
        "np.save(sys.argv[3], maddness.load(sys.argv[1])(np.load(sys.argv[2])))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, tmp_path / "model.maddness", tmp_path / "a.npy",
         tmp_path / "y.npy"],
        env={**os.environ, "MADDNESS_TARGET": "reference"}, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "SCALAR"
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), model(a_test))


def test_choose_lambda(a_train, a_test, b, model):
    chosen = maddness.fit(a_train, b, codebooks=C, choose_lambda=True)
    assert nmse(chosen(a_test), a_test @ b) < 0.1
    again = maddness.fit(a_train, b, codebooks=C, choose_lambda=True, threads=1)
    assert again.to_bytes() == chosen.to_bytes()
    fixed = maddness.fit(a_train, b, codebooks=C, choose_lambda=False)
    assert fixed.to_bytes() == model.to_bytes()
