"""`Tensor`: a NumPy array that remembers the operation that made it.

A tensor made by an op holds that op's graph node in `grad_fn`; a leaf (made by the user)
has `grad_fn = None`. `backward()` walks the nodes in reverse and leaves d(root)/d(leaf) in
each leaf's `.grad`, a NumPy array (see `minigrad.autograd.engine.backward`).

Tensors speak NumPy's dispatch protocols: `np.exp(t)`, `np.where(c, t, 0)` or
`ndarray * t` run minigrad's ops and record the graph. That is what lets every backward,
written once in NumPy, run again on tensors for gradients of gradients.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from minigrad.dtypes import as_array
from minigrad.grad_array import grad_property
from minigrad.tensor_methods import TensorMethods

__all__ = ["Tensor"]

class Tensor(TensorMethods):
    """An n-dimensional array with reverse-mode automatic differentiation."""

    __slots__ = ("data", "_grad", "requires_grad", "grad_fn", "name", "_retains_grad",
                 "_version", "__weakref__")
    # the slots, typed for checkers
    data: np.ndarray
    _grad: Any  # .grad's storage: a plain ndarray until read as .grad (see grad_array)
    requires_grad: bool
    grad_fn: Any  # the Function node that made this tensor, None for a leaf
    name: str | None
    _retains_grad: bool
    _version: int

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None,
                 name: str | None = None) -> None:
        if isinstance(data, Tensor):  # a copy cut from the graph, as torch's clone().detach()
            data = data.data
        self.data = as_array(data, dtype, copy=isinstance(data, np.ndarray))
        self._grad = None
        self.grad_fn = None
        self.name = name
        self._retains_grad = False
        self._version = 0
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _make(cls, data: np.ndarray, requires_grad: bool, grad_fn: Any) -> "Tensor":
        """The engine's fast constructor: no conversion, no checks."""
        t = object.__new__(cls)
        t.data = data
        t._grad = None
        t.requires_grad = requires_grad
        t.grad_fn = grad_fn
        t.name = None
        t._retains_grad = False
        t._version = 0
        return t

    # ---- array-like attributes -------------------------------------------------------
    shape = property(lambda self: self.data.shape)
    ndim = property(lambda self: self.data.ndim)
    dtype = property(lambda self: self.data.dtype)
    size = property(lambda self: self.data.size, doc="NumPy's element count (torch's numel())")
    is_leaf = property(lambda self: self.grad_fn is None)
    T = property(lambda self: ops.transpose(self))
    mT = property(lambda self: ops.swapaxes(self, -1, -2), doc="the last two axes swapped")

    def numel(self) -> int:
        return self.data.size

    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied)."""
        return self.data

    def item(self) -> Any:
        if self.data.size != 1:
            raise ValueError(
                f"item: only a tensor with one element can be converted to a Python number, "
                f"this one has shape {self.shape}; index it or reduce it first")
        return self.data.item()

    def tolist(self) -> Any:
        return self.data.tolist()

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        if dtype is not None and np.dtype(dtype) != self.data.dtype:
            return self.data.astype(dtype)
        return self.data.copy() if copy else self.data

    def __array_ufunc__(self, ufunc: Any, method: str, *args: Any, **kwargs: Any) -> Any:
        return numpy_dispatch.ufunc(ufunc, method, args, kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        return numpy_dispatch.function(func, args, kwargs)

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
                f"use (t).all() / .any() on .data, or compare a single element")
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __format__(self, spec: str) -> str:
        if spec and self.data.size == 1:  # f"{loss:.3f}" formats the value
            return format(self.item(), spec)
        return format(repr(self), spec)

    grad = grad_property
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
    def backward(self, grad: Any = None, retain_graph: bool | None = None,
                 create_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's `.grad` (see `minigrad.autograd.backward`)."""
        engine.backward(self, grad, retain_graph, create_graph)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        """Set `requires_grad` in place on a leaf; only floating tensors can require grad."""
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(
                f"only floating-point tensors can require grad, this one has dtype "
                f"{self.data.dtype}; build it with dtype=float64 (or float32), "
                f"e.g. Tensor(data, dtype=minigrad.float64, requires_grad=True)")
        if not requires_grad and self.grad_fn is not None:
            raise RuntimeError(
                "requires_grad_(False) on a tensor made by an op: use .detach() to get a "
                "tensor cut from the graph")
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
        self._grad = None



# The engine, the ops and the NumPy protocols refer back to Tensor, so they come after it.
from minigrad.autograd import engine  # noqa: E402
from minigrad import inplace, numpy_dispatch, ops, tensor_methods  # noqa: E402

# the methods' module cannot import these itself: they need Tensor first
tensor_methods.ops, tensor_methods.inplace = ops, inplace
