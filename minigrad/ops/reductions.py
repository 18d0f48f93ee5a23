"""Reductions over an axis (int, tuple or None for all), with NumPy's `keepdims`."""
from __future__ import annotations

from typing import Any

import math

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
        return math.prod(shape)
    return math.prod(shape[a] for a in axis)


def kept_shape(shape: tuple, axis: tuple | None) -> tuple:
    """The output shape with keepdims=True: each reduced axis kept with size 1."""
    if axis is None:
        return (1,) * len(shape)
    return tuple(1 if i in axis else n for i, n in enumerate(shape))


def spread(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """`grad` (reduced axes kept as size 1) copied out over `shape`: a fresh, writable array
    (np.broadcast_to would give a read-only view, and costs more for small arrays)."""
    out = np.empty(shape, dtype=grad.dtype)
    out[...] = grad
    return out


class Sum(Function):
    """sum(x);  d/dx = 1 for every element summed."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.shape, ctx.kept = x.shape, kept_shape(x.shape, axis)
        return np.sum(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx, grad):
        return spread(grad.reshape(ctx.kept), ctx.shape)


class Mean(Function):
    """mean(x) over n elements;  d/dx = 1/n."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.shape, ctx.kept = x.shape, kept_shape(x.shape, axis)
        ctx.count = count_reduced(x.shape, axis)
        return np.mean(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx, grad):
        return spread(grad.reshape(ctx.kept) / ctx.count, ctx.shape)


class Max(Function):
    """max(x);  d/dx = 1/k at each of the k elements equal to the max, 0 elsewhere."""

    reduce = staticmethod(np.max)

    @classmethod
    def forward(cls, ctx, x, axis=None, keepdims=False):
        if x.size == 0:
            raise ValueError(f"{cls.name}: cannot reduce an empty tensor of shape {x.shape}")
        out = cls.reduce(x, axis=axis, keepdims=True)
        ctx.save_for_backward(x, out)
        ctx.axis = axis
        if keepdims:
            return out
        return out.reshape(() if axis is None else tuple(n for i, n in enumerate(x.shape) if i not in axis))

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        hits = x == out
        share = grad.reshape(out.shape) / hits.sum(axis=ctx.axis, keepdims=True)
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
        ctx.kept, ctx.dof = kept_shape(x.shape, axis), n - ddof
        return np.sum(centered * centered, axis=axis, keepdims=keepdims) / (n - ddof)

    @staticmethod
    def backward(ctx, grad):
        (centered,) = ctx.saved_tensors
        return grad.reshape(ctx.kept) * centered * (2 / ctx.dof)


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
