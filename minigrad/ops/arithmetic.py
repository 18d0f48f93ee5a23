"""+ - * / ** and negation, broadcasting like NumPy.

The engine sums each gradient back to its input's shape (`unbroadcast`), so the backward
methods here can return gradients at the broadcast shape. Every backward is NumPy that also
runs on tensors, so each of these ops can be differentiated again.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.autograd import Function
from minigrad.tensor import Tensor

__all__ = [
    "Add", "Div", "Mul", "Neg", "Pow", "Sub", "add", "divide", "multiply", "negative", "power",
    "subtract",
]


class Add(Function):
    """a + b;  d/da = 1, d/db = 1."""

    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, grad):
        need_a, need_b = ctx.needs_input_grad
        return (grad if need_a else None), (grad if need_b else None)


class Sub(Function):
    """a - b;  d/da = 1, d/db = -1."""

    @staticmethod
    def forward(ctx, a, b):
        return a - b

    @staticmethod
    def backward(ctx, grad):
        need_a, need_b = ctx.needs_input_grad
        return (grad if need_a else None), (-grad if need_b else None)


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
        need_a, need_b = ctx.needs_input_grad
        grad_a = grad / b
        return (grad_a if need_a else None), (-grad_a * out if need_b else None)


class Neg(Function):
    """-a;  d/da = -1."""

    @staticmethod
    def forward(ctx, a):
        return -a

    @staticmethod
    def backward(ctx, grad):
        return -grad


class Pow(Function):
    """a ** b;  d/da = b a^(b-1) (0 where b = 0), d/db = a^b log a (0 where a = 0 and b >= 0),
    PyTorch's conventions at a = 0, so a polynomial sum(c_k x^k) has the right slope at 0."""

    @staticmethod
    def forward(ctx, a, b):
        out = a ** b
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        grad_a = grad_b = None
        if need_a:
            if np.ndim(b) == 0 and not isinstance(b, Tensor) and b == 2:  # x**2: skip a**1
                grad_a = grad * (2 * a)
            else:  # a = 0 gives inf or nan in the branch b = 0 never takes: no warning
                with np.errstate(divide="ignore", invalid="ignore"):
                    grad_a = np.where(b == 0, 0, grad * b * a ** (b - 1))
        if need_b:
            # log a, with log 0 = -inf spelled out so no branch ever evaluates log(0)
            log_a = np.where(a == 0, -np.inf, np.log(np.where(a == 0, 1, a)))
            with np.errstate(invalid="ignore"):  # 0 * -inf where a = 0: masked out below
                grad_b = np.where((a == 0) & (b >= 0), 0, grad * out * log_a)
        return grad_a, grad_b


def add(a: Any, b: Any) -> Tensor:
    return Add.apply(a, b)


def subtract(a: Any, b: Any) -> Tensor:
    return Sub.apply(a, b)


def multiply(a: Any, b: Any) -> Tensor:
    return Mul.apply(a, b)


def divide(a: Any, b: Any) -> Tensor:
    return Div.apply(a, b)


def negative(a: Any) -> Tensor:
    return Neg.apply(a)


def power(a: Any, b: Any) -> Tensor:
    return Pow.apply(a, b)
