"""Type hints for the extension module maddness._maddness (python/module.cc)."""

import os
from typing import Any, Callable, Literal, Optional, Union

import numpy as np
import numpy.typing as npt

__version__: str

# Anything numpy.asarray turns into an array of real numbers: float32 arrays are read in place,
# other dtypes are converted to float32 with one copy.
ArrayLike = npt.ArrayLike
PathLike = Union[str, "os.PathLike[str]"]
ProgressCallback = Callable[[str, int, int], Any]
Buffer = Union[bytes, bytearray, memoryview, npt.NDArray[np.uint8]]

class Error(ValueError):
    """An invalid input reported by the library; the message names the argument and the rule."""

class Model:
    """A learned MADDNESS model: the encoder and, unless encoder_only, the tables for one B."""

    @property
    def input_dim(self) -> int:
        """D, the number of columns of A."""
    @property
    def num_codebooks(self) -> int:
        """C, the number of codebooks (4-bit codes per row)."""
    @property
    def output_dim(self) -> Optional[int]:
        """M, the number of columns of B; None for an encoder_only model."""
    @property
    def encoder_only(self) -> bool:
        """True when the model has no tables for B yet: set_b(B) first."""
    @property
    def variant(self) -> Literal["maddness", "pq"]: ...
    @property
    def aggregation(self) -> Optional[Literal["average", "exact"]]: ...
    @property
    def num_train_rows(self) -> int: ...
    def apply(
        self,
        A: ArrayLike,
        *,
        threads: int = 0,
        out: Optional[npt.NDArray[np.float32]] = None,
        order: Literal["C", "F"] = "C",
    ) -> npt.NDArray[np.float32]:
        """Approximates A @ B: float32 (N, M), or (M,) for a 1-D A; order="F" for Fortran order."""
    def __call__(
        self,
        A: ArrayLike,
        *,
        threads: int = 0,
        out: Optional[npt.NDArray[np.float32]] = None,
        order: Literal["C", "F"] = "C",
    ) -> npt.NDArray[np.float32]:
        """m(A) is m.apply(A)."""
    def encode(self, A: ArrayLike, *, threads: int = 0) -> npt.NDArray[np.uint8]:
        """The 4-bit codes of the rows of A: uint8 (N, C), or (C,) for a 1-D A."""
    def set_b(
        self,
        B: ArrayLike,
        *,
        aggregation: Literal["average", "exact"] = "average",
        table_scale: Literal["global", "per_output"] = "per_output",
    ) -> None:
        """Builds (or replaces) the lookup tables for B (D x M)."""
    def float_tables(self, B: ArrayLike) -> npt.NDArray[np.float32]:
        """The float tables set_b(B) quantizes (prototypes x B): float32 (M, C, 16)."""
    def set_float_tables(
        self,
        tables: ArrayLike,
        *,
        aggregation: Literal["average", "exact"] = "average",
        table_scale: Literal["global", "per_output"] = "per_output",
    ) -> None:
        """Quantizes float tables (M, C, 16) into the model's lookup tables."""
    def save(self, path: PathLike) -> None:
        """Writes the model file atomically."""
    def to_bytes(self) -> bytes:
        """The model file's bytes."""
    def __copy__(self) -> "Model": ...
    def __deepcopy__(self, memo: Any) -> "Model": ...
    def __getstate__(self) -> bytes: ...
    def __setstate__(self, state: bytes) -> None: ...

def fit(
    A_train: ArrayLike,
    B: ArrayLike,
    *,
    codebooks: int = 16,
    variant: Literal["maddness", "pq"] = "maddness",
    ridge_lambda: float = 1.0,
    candidate_dims: int = 4,
    max_train_rows: int = 0,
    seed: int = 0,
    threads: int = 0,
    aggregation: Literal["average", "exact"] = "average",
    objective: Literal["input", "product", "auto"] = "auto",
    table_scale: Literal["global", "per_output", "auto"] = "auto",
    grouping: Literal["contiguous", "search"] = "search",
    progress: Optional[ProgressCallback] = None,
    classifier: bool = False,
    bias: Optional[ArrayLike] = None,
    train_labels: Optional[ArrayLike] = None,
    mse_weight: float = 0.3,
    classifier_iterations: int = 20,
    choose_lambda: bool = False,
    classifier_fixed: bool = False,
) -> Model:
    """Learns a model that approximates A @ B for rows A like those of A_train."""

def fit_encoder(
    A_train: ArrayLike,
    *,
    codebooks: int = 16,
    variant: Literal["maddness", "pq"] = "maddness",
    ridge_lambda: float = 1.0,
    candidate_dims: int = 4,
    max_train_rows: int = 0,
    seed: int = 0,
    threads: int = 0,
    grouping: Literal["contiguous", "search"] = "search",
    progress: Optional[ProgressCallback] = None,
) -> Model:
    """Learns only the encoder; call set_b(B) on the result before applying it."""

def load(path: PathLike) -> Model:
    """Reads a model file."""

def from_bytes(data: Buffer) -> Model:
    """The model whose serialized form (Model.to_bytes) is `data`."""

def simd_target() -> str:
    """The SIMD target the kernels run on: 'AVX3_DL', 'AVX3', 'AVX2', 'SSE4', 'SSSE3', 'SCALAR'."""

def compiled_targets() -> list[str]:
    """The SIMD targets compiled into the library, best first."""
