"""Comparisons: boolean tensors, outside the graph (they have no gradient)."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from minigrad.ops.arithmetic import operands
from minigrad.tensor import Tensor


def _comparison(ufunc: Callable) -> Callable[[Any, Any], Tensor]:
    def compare(a: Any, b: Any) -> Tensor:
        a, b = operands(a, b)
        try:
            result = ufunc(a.data, b.data)
        except ValueError as err:
            raise ValueError(f"{ufunc.__name__}: {err} (input shapes: {a.shape}, {b.shape})") from None
        return Tensor._make(np.asarray(result), False, None)
    compare.__name__ = ufunc.__name__
    compare.__doc__ = f"Elementwise {ufunc.__name__}(a, b) as a bool tensor that does not require grad."
    return compare


less = _comparison(np.less)
less_equal = _comparison(np.less_equal)
greater = _comparison(np.greater)
greater_equal = _comparison(np.greater_equal)
equal = _comparison(np.equal)
not_equal = _comparison(np.not_equal)
