"""`gradcheck` and `gradgradcheck`: compare analytic derivatives with central finite
differences, the first derivatives of a function, and the second (the finite differences
of the engine's own first derivatives)."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from minigrad.autograd.engine import grad
from minigrad.tensor import Tensor

__all__ = ["GradcheckError", "gradcheck", "gradgradcheck"]


class GradcheckError(AssertionError):
    """An analytic gradient disagrees with its finite-difference estimate."""


def _scalar_projection(outputs: Any, weights: list | None) -> tuple:
    """Reduce the output(s) to one number: sum(out_k * w_k) with fixed random weights w_k.

    A random projection of the Jacobian is as strict as the whole Jacobian (a wrong entry
    survives only by a measure-zero accident) and costs one backward instead of one per output.
    """
    outs = outputs if isinstance(outputs, (tuple, list)) else (outputs,)
    outs = [o for o in outs if isinstance(o, Tensor)]
    if not outs:
        raise TypeError("gradcheck: fn must return a Tensor or a tuple of Tensors")
    if weights is None:
        rng = np.random.default_rng(0)
        weights = [rng.uniform(0.5, 1.5, o.shape) * rng.choice([-1.0, 1.0], o.shape) for o in outs]
    total = None
    for o, w in zip(outs, weights):
        term = (o * w).sum()
        total = term if total is None else total + term
    return total, weights


def _analytic(total: Tensor, wrt: list, create_graph: bool = False) -> list:
    """d total / d each of `wrt` from the engine; zeros where total does not depend on it."""
    if not total.requires_grad:
        found: tuple = (None,) * len(wrt)
    else:
        found = grad(total, wrt, allow_unused=True, create_graph=create_graph)
    return [Tensor._make(np.zeros_like(x.data), False, None) if g is None else g
            for g, x in zip(found, wrt)]


def gradcheck(fn: Callable[..., Any], inputs: Sequence[Any], eps: float = 1e-6,
              atol: float = 1e-5, rtol: float = 1e-3) -> bool:
    """Check d fn(*inputs) / d input for every input that requires grad, in float64.

    Each element x_i is moved by +-eps; the estimate (f(x + eps) - f(x - eps)) / (2 eps) must
    match the analytic gradient within atol + rtol * |estimate|. Returns True, or raises
    `GradcheckError` naming the input, the worst element's index and both values.
    """
    originals = [x if isinstance(x, Tensor) else Tensor(x) for x in inputs]
    checked = [i for i, x in enumerate(originals) if x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad; pass tensors with requires_grad=True")
    work = [Tensor(x.data, dtype=np.float64 if x.dtype.kind == "f" else x.dtype,
                   requires_grad=x.requires_grad, name=x.name) for x in originals]

    total, weights = _scalar_projection(fn(*work), None)
    analytic = [g.data.copy() for g in _analytic(total, [work[i] for i in checked])]

    for slot, i in enumerate(checked):
        x = work[i].data
        numeric = np.empty_like(x)
        for index in np.ndindex(x.shape):
            saved = x[index]
            x[index] = saved + eps
            plus = _scalar_projection(fn(*work), weights)[0].item()
            x[index] = saved - eps
            minus = _scalar_projection(fn(*work), weights)[0].item()
            x[index] = saved
            numeric[index] = (plus - minus) / (2 * eps)
        excess = np.abs(analytic[slot] - numeric) - (atol + rtol * np.abs(numeric))
        excess = np.where(np.isnan(excess), np.inf, excess)
        if excess.size and excess.max() > 0:
            worst = np.unravel_index(int(np.argmax(excess)), x.shape)
            label = f"input {i}" + (f" ({work[i].name!r})" if work[i].name else "")
            raise GradcheckError(
                f"gradcheck: the gradient of {label}, shape {x.shape}, is wrong at index "
                f"{tuple(int(j) for j in worst)}: analytic {analytic[slot][worst]!r}, "
                f"finite difference {numeric[worst]!r} (eps={eps}, atol={atol}, rtol={rtol})")
    return True


def gradgradcheck(fn: Callable[..., Any], inputs: Sequence[Any], eps: float = 1e-6,
                  atol: float = 1e-5, rtol: float = 1e-3) -> bool:
    """Check the second derivatives of fn: the engine's first derivatives (recorded with
    create_graph=True, under a fixed random projection of fn's outputs) are themselves
    gradchecked, i.e. differentiated by the engine and compared with finite differences."""
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    weights: list = []

    def first_derivatives(*xs: Tensor) -> tuple:
        total, w = _scalar_projection(fn(*xs), weights[0] if weights else None)
        if not weights:
            weights.append(w)
        return tuple(_analytic(total, [xs[i] for i in checked], create_graph=True))

    try:
        return gradcheck(first_derivatives, inputs, eps=eps, atol=atol, rtol=rtol)
    except GradcheckError as err:
        raise GradcheckError(f"gradgradcheck (second derivatives): {err}") from None
