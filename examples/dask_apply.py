#!/usr/bin/env python3
"""Apply a MADDNESS model to a chunked Dask array, block by block (docs/scale-out.md).

Every row of A is encoded and multiplied on its own, so A @ B splits along the rows with no
communication: ``dask.array.map_blocks`` runs ``model(block)`` on each chunk of rows, wherever
Dask puts it. The model travels to the workers pickled (its model-file bytes: kilobytes to a few
megabytes), once per task graph.

    PYTHONPATH=build/python /usr/bin/python3 examples/dask_apply.py \\
        [--rows 200000] [--chunk-rows 25000] [--scheduler processes]

It learns a model on random rows near a low-dimensional subspace, applies it with Dask and
without, checks that both give the same bytes, and prints the times. For a cluster, create a
``dask.distributed.Client`` first (package python3-distributed); the code does not change.
"""

import argparse
import time

import dask
import dask.array as da
import numpy as np

import maddness


def _apply_block(block: np.ndarray, model: maddness.Model, threads: int) -> np.ndarray:
    return model.apply(block, threads=threads)


def apply_blocks(a: da.Array, model: maddness.Model, threads: int = 1) -> da.Array:
    """The approximation of A @ B as a lazy Dask array: N x M float32, chunked like A's rows.

    a: N x D Dask array (any float dtype; blocks are converted to float32 by the model).
    model: a model with tables (from maddness.fit, or set_b).
    threads: threads of each task (1 suits Dask's own parallelism over blocks).
    """
    if a.ndim != 2 or a.shape[1] != model.input_dim:
        raise ValueError(
            f"A has shape {a.shape}; it must be N x D with D = {model.input_dim}, "
            "the width the model was learned on"
        )
    if model.encoder_only:
        raise ValueError("the model has no lookup tables; build them with model.set_b(B)")
    a = a.rechunk({1: -1})  # every block holds whole rows
    return a.map_blocks(
        _apply_block,
        model,
        threads,
        dtype=np.float32,
        chunks=(a.chunks[0], (model.output_dim,)),
    )


def structured_rows(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    """Rows near an 8-dimensional subspace of R^d plus noise, float32."""
    basis = np.random.default_rng(99).standard_normal((8, d)).astype(np.float32)
    coefficients = rng.standard_normal((n, 8)).astype(np.float32)
    noise = rng.standard_normal((n, d)).astype(np.float32)
    return (coefficients @ basis + np.float32(0.1) * noise).astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200_000, help="rows N of A")
    parser.add_argument("--cols", type=int, default=64, help="columns D of A")
    parser.add_argument("--outputs", type=int, default=16, help="columns M of B")
    parser.add_argument("--codebooks", type=int, default=16, help="codebooks C")
    parser.add_argument("--chunk-rows", type=int, default=25_000, help="rows per Dask block")
    parser.add_argument(
        "--scheduler",
        choices=["threads", "processes", "synchronous"],
        default="processes",
        help="Dask's local scheduler ('processes' pickles the model to each worker)",
    )
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    a_train = structured_rows(rng, 20_000, args.cols)
    b = rng.standard_normal((args.cols, args.outputs)).astype(np.float32)
    model = maddness.fit(a_train, b, codebooks=args.codebooks, threads=1)

    a = structured_rows(rng, args.rows, args.cols)
    lazy = apply_blocks(da.from_array(a, chunks=(args.chunk_rows, args.cols)), model)

    start = time.perf_counter()
    with dask.config.set(scheduler=args.scheduler):
        distributed = lazy.compute()
    dask_seconds = time.perf_counter() - start
    start = time.perf_counter()
    single = model.apply(a, threads=1)
    single_seconds = time.perf_counter() - start

    identical = distributed.tobytes() == single.tobytes()
    exact = a.astype(np.float64) @ b.astype(np.float64)
    nmse = float(((single - exact) ** 2).sum() / (exact**2).sum())
    print(
        f"A {a.shape[0]} x {a.shape[1]} in {lazy.numblocks[0]} blocks, M = {args.outputs}, "
        f"C = {args.codebooks}: Dask ({args.scheduler}) {dask_seconds:.3f} s, "
        f"one call on one thread {single_seconds:.3f} s; identical: {identical}; "
        f"NMSE {nmse:.4f}"
    )
    if not identical:
        raise SystemExit("the Dask result differs from the single-process result")


if __name__ == "__main__":
    main()
