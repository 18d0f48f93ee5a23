"""Adam, with optional L2 weight decay, AMSGrad and maximisation."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import math

import numpy as np

from minigrad.autograd.grad_mode import state as _grad_mode

from .optimizer import (Optimizer, check_buffer, check_non_negative, check_real,
                        check_state_keys, check_step, effective_grad)

__all__ = ["Adam"]


class Adam(Optimizer):
    r"""Adam (Kingma and Ba, 2014), as ``torch.optim.Adam``.

    Each step, for every parameter :math:`p` whose gradient :math:`\nabla` is not None,
    with :math:`t` the number of steps taken for :math:`p` including this one:

    .. math::
        g &\leftarrow -\nabla \text{ if maximize, else } \nabla \\
        g &\leftarrow g + \lambda p                             && (\lambda \ne 0) \\
        m &\leftarrow \beta_1 m + (1 - \beta_1) g \\
        v &\leftarrow \beta_2 v + (1 - \beta_2) g^2 \\
        v^{max} &\leftarrow \max(v^{max}, v)                    && \text{(amsgrad)} \\
        p &\leftarrow p - \gamma \, \frac{m / (1 - \beta_1^t)}
                                       {\sqrt{u / (1 - \beta_2^t)} + \epsilon}

    where :math:`u = v^{max}` with amsgrad and :math:`u = v` without, :math:`\gamma` =
    ``lr`` and :math:`\lambda` = ``weight_decay``; :math:`m`, :math:`v`, :math:`v^{max}`
    start at 0. They are kept in ``state[p]`` as ``"exp_avg"``, ``"exp_avg_sq"`` and
    ``"max_exp_avg_sq"``, and :math:`t` as ``"step"``. As in PyTorch (since its docs fix
    of 2024), AMSGrad takes the maximum of the raw :math:`v` and bias-corrects it after.

    Parameters
    ----------
    params : iterable
        Parameters, or dicts defining parameter groups.
    lr : float
        Learning rate.
    betas : (float, float)
        Decay rates of the running averages of the gradient and of its square.
    eps : float
        Added to the denominator for numerical stability.
    weight_decay : float
        L2 penalty, added to the gradient (for decoupled decay use AdamW).
    amsgrad : bool
        Use the AMSGrad variant (Reddi et al., 2018).
    maximize : bool
        Maximise the objective instead of minimising it.
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, maximize: bool = False) -> None:
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "amsgrad": amsgrad, "maximize": maximize}
        super().__init__(params, defaults)

    def _check_options(self, options: dict) -> None:
        owner = type(self).__name__
        for name in ("lr", "eps", "weight_decay"):
            check_non_negative(owner, name, options[name])
        betas = options["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"{owner}: invalid betas {betas!r}: must be a pair (beta1, beta2)")
        for i, beta in enumerate(betas):
            check_real(owner, f"betas[{i}]", beta)
            if not 0 <= beta < 1:
                raise ValueError(f"{owner}: invalid betas[{i}] {beta}: must be in [0, 1)")

    def _state_of(self, p: Any, amsgrad: bool) -> dict:
        """``state[p]``, created with zero moments on the parameter's first step."""
        state = self.state.get(p)
        if not state:
            state = self.state[p] = {"step": 0, "exp_avg": np.zeros_like(p.data),
                                     "exp_avg_sq": np.zeros_like(p.data)}
        if amsgrad and "max_exp_avg_sq" not in state:
            state["max_exp_avg_sq"] = np.zeros_like(p.data)
        return state

    def _check_state(self, where: str, state: dict, param: Any) -> None:
        owner = type(self).__name__
        check_state_keys(owner, where, state, required=("step", "exp_avg", "exp_avg_sq"),
                         optional=("max_exp_avg_sq",))
        check_step(owner, where, state["step"])
        check_buffer(owner, where, "exp_avg", state["exp_avg"])
        check_buffer(owner, where, "exp_avg_sq", state["exp_avg_sq"], non_negative=True)
        if "max_exp_avg_sq" in state:
            check_buffer(owner, where, "max_exp_avg_sq", state["max_exp_avg_sq"],
                         non_negative=True)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient. ``closure``, if given, is called
        first and its result (the loss) returned."""
        loss = None if closure is None else closure()
        if _grad_mode.s.tracer is not None:  # minigrad.compile is capturing: it notes the update
            _grad_mode.s.tracer.optimizer_step(self)
        for group in self.param_groups:
            # Python floats, so that float32 arrays are not promoted (NEP 50).
            lr, eps = float(group["lr"]), float(group["eps"])
            beta1, beta2 = (float(b) for b in group["betas"])
            weight_decay = float(group["weight_decay"])
            amsgrad, maximize = group["amsgrad"], group["maximize"]
            for p in group["params"]:
                if p._grad is None:
                    continue
                g = self._decay(p, lr, weight_decay, maximize)
                adam_update(p, g, self._state_of(p, amsgrad), lr, beta1, beta2, eps, amsgrad)
        return loss

    def _decay(self, p: Any, lr: float, weight_decay: float, maximize: bool) -> np.ndarray:
        """The gradient Adam's moments see: +-grad + weight_decay * p (L2, in the gradient).
        AdamW decays ``p`` itself instead."""
        g, _ = effective_grad(p, weight_decay, maximize, self)
        return g


def adam_update(p: Any, g: np.ndarray, state: dict, lr: float, beta1: float, beta2: float,
                eps: float, amsgrad: bool) -> None:
    """One Adam update of ``p.data`` in place from the (already decayed/negated) gradient ``g``:
    the moment updates and the bias-corrected step of ``Adam``'s docstring. Shared by AdamW."""
    state["step"] = t = state["step"] + 1
    m, v = state["exp_avg"], state["exp_avg_sq"]
    work = np.empty_like(p.data)  # the one scratch array of this update

    m *= beta1
    m += np.multiply(g, 1 - beta1, out=work)
    v *= beta2
    np.multiply(g, g, out=work)
    work *= 1 - beta2
    v += work
    if amsgrad:
        v = np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])

    denom = np.sqrt(v, out=work)
    denom /= math.sqrt(1 - beta2 ** t)
    denom += eps
    update = np.divide(m, denom, out=work)
    update *= lr / (1 - beta1 ** t)
    p.data -= update
