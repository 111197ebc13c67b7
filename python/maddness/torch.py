"""PyTorch layers computed with MADDNESS: inference on the CPU, and fine-tuning of the tables.

    import maddness.torch
    net.fc = maddness.torch.Linear.from_linear(net.fc, calibration_inputs, codebooks=16)
    net.conv3 = maddness.torch.Conv2d.from_conv2d(net.conv3, calibration_images, codebooks=16)
    logits = net.eval()(x)                  # these layers now run on MADDNESS (C++ kernels)
    net.train()                             # ... and in training mode their tables are trained
    torch.save(net.state_dict(), "net.pt")  # the MADDNESS model is part of the state dict

In evaluation mode a layer runs the C++ kernels on its byte tables. In training mode (layers made
by from_linear / from_conv2d) its float tables, a parameter of shape (out, C, 16), give the
output: for each row, the sum over codebooks c of tables[:, c, code_c]; the gradient of the tables
is the scatter-add of the output gradient over the batch's codes, and the input gets the gradient
of the exact product x @ weight.T (straight-through: the codes, a step function of the input,
have no useful gradient), or with ``input_gradient="tree"`` that of a smooth version of the hash
trees (each split a sigmoid of the row's distance to its threshold), which tells the layers
before which way to move the features that the trees test. The encoder (hash trees) stays fixed;
the codes are those of the current inputs. Switching to evaluation mode quantizes the trained
tables to bytes again.

Importing this module imports torch; ``import maddness`` alone does not.
"""

from __future__ import annotations

import copy

from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import torch

import maddness

__all__ = ["Linear", "Conv2d"]

_INPUT_GRADIENTS = ("exact", "tree")


def _check_input_gradient(input_gradient: Any, temperature: Any) -> Tuple[str, float]:
    if input_gradient not in _INPUT_GRADIENTS:
        raise ValueError(
            f"input_gradient is {input_gradient!r}; it must be one of {list(_INPUT_GRADIENTS)}"
        )
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
        raise TypeError(f"temperature is {temperature!r}; it must be a number")
    if not (np.isfinite(temperature) and temperature > 0):
        raise ValueError(f"temperature is {temperature!r}; it must be finite and > 0")
    return input_gradient, float(temperature)


# One split level of a hash tree in the model file (docs/format.md, section SPLT): the column it
# tests, the input quantization x_q = sat_i8(rne(x * scale + offset)), and the thresholds of its
# 2^t nodes (node i sends a row right when x_q > thresholds[i]).
_SPLIT_LEVEL = np.dtype(
    [("dim", "<u4"), ("scale", "<f4"), ("offset", "<f4"), ("thresholds", "i1", (16,))]
)


def _split_levels(model: maddness.Model) -> Tuple[torch.Tensor, ...]:
    """The hash trees of `model`: columns (C, 4) int64, scale and offset (C, 4) and
    thresholds (C, 4, 16) float32, read from its bytes (docs/format.md)."""
    data = model.to_bytes()
    codebooks = model.num_codebooks
    position = 60
    while True:
        tag = data[position : position + 4]
        (size,) = np.frombuffer(data, "<u8", 1, position + 4)
        if tag == b"SPLT":
            break
        position += 12 + int(size)
    levels = np.frombuffer(data, _SPLIT_LEVEL, codebooks * 4, position + 12)
    return (
        torch.from_numpy(levels["dim"].astype(np.int64).reshape(codebooks, 4)),
        torch.from_numpy(levels["scale"].astype(np.float32).reshape(codebooks, 4)),
        torch.from_numpy(levels["offset"].astype(np.float32).reshape(codebooks, 4)),
        torch.from_numpy(levels["thresholds"].astype(np.float32).reshape(codebooks, 4, 16)),
    )


