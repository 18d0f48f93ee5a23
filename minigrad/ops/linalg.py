"""Matrix product with NumPy's `matmul` rules: 1-D operands are promoted to a row or a
column, and leading (batch) dimensions broadcast."""
from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.autograd import Function
from minigrad.tensor import Tensor

__all__ = ["MatMul", "matmul"]


class MatMul(Function):
    """a @ b;  d/da = grad @ b^T, d/db = a^T @ grad (batch axes summed by the engine)."""

    @staticmethod
    def forward(ctx, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(
                f"MatMul: both operands need at least one dimension, got shapes {a.shape} and "
                f"{b.shape}; use * to multiply by a scalar")
        if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
            raise ValueError(
                f"MatMul: shapes {a.shape} and {b.shape} do not fit: the last axis of the first "
                f"({a.shape[-1]}) must equal the {'second-to-last' if b.ndim > 1 else 'only'} "
                f"axis of the second ({b.shape[-2 if b.ndim > 1 else 0]})")
        ctx.save_for_backward(a, b)
        return a @ b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        if a.ndim == 2 and b.ndim == 2:  # the common case, without the promotions below
            return (grad @ b.T if need_a else None), (a.T @ grad if need_b else None)
        if a.ndim == 1 and b.ndim == 1:  # a dot product: the output (and grad) is 0-d
            return (grad * b if need_a else None), (grad * a if need_b else None)
        # promote 1-D operands as matmul does, so one pair of formulas covers every case
        a2 = a.reshape(1, -1) if a.ndim == 1 else a
        b2 = b.reshape(-1, 1) if b.ndim == 1 else b
        g2 = grad
        if a.ndim == 1:
            g2 = np.expand_dims(g2, -2)
        if b.ndim == 1:
            g2 = np.expand_dims(g2, -1)
        grad_a = grad_b = None
        if need_a:
            grad_a = g2 @ np.swapaxes(b2, -1, -2)
            if a.ndim == 1:  # reshape(-1, 0) is ambiguous for an empty vector: name the size
                grad_a = grad_a.reshape(-1, a.shape[0]).sum(axis=0) if a.shape[0] else a * 0
        if need_b:
            grad_b = np.swapaxes(a2, -1, -2) @ g2
            if b.ndim == 1:
                grad_b = grad_b.reshape(-1, b.shape[0]).sum(axis=0) if b.shape[0] else b * 0
        return grad_a, grad_b


def matmul(a: Any, b: Any) -> Tensor:
    return MatMul.apply(a, b)
