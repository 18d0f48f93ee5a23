"""Gradient clipping, as ``torch.nn.utils``: rescale or clamp ``.grad`` in place after
``backward()`` and before ``optimizer.step()``."""
from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from minigrad.tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def _grads(owner: str, parameters: Any) -> list:
    """The non-None ``.grad`` arrays of a tensor or an iterable of tensors."""
    if callable(getattr(parameters, "parameters", None)):
        raise TypeError(f"{owner}: got the {type(parameters).__name__} module itself; pass "
                        f"its parameters: {owner}(model.parameters(), ...)")
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float,
                    norm_type: float | str = 2.0, error_if_nonfinite: bool = False) -> Tensor:
    r"""Scale all gradients together so that their joint norm is at most ``max_norm``.

    The total norm is :math:`N = \lVert (\lVert g_1 \rVert_q, \ldots, \lVert g_k \rVert_q)
    \rVert_q`, the q-norm of every gradient element as one vector (q = ``norm_type``, "inf"
    for the largest magnitude). Each gradient is multiplied in place by
    :math:`\min(1, \text{max\_norm} / (N + 10^{-6}))`. Returns N as a 0-d tensor (the norm
    before clipping). ``error_if_nonfinite=True`` raises instead of scaling by a NaN or
    infinite norm (which would turn every gradient into NaN).
    """
    q = math.inf if norm_type in ("inf", "Inf") else float(norm_type)
    grads = _grads("clip_grad_norm_", parameters)
    if not grads:
        return Tensor(0.0)
    norms = np.array([np.linalg.norm(g.reshape(-1), ord=q) for g in grads])
    total = np.linalg.norm(norms, ord=q).astype(np.result_type(*grads), copy=False)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the "
                           f"gradients is {float(total)}, so they cannot be clipped; find the "
                           f"op that made a non-finite gradient with minigrad.detect_anomaly(), "
                           f"or pass error_if_nonfinite=False to scale by it anyway")
    coef = min(1.0, float(max_norm) / (float(total) + 1e-6))
    for g in grads:
        g *= coef
    return Tensor(total)


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clamp every gradient element into [-clip_value, clip_value], in place."""
    if not clip_value >= 0:
        raise ValueError(f"clip_grad_value_: clip_value must be >= 0, got {clip_value}")
    for g in _grads("clip_grad_value_", parameters):
        np.clip(g, -clip_value, clip_value, out=g)
