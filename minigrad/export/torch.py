"""PyTorch interop: a model's weights under PyTorch's names and layouts, and back.

minigrad and the PyTorch modules of docs/exporting.md share their parameter names
(`0.layers.0.weight`, ..., `1.linear.bias`); only the layouts differ: Dense keeps its
weight as (in, out), for y = x @ W + b, while torch.nn.Linear keeps (out, in), for
y = x @ W^T + b. A registry `{module class: names of its own parameters stored transposed}`
says which to flip; a module with parameters of its own that is not listed is refused
rather than guessed. PyTorch is optional: arrays go in and out, tensors when asked for.
"""
from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from minigrad import nn
from minigrad.tensor import Tensor

__all__ = [
    "from_torch_state_dict", "register_torch_layout", "to_torch_module", "to_torch_state_dict",
    "torch_classes",
]

_TRANSPOSED: dict[type, frozenset] = {}


def register_torch_layout(module_class: type, transposed: Iterable[str] = ()) -> None:
    """Declare how `module_class`'s own parameters map to PyTorch: the ones named in
    `transposed` are 2-d and stored transposed there; the others are copied as they are.
    E.g. register_torch_layout(nn.Linear) for a layer already in PyTorch's (out, in) layout."""
    if not (isinstance(module_class, type) and issubclass(module_class, nn.Module)):
        raise TypeError(f"register_torch_layout: expected a Module class, got {module_class!r}")
    _TRANSPOSED[module_class] = frozenset(transposed)


register_torch_layout(nn.Dense, transposed=["weight"])
register_torch_layout(nn.Linear)  # already PyTorch's (out, in) layout


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise ImportError("this needs PyTorch (pip install torch); the NumPy forms of "
                          "to_torch_state_dict / from_torch_state_dict work without it") from None
    return torch


