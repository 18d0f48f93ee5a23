"""`Tensor`: a NumPy array that remembers the operation that made it.

A tensor made by an op holds that op's graph node in `grad_fn`; a leaf (made by the user)
has `grad_fn = None`. `backward()` walks the nodes in reverse and leaves d(root)/d(leaf) in
each leaf's `.grad`, a NumPy array (see `minigrad.autograd.engine.backward`).

Tensors speak NumPy's dispatch protocols: `np.exp(t)`, `np.where(c, t, 0)` or
`ndarray * t` run minigrad's ops and record the graph. That is what lets every backward,
written once in NumPy, run again on tensors for gradients of gradients.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.dtypes import as_array
from minigrad.grad_array import grad_property
from minigrad.tensor_methods import TensorMethods
from minigrad.tensor_values import TensorValues

__all__ = ["Tensor"]


class Tensor(TensorMethods, TensorValues):
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

    is_leaf = property(lambda self: self.grad_fn is None)
    grad = grad_property  # the slot _grad, seen as a GradArray (minigrad/grad_array.py)
    T = property(lambda self: ops.transpose(self))
    mT = property(lambda self: ops.swapaxes(self, -1, -2), doc="the last two axes swapped")
    __hash__ = object.__hash__  # tensors hash by identity, as in PyTorch

    # ---- NumPy's protocols: np.exp(t), ndarray * t and np.where(c, t, 0) record ops -------
    def __array_ufunc__(self, ufunc: Any, method: str, *args: Any, **kwargs: Any) -> Any:
        return numpy_dispatch.ufunc(ufunc, method, args, kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        return numpy_dispatch.function(func, args, kwargs)

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
