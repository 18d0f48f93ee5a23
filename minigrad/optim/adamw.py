"""AdamW: Adam with weight decay decoupled from the gradient."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from minigrad.optim.adam import Adam, adam_update
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

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient. ``closure``, if given, is called
        first and its result (the loss) returned."""
        loss = None if closure is None else closure()
        for group in self.param_groups:
            # Python floats, so that float32 arrays are not promoted (NEP 50).
            lr, eps = float(group["lr"]), float(group["eps"])
            beta1, beta2 = (float(b) for b in group["betas"])
            weight_decay = float(group["weight_decay"])
            amsgrad, maximize = group["amsgrad"], group["maximize"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                self._check_grad(p)
                g, _ = effective_grad(p, 0.0, maximize)  # decay is not part of the gradient
                if weight_decay != 0:
                    p.data *= 1 - lr * weight_decay
                adam_update(p, g, self._state_of(p, amsgrad), lr, beta1, beta2, eps, amsgrad)
        return loss