def _leaf_weights(
    rows: torch.Tensor, levels: Tuple[torch.Tensor, ...], temperature: float
) -> torch.Tensor:
    """The smooth hash trees: (N, C, 16) weights of each row's leaves, the product along the
    path of sigmoid((x * scale + offset - threshold - 1/2) / temperature) for a right turn (one
    minus it for a left turn); as the temperature goes to 0 they become the one-hot codes."""
    columns, scale, offset, thresholds = levels
    count, codebooks = rows.shape[0], columns.shape[0]
    inputs = rows[:, columns.reshape(-1)].reshape(count, codebooks, 4) * scale + offset
    weights = rows.new_ones((count, codebooks, 1))
    for level in range(4):
        nodes = 1 << level
        # Node i's children are 2i (left) and 2i + 1 (right).
        right = torch.sigmoid(
            (inputs[:, :, level : level + 1] - thresholds[:, level, :nodes] - 0.5) / temperature
        )
        weights = torch.stack([weights * (1 - right), weights * right], dim=-1)
        weights = weights.reshape(count, codebooks, 2 * nodes)
    return weights


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


def _tree_input_gradient(
    grad: torch.Tensor,
    inputs: torch.Tensor,
    tables: torch.Tensor,
    levels: Tuple[torch.Tensor, ...],
    temperature: float,
    width: int,
) -> torch.Tensor:
    """The gradient, for rows of `width` columns, of sum_nm grad[n, m] * smooth[n, m], where
    smooth[n] = sum_c sum_k w_ck(x_n) tables[:, c, k] is the smooth hash trees' output
    (_leaf_weights) and `inputs` (N, C, 4) the rows' tested columns quantized
    (x * scale + offset). Computed by hand, level by level, without the (N, C, 16) leaf weights'
    autograd graph: the same values as autograd through _leaf_weights and the einsum, at a
    fraction of the time and memory."""
    columns, scale, _, thresholds = levels
    count, codebooks = inputs.shape[0], columns.shape[0]
    outputs = tables.shape[0]
    # The sigmoids of each level, (N, C, 2^level), and the path products reaching the level.
    rights, paths = [], []
    path = None
    for level in range(4):
        nodes = 1 << level
        right = torch.sigmoid(
            (inputs[:, :, level : level + 1] - thresholds[:, level, :nodes] - 0.5) / temperature
        )
        rights.append(right)
        paths.append(path)
        if level < 3:
            if path is None:
                path = torch.cat([1 - right, right], dim=-1)
            else:
                path = torch.stack([path * (1 - right), path * right], dim=-1)
                path = path.reshape(count, codebooks, 2 * nodes)
    # The gradient of the leaf weights, then back up the trees: a node's weight gets
    # (1 - right) times its left child's gradient plus right times its right child's, and its
    # sigmoid gets the node's weight times (right child's - left child's).
    node_grad = (grad @ tables.reshape(outputs, codebooks * 16)).reshape(count, codebooks, 16)
    input_grad = inputs.new_empty((count, codebooks, 4))
    for level in reversed(range(4)):
        nodes = 1 << level
        pairs = node_grad.reshape(count, codebooks, nodes, 2)
        left, right_grad = pairs[..., 0], pairs[..., 1]
        difference = right_grad - left
        right = rights[level]
        slope = right * (1 - right)
        if paths[level] is None:
            input_grad[:, :, level] = (difference * slope).squeeze(-1)
        else:
            input_grad[:, :, level] = (paths[level] * difference * slope).sum(-1)
        if level > 0:
            node_grad = left + right * difference
    input_grad *= scale / temperature
    # Each tested column gets the sum of its levels' gradients (added column by column in the
    # transposed layout, where a column is a contiguous row).
    grad_rows = inputs.new_zeros((width, count))
    grad_rows.index_add_(0, columns.reshape(-1), input_grad.reshape(count, codebooks * 4).t())
    return grad_rows.t()


