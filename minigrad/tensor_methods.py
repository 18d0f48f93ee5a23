"""The op methods of `Tensor`: operators (`+`, `@`, `<`, `[]`), in-place updates (`+=`,
`add_`, `t[i] = v`), and `t.exp()`, `t.sum(axis)`, `t.reshape(...)`, casts. Each is a
one-line call of the minigrad function of the same name, kept out of tensor.py so that the
core reads in one sitting.

Reductions and the axis-taking ops accept PyTorch's `dim=` / `keepdim=` as aliases of
NumPy's `axis=` / `keepdims=` (giving both spellings is an error).
"""
from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["TensorMethods"]


def _shape_args(shape: tuple) -> tuple:
    """Accept both `f(2, 3)` and `f((2, 3))`, as NumPy and PyTorch users write."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return shape


class TensorMethods:
    """Mixed into Tensor: the ops as methods."""

    __slots__ = ()

    # ---- arithmetic -------------------------------------------------------------------
    def __add__(self, other: Any) -> Any:
        return ops.add(self, other)

    def __radd__(self, other: Any) -> Any:
        return ops.add(other, self)

    def __sub__(self, other: Any) -> Any:
        return ops.subtract(self, other)

    def __rsub__(self, other: Any) -> Any:
        return ops.subtract(other, self)

    def __mul__(self, other: Any) -> Any:
        return ops.multiply(self, other)

    def __rmul__(self, other: Any) -> Any:
        return ops.multiply(other, self)

    def __truediv__(self, other: Any) -> Any:
        return ops.divide(self, other)

    def __rtruediv__(self, other: Any) -> Any:
        return ops.divide(other, self)

    def __pow__(self, other: Any) -> Any:
        return ops.power(self, other)

    def __rpow__(self, other: Any) -> Any:
        return ops.power(other, self)

    def __matmul__(self, other: Any) -> Any:
        return ops.matmul(self, other)

    def __rmatmul__(self, other: Any) -> Any:
        return ops.matmul(other, self)

    def __neg__(self) -> Any:
        return ops.negative(self)

    def __pos__(self) -> Any:
        return self

    def __abs__(self) -> Any:
        return ops.abs(self)

    def __getitem__(self, index: Any) -> Any:
        return ops.getitem(self, index)

    # comparisons give tensors that do not require grad
    def __lt__(self, other: Any) -> Any:
        return ops.less(self, other)

    def __le__(self, other: Any) -> Any:
        return ops.less_equal(self, other)

    def __gt__(self, other: Any) -> Any:
        return ops.greater(self, other)

    def __ge__(self, other: Any) -> Any:
        return ops.greater_equal(self, other)

    def __eq__(self, other: object) -> Any:
        return ops.equal(self, other)

    def __ne__(self, other: object) -> Any:
        return ops.not_equal(self, other)

    # ---- in-place updates (minigrad/inplace.py has the rules) ------------------------
    def add_(self, other: Any) -> Any:
        return inplace.update(self, "add_", np.add, other)

    def sub_(self, other: Any) -> Any:
        return inplace.update(self, "sub_", np.subtract, other)

    def mul_(self, other: Any) -> Any:
        return inplace.update(self, "mul_", np.multiply, other)

    def div_(self, other: Any) -> Any:
        return inplace.update(self, "div_", np.divide, other)

    def fill_(self, value: Any) -> Any:
        return inplace.update(self, "fill_", None, value)

    def zero_(self) -> Any:
        return inplace.update(self, "zero_", None, 0)

    def copy_(self, source: Any) -> Any:
        return inplace.update(self, "copy_", None, source)

    def clamp_(self, min: Any = None, max: Any = None) -> Any:  # noqa: A002 - torch's names
        return inplace.update(self, "clamp_", np.clip, (min, max))

    __iadd__, __isub__, __imul__, __itruediv__ = add_, sub_, mul_, div_

    def __setitem__(self, index: Any, value: Any) -> None:
        inplace.update(self, "__setitem__", index, value)

    # ---- elementwise ------------------------------------------------------------------
    def exp(self) -> Any:
        return ops.exp(self)

    def log(self) -> Any:
        return ops.log(self)

    def sqrt(self) -> Any:
        return ops.sqrt(self)

    def abs(self) -> Any:
        return ops.abs(self)

    def tanh(self) -> Any:
        return ops.tanh(self)

    def sigmoid(self) -> Any:
        return ops.sigmoid(self)

    def relu(self) -> Any:
        return ops.relu(self)

    def softplus(self) -> Any:
        return ops.softplus(self)

    def softmax(self, axis: int = -1, **aliases: Any) -> Any:
        return ops.softmax(self, axis, **aliases)

    def log_softmax(self, axis: int = -1, **aliases: Any) -> Any:
        return ops.log_softmax(self, axis, **aliases)

    def clip(self, min: Any = None, max: Any = None) -> Any:  # noqa: A002 - NumPy's names
        return ops.clip(self, min, max)

    clamp = clip

    def maximum(self, other: Any) -> Any:
        return ops.maximum(self, other)

    def minimum(self, other: Any) -> Any:
        return ops.minimum(self, other)

    def matmul(self, other: Any) -> Any:
        return ops.matmul(self, other)

    # ---- logical (on boolean tensors, e.g. masks from comparisons) --------------------
    def __and__(self, other: Any) -> Any:
        return ops.logical_and(self, other)

    __rand__ = __and__

    def __or__(self, other: Any) -> Any:
        return ops.logical_or(self, other)

    __ror__ = __or__

    def __invert__(self) -> Any:
        return ops.logical_not(self)

    # ---- casts (differentiable: the gradient is cast back) ----------------------------
    def astype(self, dtype: Any) -> Any:
        return ops.cast(self, dtype)

    def to(self, dtype: Any) -> Any:
        """`t.to(dtype)`, as in PyTorch (there is only one device here)."""
        return ops.cast(self, dtype)

    def float(self) -> Any:
        return ops.cast(self, np.float32)

    def double(self) -> Any:
        return ops.cast(self, np.float64)

    # ---- reductions -------------------------------------------------------------------
    def sum(self, axis: Any = None, keepdims: bool = False, **aliases: Any) -> Any:
        return ops.sum(self, axis, keepdims, **aliases)

    def mean(self, axis: Any = None, keepdims: bool = False, **aliases: Any) -> Any:
        return ops.mean(self, axis, keepdims, **aliases)

    def max(self, axis: Any = None, keepdims: bool = False, **aliases: Any) -> Any:
        return ops.max(self, axis, keepdims, **aliases)

    def min(self, axis: Any = None, keepdims: bool = False, **aliases: Any) -> Any:
        return ops.min(self, axis, keepdims, **aliases)

    def var(self, axis: Any = None, ddof: int = 0, keepdims: bool = False, **aliases: Any) -> Any:
        return ops.var(self, axis, ddof, keepdims, **aliases)

    # ---- shape ------------------------------------------------------------------------
    def reshape(self, *shape: Any) -> Any:
        return ops.reshape(self, _shape_args(shape))

    view = reshape

    def flatten(self) -> Any:
        return ops.reshape(self, (-1,))

    def transpose(self, *axes: Any) -> Any:
        """No argument: reverse the axes; two ints: swap those two axes (PyTorch's meaning);
        a full permutation (several ints or a tuple): NumPy's meaning."""
        if len(axes) == 2 and all(isinstance(a, (int, np.integer)) for a in axes):
            return ops.swapaxes(self, axes[0], axes[1])
        return ops.transpose(self, _shape_args(axes) or None)

    def permute(self, *dims: Any) -> Any:
        return ops.transpose(self, _shape_args(dims))

    def swapaxes(self, axis1: int, axis2: int) -> Any:
        return ops.swapaxes(self, axis1, axis2)

    def broadcast_to(self, *shape: Any) -> Any:
        return ops.broadcast_to(self, _shape_args(shape))

    def squeeze(self, axis: Any = None, **aliases: Any) -> Any:
        return ops.squeeze(self, axis, **aliases)

    def unsqueeze(self, axis: Any = None, **aliases: Any) -> Any:
        return ops.expand_dims(self, axis, **aliases)

    expand_dims = unsqueeze


ops: Any = None  # minigrad.ops, set by minigrad/tensor.py once Tensor exists
inplace: Any = None  # minigrad.inplace, likewise
