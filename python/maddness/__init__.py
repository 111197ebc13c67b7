"""Learned approximate matrix multiplication (MADDNESS) for numpy.

MADDNESS (Blalock & Guttag, "Multiplying Matrices Without Multiplying", ICML 2021) approximates
A @ B when B is known ahead of time and the rows of A come from a known distribution::

    import maddness
    m = maddness.fit(A_train, B, codebooks=16)   # A_train: N_train x D, B: D x M
    Y = m(A)                                     # float32 N x M, approximately A @ B
    m.save("model.maddness")
    m = maddness.load("model.maddness")

When B comes later: ``m = maddness.fit_encoder(A_train)``, then ``m.set_b(B)``.
For PyTorch, ``maddness.torch.Linear.from_linear(layer, calibration_inputs)`` (imports torch).

The work is done by the C++ library (extension module ``maddness._maddness``); see
``help(maddness.fit)`` and ``help(maddness.Model)``.
"""

from maddness._maddness import (
    Error,
    Model,
    __version__,
    compiled_targets,
    fit,
    fit_encoder,
    from_bytes,
    load,
    simd_target,
)

__all__ = [
    "Error",
    "Model",
    "compiled_targets",
    "fit",
    "fit_encoder",
    "from_bytes",
    "load",
    "simd_target",
    "__version__",
]
