"""The one rule that turns Python numbers, lists and arrays into constant tensors."""
from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.dtypes import as_array
from minigrad.tensor import Tensor

__all__ = ["as_constants"]


def as_constants(values: tuple) -> tuple:
    """The one rule that turns Python numbers, lists and arrays into constant tensors.

    A Python number takes the dtype of the first floating tensor beside it, else of the first
    tensor (a float next to a float32 tensor stays float32, as in NumPy and PyTorch; an int
    next to an int tensor stays int); everything else follows `as_array` (lists become the
    default float dtype, arrays keep theirs).
    """
    dtypes = [v.data.dtype for v in values if isinstance(v, Tensor)]
    like = next((d for d in dtypes if d.kind == "f"), dtypes[0] if dtypes else None)
    return tuple(v if isinstance(v, Tensor) else Tensor._make(_constant(v, like), False, None)
                 for v in values)


def _constant(value: Any, like: Any) -> np.ndarray:
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if number and like is not None and (
            like.kind == "f" or (like.kind in "iu" and isinstance(value, int))):
        return np.asarray(value, dtype=like)
    return as_array(value)
