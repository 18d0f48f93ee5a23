"""Tensor factories (zeros, ones, full, rand, randn, arange, eye and the *_like forms) and
the random generator behind them, seeded with `manual_seed`."""
from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.dtypes import get_default_dtype
from minigrad.tensor import Tensor
from minigrad.tensor_methods import _shape_args

__all__ = [
    "arange", "eye", "full", "generator", "manual_seed", "ones", "ones_like", "rand", "randn",
    "tensor", "zeros", "zeros_like",
]

_generator = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Seed the generator used by rand, randn and nn.init, so runs repeat exactly."""
    global _generator
    _generator = np.random.default_rng(seed)
    return _generator


def generator() -> np.random.Generator:
    """The generator that rand, randn and nn.init draw from."""
    return _generator


def _leaf(data: np.ndarray, requires_grad: bool, name: str | None = None) -> Tensor:
    t = Tensor._make(data, False, None)
    t.name = name
    return t.requires_grad_(True) if requires_grad else t


def _float(dtype: Any) -> np.dtype:
    return get_default_dtype() if dtype is None else np.dtype(dtype)


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None, name: str | None = None) -> Tensor:
    """Same as `Tensor(...)`, spelled like `torch.tensor`."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, name=name)


def zeros(*shape: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    return _leaf(np.zeros(_shape_args(shape), dtype=_float(dtype)), requires_grad)


def ones(*shape: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    return _leaf(np.ones(_shape_args(shape), dtype=_float(dtype)), requires_grad)


def full(shape: Any, fill_value: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    shape = tuple(shape) if isinstance(shape, (tuple, list)) else (shape,)
    return _leaf(np.full(shape, fill_value, dtype=_float(dtype)), requires_grad)


def rand(*shape: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    """Uniform samples in [0, 1)."""
    data = _generator.random(_shape_args(shape)).astype(_float(dtype), copy=False)
    return _leaf(data, requires_grad)


def randn(*shape: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    """Standard normal samples."""
    data = _generator.standard_normal(_shape_args(shape)).astype(_float(dtype), copy=False)
    return _leaf(data, requires_grad)


def arange(start: Any, stop: Any = None, step: Any = 1, requires_grad: bool = False,
           dtype: Any = None) -> Tensor:
    """Evenly spaced values in [start, stop); integers stay integers unless dtype says otherwise
    (as numpy.arange and torch.arange)."""
    args = (start,) if stop is None else (start, stop, step)
    data = np.arange(*args)
    if dtype is not None:
        data = data.astype(dtype)
    elif data.dtype.kind == "f":
        data = data.astype(get_default_dtype(), copy=False)
    return _leaf(data, requires_grad)


def eye(n: int, m: int | None = None, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    return _leaf(np.eye(n, m, dtype=_float(dtype)), requires_grad)


def zeros_like(t: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    data = t.data if isinstance(t, Tensor) else np.asarray(t)
    return _leaf(np.zeros_like(data, dtype=dtype), requires_grad)


def ones_like(t: Any, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    data = t.data if isinstance(t, Tensor) else np.asarray(t)
    return _leaf(np.ones_like(data, dtype=dtype), requires_grad)
