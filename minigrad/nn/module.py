"""`Module`: the base class of layers and models, a tree of sub-modules and parameters.

Assigning a `Parameter` or a `Module` to an attribute registers it, in order, so a model
can list its parameters (`named_parameters()` gives dotted names like `layers.0.weight`),
save and load them (`state_dict`, `load_state_dict`) and print itself. Calling a module
runs its `forward` inside `minigrad.autograd.module_scope`, so every graph node made there records
the stack of modules it belongs to in `node.scope`.
"""
from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from minigrad.autograd.grad_mode import state
from minigrad.nn.parameter import Parameter
from minigrad.tensor import Tensor

__all__ = ["IncompatibleKeys", "Module"]

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class Module:
    """Base class of every layer and model; subclasses define `forward`.

        class Affine(Module):
            def __init__(self):
                super().__init__()          # must come before any assignment
                self.weight = Parameter(np.ones((2, 3)))
            def forward(self, x):
                return x @ self.weight
    """

    training: bool
    # set in __init__ through object.__setattr__ (our __setattr__ needs them to exist)
    _parameters: dict[str, Parameter]
    _modules: dict[str, Module | None]  # None: a slot emptied by assigning None
    _prefix: str

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "_prefix", "")  # this module's dotted path from its root, plus "."
        object.__setattr__(self, "training", True)

    # ---- registration ------------------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        # Registered members also live in __dict__, so reading them in forward is a plain lookup.
        params = self.__dict__.get("_parameters")
        if params is None:
            raise AttributeError(
                f"{type(self).__name__}: cannot assign {name!r} before Module.__init__() ran; "
                f"call super().__init__() first in {type(self).__name__}.__init__"
            )
        modules = self._modules
        if isinstance(value, Parameter):
            modules.pop(name, None)
            params[name] = value
            value.name = self._prefix + name
        elif isinstance(value, Module):
            params.pop(name, None)
            modules[name] = value
            self._rename()
        elif name in params:
            if value is not None:
                raise TypeError(
                    f"{type(self).__name__}: cannot assign a {type(value).__name__} to the "
                    f"parameter {name!r}; assign a Parameter (or None), e.g. Parameter(tensor)"
                )
            params[name] = None
        elif name in modules:
            if value is not None:
                raise TypeError(
                    f"{type(self).__name__}: cannot assign a {type(value).__name__} to the "
                    f"sub-module {name!r}; assign a Module (or None)"
                )
            modules[name] = None
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        object.__delattr__(self, name)

    def register_module(self, name: str, module: Module | None) -> None:
        """Register `module` under `name` (names such as "0" that are not identifiers too)."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(
                f"{type(self).__name__}.register_module: {name!r} must be a Module, "
                f"got {type(module).__name__}"
            )
        setattr(self, name, module)

    def _rename(self) -> None:
        """Give every module below this one its dotted prefix and every parameter its `.name`.

        Runs when a sub-module is registered, so names follow the tree whichever order it
        was built in; a parameter shared by two modules keeps the first name, as
        `named_parameters()` lists it.
        """
        seen: set = set()
        for path, module in self.named_modules(prefix=self._prefix[:-1]):
            prefix = path + "." if path else ""
            object.__setattr__(module, "_prefix", prefix)
            for key, p in module._parameters.items():
                if p is not None and id(p) not in seen:
                    seen.add(id(p))
                    p.name = prefix + key

    # ---- walking the tree --------------------------------------------------------------
    def named_modules(self, prefix: str = "", memo: set | None = None) -> Iterator[tuple]:
        """(dotted name, module) for this module (name `prefix`, "" by default) and all below,
        depth first in registration order, each module once."""
        if memo is None:
            memo = set()
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for key, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(f"{prefix}.{key}" if prefix else key, memo)

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple]:
        """(name, module) for the direct sub-modules, each once."""
        seen: set = set()
        for key, child in self._modules.items():
            if child is not None and id(child) not in seen:
                seen.add(id(child))
                yield key, child

    def children(self) -> Iterator[Module]:
        for _, child in self.named_children():
            yield child

    def named_parameters(self, prefix: str = "") -> Iterator[tuple]:
        """(dotted name, parameter) for every parameter in the tree, each once even if shared."""
        seen: set = set()
        for path, module in self.named_modules(prefix):
            for key, p in module._parameters.items():
                if p is not None and id(p) not in seen:
                    seen.add(id(p))
                    yield (f"{path}.{key}" if path else key), p

    def parameters(self) -> Iterator[Parameter]:
        for _, p in self.named_parameters():
            yield p

    def num_parameters(self) -> int:
        """The number of scalars the model learns (shared parameters counted once)."""
        return sum(p.data.size for p in self.parameters())

    # ---- training helpers --------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset every parameter's `.grad`: to None (the default; the next backward writes it
        afresh), or with `set_to_none=False` fill the existing arrays with zeros in place,
        as torch.nn.Module.zero_grad does."""
        if state.s.tracer is not None:  # minigrad.compile is capturing: it notes the reset
            state.s.tracer.zero_grad(list(self.parameters()), set_to_none)
        for p in self.parameters():
            if set_to_none:
                p._grad = None
            elif p.grad is not None:
                p.grad.fill(0)

    def train(self, mode: bool = True) -> Module:
        """Set `.training` on this module and all below it; returns self."""
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self) -> Module:
        """Same as `train(False)`."""
        return self.train(False)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define forward(...)")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # module_scope(self), spelled out as it runs for every module on every step: the nodes
        # made inside record this module (for the renderer)
        mode = state.s  # this thread's state, looked up once
        previous = mode.scope
        mode.scope = previous + (self,)
        try:
            return self.forward(*args, **kwargs)
        finally:
            mode.scope = previous

    # ---- saving and loading ------------------------------------------------------------
    def state_dict(self) -> dict:
        """Dotted parameter name -> a copy of its array."""
        return {name: p.data.copy() for name, p in self.named_parameters()}

    def load_state_dict(self, state_dict: Mapping, strict: bool = True) -> IncompatibleKeys:
        """Copy the arrays of `state_dict` into the parameters, in place.

        Everything is checked before anything is written: a key the model lacks or a
        parameter the dict lacks raises ValueError (unless `strict=False`, which returns
        them as `IncompatibleKeys`); a shape mismatch or a dtype that cannot be cast to the
        parameter's (e.g. complex into float) always raises.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(
                f"load_state_dict: expected a dict of name -> array, got "
                f"{type(state_dict).__name__}"
            )
        own = dict(self.named_parameters())
        missing = [key for key in own if key not in state_dict]
        unexpected = [key for key in state_dict if key not in own]
        if strict and (missing or unexpected):
            problems = []
            if missing:
                problems.append(f"missing key(s) {', '.join(map(repr, missing))}")
            if unexpected:
                problems.append(f"unexpected key(s) {', '.join(map(repr, unexpected))}")
            raise ValueError(
                f"load_state_dict into {type(self).__name__}: {'; '.join(problems)}. The model "
                f"expects the keys of its state_dict(); pass strict=False to load a subset"
            )
        arrays = {}
        for key, p in own.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            value = np.asarray(value.data if isinstance(value, Tensor) else value)
            if value.shape != p.data.shape:
                raise ValueError(
                    f"load_state_dict: shape mismatch for {key!r}: the state_dict has shape "
                    f"{value.shape}, the model's parameter has shape {p.data.shape}"
                )
            if not np.can_cast(value.dtype, p.data.dtype, casting="same_kind"):
                raise ValueError(
                    f"load_state_dict: {key!r} has dtype {value.dtype}, which cannot be cast "
                    f"to the parameter's dtype {p.data.dtype}"
                )
            arrays[key] = value
        for key, value in arrays.items():
            own[key].data[...] = value  # in place: optimisers keep referring to the same arrays
        return IncompatibleKeys(missing, unexpected)

    # ---- printing ----------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The module's own settings for `repr`, e.g. "in_features=1, out_features=64"."""
        return ""

    def describe(self) -> str:
        """A short label for graph clusters, e.g. "Dense(1->64)"; the class name by default."""
        return type(self).__name__

    def __repr__(self) -> str:
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        for key, child in self._modules.items():
            child_text = repr(child).replace("\n", "\n  ")
            lines.append(f"({key}): {child_text}")
        if not lines:
            return f"{type(self).__name__}()"
        if len(lines) == 1 and not self._modules:
            return f"{type(self).__name__}({lines[0]})"
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"