class _LookupProduct(torch.autograd.Function):
    """out[n, m] = sum_c tables[m, c, codes[n, c]]; backward: the tables get the scatter-add of the
    output gradient over the codes, the rows get grad @ weight (the exact product's gradient), or
    with `tree` = (levels, temperature) the smooth hash trees' gradient (_tree_input_gradient)."""

    @staticmethod
    def forward(ctx, rows, tables, codes, weight, tree):  # type: ignore[override]
        codebooks = tables.shape[1]
        # Code k of codebook c is row 16 c + k of the (C * 16, M) tables: one gather-and-sum.
        flat = codes + 16 * torch.arange(codebooks, dtype=codes.dtype)
        lookup = tables.detach().permute(1, 2, 0).reshape(codebooks * 16, tables.shape[0])
        out = torch.nn.functional.embedding_bag(flat, lookup, mode="sum")
        ctx.table_shape = tables.shape
        ctx.tree = tree
        ctx.width = rows.shape[1]
        if tree is not None and ctx.needs_input_grad[0]:
            columns, scale, offset, _ = tree[0]
            inputs = rows.detach()[:, columns.reshape(-1)].reshape(-1, codebooks, 4)
            ctx.save_for_backward(codes, weight, inputs * scale + offset, tables.detach())
        else:
            ctx.save_for_backward(codes, weight)
        return out

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        codes, weight = ctx.saved_tensors[:2]
        grad_rows = grad_tables = None
        if ctx.needs_input_grad[0]:
            if ctx.tree is None:
                grad_rows = grad.to(weight.dtype) @ weight
            else:
                inputs, tables = ctx.saved_tensors[2:]
                levels, temperature = ctx.tree
                grad_rows = _tree_input_gradient(
                    grad.to(tables.dtype), inputs, tables, levels, temperature, ctx.width
                )
        if ctx.needs_input_grad[1]:
            outputs, codebooks, prototypes = ctx.table_shape
            grad_tables = grad.new_zeros((codebooks, prototypes, outputs))
            for c in range(codebooks):
                grad_tables[c].index_add_(0, codes[:, c], grad)
            grad_tables = grad_tables.permute(2, 0, 1)
        return grad_rows, grad_tables, None, None, None


