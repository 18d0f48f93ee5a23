"""Jacobian-vector products, Jacobians and Hessians of a function, with the signatures and
return conventions of `torch.autograd.functional`, all built on `minigrad.grad`.

`func` takes tensors and returns a tensor (or a tuple of tensors). `inputs` is a tensor or a
tuple of tensors; results follow the same structure: a single tensor in, a single result
out. The inputs are copied into fresh leaves that require grad, so the caller's tensors are
never touched; results carry a graph only with `create_graph=True`.

    vjp(f, x, v)   = v^T J          (one backward)
    jvp(f, x, v)   = J v            (the double-backward trick: d/du (u^T J) v, two backwards)
    jacobian(f, x) = J, of shape out.shape + x.shape (one backward per output element)
    hessian(f, x)  = d^2 f / dx^2 for a scalar f, of shape x.shape + x.shape
    hvp(f, x, v)   = H v;  vhp(f, x, v) = v^T H (equal: the Hessian is symmetric)
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from minigrad.autograd.engine import grad
from minigrad.autograd.grad_mode import enable_grad
from minigrad.tensor import Tensor

__all__ = ["hessian", "hvp", "jacobian", "jvp", "vhp", "vjp"]


def _as_tuple(values: Any, what: str, fn_name: str) -> tuple:
    """(is_tuple, tuple of tensors); numbers and arrays are not accepted as inputs."""
    is_tuple = isinstance(values, (tuple, list))
    items = tuple(values) if is_tuple else (values,)
    for i, v in enumerate(items):
        if not isinstance(v, Tensor):
            raise TypeError(f"{fn_name}: {what} {i} must be a Tensor, got {type(v).__name__}")
    return is_tuple, items


def _leaves(inputs: tuple, create_graph: bool) -> tuple:
    """Fresh leaves that require grad; with create_graph, views of the caller's tensors that
    stay in their graph (so the result can be differentiated with respect to them)."""
    if create_graph:
        return tuple(x if x.requires_grad else Tensor._make(x.data, True, None) for x in inputs)
    return tuple(Tensor._make(x.data, True, None) for x in inputs)


def _grads_or_zeros(outputs: Any, wrt: tuple, grad_outputs: Any, create_graph: bool,
                    strict: bool, fn_name: str) -> tuple:
    outs = [o for o in (outputs if isinstance(outputs, (tuple, list)) else (outputs,))]
    if not any(o.requires_grad for o in outs):
        found: tuple = (None,) * len(wrt)
    else:
        pairs = [(o, g) for o, g in zip(outs, grad_outputs) if o.requires_grad]
        found = grad([o for o, _ in pairs], list(wrt), grad_outputs=[g for _, g in pairs],
                     retain_graph=True, create_graph=create_graph, allow_unused=True)
    if strict and any(g is None for g in found):
        i = next(i for i, g in enumerate(found) if g is None)
        raise RuntimeError(f"{fn_name}: the output does not depend on input {i} (strict=True)")
    return tuple(Tensor._make(np.zeros_like(x.data), False, None) if g is None
                 else (g if create_graph else g.detach()) for g, x in zip(found, wrt))


def _check_v(v: Any, like: tuple, fn_name: str, what: str) -> tuple:
    """`v` as a tuple shaped like `like`; omitted, ones (allowed only for one element each)."""
    if v is None:
        if any(x.size != 1 for x in like):
            raise RuntimeError(f"{fn_name}: v can be omitted only for a single-element {what}; "
                               f"pass v of the {what}'s shape")
        return tuple(Tensor(np.ones_like(x.data)) for x in like)
    _, vs = _as_tuple(v, "v", fn_name)
    if len(vs) != len(like):
        raise ValueError(f"{fn_name}: v has {len(vs)} entries but the {what} has {len(like)}")
    for i, (a, b) in enumerate(zip(vs, like)):
        if a.shape != b.shape:
            raise ValueError(f"{fn_name}: v[{i}] has shape {a.shape} but the {what}'s entry {i} "
                             f"has shape {b.shape}; they must match")
    return vs


def _call(func: Callable, xs: tuple, fn_name: str) -> tuple:
    out = func(*xs)
    is_tuple, outs = _as_tuple(out, "output", fn_name)
    return is_tuple, outs


def _unwrap(values: tuple, is_tuple: bool) -> Any:
    return values if is_tuple else values[0]


def vjp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple:
    """(func(inputs), v^T J): `v` has the output's shape (may be omitted for one element)."""
    in_tuple, xs = _as_tuple(inputs, "input", "vjp")
    with enable_grad():
        xs = _leaves(xs, create_graph)
        out_tuple, outs = _call(func, xs, "vjp")
        vs = _check_v(v, outs, "vjp", "output")
        result = _grads_or_zeros(outs, xs, vs, create_graph, strict, "vjp")
    outs = outs if create_graph else tuple(o.detach() for o in outs)
    return _unwrap(outs, out_tuple), _unwrap(result, in_tuple)


