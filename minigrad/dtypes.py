"""The default floating dtype and the rules that turn user data into arrays.

Python numbers and lists become the default dtype (float64, NumPy's own, unless
`set_default_dtype` changed it); NumPy arrays and scalars keep their dtype.
"""
from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["bool_", "float32", "float64", "get_default_dtype", "int64", "set_default_dtype"]

_default_dtype = np.dtype(np.float64)

float32 = np.float32
float64 = np.float64
int64 = np.int64
bool_ = np.bool_


def set_default_dtype(dtype: Any) -> None:
    """Make `dtype` (float32 or float64) the dtype of tensors built from Python data."""
    global _default_dtype
    resolved = np.dtype(dtype)
    if resolved.kind != "f":
        raise TypeError(
            f"set_default_dtype: the default dtype must be a floating dtype such as "
            f"float32 or float64, got {resolved}"
        )
    _default_dtype = resolved


def get_default_dtype() -> np.dtype:
    """The dtype that Python numbers and lists become (float64 unless changed)."""
    return _default_dtype


def as_array(data: Any, dtype: Any = None, copy: bool = False) -> np.ndarray:
    """Turn numbers, lists or arrays into an ndarray following minigrad's dtype rules."""
    if dtype is not None:
        return np.array(data, dtype=dtype, copy=copy or None)
    if isinstance(data, np.ndarray):
        return data.copy() if copy else data
    if isinstance(data, np.generic):
        return np.asarray(data)
    array = np.asarray(data)
    if array.dtype.kind in "iuf":
        return array.astype(_default_dtype, copy=False)
    if array.dtype.kind in "b":
        return array
    raise TypeError(
        f"Tensor: cannot build a tensor from {type(data).__name__} data of dtype "
        f"{array.dtype}; pass numbers, nested lists of numbers or a numeric NumPy array"
    )