class Linear(torch.nn.Module):
    """A stand-in for ``torch.nn.Linear`` whose product ``x @ weight.T`` is approximated by a
    MADDNESS model; the bias is added exactly.

    Evaluation mode: the C++ kernels on the model's byte tables; the output never requires grad.
    Inputs of shape (..., in_features) on the CPU, of any real dtype (float32 is read in place);
    the output is float32 of shape (..., out_features).

    Training mode, for layers with float tables (made by ``from_linear``, or given ``weight``):
    the output is computed in PyTorch from the float tables, a parameter ``tables`` of shape
    (out_features, C, 16) starting at prototypes x weight.T, and is differentiable: the tables get
    the scatter-add of the output gradient over the batch's codes. The input gets, with
    ``input_gradient="exact"`` (the default), the gradient of the exact product
    (straight-through); with ``"tree"``, the gradient of the smooth hash trees' output
    sum_c sum_k w_ck(x) tables[:, c, k], where w_c(x) are the leaf weights of codebook c's tree
    with each split's step replaced by a sigmoid of width ``temperature`` (in the units of the
    split's 8-bit quantized input). Only the columns the trees test get a gradient: the layers
    before learn to move them across the thresholds, which fine-tunes a network around a fixed
    encoder far better than the exact product's gradient (examples/torch_finetune.py). The
    output itself is that of the hard codes in both cases. The codes come from the fixed
    encoder. Switching back to evaluation mode (``eval()``) quantizes the tables to bytes again
    (per output column, with the model's aggregation); so does an evaluation-mode call after the
    tables changed. Layers without float tables (``Linear(model, bias)``) run the C++ kernels
    in both modes.

    State dict: ``model_bytes`` (1-D uint8 tensor, the MADDNESS model file's bytes), ``bias``
    (float32, out_features) when the layer has one, and for trainable layers ``tables`` and
    ``weight`` (float32, out_features x in_features, for the input gradient). A fresh
    ``Linear()`` can load any such state dict, so a network whose layer was replaced can be
    rebuilt and loaded the usual way.

    A new layer is in evaluation mode (also ``Linear()`` before loading a state dict);
    ``train()``, or ``net.train()`` on a network holding it, switches it to training mode.
    Build one with ``Linear.from_linear(layer, calibration_inputs, codebooks=16)``, or
    ``Linear(model, bias)`` from a ``maddness.Model`` learned elsewhere (B = weight.T).
    """

    model_bytes: torch.Tensor
    bias: Optional[torch.Tensor]
    weight: Optional[torch.Tensor]
    tables: Optional[torch.nn.Parameter]

    def __init__(
        self,
        model: Optional[maddness.Model] = None,
        bias: Optional[torch.Tensor] = None,
        *,
        threads: int = 0,
        weight: Optional[torch.Tensor] = None,
        input_gradient: str = "exact",
        temperature: float = 4.0,
    ) -> None:
        """`model`: a maddness.Model with tables (None: load a state dict before use);
        `bias`: None or a tensor of shape (model.output_dim,); `threads`: worker threads of
        each forward call (0 = all cores); `weight`: None, or the exact layer's weight
        (out_features x in_features, B = weight.T), which makes the layer trainable: float tables
        prototypes x weight.T, the model's byte tables re-quantized from them;
        `input_gradient` ("exact" or "tree") and `temperature` (> 0): the input's gradient in
        training mode (see the class; attributes of the same names, not in the state dict)."""
        super().__init__()
        self.threads = threads
        self.input_gradient, self.temperature = _check_input_gradient(input_gradient, temperature)
        self._levels: Optional[Tuple[torch.Tensor, ...]] = None  # the trees, for "tree"
        self._model: Optional[maddness.Model] = None
        self._synced: Optional[tuple] = None  # (id, version) of the tables last quantized
        self.register_buffer("model_bytes", torch.zeros(0, dtype=torch.uint8))
        self.register_buffer("bias", None)
        self.register_buffer("weight", None)
        self.register_parameter("tables", None)
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
        if weight is not None:
            if model is None:
                raise ValueError("weight needs a model")
            weight = torch.as_tensor(weight).detach().to("cpu", torch.float32).clone()
            expected = (self.out_features, self.in_features)
            if tuple(weight.shape) != expected:
                raise ValueError(
                    f"weight has shape {tuple(weight.shape)}; it must be {expected}, "
                    "(out_features, in_features) of the model"
                )
            self.weight = weight
            tables = self.model.float_tables(weight.numpy().T)
            self.tables = torch.nn.Parameter(torch.from_numpy(tables))
            # The model's byte tables are these tables quantized (in double precision, as fit
            # and set_b do); they are re-quantized once the tables change.
            self._synced = (id(self.tables), self.tables._version)
        # Like every MADDNESS layer, it starts in evaluation mode: the C++ kernels.
        self.eval()

    @classmethod
    def from_linear(
        cls,
        layer: torch.nn.Linear,
        calibration_inputs: Any,
        codebooks: int = 16,
        *,
        threads: int = 0,
        trainable: bool = True,
        input_gradient: str = "exact",
        temperature: float = 4.0,
        **options: Any,
    ) -> "Linear":
        """A MADDNESS Linear that approximates `layer`, in evaluation mode.

        Args:
            layer: a torch.nn.Linear (its weight and bias are copied; the layer is unchanged).
            calibration_inputs: inputs that the layer sees in use, a tensor or array-like of shape
                (..., in_features), at least 16 rows; more (thousands) gives better models.
            codebooks: number of codebooks C, 1 <= C <= min(in_features, 256).
            threads: worker threads for learning and for each forward call (0 = all cores).
            trainable: keep float tables and the weight, for training mode (see the class);
                False gives a smaller inference-only layer (the model's tables as fitted).
            input_gradient, temperature: the input's gradient in training mode, "exact" or
                "tree" (see the class).
            **options: the other options of maddness.fit (variant, ridge_lambda, candidate_dims,
                max_train_rows, seed, aggregation, progress).
        """
        _check_input_gradient(input_gradient, temperature)
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
        return cls(
            model,
            bias,
            threads=threads,
            weight=weight if trainable else None,
            input_gradient=input_gradient,
            temperature=temperature,
        )

    @property
    def model(self) -> maddness.Model:
        """The maddness.Model (B = weight.T), with tables quantized from the float tables."""
        if self._model is None:
            raise RuntimeError(
                "this maddness.torch.Linear has no model yet: build it with Linear.from_linear "
                "or load a state dict"
            )
        if self.tables is not None and not self.training:
            self._sync_tables()
        return self._model

    @property
    def in_features(self) -> int:
        return self.model.input_dim

    @property
    def out_features(self) -> int:
        return self.model.output_dim

    @property
    def trainable(self) -> bool:
        """Whether training mode trains float tables (else it runs the C++ kernels too)."""
        return self.tables is not None

    def train(self, mode: bool = True) -> "Linear":
        super().train(mode)
        if not mode and self.tables is not None and self._model is not None:
            self._sync_tables()
        return self

    def codes(self, input: torch.Tensor) -> torch.Tensor:
        """The 4-bit codes of the rows of `input` (..., in_features): int64 (rows, C)."""
        model = self.model
        rows = _rows(input, model.input_dim, "input")
        return torch.from_numpy(model.encode(rows, threads=self.threads).astype(np.int64))

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        """(..., in_features) -> float32 (..., out_features)."""
        model = self.model
        if input.device.type != "cpu":
            raise ValueError(
                f"maddness.torch.Linear runs on the CPU; the input is on {input.device}"
            )
        if self.training and self.tables is not None:
            rows = input.reshape(-1, model.input_dim)
            codes = self.codes(rows)
            if rows.dtype != torch.float32:
                rows = rows.to(torch.float32)
            _check_input_gradient(self.input_gradient, self.temperature)
            tree = None
            if self.input_gradient == "tree":
                if self._levels is None:
                    self._levels = _split_levels(model)
                # The hard codes' output, with the smooth trees' gradient for the input.
                tree = (self._levels, self.temperature)
            output = _LookupProduct.apply(rows, self.tables, codes, self.weight, tree)
            if self.bias is not None:
                output = output + self.bias
            return output.reshape(*input.shape[:-1], model.output_dim)
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
            f"codebooks={self._model.num_codebooks}, bias={self.bias is not None}, "
            f"trainable={self.tables is not None}"
        )

    def _sync_tables(self) -> None:
        """Quantizes the float tables into the model (and model_bytes) if they changed."""
        tables = self.tables
        assert tables is not None and self._model is not None
        key = (id(tables), tables._version)
        if self._synced == key:
            return
        data = tables.detach().to("cpu", torch.float32).contiguous().numpy()
        if not np.isfinite(data).all():
            raise ValueError("the float tables hold NaN or Inf; training diverged")
        # A copy: the model may be shared with the caller who built the layer.
        model = copy.copy(self._model)
        model.set_float_tables(data, aggregation=model.aggregation or "average")
        self._model = model
        self.model_bytes = torch.from_numpy(
            np.frombuffer(bytearray(self._model.to_bytes()), dtype=np.uint8)
        )
        self._synced = key

    def _set_model(self, model: maddness.Model) -> None:
        if not isinstance(model, maddness.Model):
            raise TypeError(f"model must be a maddness.Model, not {type(model).__name__}")
        if model.encoder_only:
            raise ValueError("model has no tables for B: call model.set_b(weight.T) first")
        self._model = model
        self._levels = None
        data = bytearray(model.to_bytes())
        self.model_bytes = torch.from_numpy(np.frombuffer(data, dtype=np.uint8))

    def __getstate__(self) -> Dict[str, Any]:
        # Pickled with the float tables quantized into the model.
        if self.tables is not None and self._model is not None:
            self._sync_tables()
        return super().__getstate__()

    def __setstate__(self, state: Dict[str, Any]) -> None:
        # Layers pickled before input_gradient existed train as they did: "exact".
        state.setdefault("input_gradient", "exact")
        state.setdefault("temperature", 4.0)
        state["_levels"] = None
        super().__setstate__(state)
        if self.tables is not None:
            self._synced = (id(self.tables), self.tables._version)

    def _save_to_state_dict(self, destination: Any, prefix: str, keep_vars: bool) -> None:
        # model_bytes always holds the float tables quantized, also in training mode.
        if self.tables is not None and self._model is not None:
            self._sync_tables()
        super()._save_to_state_dict(destination, prefix, keep_vars)

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
            self._levels = None
            self.model_bytes = torch.zeros_like(data, device="cpu")
        for name in ("bias", "weight", "tables"):
            key = prefix + name
            value = state_dict.get(key)
            if isinstance(value, torch.Tensor):
                if name == "tables":
                    self.tables = torch.nn.Parameter(torch.zeros(value.shape, dtype=torch.float32))
                else:
                    setattr(self, name, torch.zeros(value.shape, dtype=torch.float32))
            elif key not in state_dict and name != "bias" and getattr(self, name) is not None:
                # A state dict without float tables makes an inference-only layer.
                setattr(self, name, None)
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )
        model = self._model
        # The saved model_bytes are the saved tables quantized (_save_to_state_dict).
        self._synced = None if self.tables is None else (id(self.tables), self.tables._version)
        if model is None:
            return
        if self.bias is not None and tuple(self.bias.shape) != (model.output_dim,):
            error_msgs.append(
                f"While loading {prefix}bias: bias has shape {tuple(self.bias.shape)} but the "
                f"model has {model.output_dim} outputs"
            )
        if self.tables is not None:
            expected = (model.output_dim, model.num_codebooks, 16)
            if tuple(self.tables.shape) != expected:
                error_msgs.append(
                    f"While loading {prefix}tables: tables have shape "
                    f"{tuple(self.tables.shape)} but the model needs {expected}"
                )
            if self.weight is None or tuple(self.weight.shape) != (
                model.output_dim,
                model.input_dim,
            ):
                error_msgs.append(
                    f"While loading {prefix}weight: a trainable layer needs weight of shape "
                    f"({model.output_dim}, {model.input_dim})"
                )


