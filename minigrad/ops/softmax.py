"""softmax and log_softmax along an axis, shifted by the max so exp never overflows."""
from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.autograd import Function
from minigrad.ops.reductions import axis_args
from minigrad.tensor import Tensor

__all__ = ["LogSoftmax", "Softmax", "log_softmax", "softmax"]


def _shifted(x: np.ndarray, axis: int, op: str) -> np.ndarray:
    """x minus its max along `axis` (an empty axis has no max and needs no shift)."""
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"{op}: axis {axis} is out of range for a tensor of shape {x.shape}")
    if x.shape[axis] == 0:
        return x
    return x - np.max(x, axis=axis, keepdims=True)


class Softmax(Function):
    """s = exp(x) / sum(exp(x));  grad_x = s * (grad - sum(grad * s))."""

    @staticmethod
    def forward(ctx, x, axis=-1):
        shifted = np.exp(_shifted(x, axis, "Softmax"))
        out = shifted / np.sum(shifted, axis=axis, keepdims=True)
        ctx.save_for_backward(out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return out * (grad - np.sum(grad * out, axis=ctx.axis, keepdims=True))


class LogSoftmax(Function):
    """x - log(sum(exp(x)));  grad_x = grad - softmax(x) * sum(grad)."""

    @staticmethod
    def forward(ctx, x, axis=-1):
        shifted = _shifted(x, axis, "LogSoftmax")
        with np.errstate(divide="ignore"):  # log of an empty sum: only for an empty axis
            out = shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
        ctx.save_for_backward(out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad - np.exp(out) * np.sum(grad, axis=ctx.axis, keepdims=True)


def softmax(x: Any, axis: int = -1, **aliases: Any) -> Tensor:
    axis, _ = axis_args("Softmax", axis, False, aliases, axis_default=-1)
    return Softmax.apply(x, axis=axis)


def log_softmax(x: Any, axis: int = -1, **aliases: Any) -> Tensor:
    axis, _ = axis_args("LogSoftmax", axis, False, aliases, axis_default=-1)
    return LogSoftmax.apply(x, axis=axis)
