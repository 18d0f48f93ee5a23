"""`GradArray`: what a leaf's `.grad` holds after `backward()`.

A NumPy array (a subclass, so every NumPy function, operator and test helper treats it as
one) with two PyTorch habits that a plain ndarray gets wrong: `.data` is the array itself
(NumPy's own `.data` is a memoryview of the buffer), and `zero_()` fills it with zeros in
place. The engine makes one view per leaf when a gradient first lands there (no copy).
"""
from __future__ import annotations

import numpy as np

__all__ = ["GradArray"]


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
