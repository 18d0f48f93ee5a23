"""What a node's backward returns, made into one gradient per input at that input's shape
and dtype, with errors that name the op when it cannot be."""
from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.tensor import Tensor

__all__ = ["fit", "one_per_input", "unbroadcast"]


def unbroadcast(grad: Any, shape: tuple, op: str = "backward") -> Any:
    """Sum `grad` over the axes that broadcasting added or stretched, back to `shape`."""
    extra = grad.ndim - len(shape)
    if extra >= 0:
        stretched = tuple(i + extra for i, n in enumerate(shape)
                          if n == 1 and grad.shape[i + extra] != 1)
        axes = tuple(range(extra)) + stretched
        summed = grad.sum(axis=axes, keepdims=True) if axes else grad
        if summed.shape[extra:] == tuple(shape):
            return summed.reshape(shape)
    raise RuntimeError(
        f"{op}.backward returned a gradient of shape {grad.shape} for an input of shape "
        f"{shape}; a gradient must have its input's shape (or broadcast to it)")


def fit(g: Any, data: np.ndarray, op: str) -> Any:
    """The gradient at its input's shape and dtype."""
    if type(g) is not np.ndarray and not isinstance(g, Tensor):
        g = np.asarray(g)
    if g.shape != data.shape:
        g = unbroadcast(g, data.shape, op)
    if g.dtype != data.dtype:
        g = g.astype(data.dtype)
    return g


def one_per_input(node: Any, grads: Any) -> tuple:
    """A backward's result as a tuple with one gradient per input (a single gradient or a
    list is fine)."""
    if type(grads) is not tuple:
        grads = tuple(grads) if isinstance(grads, list) else (grads,)
    if len(grads) != len(node.inputs):
        raise RuntimeError(
            f"{node.name}.backward returned {len(grads)} gradients for {len(node.inputs)} "
            f"inputs; return one per input (None where there is none)")
    return grads
