"""`Tensor`: a NumPy array that remembers the operation that made it.

A tensor made by an op holds that op's graph node in `grad_fn`; a leaf (made by the
user) has `grad_fn = None`. `backward()` walks the nodes in reverse and leaves the
gradient d(root)/d(leaf) in each leaf's `.grad`.
"""
from __future__ import annotations

from typing import Any, Iterator

import numpy as np

from minigrad.dtypes import as_array

ShapeLike = Any  # an int, several ints, or a tuple of ints


def _shape_args(shape: tuple) -> tuple:
    """Accept both `f(2, 3)` and `f((2, 3))`, as NumPy and PyTorch users write."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return shape


class Tensor:
    """An n-dimensional array with reverse-mode automatic differentiation."""

    __slots__ = ("data", "grad", "requires_grad", "grad_fn", "name", "_retains_grad", "__weakref__")
    __array_ufunc__ = None  # so `ndarray * tensor` defers to Tensor.__rmul__

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None,
                 name: str | None = None) -> None:
        if isinstance(data, Tensor):
            data = data.data
        self.data = as_array(data, dtype, copy=isinstance(data, np.ndarray))
        self.grad = None
        self.grad_fn = None
        self.name = name
        self._retains_grad = False
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _make(cls, data: np.ndarray, requires_grad: bool, grad_fn: Any) -> "Tensor":
        """The engine's fast constructor: no conversion, no checks."""
        t = object.__new__(Tensor)
        t.data = data
        t.grad = None
        t.requires_grad = requires_grad
        t.grad_fn = grad_fn
        t.name = None
        t._retains_grad = False
        return t

    # ---- array-like attributes -------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def T(self) -> "Tensor":
        return ops.transpose(self)

    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied)."""
        return self.data

    def item(self) -> float:
        if self.data.size != 1:
            raise ValueError(
                f"item: only a tensor with one element can be converted to a Python number, "
                f"this one has shape {self.shape}; index it or reduce it first"
            )
        return self.data.item()

    def tolist(self) -> Any:
        return self.data.tolist()

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        if dtype is not None and np.dtype(dtype) != self.data.dtype:
            return self.data.astype(dtype)
        return self.data.copy() if copy else self.data

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor: it has no length; use .item() to read its value")
        return len(self.data)

    def __iter__(self) -> Iterator["Tensor"]:
        for i in range(len(self)):
            yield self[i]

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ValueError(
                f"the truth value of a tensor of shape {self.shape} is ambiguous; "
                f"use (t).all() / .any() on .data, or compare a single element"
            )
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    __hash__ = object.__hash__  # tensors hash by identity, as in PyTorch

    def __repr__(self) -> str:
        return self._format("tensor", self._grad_flags())

    def _grad_flags(self) -> list:
        if self.grad_fn is not None:
            return [f"grad_fn=<{self.grad_fn.name}>"]
        return ["requires_grad=True"] if self.requires_grad else []

    def _format(self, label: str, flags: list) -> str:
        """`label(values, dtype=..., <flags>, name=...)`, the dtype shown unless float64."""
        body = np.array2string(self.data, separator=", ", precision=4, threshold=20,
                               prefix=label + "(")
        extras = [] if self.data.dtype == np.float64 else [f"dtype={self.data.dtype}"]
        extras += flags
        if self.name is not None:
            extras.append(f"name={self.name!r}")
        return f"{label}(" + ", ".join([body] + extras) + ")"

    # ---- autograd ---------------------------------------------------------------------
    def backward(self, grad: Any = None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's `.grad` (see `minigrad.autograd.backward`)."""
        autograd.backward(self, grad, retain_graph)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        """Set `requires_grad` in place on a leaf; only floating tensors can require grad."""
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(
                f"only floating-point tensors can require grad, this one has dtype "
                f"{self.data.dtype}; build it with dtype=float64 (or float32), "
                f"e.g. Tensor(data, dtype=minigrad.float64, requires_grad=True)"
            )
        if not requires_grad and self.grad_fn is not None:
            raise RuntimeError(
                "requires_grad_(False) on a tensor made by an op: use .detach() to get a "
                "tensor cut from the graph"
            )
        self.requires_grad = requires_grad
        return self

    def retain_grad(self) -> None:
        """Keep `.grad` on this non-leaf tensor after backward (leaves always keep it)."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad: this tensor does not require grad")
        self._retains_grad = True

    def detach(self) -> "Tensor":
        """A new leaf sharing this tensor's data, cut from the graph."""
        return Tensor._make(self.data, False, None)

    def zero_grad(self) -> None:
        self.grad = None

    # ---- arithmetic -------------------------------------------------------------------
    def __add__(self, other: Any) -> "Tensor":
        return ops.add(self, other)

    def __radd__(self, other: Any) -> "Tensor":
        return ops.add(other, self)

    def __sub__(self, other: Any) -> "Tensor":
        return ops.subtract(self, other)

    def __rsub__(self, other: Any) -> "Tensor":
        return ops.subtract(other, self)

    def __mul__(self, other: Any) -> "Tensor":
        return ops.multiply(self, other)

    def __rmul__(self, other: Any) -> "Tensor":
        return ops.multiply(other, self)

    def __truediv__(self, other: Any) -> "Tensor":
        return ops.divide(self, other)

    def __rtruediv__(self, other: Any) -> "Tensor":
        return ops.divide(other, self)

    def __pow__(self, other: Any) -> "Tensor":
        return ops.power(self, other)

    def __rpow__(self, other: Any) -> "Tensor":
        return ops.power(other, self)

    def __neg__(self) -> "Tensor":
        return ops.negative(self)

    def __pos__(self) -> "Tensor":
        return self

    def __matmul__(self, other: Any) -> "Tensor":
        return ops.matmul(self, other)

    def __rmatmul__(self, other: Any) -> "Tensor":
        return ops.matmul(other, self)

    def __getitem__(self, index: Any) -> "Tensor":
        return ops.getitem(self, index)

    def __setitem__(self, index: Any, value: Any) -> None:
        # in-place writes would silently invalidate arrays saved for backward
        raise TypeError(
            "Tensor does not support item assignment: ops never modify a tensor in place. "
            "Build a new tensor instead (e.g. minigrad.where(mask, value, t)), or write to "
            "t.data for a leaf you are not differentiating through"
        )

    # comparisons give tensors that do not require grad
    def __lt__(self, other: Any) -> "Tensor":
        return ops.less(self, other)

    def __le__(self, other: Any) -> "Tensor":
        return ops.less_equal(self, other)

    def __gt__(self, other: Any) -> "Tensor":
        return ops.greater(self, other)

    def __ge__(self, other: Any) -> "Tensor":
        return ops.greater_equal(self, other)

    def __eq__(self, other: Any) -> "Tensor":  # type: ignore[override]
        return ops.equal(self, other)

    def __ne__(self, other: Any) -> "Tensor":  # type: ignore[override]
        return ops.not_equal(self, other)

    # ---- elementwise functions --------------------------------------------------------
    def exp(self) -> "Tensor":
        return ops.exp(self)

    def log(self) -> "Tensor":
        return ops.log(self)

    def sqrt(self) -> "Tensor":
        return ops.sqrt(self)

    def abs(self) -> "Tensor":
        return ops.abs(self)

    def __abs__(self) -> "Tensor":
        return ops.abs(self)

    def tanh(self) -> "Tensor":
        return ops.tanh(self)

    def sigmoid(self) -> "Tensor":
        return ops.sigmoid(self)

    def relu(self) -> "Tensor":
        return ops.relu(self)

    def softplus(self) -> "Tensor":
        return ops.softplus(self)

    def softmax(self, axis: int = -1) -> "Tensor":
        return ops.softmax(self, axis)

    def log_softmax(self, axis: int = -1) -> "Tensor":
        return ops.log_softmax(self, axis)

    def clip(self, min: Any = None, max: Any = None) -> "Tensor":
        return ops.clip(self, min, max)

    clamp = clip

    def maximum(self, other: Any) -> "Tensor":
        return ops.maximum(self, other)

    def minimum(self, other: Any) -> "Tensor":
        return ops.minimum(self, other)

    def matmul(self, other: Any) -> "Tensor":
        return ops.matmul(self, other)

    # ---- reductions -------------------------------------------------------------------
    def sum(self, axis: Any = None, keepdims: bool = False) -> "Tensor":
        return ops.sum(self, axis, keepdims)

    def mean(self, axis: Any = None, keepdims: bool = False) -> "Tensor":
        return ops.mean(self, axis, keepdims)

    def max(self, axis: Any = None, keepdims: bool = False) -> "Tensor":
        return ops.max(self, axis, keepdims)

    def min(self, axis: Any = None, keepdims: bool = False) -> "Tensor":
        return ops.min(self, axis, keepdims)

    def var(self, axis: Any = None, ddof: int = 0, keepdims: bool = False) -> "Tensor":
        return ops.var(self, axis, ddof, keepdims)

    # ---- shape ------------------------------------------------------------------------
    def reshape(self, *shape: ShapeLike) -> "Tensor":
        return ops.reshape(self, _shape_args(shape))

    def flatten(self) -> "Tensor":
        return ops.reshape(self, (-1,))

    def transpose(self, *axes: ShapeLike) -> "Tensor":
        return ops.transpose(self, _shape_args(axes) or None)

    def broadcast_to(self, *shape: ShapeLike) -> "Tensor":
        return ops.broadcast_to(self, _shape_args(shape))

    def squeeze(self, axis: Any = None) -> "Tensor":
        return ops.squeeze(self, axis)

    def unsqueeze(self, axis: Any) -> "Tensor":
        return ops.expand_dims(self, axis)

    expand_dims = unsqueeze


# The engine and the ops refer back to Tensor, so they are imported once it exists.
from minigrad import autograd  # noqa: E402
from minigrad import ops  # noqa: E402
