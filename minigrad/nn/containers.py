"""`Sequential`, a chain of modules, and `MLP`, a stack of Dense layers and activations."""
from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import numpy as np

from minigrad.nn.activations import resolve_activation
from minigrad.nn.layers import Dense
from minigrad.nn.module import Module
from minigrad.tensor import Tensor

__all__ = ["MLP", "Sequential"]


class Sequential(Module):
    """Modules applied one after another: Sequential(a, b)(x) = b(a(x)).

    They are registered as "0", "1", ...; a Sequential indexes like a list (an int gives a
    module, a slice a Sequential of the same modules under their original keys), iterates,
    has `len` and can `append`.
    """

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        for module in modules:
            self.append(module)

    def append(self, module: Module) -> Sequential:
        if not isinstance(module, Module):
            raise TypeError(
                f"Sequential: can only hold Modules, got {type(module).__name__}; wrap a "
                f"function in a Module subclass"
            )
        keys = [int(k) for k in self._modules if k.isdigit()]
        self.register_module(str(max(keys) + 1 if keys else 0), module)
        return self

    def forward(self, x: Any) -> Any:
        for key, module in self._modules.items():
            if module is None:
                raise TypeError(
                    f"Sequential: layer {key!r} is None (it was assigned None), so the input "
                    f"cannot pass through it; assign a Module to it or build a new Sequential")
            x = module(x)
        return x

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module | None]:
        return iter(self._modules.values())

    def __getitem__(self, index: int | slice) -> Any:
        items = list(self._modules.items())
        if isinstance(index, slice):
            part = Sequential()
            # a view of the same modules: keep their keys, and the parameter names
            # (`.name`), which belong to the full model, untouched
            for key, module in items[index]:
                part._modules[key] = module
                object.__setattr__(part, key, module)
            return part
        try:
            return items[index][1]
        except (IndexError, TypeError):
            raise IndexError(
                f"Sequential: index {index!r} is out of range for {len(items)} modules"
            ) from None

    def describe(self) -> str:
        return f"Sequential({len(self)})"


class MLP(Module):
    """Multi-layer perceptron: Dense(sizes[i], sizes[i+1]) layers, each followed by
    `activation` (the last one too unless `activate_last=False`), held in `self.layers`.

    Meant as a feature extractor in front of a head, e.g. Sequential(MLP([1, 64, 64]),
    GaussianHead(64)). The weights are initialised for the activation: Xavier (Glorot) for
    tanh and sigmoid, He for relu and softplus.
    """

    def __init__(self, sizes: Any, activation: Any = "tanh", activate_last: bool = True,
                 dtype: Any = None) -> None:
        super().__init__()
        sizes = list(sizes)
        if len(sizes) < 2 or not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool)
                                     and n > 0 for n in sizes):
            raise ValueError(
                f"MLP: sizes must be at least two positive integers (input size, then each "
                f"layer's width), got {sizes!r}"
            )
        act_class, init = resolve_activation(activation, "MLP")
        self.sizes = [int(n) for n in sizes]
        layers = Sequential()
        for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
            is_last = i == len(sizes) - 2
            # a Dense that no activation follows is linear: Xavier suits it
            layer_init = init if (activate_last or not is_last) else "xavier"
            layers.append(Dense(n_in, n_out, dtype=dtype, init=layer_init))
            if activate_last or not is_last:
                layers.append(act_class())
        self.layers = layers

    def forward(self, x: Any) -> Tensor:
        return self.layers(x)

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Module | None]:
        return iter(self.layers)

    def __getitem__(self, index: int | slice) -> Any:
        return self.layers[index]

    def describe(self) -> str:
        return "MLP(" + "-".join(str(n) for n in self.sizes) + ")"
