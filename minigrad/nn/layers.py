"""The fully connected layers `Dense` (weight (in, out)) and `Linear` (PyTorch's (out, in)),
the fused op both run, `Affine`: x @ W + b, and its functional form `linear`."""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from minigrad.autograd import Function
from minigrad.dtypes import as_array, get_default_dtype
from minigrad.nn import init as nn_init
from minigrad.nn.module import Module
from minigrad.nn.parameter import Parameter
from minigrad.tensor import Tensor

__all__ = ["Affine", "Dense", "Linear", "linear"]


class Affine(Function):
    """y = x @ W (+ b) for x of shape (..., in), W (in, out), b (out,), in one node;
    dx = g @ W^T, dW = x^T g and db = g, both summed over the leading axes of x.

    With `transposed=True` the weight is stored (out, in), PyTorch's layout (nn.Linear):
    y = x @ W^T (+ b), dx = g @ W and dW = g^T x.
    """

    name = "Affine"

    @staticmethod
    def forward(ctx, x, weight, bias=None, transposed=False):
        fan_in = weight.shape[-1] if transposed else weight.shape[0]
        if x.ndim == 0 or weight.ndim != 2 or x.shape[-1] != fan_in:
            layout = "(out_features, in_features)" if transposed else "(in_features, out_features)"
            raise ValueError(
                f"Affine: x of shape {x.shape} and weight of shape {weight.shape} do not fit: "
                f"the weight must be {layout} and x's last axis in_features"
            )
        ctx.save_for_backward(x, weight)
        ctx.transposed = transposed
        out = x @ (weight.T if transposed else weight)
        if bias is not None:
            out += bias  # `out` is fresh, so adding in place saves one array per call
        return out

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        needs = ctx.needs_input_grad
        grad_x = None
        if needs[0]:
            grad_x = grad @ (weight if ctx.transposed else weight.T)
        # every leading axis of x is a batch axis: flatten them into one
        if grad.ndim != 2:
            grad, x = grad.reshape(-1, grad.shape[-1]), x.reshape(-1, x.shape[-1])
        grad_w = None
        if needs[1]:
            grad_w = grad.T @ x if ctx.transposed else x.T @ grad
        if len(needs) == 2:
            return grad_x, grad_w
        # np.add.reduce is .sum() without its Python wrapper (it runs every step); on tensors
        # it dispatches to minigrad's sum like any ufunc
        return grad_x, grad_w, (np.add.reduce(grad, axis=0) if needs[2] else None)


_INITS: dict[str, Callable[[Any], Any]] = {
    "xavier": nn_init.xavier_uniform_, "glorot": nn_init.xavier_uniform_,
    "he": nn_init.kaiming_uniform_, "kaiming": nn_init.kaiming_uniform_}


class _AffineLayer(Module):
    """What Dense and Linear share: the input check, the one fused Affine node, the repr."""

    in_features: int
    out_features: int
    weight: Parameter
    bias: Parameter | None
    _transposed = False  # True: weight is (out_features, in_features), PyTorch's layout

    def forward(self, x: Any) -> Tensor:
        if not isinstance(x, Tensor):
            x = Tensor._make(as_array(x), False, None)
        shape = x.data.shape
        if not shape or shape[-1] != self.in_features:
            raise ValueError(
                f"{self.describe()}: input has shape {shape}, its last axis must be "
                f"{self.in_features} (in_features)"
            )
        operands = (x, self.weight) if self.bias is None else (x, self.weight, self.bias)
        if self._transposed:  # Linear; Dense passes no keyword (a **params dict per call)
            return Affine.apply(*operands, transposed=True)
        return Affine.apply(*operands)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Dense(_AffineLayer):
    """Fully connected layer: y = x @ weight + bias, for x of shape (..., in_features).

    `weight` is (in_features, out_features), `bias` (out_features,) and starts at zero.
    `init` picks the weight scheme for the activation that follows: "xavier" (Glorot
    uniform, for tanh/sigmoid, the default) or "he"/"kaiming" (He uniform, for relu), or a
    callable that fills the weight in place.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 dtype: Any = None, init: str | Callable = "xavier") -> None:
        super().__init__()
        for label, n in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(n, (int, np.integer)) or n < 1:
                raise ValueError(f"Dense: {label} must be a positive integer, got {n!r}")
        if not callable(init) and init not in _INITS:
            raise ValueError(
                f"Dense: unknown init {init!r}; choose one of {', '.join(map(repr, _INITS))} "
                f"or pass a function that fills the weight in place"
            )
        dtype = get_default_dtype() if dtype is None else np.dtype(dtype)
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.weight = Parameter(np.empty((self.in_features, self.out_features), dtype=dtype))
        (init if callable(init) else _INITS[init])(self.weight)
        self.bias = Parameter(np.zeros(self.out_features, dtype=dtype)) if bias else None

    def describe(self) -> str:
        return f"Dense({self.in_features}->{self.out_features})"


class Linear(_AffineLayer):
    """torch.nn.Linear: y = x @ weight^T + bias, for x of shape (..., in_features).

    `weight` is (out_features, in_features), PyTorch's layout, so a state dict moves between
    minigrad and PyTorch without transposes; `bias` is (out_features,). Both start as PyTorch
    starts them: U(-1/sqrt(in_features), 1/sqrt(in_features)) (its kaiming_uniform_ with
    a = sqrt(5)), drawn from minigrad's generator (`minigrad.manual_seed`). Runs the same
    fused `Affine` node as `Dense`.
    """

    _transposed = True

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 dtype: Any = None) -> None:
        super().__init__()
        for label, n in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                raise ValueError(f"Linear: {label} must be a positive integer, got {n!r}")
        dtype = get_default_dtype() if dtype is None else np.dtype(dtype)
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        bound = 1.0 / math.sqrt(self.in_features)
        self.weight = Parameter(np.empty((self.out_features, self.in_features), dtype=dtype))
        nn_init.uniform_(self.weight, -bound, bound)
        self.bias = None
        if bias:
            self.bias = Parameter(np.empty(self.out_features, dtype=dtype))
            nn_init.uniform_(self.bias, -bound, bound)

    def describe(self) -> str:
        return f"Linear({self.in_features}->{self.out_features})"


def linear(input: Any, weight: Any, bias: Any = None) -> Tensor:  # noqa: A002  (torch's name)
    """torch.nn.functional.linear: input @ weight^T + bias, weight (out, in), one Affine node;
    d/dinput = g @ weight, d/dweight = g^T input, d/dbias = g summed over the batch."""
    if bias is None:
        return Affine.apply(input, weight, transposed=True)
    return Affine.apply(input, weight, bias, transposed=True)
