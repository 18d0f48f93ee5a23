"""+ - * / ** and negation, broadcasting like NumPy.

The engine sums each gradient back to its input's shape (`unbroadcast`), so the
backward methods here can return gradients at the broadcast shape.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.autograd import Function
from minigrad.dtypes import as_array
from minigrad.tensor import Tensor


def operands(a: Any, b: Any) -> tuple:
    """Pair a tensor with a Python number, list or array, giving the constant a tensor's dtype.

    A Python float next to a float32 tensor stays float32 (as in NumPy and PyTorch).
    """
    if not isinstance(a, Tensor):
        a = constant_like(a, b)
    elif not isinstance(b, Tensor):
        b = constant_like(b, a)
    return a, b


def constant_like(value: Any, like: Tensor) -> Tensor:
    if isinstance(value, (int, float)) and like.data.dtype.kind == "f":
        return Tensor._make(np.asarray(value, dtype=like.data.dtype), False, None)
    if type(value) is int and like.data.dtype.kind in "iu":  # int tensor * 2 stays integer
        return Tensor._make(np.asarray(value, dtype=like.data.dtype), False, None)
    return Tensor._make(as_array(value), False, None)


class Add(Function):
    """a + b;  d/da = 1, d/db = 1."""

    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, grad):
        return grad, grad


class Sub(Function):
    """a - b;  d/da = 1, d/db = -1."""

    @staticmethod
    def forward(ctx, a, b):
        return a - b

    @staticmethod
    def backward(ctx, grad):
        return grad, (-grad if ctx.needs_input_grad[1] else None)


class Mul(Function):
    """a * b;  d/da = b, d/db = a."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return (grad * b if need_a else None), (grad * a if need_b else None)


class Div(Function):
    """a / b;  d/da = 1/b, d/db = -a/b^2 = -out/b."""

    @staticmethod
    def forward(ctx, a, b):
        out = a / b
        ctx.save_for_backward(b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        b, out = ctx.saved_tensors
        grad_a = grad / b
        return grad_a, (-grad_a * out if ctx.needs_input_grad[1] else None)


class Neg(Function):
    """-a;  d/da = -1."""

    @staticmethod
    def forward(ctx, a):
        return -a

    @staticmethod
    def backward(ctx, grad):
        return -grad


class Pow(Function):
    """a ** b;  d/da = b * a^(b-1), d/db = a^b * log(a)."""

    @staticmethod
    def forward(ctx, a, b):
        out = a ** b
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        grad_a = None
        if need_a:  # x**2 is common enough to skip computing a**1
            grad_a = grad * (2 * a) if b.ndim == 0 and b == 2 else grad * b * a ** (b - 1)
        grad_b = None
        if need_b:
            # the base must be positive for a real log; a^b is 0 at a = 0, whatever b > 0
            with np.errstate(divide="ignore", invalid="ignore"):
                grad_b = grad * out * np.where(a > 0, np.log(np.where(a > 0, a, 1)), np.nan)
            grad_b = np.where(a == 0, 0, grad_b)
        return grad_a, grad_b


def add(a: Any, b: Any) -> Tensor:
    if not (isinstance(a, Tensor) and isinstance(b, Tensor)):
        a, b = operands(a, b)
    return Add.apply(a, b)


def subtract(a: Any, b: Any) -> Tensor:
    if not (isinstance(a, Tensor) and isinstance(b, Tensor)):
        a, b = operands(a, b)
    return Sub.apply(a, b)


def multiply(a: Any, b: Any) -> Tensor:
    if not (isinstance(a, Tensor) and isinstance(b, Tensor)):
        a, b = operands(a, b)
    return Mul.apply(a, b)


def divide(a: Any, b: Any) -> Tensor:
    if not (isinstance(a, Tensor) and isinstance(b, Tensor)):
        a, b = operands(a, b)
    return Div.apply(a, b)


def negative(a: Any) -> Tensor:
    return Neg.apply(a)


def power(a: Any, b: Any) -> Tensor:
    if not (isinstance(a, Tensor) and isinstance(b, Tensor)):
        a, b = operands(a, b)
    return Pow.apply(a, b)
