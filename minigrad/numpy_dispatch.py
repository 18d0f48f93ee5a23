"""NumPy's dispatch protocols for Tensor: `np.exp(t)`, `np.where(c, t, 0)`, `ndarray * t`.

Each NumPy name minigrad differentiates maps to its op, so the result is a tensor in the
graph; this is how a backward written in NumPy records a graph when the engine hands it
tensors (create_graph=True). Any other NumPy function or ufunc runs on the data and returns
plain arrays, unless a tensor argument would need its gradient: then it raises rather than
silently cut the graph.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from minigrad import ops
from minigrad.autograd.grad_mode import state
from minigrad.tensor import Tensor

__all__ = ["function", "ufunc"]

UFUNCS: dict[Any, Callable[..., Any]] = {
    np.add: ops.add, np.subtract: ops.subtract, np.multiply: ops.multiply,
    np.true_divide: ops.divide, np.power: ops.power, np.negative: ops.negative,
    np.positive: lambda x: x, np.exp: ops.exp, np.log: ops.log, np.sqrt: ops.sqrt,
    np.tanh: ops.tanh, np.absolute: ops.abs, np.maximum: ops.maximum, np.minimum: ops.minimum,
    np.matmul: ops.matmul, np.square: lambda x: ops.multiply(x, x),
    np.reciprocal: lambda x: ops.divide(1.0, x),
    np.greater: ops.greater, np.greater_equal: ops.greater_equal, np.less: ops.less,
    np.less_equal: ops.less_equal, np.equal: ops.equal, np.not_equal: ops.not_equal,
}

# piecewise constant: derivative 0 wherever it exists, so they run on the data even for
# tensors that require grad (a backward uses np.sign and masks freely)
CONSTANT_UFUNCS = {np.sign, np.floor, np.ceil, np.rint, np.trunc, np.isnan, np.isinf,
                   np.isfinite, np.signbit, np.logical_and, np.logical_or, np.logical_not,
                   np.logical_xor}

FUNCTIONS: dict[Any, Callable[..., Any]] = {
    np.sum: ops.sum, np.mean: ops.mean, np.max: ops.max, np.min: ops.min, np.amax: ops.max,
    np.amin: ops.min, np.var: ops.var, np.where: ops.where, np.clip: ops.clip,
    np.stack: ops.stack, np.concatenate: ops.concatenate, np.reshape: ops.reshape,
    np.transpose: ops.transpose, np.swapaxes: ops.swapaxes, np.expand_dims: ops.expand_dims,
    np.squeeze: ops.squeeze, np.broadcast_to: ops.broadcast_to,
    np.shape: lambda x: x.shape, np.ndim: lambda x: x.ndim, np.size: lambda x: x.size,
}


def ufunc(uf: Any, method: str, args: tuple, kwargs: dict) -> Any:
    if method == "__call__" and not kwargs and uf in UFUNCS:
        return UFUNCS[uf](*args)
    if method == "__call__" and uf in CONSTANT_UFUNCS:
        return uf(*_arrays(args), **_arrays(kwargs))
    if method == "reduce" and uf is np.add and set(kwargs) <= {"axis", "keepdims"}:
        return ops.sum(args[0], **kwargs)
    _refuse_if_differentiating(f"np.{uf.__name__}" + ("" if method == "__call__" else f".{method}"),
                               args, kwargs)
    return getattr(uf, method)(*_arrays(args), **_arrays(kwargs))


def function(func: Any, args: tuple, kwargs: dict) -> Any:
    if func in FUNCTIONS:
        return FUNCTIONS[func](*args, **kwargs)
    _refuse_if_differentiating(f"np.{func.__name__}", args, kwargs)
    return func(*_arrays(args), **_arrays(kwargs))


def _refuse_if_differentiating(name: str, args: tuple, kwargs: dict) -> None:
    if state.grad_enabled and any(isinstance(a, Tensor) and a.requires_grad
                                  for a in _flat(args) + _flat(kwargs)):
        raise TypeError(
            f"{name} on a tensor that requires grad: minigrad cannot differentiate it, and "
            f"running it on the data would silently cut the graph. Use minigrad's ops, or pass "
            f"t.detach() (or t.data) if no gradient should flow")


def _flat(values: Any) -> list:
    if isinstance(values, dict):
        values = list(values.values())
    out = []
    for v in values:
        out.extend(_flat(v) if isinstance(v, (list, tuple)) else [v])
    return out


def _arrays(values: Any) -> Any:
    """Tensors replaced by their arrays, inside tuples, lists and dicts."""
    if isinstance(values, Tensor):
        return values.data
    if isinstance(values, dict):
        return {k: _arrays(v) for k, v in values.items()}
    if isinstance(values, (list, tuple)):
        return type(values)(_arrays(v) for v in values)
    return values
