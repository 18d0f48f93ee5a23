"""Comparisons and logical ops: boolean tensors, outside the graph (they have no gradient)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from minigrad.autograd.constants import as_constants
from minigrad.tensor import Tensor

__all__ = [
    "equal", "greater", "greater_equal", "less", "less_equal", "logical_and", "logical_not",
    "logical_or", "not_equal",
]


def _comparison(ufunc: Callable) -> Callable[..., Tensor]:
    def compare(*args: Any) -> Tensor:
        args = as_constants(args)
        try:
            result = ufunc(*[a.data for a in args])
        except ValueError as err:
            shapes = ", ".join(str(a.shape) for a in args)
            raise ValueError(f"{ufunc.__name__}: {err} (input shapes: {shapes})") from None
        return Tensor._make(np.asarray(result), False, None)
    compare.__name__ = ufunc.__name__
    compare.__doc__ = f"Elementwise {ufunc.__name__} as a bool tensor that does not require grad."
    return compare


less: Callable[..., Tensor] = _comparison(np.less)
less_equal: Callable[..., Tensor] = _comparison(np.less_equal)
greater: Callable[..., Tensor] = _comparison(np.greater)
greater_equal: Callable[..., Tensor] = _comparison(np.greater_equal)
equal: Callable[..., Tensor] = _comparison(np.equal)
not_equal: Callable[..., Tensor] = _comparison(np.not_equal)
logical_and: Callable[..., Tensor] = _comparison(np.logical_and)
logical_or: Callable[..., Tensor] = _comparison(np.logical_or)
logical_not: Callable[..., Tensor] = _comparison(np.logical_not)
