"""AdamW: Adam with weight decay decoupled from the gradient."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from minigrad.optim.adam import Adam
from minigrad.optim.optimizer import effective_grad

__all__ = ["AdamW"]


class AdamW(Adam):
    r"""AdamW (Loshchilov and Hutter, 2019), as ``torch.optim.AdamW``.

    Each step, for every parameter :math:`p` whose gradient :math:`\nabla` is not None:

    .. math::
        g &\leftarrow -\nabla \text{ if maximize, else } \nabla \\
        p &\leftarrow p - \gamma \lambda p \\
        &\text{then Adam's update of } p \text{ from } g \text{ (no } \lambda \text{ term)}

    The decay shrinks the weights directly, scaled by the learning rate, instead of being
    added to the gradient where Adam's normalisation would rescale it. Same options, state
    and AMSGrad variant as ``Adam``; only ``weight_decay`` defaults to 1e-2, as in PyTorch.
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False,
                 maximize: bool = False) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize)

    def _decay(self, p: Any, lr: float, weight_decay: float, maximize: bool) -> np.ndarray:
        """p <- p - lr * weight_decay * p, then the gradient without a decay term."""
        g, _ = effective_grad(p, 0.0, maximize, self)  # ticks p's version before the change below
        if weight_decay != 0:
            p.data *= 1 - lr * weight_decay
        return g
