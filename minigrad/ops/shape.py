"""Ops that move elements without changing them: reshape, transpose, swapaxes, broadcast_to,
squeeze, expand_dims, indexing, concatenate and stack. Their backward moves the gradient
back to where each element came from, with ops of this same module, so it can be
differentiated again."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from minigrad.autograd import Function
from minigrad.ops.reductions import axis_args
from minigrad.tensor import Tensor

__all__ = [
    "BroadcastTo", "Concatenate", "ExpandDims", "GetItem", "IndexAdd", "Reshape", "Squeeze",
    "Stack", "Transpose", "broadcast_to", "concatenate", "expand_dims", "getitem", "reshape",
    "squeeze", "stack", "swapaxes", "transpose", "unsqueeze",
]


class Reshape(Function):
    """x viewed with a new shape;  the gradient is reshaped back."""

    @staticmethod
    def forward(ctx, x, shape=None):
        ctx.shape = x.shape
        return np.reshape(x, shape)

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.shape)


class Squeeze(Reshape):
    """x without its size-1 axes (or the given ones);  the gradient is reshaped back."""

    @staticmethod
    def forward(ctx, x, axis=None):
        ctx.shape = x.shape
        return np.squeeze(x, axis=axis)


class ExpandDims(Reshape):
    """x with a new size-1 axis at `axis`;  the gradient is reshaped back."""

    @staticmethod
    def forward(ctx, x, axis=0):
        ctx.shape = x.shape
        return np.expand_dims(x, axis)


class Transpose(Function):
    """x with its axes permuted (reversed by default);  the gradient is permuted back."""

    @staticmethod
    def forward(ctx, x, axes=None):
        if axes is None:
            axes = tuple(reversed(range(x.ndim)))
        elif len(axes) != x.ndim or any(not -x.ndim <= a < x.ndim for a in axes):
            raise ValueError(f"Transpose: axis {axes} is out of bounds, or not a permutation of "
                             f"the axes of a tensor of shape {x.shape}; give every axis once")
        axes = tuple(a % x.ndim for a in axes)
        ctx.inverse = tuple(int(i) for i in np.argsort(axes))
        return np.transpose(x, axes)

    @staticmethod
    def backward(ctx, grad):
        return grad.transpose(ctx.inverse)


class BroadcastTo(Function):
    """x stretched to `shape`;  the engine sums the gradient back over the stretched axes."""

    @staticmethod
    def forward(ctx, x, shape=None):
        return np.broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, grad):
        return grad


def _is_advanced(index: Any) -> bool:
    """True for NumPy advanced indexing (integer or boolean arrays), where elements repeat."""
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(p, (np.ndarray, list)) for p in parts)


class GetItem(Function):
    """x[index];  the gradient lands on the indexed elements, summed where an index repeats."""

    @staticmethod
    def forward(ctx, x, index=None):
        ctx.shape, ctx.index = x.shape, index
        return x[index]

    @staticmethod
    def backward(ctx, grad):
        return IndexAdd.on(grad, shape=ctx.shape, index=ctx.index)


class IndexAdd(Function):
    """zeros(shape) with g added at `index` (GetItem's backward);  d/dg = the same indexing."""

    @staticmethod
    def forward(ctx, g, shape=None, index=None):
        ctx.index = index
        full = np.zeros(shape, dtype=g.dtype)
        if _is_advanced(index):
            np.add.at(full, index, g)
        else:
            full[index] = g
        return full

    @staticmethod
    def backward(ctx, grad):
        return grad[ctx.index]


def _plain_index(index: Any) -> Any:
    """Tensors inside an index become arrays; lists become arrays (NumPy's reading)."""
    if isinstance(index, tuple):
        return tuple(_plain_index(i) for i in index)
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, list):
        return np.asarray(index)
    return index


def _slice_along(axis: int, start: Any) -> tuple:
    """The index that takes `start` (an int or a slice) along `axis` and everything elsewhere."""
    return (slice(None),) * axis + (start,)


