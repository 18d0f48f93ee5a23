"""Activation modules, parameter-free wrappers of the engine's elementwise ops."""
from __future__ import annotations

from typing import Any

from minigrad import ops
from minigrad.nn.module import Module
from minigrad.tensor import Tensor

__all__ = ["ReLU", "Sigmoid", "Softplus", "Tanh"]


class Tanh(Module):
    """tanh(x), applied elementwise."""

    def forward(self, x: Any) -> Tensor:
        return ops.tanh(x)


class ReLU(Module):
    """max(x, 0), applied elementwise."""

    def forward(self, x: Any) -> Tensor:
        return ops.relu(x)


class Sigmoid(Module):
    """1 / (1 + exp(-x)), applied elementwise."""

    def forward(self, x: Any) -> Tensor:
        return ops.sigmoid(x)


class Softplus(Module):
    """log(1 + exp(x)), applied elementwise (a smooth relu)."""

    def forward(self, x: Any) -> Tensor:
        return ops.softplus(x)


# name -> (module class, the weight init suited to the layer feeding it)
ACTIVATIONS = {"tanh": (Tanh, "xavier"), "relu": (ReLU, "he"), "sigmoid": (Sigmoid, "xavier"),
               "softplus": (Softplus, "he")}


def resolve_activation(activation: Any, owner: str) -> tuple:
    """(module class, init name) for an activation given by name or as a Module class."""
    if isinstance(activation, str):
        if activation.lower() in ACTIVATIONS:
            return ACTIVATIONS[activation.lower()]
    elif isinstance(activation, type) and issubclass(activation, Module):
        relu_like = issubclass(activation, (ReLU, Softplus))
        return activation, ("he" if relu_like else "xavier")
    raise ValueError(
        f"{owner}: unknown activation {activation!r}; choose one of "
        f"{', '.join(map(repr, ACTIVATIONS))} or pass a Module class such as minigrad.nn.Tanh"
    )
