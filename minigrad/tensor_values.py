"""A Tensor's values as Python and NumPy read them: `item()`, `tolist()`, `numpy()`,
`np.asarray(t)`, `len`, iteration, truth, `float`/`int`, f-string formats and the printed
form. Mixed into Tensor, kept out of tensor.py so that the core reads in one sitting."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

__all__ = ["TensorValues"]


class TensorValues:
    """Mixed into Tensor: reading its values."""

    __slots__ = ()
    data: np.ndarray  # the Tensor's slots that these methods read, typed for checkers
    name: str | None
    grad_fn: Any
    requires_grad: bool

    shape = property(lambda self: self.data.shape)
    ndim = property(lambda self: self.data.ndim)
    dtype = property(lambda self: self.data.dtype)
    size = property(lambda self: self.data.size, doc="NumPy's element count (torch's numel())")

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

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor: it has no length; use .item() to read its value")
        return len(self.data)

    def __iter__(self) -> Iterator[Any]:
        for i in range(len(self)):
            yield self[i]  # type: ignore[index]  # Tensor's __getitem__ (tensor_methods)

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