class Concatenate(Function):
    """Arrays joined along `axis`;  each input gets its slice of the gradient."""

    @staticmethod
    def forward(ctx, *arrays, axis=0):
        ndim = arrays[0].ndim
        if ndim == 0 or not -ndim <= axis < ndim or any(a.ndim != ndim for a in arrays):
            shapes = ", ".join(str(a.shape) for a in arrays)
            raise ValueError(f"Concatenate: axis {axis} does not exist in every input (shapes "
                             f"{shapes}); inputs need the same number of dimensions and the axis "
                             f"must be in range (stack adds a new axis)")
        ctx.axis = axis % ndim
        ctx.ends = np.cumsum([a.shape[ctx.axis] for a in arrays]).tolist()
        return np.concatenate(arrays, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        starts = [0] + ctx.ends[:-1]
        return tuple(grad[_slice_along(ctx.axis, slice(a, b))] for a, b in zip(starts, ctx.ends))


class Stack(Function):
    """Arrays stacked along a new `axis`;  each input gets its slice of the gradient."""

    @staticmethod
    def forward(ctx, *arrays, axis=0):
        first = arrays[0]
        if all(a.shape == first.shape and a.dtype == first.dtype for a in arrays):
            # equal shapes (the fused losses' case): fill one array, several us cheaper than
            # np.stack's general path for small inputs
            axis = axis % (first.ndim + 1)
            out = np.empty(first.shape[:axis] + (len(arrays),) + first.shape[axis:], first.dtype)
            for i, a in enumerate(arrays):
                out[_slice_along(axis, i)] = a
        else:
            out = np.stack(arrays, axis=axis)
        ctx.axis, ctx.count = axis % out.ndim, len(arrays)
        return out

    @staticmethod
    def backward(ctx, grad):
        return tuple(grad[_slice_along(ctx.axis, i)] for i in range(ctx.count))


def reshape(x: Any, shape: Any) -> Tensor:
    return Reshape.apply(x, shape=tuple(shape) if isinstance(shape, (list, tuple)) else (shape,))


def transpose(x: Any, axes: Sequence[int] | None = None) -> Tensor:
    """Permute the axes (NumPy's transpose: None reverses them)."""
    return Transpose.apply(x, axes=None if axes is None else tuple(axes))


def swapaxes(x: Any, axis1: int, axis2: int) -> Tensor:
    """Swap two axes (PyTorch's `transpose(a, b)`)."""
    ndim = x.ndim if isinstance(x, Tensor) else np.ndim(x)
    axes = list(range(ndim))
    try:
        axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    except IndexError:
        raise ValueError(f"swapaxes: axes {axis1} and {axis2} do not both exist in a tensor "
                         f"with {ndim} dimensions") from None
    return Transpose.apply(x, axes=tuple(axes))


def broadcast_to(x: Any, shape: Any) -> Tensor:
    return BroadcastTo.apply(x, shape=tuple(shape) if isinstance(shape, (list, tuple)) else (shape,))


def squeeze(x: Any, axis: Any = None, **aliases: Any) -> Tensor:
    axis, _ = axis_args("Squeeze", axis, False, aliases)
    return Squeeze.apply(x, axis=axis)


def expand_dims(x: Any, axis: Any = None, **aliases: Any) -> Tensor:
    axis, _ = axis_args("ExpandDims", axis, False, aliases)
    if axis is None:
        raise TypeError("ExpandDims: give the position of the new axis (axis= or dim=)")
    return ExpandDims.apply(x, axis=axis)


unsqueeze = expand_dims


def getitem(x: Tensor, index: Any) -> Tensor:
    return GetItem.apply(x, index=_plain_index(index))


def concatenate(tensors: Sequence[Any], axis: int = 0, **aliases: Any) -> Tensor:
    axis, _ = axis_args("Concatenate", axis, False, aliases, axis_default=0)
    if len(tensors) == 0:
        raise ValueError("Concatenate: need at least one tensor to concatenate")
    return Concatenate.apply(*tensors, axis=axis)


def stack(tensors: Sequence[Any], axis: int = 0, **aliases: Any) -> Tensor:
    axis, _ = axis_args("Stack", axis, False, aliases, axis_default=0)
    if len(tensors) == 0:
        raise ValueError("Stack: need at least one tensor to stack")
    return Stack.apply(*tensors, axis=axis)
