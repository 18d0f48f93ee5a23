"""Reductions over an axis (int, tuple or None for all), with NumPy's `keepdims`."""
from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.autograd import Function
from minigrad.tensor import Tensor


def normalize_axis(axis: Any, x: Any, op: str) -> tuple | None:
    """Axis as a sorted tuple of non-negative ints (None stays None: every axis)."""
    if axis is None:
        return None
    ndim = x.ndim if isinstance(x, Tensor) else np.ndim(x)
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    normalized = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"{op}: axis {a} is out of range for a tensor with {ndim} dimensions")
        normalized.append(int(a) % ndim)
    if len(set(normalized)) != len(normalized):
        raise ValueError(f"{op}: repeated axis in {axis}")
    return tuple(sorted(normalized))


def count_reduced(shape: tuple, axis: tuple | None) -> int:
    """How many elements each output element of a reduction over `axis` summarises."""
    if axis is None:
        return int(np.prod(shape))
    return int(np.prod([shape[a] for a in axis]))


def expand_reduced(grad: np.ndarray, axis: tuple | None, keepdims: bool) -> np.ndarray:
    """Put back the reduced axes as size 1, so the gradient broadcasts against the input."""
    if keepdims or axis is None:
        return grad
    return np.expand_dims(grad, axis)


class Sum(Function):
    """sum(x);  d/dx = 1 for every element summed."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.shape, ctx.axis, ctx.keepdims = x.shape, axis, keepdims
        return np.sum(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx, grad):
        return np.broadcast_to(expand_reduced(grad, ctx.axis, ctx.keepdims), ctx.shape)


class Mean(Function):
    """mean(x) over n elements;  d/dx = 1/n."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.shape, ctx.axis, ctx.keepdims = x.shape, axis, keepdims
        ctx.count = count_reduced(x.shape, axis)
        return np.mean(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx, grad):
        grad = expand_reduced(grad, ctx.axis, ctx.keepdims) / ctx.count
        return np.broadcast_to(grad, ctx.shape)


class Max(Function):
    """max(x);  d/dx = 1/k at each of the k elements equal to the max, 0 elsewhere."""

    reduce = staticmethod(np.max)

    @classmethod
    def forward(cls, ctx, x, axis=None, keepdims=False):
        if x.size == 0:
            raise ValueError(f"{cls.name}: cannot reduce an empty tensor of shape {x.shape}")
        out = cls.reduce(x, axis=axis, keepdims=True)
        ctx.save_for_backward(x, out)
        ctx.axis, ctx.keepdims = axis, keepdims
        return out if keepdims else np.squeeze(out, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        hits = x == out
        share = expand_reduced(grad, ctx.axis, ctx.keepdims) / hits.sum(axis=ctx.axis, keepdims=True)
        return hits * share


class Min(Max):
    """min(x);  d/dx = 1/k at each of the k elements equal to the min, 0 elsewhere."""

    reduce = staticmethod(np.min)


class Var(Function):
    """sum((x - mean)^2) / (n - ddof);  d/dx = 2 (x - mean) / (n - ddof)."""

    @staticmethod
    def forward(ctx, x, axis=None, ddof=0, keepdims=False):
        n = count_reduced(x.shape, axis)
        if n - ddof <= 0:
            raise ValueError(
                f"Var: ddof={ddof} leaves no degrees of freedom for {n} elements per output; "
                f"use a smaller ddof"
            )
        centered = x - np.mean(x, axis=axis, keepdims=True)
        ctx.save_for_backward(centered)
        ctx.axis, ctx.keepdims, ctx.dof = axis, keepdims, n - ddof
        return np.sum(centered * centered, axis=axis, keepdims=keepdims) / (n - ddof)

    @staticmethod
    def backward(ctx, grad):
        (centered,) = ctx.saved_tensors
        return expand_reduced(grad, ctx.axis, ctx.keepdims) * centered * (2 / ctx.dof)


def sum(x: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    return Sum.apply(x, axis=normalize_axis(axis, x, "Sum"), keepdims=keepdims)


def mean(x: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:
    return Mean.apply(x, axis=normalize_axis(axis, x, "Mean"), keepdims=keepdims)


def max(x: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    return Max.apply(x, axis=normalize_axis(axis, x, "Max"), keepdims=keepdims)


def min(x: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    return Min.apply(x, axis=normalize_axis(axis, x, "Min"), keepdims=keepdims)


def var(x: Tensor, axis: Any = None, ddof: int = 0, keepdims: bool = False) -> Tensor:
    return Var.apply(x, axis=normalize_axis(axis, x, "Var"), ddof=ddof,
                     keepdims=keepdims)