def jvp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple:
    """(func(inputs), J v): `v` has the inputs' shapes (may be omitted for one element).

    By the double-backward trick: g(u) = u^T J is linear in u, so d(g(u) . v)/du = J v.
    """
    _, xs = _as_tuple(inputs, "input", "jvp")
    vs = _check_v(v, xs, "jvp", "inputs")
    with enable_grad():
        xs = _leaves(xs, create_graph)
        out_tuple, outs = _call(func, xs, "jvp")
        us = tuple(Tensor._make(np.zeros_like(o.data), True, None) for o in outs)
        g = _grads_or_zeros(outs, xs, us, True, strict, "jvp")
        terms = [gi for gi in g if gi.requires_grad]
        if not terms:
            result = tuple(Tensor._make(np.zeros_like(o.data), False, None) for o in outs)
        else:
            result = _grads_or_zeros(terms, us, [vi for gi, vi in zip(g, vs) if gi.requires_grad],
                                     create_graph, strict, "jvp")
    outs = outs if create_graph else tuple(o.detach() for o in outs)
    return _unwrap(outs, out_tuple), _unwrap(result, out_tuple)


def jacobian(func: Callable, inputs: Any, create_graph: bool = False, strict: bool = False) -> Any:
    """J[i][j] = d output_i / d input_j, of shape output_i.shape + input_j.shape; a single
    tensor for one input and one output, a tuple (of tuples) otherwise, as in PyTorch."""
    in_tuple, xs = _as_tuple(inputs, "input", "jacobian")
    with enable_grad():
        xs = _leaves(xs, create_graph)
        out_tuple, outs = _call(func, xs, "jacobian")
        blocks = []
        for o in outs:
            rows: list = [[] for _ in xs]
            for k in range(o.size):
                seed = np.zeros(o.size, dtype=o.dtype)
                seed[k] = 1
                row = _grads_or_zeros([o], xs, [Tensor(seed.reshape(o.shape))], create_graph,
                                      strict, "jacobian")
                for j, r in enumerate(row):
                    rows[j].append(r)
            blocks.append(tuple(_stack_rows(r, o.shape, x.shape) for r, x in zip(rows, xs)))
    per_output = [_unwrap(b, in_tuple) for b in blocks]
    return tuple(per_output) if out_tuple else per_output[0]


def _stack_rows(rows: list, out_shape: tuple, in_shape: tuple) -> Tensor:
    from minigrad.ops import stack
    if not rows:
        return Tensor(np.zeros(out_shape + in_shape))
    return stack(rows).reshape(out_shape + in_shape)


def hessian(func: Callable, inputs: Any, create_graph: bool = False, strict: bool = False) -> Any:
    """H[i][j] = d^2 func / d input_i d input_j for a single-element output, of shape
    input_i.shape + input_j.shape (a single tensor for one input)."""
    in_tuple, xs = _as_tuple(inputs, "input", "hessian")

    def gradient(*ys: Tensor) -> tuple:
        _, outs = _call(func, ys, "hessian")
        if len(outs) != 1 or outs[0].size != 1:
            raise RuntimeError(f"hessian: func must return a single-element tensor, got shape "
                               f"{outs[0].shape}")
        g = _grads_or_zeros(outs, ys, [Tensor(np.ones_like(outs[0].data))], True, strict,
                            "hessian")
        return g if in_tuple else g[0]

    return jacobian(gradient, xs if in_tuple else xs[0], create_graph=create_graph, strict=strict)


def hvp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple:
    """(func(inputs), H v) for a single-element func: d/dx (grad f(x) . v), two backwards."""
    in_tuple, xs = _as_tuple(inputs, "input", "hvp")
    vs = _check_v(v, xs, "hvp", "inputs")
    with enable_grad():
        xs = _leaves(xs, create_graph)
        _, outs = _call(func, xs, "hvp")
        if len(outs) != 1 or outs[0].size != 1:
            raise RuntimeError(f"hvp: func must return a single-element tensor, got shape "
                               f"{outs[0].shape}")
        g = _grads_or_zeros(outs, xs, [Tensor(np.ones_like(outs[0].data))], True, strict, "hvp")
        terms = [(gi, vi) for gi, vi in zip(g, vs) if gi.requires_grad]
        if not terms:
            result = tuple(Tensor._make(np.zeros_like(x.data), False, None) for x in xs)
        else:
            dot = sum(((gi * vi).sum() for gi, vi in terms[1:]), (terms[0][0] * terms[0][1]).sum())
            result = _grads_or_zeros([dot], xs, [Tensor(np.ones_like(dot.data))], create_graph,
                                     strict, "hvp")
    out = outs[0] if create_graph else outs[0].detach()
    return out, _unwrap(result, in_tuple)


def vhp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple:
    """(func(inputs), v^T H): equal to hvp, as the Hessian of a smooth function is symmetric."""
    return hvp(func, inputs, v, create_graph=create_graph, strict=strict)
