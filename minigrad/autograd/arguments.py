"""What `backward` and `grad` accept: their outputs, inputs and seed gradients, checked
with errors that name the tensor, its shape and the fix."""
from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.tensor import Tensor

__all__ = ["as_list", "describe", "inputs_requiring_grad", "seed_gradients"]


def as_list(values: Any) -> list:
    return list(values) if isinstance(values, (list, tuple)) else [values]


def inputs_requiring_grad(op: str, inputs: Any) -> list:
    """`inputs` as a list, each checked to be a tensor that requires grad."""
    wanted = as_list(inputs)
    for i, t in enumerate(wanted):
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise RuntimeError(
                f"{op}: input {i} ({describe(t)}) does not require grad, so no gradient can "
                f"flow to it; create it with requires_grad=True (outside no_grad())")
    return wanted


def describe(t: Any) -> str:
    if not isinstance(t, Tensor):
        return f"a {type(t).__name__}, not a Tensor"
    name = f"{t.name!r}, " if t.name else ""
    return f"{name}shape {t.shape}"


def seed_gradients(op: str, roots: list, given: Any, create_graph: bool) -> list:
    """d(output)/d(output): ones for a one-element output, else the given gradients."""
    given_list = [None] * len(roots) if given is None else as_list(given)
    if len(given_list) != len(roots):
        raise ValueError(f"{op}: got {len(given_list)} gradients for {len(roots)} outputs; "
                         f"give one per output")
    seeds = []
    for i, (root, g) in enumerate(zip(roots, given_list)):
        if not isinstance(root, Tensor) or not root.requires_grad:
            raise RuntimeError(
                f"{op}: output {i} ({describe(root)}) does not require grad and has no graph; "
                f"set requires_grad=True on the leaves it is computed from (and not inside "
                f"no_grad())")
        if g is None:
            if root.data.size != 1:
                raise RuntimeError(
                    f"{op}: output {i} has shape {root.shape}, and a gradient can only be implied "
                    f"for a single-element output; reduce it first (out.sum() or out.mean()) or "
                    f"pass an array of shape {root.shape} as its gradient")
            # ones_like, built the cheap way (np.ones is a Python-level wrapper)
            seed: Any = np.array(1, dtype=root.data.dtype).reshape(root.data.shape)
        elif isinstance(g, Tensor) and create_graph:
            seed = g if g.dtype == root.dtype else g.astype(root.dtype)
        else:
            # a copy: the caller's array must never become (or share memory with) a .grad
            seed = np.array(g.data if isinstance(g, Tensor) else g, dtype=root.data.dtype)
        if seed.shape != root.data.shape:
            raise ValueError(
                f"{op}: the gradient given for output {i} has shape {seed.shape} but the output "
                f"has shape {root.shape}; they must match")
        seeds.append(seed)
    return seeds
