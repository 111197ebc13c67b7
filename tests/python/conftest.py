"""Shared data for the tests of the Python module `maddness`.

Run with the package built by CMake on the path (ctest does this):
    PYTHONPATH=build/python /usr/bin/python3 -m pytest -q tests/python
"""

import numpy as np
import pytest

import maddness

# D columns of A, M columns of B, C codebooks of the shared model.
D, M, C = 32, 6, 8


def structured_rows(rng: np.random.Generator, n: int) -> np.ndarray:
    """Rows near a 4-dimensional subspace of R^D (like real features: correlated columns), on
    which MADDNESS is accurate. The subspace is fixed; only the coefficients depend on `rng`."""
    basis = np.random.default_rng(1234).standard_normal((4, D)).astype(np.float32)
    coefficients = rng.standard_normal((n, 4)).astype(np.float32)
    noise = rng.standard_normal((n, D)).astype(np.float32)
    return (coefficients @ basis + np.float32(0.1) * noise).astype(np.float32)


def nmse(approximate: np.ndarray, exact: np.ndarray) -> float:
    """Normalized mean squared error, in float64."""
    exact = exact.astype(np.float64)
    return float(((approximate - exact) ** 2).sum() / (exact**2).sum())


@pytest.fixture(scope="session")
def a_train() -> np.ndarray:
    return structured_rows(np.random.default_rng(1), 2000)


@pytest.fixture(scope="session")
def a_test() -> np.ndarray:
    return structured_rows(np.random.default_rng(2), 300)


@pytest.fixture(scope="session")
def b() -> np.ndarray:
    return np.random.default_rng(3).standard_normal((D, M)).astype(np.float32)


@pytest.fixture(scope="session")
def model(a_train: np.ndarray, b: np.ndarray) -> maddness.Model:
    return maddness.fit(a_train, b, codebooks=C, threads=1)
