"""PyTorch layers computed with MADDNESS, for inference on the CPU.

    import maddness.torch
    net.fc = maddness.torch.Linear.from_linear(net.fc, calibration_inputs, codebooks=16)
    logits = net(x)                        # the last layer now runs on MADDNESS
    torch.save(net.state_dict(), "net.pt")  # the MADDNESS model is part of the state dict

Importing this module imports torch; ``import maddness`` alone does not.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import numpy as np
import torch

import maddness

__all__ = ["Linear"]


def _rows(values: Any, width: int, name: str) -> np.ndarray:
    """`values` (a tensor or an array-like of shape (..., width)) as an (N, width) numpy array,
    without a copy when it is a CPU float32 tensor or array."""
    if isinstance(values, torch.Tensor):
        values = values.detach()
        if values.device.type != "cpu":
            values = values.cpu()
        if values.dtype != torch.float32:
            values = values.to(torch.float32)
        values = values.numpy()
    array = np.asarray(values)
    if array.ndim == 0 or array.shape[-1] != width:
        raise ValueError(
            f"{name} has shape {tuple(array.shape)}; its last dimension must be {width} "
            "(the layer's in_features)"
        )
    return array.reshape(-1, width)


class Linear(torch.nn.Module):
    """A stand-in for ``torch.nn.Linear`` whose product ``x @ weight.T`` is approximated by a
    MADDNESS model; the bias is added exactly.

    Inference only: the output never requires grad and the layer has no parameters to train.
    Inputs of shape (..., in_features) on the CPU, of any real dtype (float32 is read in place);
    the output is float32 of shape (..., out_features).

    State dict: ``model_bytes`` (1-D uint8 tensor, the MADDNESS model file's bytes) and ``bias``
    (float32, out_features) when the layer has one. A fresh ``Linear()`` can load any such state
    dict, so a network whose layer was replaced can be rebuilt and loaded the usual way.

    Build one with ``Linear.from_linear(layer, calibration_inputs, codebooks=16)``, or
    ``Linear(model, bias)`` from a ``maddness.Model`` learned elsewhere (B = weight.T).
    """

    model_bytes: torch.Tensor
    bias: Optional[torch.Tensor]

    def __init__(
        self,
        model: Optional[maddness.Model] = None,
        bias: Optional[torch.Tensor] = None,
        *,
        threads: int = 0,
    ) -> None:
        """`model`: a maddness.Model with tables (None: load a state dict before use);
        `bias`: None or a tensor of shape (model.output_dim,); `threads`: worker threads of
        each forward call (0 = all cores)."""
        super().__init__()
        self.threads = threads
        self._model: Optional[maddness.Model] = None
        self.register_buffer("model_bytes", torch.zeros(0, dtype=torch.uint8))
        self.register_buffer("bias", None)
        if model is not None:
            self._set_model(model)
        if bias is not None:
            if model is None:
                raise ValueError("bias needs a model")
            bias = torch.as_tensor(bias).detach().to("cpu", torch.float32).clone()
            if tuple(bias.shape) != (self.out_features,):
                raise ValueError(
                    f"bias has shape {tuple(bias.shape)}; it must be ({self.out_features},), "
                    "the model's output_dim"
                )
            self.bias = bias

    @classmethod
    def from_linear(
        cls,
        layer: torch.nn.Linear,
        calibration_inputs: Any,
        codebooks: int = 16,
        *,
        threads: int = 0,
        **options: Any,
    ) -> "Linear":
        """A MADDNESS Linear that approximates `layer`.

        Args:
            layer: a torch.nn.Linear (its weight and bias are copied; the layer is unchanged).
            calibration_inputs: inputs that the layer sees in use, a tensor or array-like of shape
                (..., in_features), at least 16 rows; more (thousands) gives better models.
            codebooks: number of codebooks C, 1 <= C <= min(in_features, 256).
            threads: worker threads for learning and for each forward call (0 = all cores).
            **options: the other options of maddness.fit (variant, ridge_lambda, candidate_dims,
                max_train_rows, seed, aggregation, progress).
        """
        if not isinstance(layer, torch.nn.Linear):
            raise TypeError(f"layer must be a torch.nn.Linear, not {type(layer).__name__}")
        a_train = _rows(calibration_inputs, layer.in_features, "calibration_inputs")
        # weight is out_features x in_features; B = weight.T is a view (column-major float32),
        # which maddness reads in place.
        weight = layer.weight.detach().to("cpu", torch.float32)
        model = maddness.fit(
            a_train, weight.numpy().T, codebooks=codebooks, threads=threads, **options
        )
        bias = None if layer.bias is None else layer.bias.detach()
        return cls(model, bias, threads=threads)

    @property
    def model(self) -> maddness.Model:
        """The maddness.Model (B = weight.T)."""
        if self._model is None:
            raise RuntimeError(
                "this maddness.torch.Linear has no model yet: build it with Linear.from_linear "
                "or load a state dict"
            )
        return self._model

    @property
    def in_features(self) -> int:
        return self.model.input_dim

    @property
    def out_features(self) -> int:
        return self.model.output_dim

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        """(..., in_features) -> float32 (..., out_features)."""
        model = self.model
        if input.device.type != "cpu":
            raise ValueError(
                f"maddness.torch.Linear runs on the CPU; the input is on {input.device}"
            )
        with torch.no_grad():
            rows = _rows(input, model.input_dim, "input")
            output = torch.from_numpy(model(rows, threads=self.threads))
            if self.bias is not None:
                output += self.bias.to(torch.float32)
            return output.reshape(*input.shape[:-1], model.output_dim)

    def extra_repr(self) -> str:
        if self._model is None:
            return "no model"
        return (
            f"in_features={self._model.input_dim}, out_features={self._model.output_dim}, "
            f"codebooks={self._model.num_codebooks}, bias={self.bias is not None}"
        )

    def _set_model(self, model: maddness.Model) -> None:
        if not isinstance(model, maddness.Model):
            raise TypeError(f"model must be a maddness.Model, not {type(model).__name__}")
        if model.encoder_only:
            raise ValueError("model has no tables for B: call model.set_b(weight.T) first")
        self._model = model
        data = bytearray(model.to_bytes())
        self.model_bytes = torch.from_numpy(np.frombuffer(data, dtype=np.uint8))

    def _load_from_state_dict(
        self,
        state_dict: Dict[str, Any],
        prefix: str,
        local_metadata: Dict[str, Any],
        strict: bool,
        missing_keys: List[str],
        unexpected_keys: List[str],
        error_msgs: List[str],
    ) -> None:
        # The buffers' sizes depend on the model being loaded, so they are resized to the state
        # dict's before the default loader copies (and checks) them.
        bytes_key = prefix + "model_bytes"
        if bytes_key in state_dict:
            data = state_dict[bytes_key]
            try:
                if not (
                    isinstance(data, torch.Tensor) and data.dtype == torch.uint8 and data.dim() == 1
                ):
                    raise TypeError("it must be a 1-D uint8 tensor")
                model = None
                if data.numel() > 0:
                    model = maddness.from_bytes(data.detach().cpu().contiguous().numpy())
                    if model.encoder_only:
                        raise ValueError("the model has no tables for B")
            except (TypeError, ValueError) as error:
                error_msgs.append(f"While loading {bytes_key}: {error}")
                return
            self._model = model
            self.model_bytes = torch.zeros_like(data, device="cpu")
        bias_key = prefix + "bias"
        if bias_key in state_dict and self.bias is None:
            bias = state_dict[bias_key]
            if isinstance(bias, torch.Tensor):
                self.bias = torch.zeros(bias.shape, dtype=torch.float32)
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )
        if self._model is not None and self.bias is not None:
            if tuple(self.bias.shape) != (self._model.output_dim,):
                error_msgs.append(
                    f"While loading {bias_key}: bias has shape {tuple(self.bias.shape)} but the "
                    f"model has {self._model.output_dim} outputs"
                )
