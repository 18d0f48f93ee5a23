"""Dropout: during training, zero each element with probability p and scale the survivors
by 1/(1 - p), so the expected output equals the input; the identity in eval mode."""
from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from minigrad import creation
from minigrad.dtypes import as_array
from minigrad.nn.module import Module
from minigrad.tensor import Tensor

__all__ = ["Dropout", "dropout"]


def _check_p(owner: str, p: Any) -> float:
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 <= float(p) <= 1:
        raise ValueError(f"{owner}: p is the probability of zeroing an element and must be in "
                         f"[0, 1], got {p!r}")
    return float(p)


def dropout(input: Any, p: float = 0.5, training: bool = True) -> Tensor:  # noqa: A002  (torch's name)
    """y = x * m / (1 - p) with m ~ Bernoulli(1 - p) per element when `training`, else y = x;
    dy/dx = m / (1 - p). The mask comes from minigrad's generator (`minigrad.manual_seed`)."""
    p = _check_p("dropout", p)
    if not isinstance(input, Tensor):
        input = Tensor._make(as_array(input), False, None)  # noqa: A001
    if not training or p == 0.0:
        return input
    dtype = input.dtype if input.dtype.kind == "f" else np.dtype(np.float64)
    if p == 1.0:  # every element dropped; 1/(1 - p) would divide by zero
        scale = np.zeros(input.shape, dtype=dtype)
    else:
        keep = creation.generator().random(input.shape) >= p
        scale = keep.astype(dtype) * dtype.type(1.0 / (1.0 - p))
    # one multiplication node: its backward is the mask times the incoming gradient
    return input * Tensor._make(scale, False, None)


class Dropout(Module):
    """torch.nn.Dropout(p): `dropout(x, p, training=self.training)`; `model.eval()` turns it
    into the identity and `model.train()` back on."""

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        self.p = _check_p("Dropout", p)

    def forward(self, x: Any) -> Tensor:
        return dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"
