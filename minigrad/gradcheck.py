"""`gradcheck`: compare a function's analytic gradients with central finite differences."""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from minigrad.tensor import Tensor


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
    total.backward()
    analytic = [np.zeros_like(work[i].data) if work[i].grad is None else work[i].grad.copy()
                for i in checked]

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
                f"finite difference {numeric[worst]!r} (eps={eps}, atol={atol}, rtol={rtol})"
            )
    return True
