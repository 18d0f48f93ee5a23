"""Ops that move elements without changing them: reshape, transpose, broadcast_to,
squeeze, expand_dims, indexing, concatenate and stack. Their backward moves the
gradient back to where each element came from."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from minigrad.autograd import Function
from minigrad.tensor import Tensor


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
        out = np.transpose(x, axes)
        # negative axes must be made positive, or argsort in backward inverts the wrong permutation
        ctx.axes = None if axes is None else tuple(a % x.ndim for a in axes)
        return out

    @staticmethod
    def backward(ctx, grad):
        if ctx.axes is None:
            return np.transpose(grad)
        return np.transpose(grad, np.argsort(ctx.axes))


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
        full = np.zeros(ctx.shape, dtype=grad.dtype)
        if _is_advanced(ctx.index):
            np.add.at(full, ctx.index, grad)
        else:
            full[ctx.index] = grad
        return full


def _plain_index(index: Any) -> Any:
    """Tensors inside an index become arrays; lists become arrays (NumPy's reading)."""
    if isinstance(index, tuple):
        return tuple(_plain_index(i) for i in index)
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, list):
        return np.asarray(index)
    return index


class Concatenate(Function):
    """Arrays joined along `axis`;  each input gets its slice of the gradient."""

    @staticmethod
    def forward(ctx, *arrays, axis=0):
        ctx.axis = axis
        ctx.splits = np.cumsum([a.shape[axis] if a.ndim else 1 for a in arrays])[:-1]
        return np.concatenate(arrays, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        return tuple(np.split(grad, ctx.splits, axis=ctx.axis))


class Stack(Function):
    """Arrays stacked along a new `axis`;  each input gets its slice of the gradient."""

    @staticmethod
    def forward(ctx, *arrays, axis=0):
        ctx.axis = axis
        return np.stack(arrays, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        return tuple(np.moveaxis(grad, ctx.axis, 0))


def reshape(x: Any, shape: Any) -> Tensor:
    return Reshape.apply(x, shape=tuple(shape) if isinstance(shape, (list, tuple)) else (shape,))


def transpose(x: Any, axes: Sequence[int] | None = None) -> Tensor:
    return Transpose.apply(x, axes=None if axes is None else tuple(axes))


def broadcast_to(x: Any, shape: Any) -> Tensor:
    return BroadcastTo.apply(x, shape=tuple(shape) if isinstance(shape, (list, tuple)) else (shape,))


def squeeze(x: Any, axis: Any = None) -> Tensor:
    return Squeeze.apply(x, axis=axis)


def expand_dims(x: Any, axis: Any) -> Tensor:
    return ExpandDims.apply(x, axis=axis)


unsqueeze = expand_dims


def getitem(x: Tensor, index: Any) -> Tensor:
    return GetItem.apply(x, index=_plain_index(index))


def concatenate(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    if len(tensors) == 0:
        raise ValueError("Concatenate: need at least one tensor to concatenate")
    return Concatenate.apply(*tensors, axis=axis)


def stack(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    if len(tensors) == 0:
        raise ValueError("Stack: need at least one tensor to stack")
    return Stack.apply(*tensors, axis=axis)
