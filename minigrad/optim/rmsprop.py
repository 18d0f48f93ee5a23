"""RMSprop, with optional momentum, centring, L2 weight decay and maximisation."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from minigrad.optim.optimizer import Optimizer, check_non_negative, effective_grad

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""RMSprop (Hinton's lecture 6e), as ``torch.optim.RMSprop``.

    Each step, for every parameter :math:`p` whose gradient :math:`\nabla` is not None:

    .. math::
        g &\leftarrow -\nabla \text{ if maximize, else } \nabla \\
        g &\leftarrow g + \lambda p                                  && (\lambda \ne 0) \\
        v &\leftarrow \alpha v + (1 - \alpha) g^2 \\
        \bar g &\leftarrow \alpha \bar g + (1 - \alpha) g            && \text{(centered)} \\
        d &\leftarrow \sqrt{v - \bar g^2} + \epsilon \text{ if centered, else } \sqrt{v} + \epsilon \\
        b &\leftarrow \mu b + g / d, \quad p \leftarrow p - \gamma b  && (\mu > 0) \\
        p &\leftarrow p - \gamma g / d                               && (\mu = 0)

    with :math:`\gamma` = ``lr``, :math:`\alpha` = ``alpha``, :math:`\mu` = ``momentum`` and
    :math:`\lambda` = ``weight_decay``; :math:`v`, :math:`\bar g`, :math:`b` start at 0 and are
    kept in ``state[p]`` as ``"square_avg"``, ``"grad_avg"`` and ``"momentum_buffer"``, the
    step count as ``"step"``. Centering divides by an estimate of the gradient's standard
    deviation instead of its root mean square.
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0, momentum: float = 0,
                 centered: bool = False, maximize: bool = False) -> None:
        defaults = {"lr": lr, "alpha": alpha, "eps": eps, "weight_decay": weight_decay,
                    "momentum": momentum, "centered": centered, "maximize": maximize}
        super().__init__(params, defaults)

    def _check_options(self, options: dict) -> None:
        for name in ("lr", "alpha", "eps", "weight_decay", "momentum"):
            check_non_negative("RMSprop", name, options[name])
        if options["alpha"] > 1:
            raise ValueError(f"RMSprop: invalid alpha {options['alpha']}: must be in [0, 1]")

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient. ``closure``, if given, is called
        first and its result (the loss) returned."""
        loss = None if closure is None else closure()
        for group in self.param_groups:
            # Python floats, so that float32 arrays are not promoted (NEP 50).
            lr, alpha, eps = float(group["lr"]), float(group["alpha"]), float(group["eps"])
            weight_decay, momentum = float(group["weight_decay"]), float(group["momentum"])
            centered, maximize = group["centered"], group["maximize"]
            for p in group["params"]:
                if p._grad is None:
                    continue
                g, _ = effective_grad(p, weight_decay, maximize, self)
                state = self._state_of(p, momentum > 0, centered)
                state["step"] += 1
                v = state["square_avg"]
                v *= alpha
                v += (1 - alpha) * (g * g)
                if centered:
                    g_avg = state["grad_avg"]
                    g_avg *= alpha
                    g_avg += (1 - alpha) * g
                    denom = np.sqrt(v - g_avg * g_avg)
                else:
                    denom = np.sqrt(v)
                denom += eps
                if momentum > 0:
                    buf = state["momentum_buffer"]
                    buf *= momentum
                    buf += g / denom
                    p.data -= lr * buf
                else:
                    p.data -= lr * (g / denom)
        return loss

    def _state_of(self, p: Any, momentum: bool, centered: bool) -> dict:
        """``state[p]``, with zero buffers created on the first step that needs them."""
        state = self.state.get(p)
        if not state:
            state = self.state[p] = {"step": 0, "square_avg": np.zeros_like(p.data)}
        if momentum and "momentum_buffer" not in state:
            state["momentum_buffer"] = np.zeros_like(p.data)
        if centered and "grad_avg" not in state:
            state["grad_avg"] = np.zeros_like(p.data)
        return state
