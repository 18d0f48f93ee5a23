"""Elementwise functions: exp, log, sqrt, abs, tanh, sigmoid, relu, softplus, clip,
maximum, minimum, where and casts. Each docstring gives f(x) and f'(x).

Piecewise ops (relu, clip, maximum, minimum, where) route the gradient with `np.where`
rather than multiplying by a 0/1 mask, so an infinite gradient on the inactive side gives 0,
not NaN (as in PyTorch).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from minigrad import kernels
from minigrad.autograd import Function
from minigrad.tensor import Tensor

# `abs` stays out: a star import must not shadow Python's builtin
__all__ = [
    "Abs", "Cast", "Clip", "Exp", "Log", "Maximum", "Minimum", "ReLU", "Sigmoid", "Softplus",
    "Sqrt", "Tanh", "Where", "cast", "clip", "exp", "log", "maximum", "minimum", "relu",
    "sigmoid", "softplus", "sqrt", "tanh", "where",
]


class Exp(Function):
    """exp(x);  d/dx = exp(x)."""

    @staticmethod
    def forward(ctx, x):
        out = np.exp(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out


class Log(Function):
    """log(x);  d/dx = 1/x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / x


class Sqrt(Function):
    """sqrt(x);  d/dx = 1 / (2 sqrt(x))."""

    @staticmethod
    def forward(ctx, x):
        out = np.sqrt(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad / (2 * out)


class Abs(Function):
    """|x|;  d/dx = sign(x) (0 at 0, as in PyTorch)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.abs(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * np.sign(x)


class Tanh(Function):
    """tanh(x);  d/dx = 1 - tanh(x)^2."""

    @staticmethod
    def forward(ctx, x):
        out = np.tanh(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * (1 - out * out)


class Sigmoid(Function):
    """s = 1 / (1 + exp(-x));  d/dx = s (1 - s) = s(x) s(-x).

    exp(-x), 1 + exp(-x) and their ratio are each exact to an ulp (minigrad/kernels.py clips
    the exponent where it would overflow), so the relative error is a few ulps everywhere,
    forward (sigmoid(-40) is 4.2e-18, not 0) and backward (1 - s would round to 0 for x > 37;
    s(-x) does not).
    """

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return kernels.sigmoid(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * Sigmoid.on(x) * Sigmoid.on(-x)


class ReLU(Function):
    """max(x, 0);  d/dx = 1 where x > 0, else 0."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.maximum(x, 0)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return np.where(x > 0, grad, 0)


class Softplus(Function):
    """log(1 + exp(x)), as logaddexp(x, 0): no overflow, and full relative precision for
    very negative x (softplus(-50) = 1.9e-22);  d/dx = sigmoid(x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.logaddexp(x, 0)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * Sigmoid.on(x)


class Clip(Function):
    """min(max(x, lo), hi) (PyTorch's clamp);  the gradient goes to x where lo <= x <= hi,
    to lo where x < lo (and lo <= hi), to hi where max(x, lo) > hi."""

    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.save_for_backward(x, lo, hi)
        return np.minimum(np.maximum(x, lo), hi)

    @staticmethod
    def backward(ctx, grad):
        x, lo, hi = ctx.saved_tensors
        need_x, need_lo, need_hi = ctx.needs_input_grad
        return (np.where((x >= lo) & (x <= hi), grad, 0) if need_x else None,
                np.where((x < lo) & (lo <= hi), grad, 0) if need_lo else None,
                np.where(np.maximum(x, lo) > hi, grad, 0) if need_hi else None)


class Maximum(Function):
    """max(a, b) elementwise;  the gradient goes to the larger input, split evenly on ties."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.maximum(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return _winner_takes_all(a > b, a == b, grad, ctx.needs_input_grad)


class Minimum(Function):
    """min(a, b) elementwise;  the gradient goes to the smaller input, split evenly on ties."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.minimum(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return _winner_takes_all(a < b, a == b, grad, ctx.needs_input_grad)


def _winner_takes_all(a_wins: Any, tie: Any, grad: Any, needs: tuple) -> tuple:
    half = np.where(tie, grad / 2, 0)
    return (np.where(a_wins, grad, half) if needs[0] else None,
            np.where(a_wins | tie, half, grad) if needs[1] else None)


class Where(Function):
    """cond ? x : y;  d/dx = cond, d/dy = not cond (cond gets no gradient)."""

    @staticmethod
    def forward(ctx, cond, x, y):
        cond = cond.astype(bool, copy=False)
        ctx.save_for_backward(cond)
        return np.where(cond, x, y)

    @staticmethod
    def backward(ctx, grad):
        (cond,) = ctx.saved_tensors
        _, need_x, need_y = ctx.needs_input_grad
        return (None,
                np.where(cond, grad, 0) if need_x else None,
                np.where(cond, 0, grad) if need_y else None)


class Cast(Function):
    """x as another dtype;  the gradient is cast back (the engine casts it to x's dtype)."""

    @staticmethod
    def forward(ctx, x, dtype=None):
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad


def exp(x: Any) -> Tensor:
    return Exp.apply(x)


def log(x: Any) -> Tensor:
    return Log.apply(x)


def sqrt(x: Any) -> Tensor:
    return Sqrt.apply(x)


def abs(x: Any) -> Tensor:  # noqa: A001 - NumPy's name
    return Abs.apply(x)


def tanh(x: Any) -> Tensor:
    return Tanh.apply(x)


def sigmoid(x: Any) -> Tensor:
    return Sigmoid.apply(x)


def relu(x: Any) -> Tensor:
    return ReLU.apply(x)


def softplus(x: Any) -> Tensor:
    return Softplus.apply(x)


def clip(x: Any, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002 - NumPy's names
    """x clipped to [min, max]; the bounds may be numbers, arrays or tensors (which then get
    gradients, as PyTorch's clamp with tensor bounds); None means unbounded on that side."""
    if min is None and max is None:
        raise ValueError("Clip: give at least one of min and max")
    return Clip.apply(x, -np.inf if min is None else min, np.inf if max is None else max)


def maximum(a: Any, b: Any) -> Tensor:
    return Maximum.apply(a, b)


def minimum(a: Any, b: Any) -> Tensor:
    return Minimum.apply(a, b)


def where(cond: Any, x: Any, y: Any) -> Tensor:
    return Where.apply(cond, x, y)


def cast(x: Any, dtype: Any) -> Tensor:
    """x as `dtype` (`t.to(dtype)`, `t.astype(dtype)`, `.float()`, `.double()`), differentiable."""
    return Cast.apply(x, dtype=np.dtype(dtype))
