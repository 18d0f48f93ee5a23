"""Weight initialisation, in place on a tensor's `.data`, drawn from minigrad's generator.

`minigrad.manual_seed(s)` makes every draw repeat. Weights use minigrad's layout
(in_features, out_features), so fan_in = shape[0] and fan_out = shape[1] (times the
product of any further axes). Each function returns the tensor it filled.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from minigrad import creation

__all__ = [
    "calculate_gain", "constant_", "kaiming_normal_", "kaiming_uniform_", "normal_", "ones_",
    "uniform_", "xavier_normal_", "xavier_uniform_", "zeros_",
]

_GAINS: dict[str, float | None] = {"linear": 1.0, "identity": 1.0, "sigmoid": 1.0, "tanh": 5.0 / 3.0,
          "relu": math.sqrt(2.0), "leaky_relu": None, "selu": 0.75}


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The factor by which to scale a weight's std so that `nonlinearity` keeps the signal's
    variance: 1 for linear/sigmoid, 5/3 for tanh, sqrt(2) for relu,
    sqrt(2 / (1 + slope^2)) for leaky_relu (slope `param`, default 0.01), 3/4 for selu."""
    if nonlinearity not in _GAINS:
        raise ValueError(
            f"calculate_gain: unknown nonlinearity {nonlinearity!r}; choose one of "
            f"{', '.join(map(repr, _GAINS))}"
        )
    gain = _GAINS[nonlinearity]
    if gain is None:  # leaky_relu: the gain depends on the slope
        slope = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1.0 + slope * slope))
    return gain


def _fans(t: Any, op: str) -> tuple:
    shape = t.data.shape
    if len(shape) < 2:
        raise ValueError(
            f"{op}: fan_in and fan_out need a tensor with at least 2 axes (in_features, "
            f"out_features), got shape {shape}; use uniform_/normal_/zeros_ for biases"
        )
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[0] * receptive, shape[1] * receptive


def _fill(t: Any, values: np.ndarray) -> Any:
    t.data[...] = values  # in place, cast to the tensor's own dtype
    return t


def uniform_(t: Any, a: float = 0.0, b: float = 1.0) -> Any:
    """Fill with U(a, b)."""
    return _fill(t, creation.generator().uniform(a, b, size=t.data.shape))


def normal_(t: Any, mean: float = 0.0, std: float = 1.0) -> Any:
    """Fill with N(mean, std^2)."""
    return _fill(t, creation.generator().normal(mean, std, size=t.data.shape))


def constant_(t: Any, value: float) -> Any:
    """Fill with `value`."""
    t.data[...] = value
    return t


def zeros_(t: Any) -> Any:
    """Fill with 0."""
    return constant_(t, 0.0)


def ones_(t: Any) -> Any:
    """Fill with 1."""
    return constant_(t, 1.0)


def xavier_uniform_(t: Any, gain: float = 1.0) -> Any:
    """Glorot & Bengio (2010): U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)),
    so the std is gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(t, "xavier_uniform_")
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(t, -bound, bound)


def xavier_normal_(t: Any, gain: float = 1.0) -> Any:
    """Glorot & Bengio (2010): N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(t, "xavier_normal_")
    return normal_(t, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def _kaiming_std(t: Any, a: float, mode: str, nonlinearity: str, op: str) -> float:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"{op}: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _fans(t, op)
    fan = fan_in if mode == "fan_in" else fan_out
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(t: Any, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "relu") -> Any:
    """He et al. (2015): U(-b, b) with b = sqrt(3) * std, std = gain / sqrt(fan), fan =
    fan_in by default; for relu gain = sqrt(2), so b = sqrt(6 / fan_in). `a` is the
    leaky_relu slope."""
    std = _kaiming_std(t, a, mode, nonlinearity, "kaiming_uniform_")
    bound = math.sqrt(3.0) * std
    return uniform_(t, -bound, bound)


def kaiming_normal_(t: Any, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "relu") -> Any:
    """He et al. (2015): N(0, std^2) with std = gain / sqrt(fan) (relu: sqrt(2 / fan_in))."""
    return normal_(t, 0.0, _kaiming_std(t, a, mode, nonlinearity, "kaiming_normal_"))
