"""`GradArray`: what a leaf's `.grad` holds after `backward()`.

A NumPy array (a subclass, so every NumPy function, operator and test helper treats it as
one) with two PyTorch habits that a plain ndarray gets wrong: `.data` is the array itself
(NumPy's own `.data` is a memoryview of the buffer), and `zero_()` fills it with zeros in
place.

Speed: the engine stores a leaf's gradient as the plain array its backward produced, in the
tensor's `_grad` slot, and the optimisers read that slot. The `GradArray` view is made only
when someone reads `tensor.grad` (once; the view is kept) or assigns an array to it. A
training loop that never looks at `.grad` thus skips one view in the engine and one
`np.asarray` and one shape check in the optimiser per parameter and step: about 36,000 of
880,000 instructions per step of the (16, 16) MLP (`docs/performance.md`).
"""
from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["GradArray", "grad_property"]


class GradArray(np.ndarray):
    """A gradient array: `.data` gives the plain ndarray, `zero_()` zeroes it in place."""

    @property
    def data(self) -> np.ndarray:  # type: ignore[override]  # NumPy's is a memoryview
        """The gradient as a plain ndarray (shared, not copied), as `tensor.grad.data` in
        PyTorch; NumPy's memoryview of the buffer is `np.ndarray.data`."""
        return self.view(np.ndarray)

    def zero_(self) -> GradArray:
        """Fill with zeros in place (PyTorch's `grad.zero_()`)."""
        self.fill(0)
        return self


def _read_grad(t: Any) -> Any:
    g = t._grad
    if type(g) is np.ndarray:  # stored plain by the engine: give it the GradArray face, once
        g = t._grad = g.view(GradArray)
    return g


def _write_grad(t: Any, value: Any) -> None:
    # a hand-assigned array is stored as a GradArray, so that the optimisers, which trust a
    # plain array in `_grad` to be the engine's (shaped by the engine), check its shape
    t._grad = value.view(GradArray) if type(value) is np.ndarray else value


grad_property = property(
    _read_grad, _write_grad,
    doc="d(root)/d(this tensor) after backward(): a GradArray (a Tensor after "
        "backward(create_graph=True)); None before any backward or after zero_grad()")