def _pair(value: Any, name: str) -> Tuple[int, int]:
    if isinstance(value, int):
        return (value, value)
    if isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return value
    raise ValueError(f"{name} is {value!r}; it must be an int or a pair of ints")


class Conv2d(torch.nn.Module):
    """A stand-in for ``torch.nn.Conv2d`` (groups = 1, zero padding) computed as a MADDNESS product
    on its im2col rows: ``torch.nn.functional.unfold`` turns each output position's receptive
    field into a row of C_in * kh * kw values, and a ``maddness.torch.Linear`` with
    B = weight.flatten(1).T (plus the bias) gives the C_out outputs. Training and evaluation
    modes, and the state dict (under ``linear.``), are the Linear's.

    Build one with ``Conv2d.from_conv2d(conv, calibration_images, codebooks=16)``.
    """

    def __init__(
        self,
        linear: Optional[Linear] = None,
        kernel_size: Any = 1,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
    ) -> None:
        super().__init__()
        self.linear = linear if linear is not None else Linear()
        self.training = self.linear.training
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.stride = _pair(stride, "stride")
        self.padding = _pair(padding, "padding")
        self.dilation = _pair(dilation, "dilation")

    @classmethod
    def from_conv2d(
        cls,
        conv: torch.nn.Conv2d,
        calibration_inputs: Any,
        codebooks: int = 16,
        *,
        threads: int = 0,
        max_rows: int = 50000,
        seed: int = 0,
        trainable: bool = True,
        **options: Any,
    ) -> "Conv2d":
        """A MADDNESS Conv2d that approximates `conv`, in evaluation mode.

        Args:
            conv: a torch.nn.Conv2d with groups = 1 and padding_mode 'zeros' (copied).
            calibration_inputs: images the layer sees in use, (N, C_in, H, W); their im2col rows
                (N x output positions) are the training rows, at most `max_rows` of them drawn
                at random with `seed`.
            codebooks, threads, trainable, **options: as for Linear.from_linear.
        """
        if not isinstance(conv, torch.nn.Conv2d):
            raise TypeError(f"conv must be a torch.nn.Conv2d, not {type(conv).__name__}")
        if conv.groups != 1 or conv.padding_mode != "zeros" or isinstance(conv.padding, str):
            raise ValueError(
                f"conv has groups={conv.groups}, padding_mode={conv.padding_mode!r}, "
                f"padding={conv.padding!r}; only groups=1, 'zeros' and numeric padding are "
                "supported"
            )
        if max_rows < 16:
            raise ValueError(f"max_rows is {max_rows}; it must be >= 16")
        images = torch.as_tensor(calibration_inputs).detach().to("cpu", torch.float32)
        if images.dim() != 4 or images.shape[1] != conv.in_channels:
            raise ValueError(
                f"calibration_inputs has shape {tuple(images.shape)}; it must be "
                f"(N, {conv.in_channels}, H, W)"
            )
        result = cls(None, conv.kernel_size, conv.stride, conv.padding, conv.dilation)
        rows = result._im2col(images)
        rows = rows.reshape(-1, rows.shape[-1])
        if len(rows) > max_rows:
            generator = torch.Generator().manual_seed(seed)
            pick = torch.randperm(len(rows), generator=generator)[:max_rows]
            rows = rows[pick.sort().values]
        weight = conv.weight.detach().to("cpu", torch.float32).flatten(1)
        proxy = torch.nn.Linear(weight.shape[1], weight.shape[0], bias=conv.bias is not None)
        with torch.no_grad():
            proxy.weight.copy_(weight)
            if conv.bias is not None:
                proxy.bias.copy_(conv.bias.detach())
        result.linear = Linear.from_linear(
            proxy, rows, codebooks, threads=threads, trainable=trainable, seed=seed, **options
        )
        return result.eval()

    def _im2col(self, input: torch.Tensor) -> torch.Tensor:
        """(N, C_in, H, W) -> (N, positions, C_in * kh * kw), in the order of weight.flatten(1)."""
        columns = torch.nn.functional.unfold(
            input, self.kernel_size, dilation=self.dilation, padding=self.padding,
            stride=self.stride,
        )
        return columns.transpose(1, 2)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        """(N, C_in, H, W) -> float32 (N, C_out, H_out, W_out)."""
        if input.dim() != 4:
            raise ValueError(f"input has shape {tuple(input.shape)}; it must be (N, C_in, H, W)")
        height, width = input.shape[2], input.shape[3]
        out_height, out_width = (
            (size + 2 * pad - dil * (kernel - 1) - 1) // step + 1
            for size, pad, dil, kernel, step in zip(
                (height, width), self.padding, self.dilation, self.kernel_size, self.stride
            )
        )
        rows = self._im2col(input if input.dtype == torch.float32 else input.float())
        output = self.linear(rows)  # N x positions x C_out
        return output.transpose(1, 2).reshape(input.shape[0], -1, out_height, out_width)

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}"
        )