def _layout(model: Any) -> dict:
    """Parameter name -> (the Parameter, whether PyTorch stores it transposed)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"expected a minigrad nn.Module, got {type(model).__name__}")
    layout = {}
    for path, module in model.named_modules():
        own = module._parameters
        if not own:
            continue
        transposed = _TRANSPOSED.get(type(module))
        if transposed is None:
            known = ", ".join(sorted(cls.__name__ for cls in _TRANSPOSED))
            raise TypeError(
                f"no PyTorch layout is registered for {type(module).__name__} (at "
                f"{path or 'the root'!r}), which has parameters {', '.join(own)}; known: "
                f"{known}. Declare it with minigrad.export.register_torch_layout"
            )
        for key, p in own.items():
            layout[f"{path}.{key}" if path else key] = (p, key in transposed)
    return layout


def to_torch_state_dict(model: Any, tensors: bool = False) -> dict:
    """The model's weights as a PyTorch state_dict: the same names, Dense weights
    transposed to nn.Linear's (out, in). Fresh contiguous NumPy arrays, or torch tensors
    with `tensors=True` (needs torch); load it with `torch_model.load_state_dict(...)`."""
    out = {}
    for name, (p, flip) in _layout(model).items():
        out[name] = np.ascontiguousarray(p.data.T if flip else p.data).copy()
    if tensors:
        torch = _torch()
        out = {name: torch.from_numpy(array) for name, array in out.items()}
    return out


def from_torch_state_dict(model: Any, state_dict: Mapping, strict: bool = True) -> Any:
    """Load a PyTorch state_dict (NumPy arrays or torch tensors) into `model`, in place:
    the inverse of `to_torch_state_dict`. Every shape is checked against PyTorch's layout
    before anything is written; `strict=False` loads a subset. Returns the
    (missing_keys, unexpected_keys) of `Module.load_state_dict`."""
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"from_torch_state_dict: expected a dict of name -> tensor or array, "
                        f"got {type(state_dict).__name__}")
    layout = _layout(model)
    converted = {}
    for name, value in state_dict.items():
        if hasattr(value, "detach"):  # a torch tensor; no torch import needed to read it
            value = value.detach().cpu().numpy()
        value = np.asarray(value.data if isinstance(value, Tensor) else value)
        if name not in layout:
            converted[name] = value  # load_state_dict reports it as unexpected
            continue
        p, flip = layout[name]
        want = p.data.shape[::-1] if flip else p.data.shape
        if value.shape != want:
            hint = (" (that is minigrad's own layout: pass a PyTorch state_dict, or use "
                    "model.load_state_dict)" if flip and value.shape == p.data.shape else "")
            raise ValueError(
                f"from_torch_state_dict: {name!r} has shape {value.shape}, PyTorch's layout of "
                f"this parameter is {want}{hint}"
            )
        converted[name] = value.T if flip else value
    return model.load_state_dict(converted, strict=strict)


# ---- the PyTorch twin of a minigrad model -------------------------------------------------

_CLASSES: dict = {}


def torch_classes() -> dict:
    """The PyTorch modules of docs/exporting.md, `MLP`, `GaussianHead`, `GaussianMixtureHead`
    and `MultivariateGaussianHead`, defined on first use (needs torch). They mirror
    minigrad's, parameter names included."""
    if _CLASSES:
        return _CLASSES
    torch: Any = _torch()  # Any: the classes below subclass torch.nn.Module found at run time

    class MLP(torch.nn.Module):
        """Linear layers, each followed by `activation` (the last too if activate_last)."""

        def __init__(self, sizes, activation=torch.nn.Tanh, activate_last=True):
            super().__init__()
            layers = []
            for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
                layers.append(torch.nn.Linear(n_in, n_out))
                if activate_last or i < len(sizes) - 2:
                    layers.append(activation())
            self.layers = torch.nn.Sequential(*layers)

        def forward(self, x):
            return self.layers(x)

    class GaussianHead(torch.nn.Module):
        """features -> [mu, sigma], sigma = softplus(raw[..., 1]) + min_sigma."""

        def __init__(self, in_features, min_sigma=1e-6):
            super().__init__()
            self.min_sigma = min_sigma
            self.linear = torch.nn.Linear(in_features, 2)

        def forward(self, x):
            raw = self.linear(x)
            s = raw[..., 1]
            # softplus as logaddexp(s, 0), minigrad's formula; F.softplus switches to s
            # itself above s = 20, which differs in the 9th digit
            sigma = torch.logaddexp(s, torch.zeros_like(s)) + self.min_sigma
            return torch.stack([raw[..., 0], sigma], dim=-1)

    class GaussianMixtureHead(torch.nn.Module):
        """features -> (..., K, 3) = [logit, mu, sigma], sigma = softplus(raw) + min_sigma."""

        def __init__(self, in_features, n_components, min_sigma=1e-6):
            super().__init__()
            self.n_components, self.min_sigma = n_components, min_sigma
            self.linear = torch.nn.Linear(in_features, 3 * n_components)

        def forward(self, x):
            raw = self.linear(x).unflatten(-1, (self.n_components, 3))
            s = raw[..., 2]
            sigma = torch.logaddexp(s, torch.zeros_like(s)) + self.min_sigma
            return torch.stack([raw[..., 0], raw[..., 1], sigma], dim=-1)

    class MultivariateGaussianHead(torch.nn.Module):
        """features -> (mu, L): raw = [mu, L's lower triangle row by row], L's diagonal
        softplus(.) + min_sigma, zeros above it."""

        def __init__(self, in_features, dim, min_sigma=1e-6):
            super().__init__()
            self.dim, self.min_sigma = dim, min_sigma
            self.linear = torch.nn.Linear(in_features, dim + dim * (dim + 1) // 2)
            self.register_buffer("rows", torch.tril_indices(dim, dim)[0], persistent=False)
            self.register_buffer("cols", torch.tril_indices(dim, dim)[1], persistent=False)

        def forward(self, x):
            raw = self.linear(x)
            tri = raw[..., self.dim:]
            L = tri.new_zeros(tri.shape[:-1] + (self.dim, self.dim))
            L[..., self.rows, self.cols] = tri
            d = torch.diagonal(L, dim1=-2, dim2=-1)
            L = L - torch.diag_embed(d) + torch.diag_embed(
                torch.logaddexp(d, torch.zeros_like(d)) + self.min_sigma)
            return raw[..., :self.dim], L

    _CLASSES.update(MLP=MLP, GaussianHead=GaussianHead, GaussianMixtureHead=GaussianMixtureHead,
                    MultivariateGaussianHead=MultivariateGaussianHead)
    return _CLASSES


def to_torch_module(model: Any) -> Any:
    """A torch.nn.Module computing what `model` computes, with its weights loaded, in its
    dtype and in eval mode. Built from Sequential, MLP, Dense, the activations and the
    three heads (needs torch)."""
    torch = _torch()
    twin = _build(torch, model)
    dtypes = {p.data.dtype for p in model.parameters()}
    if len(dtypes) == 1:
        twin = twin.to(getattr(torch, dtypes.pop().name))
    twin.load_state_dict(to_torch_state_dict(model, tensors=True))
    return twin.eval()


def _build(torch: Any, module: Any) -> Any:
    from collections import OrderedDict

    classes = torch_classes()
    activations = {nn.Tanh: torch.nn.Tanh, nn.ReLU: torch.nn.ReLU, nn.Sigmoid: torch.nn.Sigmoid,
                   nn.Softplus: torch.nn.Softplus}
    kind = type(module)
    if kind in activations:
        return activations[kind]()
    if kind is nn.Dense:
        return torch.nn.Linear(module.in_features, module.out_features,
                               bias=module.bias is not None)
    if kind is nn.Sequential:
        return torch.nn.Sequential(OrderedDict((key, _build(torch, child))
                                               for key, child in module._modules.items()))
    if kind is nn.GaussianHead:
        return classes["GaussianHead"](module.in_features, module.min_sigma)
    if kind is nn.GaussianMixtureHead:
        return classes["GaussianMixtureHead"](module.in_features, module.n_components,
                                              module.min_sigma)
    if kind is nn.MultivariateGaussianHead:
        return classes["MultivariateGaussianHead"](module.in_features, module.dim,
                                                   module.min_sigma)
    if kind is nn.MLP:
        acts = [type(m) for m in module.layers if type(m) is not nn.Dense]
        if acts and acts[0] not in activations:
            raise TypeError(f"to_torch_module: no PyTorch counterpart for the MLP's activation "
                            f"{acts[0].__name__}; supported: Tanh, ReLU, Sigmoid, Softplus")
        activation = activations[acts[0]] if acts else torch.nn.Identity
        activate_last = type(list(module.layers)[-1]) is not nn.Dense
        return classes["MLP"](module.sizes, activation, activate_last)
    raise TypeError(
        f"to_torch_module: no PyTorch counterpart for {type(module).__name__}; supported: "
        f"Dense, GaussianHead, GaussianMixtureHead, MLP, MultivariateGaussianHead, ReLU, "
        f"Sequential, Sigmoid, Softplus, Tanh. Build the "
        f"PyTorch module yourself and load to_torch_state_dict(model) into it"
    )
