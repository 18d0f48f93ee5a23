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
    if dtype is None and isinstance(data, np.ndarray):
        return data.copy() if copy else data
    if dtype is None and isinstance(data, np.generic):
        return np.asarray(data)
    try:
        if dtype is not None:
            return np.array(data, dtype=dtype, copy=copy or None)
        array = np.asarray(data)
    except ValueError:
        ragged = _ragged(data, "data") if isinstance(data, (list, tuple)) else None
        if ragged is None:
            raise
        raise ValueError(
            f"Tensor: the nested list is ragged: {ragged}; every element of a list must have "
            f"the same shape (pad the shorter ones, or make one tensor per element)") from None
    if array.dtype.kind in "iuf":
        return array.astype(_default_dtype, copy=False)
    if array.dtype.kind in "b":
        return array
    raise TypeError(
        f"Tensor: cannot build a tensor from {type(data).__name__} data of dtype "
        f"{array.dtype}; pass numbers, nested lists of numbers or a numeric NumPy array"
    )


def _ragged(data: Any, where: str) -> str | None:
    """Where nested lists `data` stop being rectangular: the first two siblings whose shapes
    differ, by index and shape (NumPy's own message says only "inhomogeneous"); None if
    `data` is rectangular."""
    shapes = []
    for i, item in enumerate(data):
        if isinstance(item, (list, tuple)):
            inner = _ragged(item, f"{where}[{i}]")
            if inner is not None:
                return inner
        shapes.append(np.shape(item))
    for i, shape in enumerate(shapes):
        if shape != shapes[0]:
            return f"{where}[0] has shape {shapes[0]} but {where}[{i}] has shape {shape}"
    return None
