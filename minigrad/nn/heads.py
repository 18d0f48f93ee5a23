"""`GaussianHead`: features -> [mu, sigma], the parameters of a Gaussian, via one fused op."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from minigrad import kernels
from minigrad.autograd import Function
from minigrad.ops.elementwise import Sigmoid
from minigrad.ops.shape import Stack
from minigrad.nn.layers import Dense
from minigrad.nn.module import Module
from minigrad.tensor import Tensor

__all__ = ["GaussianHead", "GaussianParams"]


class GaussianParams(Function):
    """raw (..., 2) -> [mu, sigma] with mu = raw[..., 0], sigma = softplus(raw[..., 1]) + min_sigma;
    d mu/d raw0 = 1, d sigma/d raw1 = sigmoid(raw1).

    softplus is logaddexp(raw1, 0), so a huge raw1 neither overflows nor loses sigma, and
    a hugely negative one still leaves sigma >= min_sigma > 0.
    """

    name = "GaussianParams"

    @staticmethod
    def forward(ctx, raw, min_sigma=1e-6):
        if raw.ndim == 0 or raw.shape[-1] != 2:
            raise ValueError(
                f"GaussianParams: raw input has shape {raw.shape}, its last axis must have size "
                f"2 ([mu, pre-softplus sigma]); feed it from a Dense(..., 2)"
            )
        ctx.save_for_backward(raw)
        out = raw.copy()
        ctx.softplus = np.logaddexp(raw[..., 1], 0)  # kept for the first-order kernel's slope
        np.add(ctx.softplus, min_sigma, out=out[..., 1])
        return out

    @staticmethod
    def backward(ctx, grad):
        (raw,) = ctx.saved_tensors
        if type(grad) is np.ndarray:  # first order: the same, faster (minigrad/kernels.py)
            return kernels.gaussian_params_grad(ctx.softplus, grad)
        return Stack.on(grad[..., 0], grad[..., 1] * Sigmoid.on(raw[..., 1]), axis=-1)


class GaussianHead(Module):
    """Maps features (..., in_features) to (..., 2) = [mu, sigma] with sigma > 0.

    A Dense(in_features, 2) (`self.linear`) gives raw = [mu, s]; then
    sigma = softplus(s) + min_sigma, so sigma never reaches 0 even when s -> -inf.
    """

    def __init__(self, in_features: int, min_sigma: float = 1e-6, dtype: Any = None) -> None:
        super().__init__()
        if not (isinstance(min_sigma, (int, float, np.floating)) and math.isfinite(min_sigma)
                and min_sigma > 0):
            raise ValueError(
                f"GaussianHead: min_sigma must be a finite number > 0 (the floor that keeps "
                f"sigma positive), got {min_sigma!r}; the default is 1e-6"
            )
        self.in_features = in_features
        self.min_sigma = float(min_sigma)
        self.linear = Dense(in_features, 2, dtype=dtype)

    def forward(self, x: Any) -> Tensor:
        return GaussianParams.apply(self.linear(x), min_sigma=self.min_sigma)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, min_sigma={self.min_sigma:g}"

    def describe(self) -> str:
        return f"GaussianHead({self.in_features}->[mu, sigma])"
