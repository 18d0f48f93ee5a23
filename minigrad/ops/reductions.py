"""Reductions over an axis (int, tuple or None for all), with NumPy's `keepdims`.

PyTorch's spellings `dim=` and `keepdim=` are accepted as aliases (see `axis_args`).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from minigrad import kernels
from minigrad.autograd import Function
from minigrad.tensor import Tensor

# `max`, `min` and `sum` stay out: a star import must not shadow Python's builtins
__all__ = ["Max", "Mean", "Min", "Sum", "Var", "mean", "var"]

_UNSET = object()


def axis_args(op: str, axis: Any, keepdims: Any, aliases: dict, axis_default: Any = None) -> tuple:
    """`axis`/`keepdims`, or PyTorch's `dim`/`keepdim`; both spellings of one is an error."""
    dim = aliases.pop("dim", _UNSET)
    keepdim = aliases.pop("keepdim", _UNSET)
    if aliases:
        raise TypeError(f"{op}: unexpected keyword argument(s) {', '.join(map(repr, aliases))}")
    if dim is not _UNSET:
        if axis != axis_default:
            raise TypeError(f"{op}: give either axis= (NumPy) or dim= (PyTorch), not both")
        axis = dim
    if keepdim is not _UNSET:
        if keepdims is not False:
            raise TypeError(f"{op}: give either keepdims= (NumPy) or keepdim= (PyTorch), not both")
        keepdims = keepdim
    return axis, bool(keepdims)


def normalize_axis(axis: Any, x: Any, op: str) -> tuple | None:
    """Axis as a sorted tuple of non-negative ints (None: every axis). A 0-d tensor accepts
    axis 0 or -1, meaning itself, as NumPy's scalars and PyTorch do."""
    if axis is None:
        return None
    ndim = x.ndim if isinstance(x, Tensor) else np.ndim(x)
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    if ndim == 0 and all(a in (0, -1) for a in axes):
        return None
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


class Sum(Function):
    """sum(x);  d/dx = 1 for every element summed."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.shape, ctx.kept = x.shape, kept_shape(x.shape, axis)
        return np.sum(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx, grad):
        if type(grad) is np.ndarray:  # first order: the same, faster (minigrad/kernels.py)
            return kernels.spread(grad.reshape(ctx.kept), ctx.shape)
        return np.broadcast_to(grad.reshape(ctx.kept), ctx.shape)


class Mean(Function):
    """mean(x) over n elements;  d/dx = 1/n (a mean over nothing is NaN, as in NumPy)."""

    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.shape, ctx.kept = x.shape, kept_shape(x.shape, axis)
        ctx.count = count_reduced(x.shape, axis)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.mean(x, axis=axis, keepdims=keepdims) if ctx.count else (
                np.sum(x, axis=axis, keepdims=keepdims) * np.nan)

    @staticmethod
    def backward(ctx, grad):
        if type(grad) is np.ndarray:  # first order: the same, faster (minigrad/kernels.py)
            return kernels.spread(grad.reshape(ctx.kept) / (ctx.count or 1), ctx.shape)
        return np.broadcast_to(grad.reshape(ctx.kept) / (ctx.count or 1), ctx.shape)


class Max(Function):
    """max(x);  d/dx = 1/k at each of the k elements equal to the max, 0 elsewhere."""

    reduce = staticmethod(np.max)

    @classmethod
    def forward(cls, ctx, x, axis=None, keepdims=False):
        if count_reduced(x.shape, axis) == 0:
            raise ValueError(f"{cls.name}: cannot reduce over an empty axis (shape {x.shape}, "
                             f"axis {axis}); there is no {cls.name.lower()} of nothing")
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
        return np.where(hits, share, 0)


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
                f"use a smaller ddof")
        ctx.save_for_backward(x)
        ctx.axis, ctx.kept, ctx.dof = axis, kept_shape(x.shape, axis), n - ddof
        centered = x - np.mean(x, axis=axis, keepdims=True)
        return np.sum(centered * centered, axis=axis, keepdims=keepdims) / (n - ddof)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        centered = x - x.mean(axis=ctx.axis, keepdims=True)
        return grad.reshape(ctx.kept) * centered * (2 / ctx.dof)


def sum(x: Any, axis: Any = None, keepdims: bool = False, **aliases: Any) -> Tensor:  # noqa: A001
    axis, keepdims = axis_args("Sum", axis, keepdims, aliases)
    return Sum.apply(x, axis=normalize_axis(axis, x, "Sum"), keepdims=keepdims)


def mean(x: Any, axis: Any = None, keepdims: bool = False, **aliases: Any) -> Tensor:
    axis, keepdims = axis_args("Mean", axis, keepdims, aliases)
    return Mean.apply(x, axis=normalize_axis(axis, x, "Mean"), keepdims=keepdims)


def max(x: Any, axis: Any = None, keepdims: bool = False, **aliases: Any) -> Tensor:  # noqa: A001
    axis, keepdims = axis_args("Max", axis, keepdims, aliases)
    return Max.apply(x, axis=normalize_axis(axis, x, "Max"), keepdims=keepdims)


def min(x: Any, axis: Any = None, keepdims: bool = False, **aliases: Any) -> Tensor:  # noqa: A001
    axis, keepdims = axis_args("Min", axis, keepdims, aliases)
    return Min.apply(x, axis=normalize_axis(axis, x, "Min"), keepdims=keepdims)


def var(x: Any, axis: Any = None, ddof: int = 0, keepdims: bool = False,
        **aliases: Any) -> Tensor:
    """Variance with NumPy's default ddof=0 (PyTorch's torch.var defaults to the unbiased 1)."""
    axis, keepdims = axis_args("Var", axis, keepdims, aliases)
    return Var.apply(x, axis=normalize_axis(axis, x, "Var"), ddof=ddof, keepdims=keepdims)
