#!/usr/bin/env python3
"""Time m(A) from Python against numpy's A @ B, one thread each.

    PYTHONPATH=build/python /usr/bin/python3 python/bench/apply_vs_numpy.py [--n 10000 ...]

The rows are synthetic (near a 32-dimensional subspace, plus noise); speed does not depend on
the values. Prints the fastest and the median of --repeats runs of each.
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # numpy's BLAS reads it when it loads

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import maddness  # noqa: E402


def timings(function, repeats):
    function()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - start)
    return min(seconds), float(np.median(seconds))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10000, help="rows of A")
    parser.add_argument("--d", type=int, default=512, help="columns of A")
    parser.add_argument("--m", type=int, default=100, help="columns of B")
    parser.add_argument("--c", type=int, default=16, help="codebooks")
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    basis = rng.standard_normal((32, args.d)).astype(np.float32)

    def rows(n):
        noise = rng.standard_normal((n, args.d)).astype(np.float32)
        return rng.standard_normal((n, 32)).astype(np.float32) @ basis + np.float32(0.3) * noise

    a_train, a = rows(2 * args.n), rows(args.n)
    b = rng.standard_normal((args.d, args.m)).astype(np.float32)
    model = maddness.fit(a_train, b, codebooks=args.c)
    out = np.empty((args.n, args.m), dtype=np.float32)

    print(f"N={args.n} D={args.d} M={args.m} C={args.c}, kernels {maddness.simd_target()}, "
          f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}")
    for name, function in (
        ("m(A, threads=1)", lambda: model(a, threads=1)),
        ("m(A, threads=1, out=out)", lambda: model(a, threads=1, out=out)),
        ("m(A) (all cores)", lambda: model(a)),
        ("numpy A @ B", lambda: a @ b),
    ):
        fastest, median = timings(function, args.repeats)
        print(f"{name:26s} min {fastest * 1e3:8.2f} ms   median {median * 1e3:8.2f} ms")


if __name__ == "__main__":
    main()
