"""Stochastic gradient descent with optional momentum, Nesterov momentum and weight decay."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from minigrad.autograd.grad_mode import state as _grad_mode

from .optimizer import (Optimizer, check_buffer, check_non_negative, check_state_keys,
                        effective_grad)

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""Stochastic gradient descent (optionally with momentum), as ``torch.optim.SGD``.

    Each step, for every parameter :math:`p` whose gradient :math:`\nabla` is not None:

    .. math::
        g &\leftarrow -\nabla \text{ if maximize, else } \nabla \\
        g &\leftarrow g + \lambda p                                   && (\lambda \ne 0) \\
        b &\leftarrow g \text{ on the first step, else } \mu b + (1 - \tau) g
                                                                      && (\mu \ne 0) \\
        g &\leftarrow g + \mu b \text{ if nesterov, else } b          && (\mu \ne 0) \\
        p &\leftarrow p - \gamma g

    with :math:`\gamma` = ``lr``, :math:`\mu` = ``momentum``, :math:`\tau` = ``dampening``
    and :math:`\lambda` = ``weight_decay``. The buffer :math:`b` is kept in
    ``state[p]["momentum_buffer"]``. Note that the learning rate multiplies the whole
    velocity (:math:`p \leftarrow p - \gamma b`), not each gradient as it enters it.

    Parameters
    ----------
    params : iterable
        Parameters, or dicts defining parameter groups.
    lr : float
        Learning rate.
    momentum : float
        Momentum factor; 0 disables momentum.
    dampening : float
        Fraction of each new gradient held back from the momentum buffer.
    nesterov : bool
        Use Nesterov momentum (needs ``momentum > 0`` and ``dampening == 0``).
    weight_decay : float
        L2 penalty, added to the gradient.
    maximize : bool
        Maximise the objective instead of minimising it.
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, momentum: float = 0,
                 dampening: float = 0, nesterov: bool = False, weight_decay: float = 0,
                 maximize: bool = False) -> None:
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening,
                    "nesterov": nesterov, "weight_decay": weight_decay, "maximize": maximize}
        super().__init__(params, defaults)

    def _check_options(self, options: dict) -> None:
        for name in ("lr", "momentum", "dampening", "weight_decay"):
            check_non_negative("SGD", name, options[name])
        if options["nesterov"] and (options["momentum"] <= 0 or options["dampening"] != 0):
            raise ValueError("SGD: nesterov=True requires momentum > 0 and dampening == 0, "
                             f"got momentum={options['momentum']}, "
                             f"dampening={options['dampening']}")

    def _check_state(self, where: str, state: dict, param: Any) -> None:
        check_state_keys("SGD", where, state, required=(), optional=("momentum_buffer",))
        if state.get("momentum_buffer") is not None:
            check_buffer("SGD", where, "momentum_buffer", state["momentum_buffer"])

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient. ``closure``, if given, is called
        first and its result (the loss) returned."""
        loss = None if closure is None else closure()
        if _grad_mode.s.tracer is not None:  # minigrad.compile is capturing: it notes the update
            _grad_mode.s.tracer.optimizer_step(self)
        for group in self.param_groups:
            # Python floats, so that float32 arrays are not promoted (NEP 50).
            lr = float(group["lr"])
            momentum = float(group["momentum"])
            dampening = float(group["dampening"])
            weight_decay = float(group["weight_decay"])
            nesterov, maximize = group["nesterov"], group["maximize"]
            for p in group["params"]:
                if p._grad is None:
                    continue
                g, owned = effective_grad(p, weight_decay, maximize, self)
                if momentum != 0:
                    state = self.state.get(p)
                    buf = None if state is None else state.get("momentum_buffer")
                    if buf is None:
                        buf = np.array(g, dtype=p.data.dtype)
                        self.state.setdefault(p, {})["momentum_buffer"] = buf
                    else:
                        buf *= momentum
                        buf += g if dampening == 0 else (1 - dampening) * g
                    if nesterov:
                        ahead = buf * momentum
                        ahead += g
                        g, owned = ahead, True
                    else:
                        g, owned = buf, False
                if owned:
                    g *= lr
                    p.data -= g
                else:
                    p.data -= lr * g
        return loss
