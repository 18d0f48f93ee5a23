"""Loss modules: `GaussianKLLoss`, `GaussianNLLLoss` and `MSELoss`, each one fused graph node.

    loss_fn = nn.GaussianKLLoss()
    loss = loss_fn(pred, target)     # pred, target: (..., 2) = [mu, sigma]
    loss.backward()

The math and the gradients live in `minigrad.nn.functional`; these modules hold the options.
"""
from __future__ import annotations

from typing import Any

from minigrad.nn import functional as F
from minigrad.nn.module import Module
from minigrad.tensor import Tensor

__all__ = ["GaussianKLLoss", "GaussianNLLLoss", "MSELoss"]


class GaussianKLLoss(Module):
    """KL(P_gt || P_m) between Gaussians given as [mu, sigma] in the last axis, reduced.

    D = -1/2 + log(sigma_m / sigma_gt) + (sigma_gt^2 + (mu_gt - mu_m)^2) / (2 sigma_m^2)
    with pred = P_m (the model) and target = P_gt; the shapes broadcast, so a target of
    shape (2,) is one Gaussian for every row. The target gets gradients too if it requires them.
    """

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = F.check_reduction(type(self).__name__, reduction)

    def forward(self, pred: Any, target: Any) -> Tensor:
        return F.gaussian_kl_loss(pred, target, reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class GaussianNLLLoss(Module):
    """-log N(y; mu, sigma^2) = log sigma + (y - mu)^2 / (2 sigma^2) [+ log(2 pi)/2 if full].

    pred is (..., 2) = [mu, sigma] and y holds one sample per Gaussian (shape (...)).
    Unlike torch.nn.GaussianNLLLoss, which takes the variance, pred holds the standard
    deviation sigma. With eps > 0, sigma is raised to at least eps (gradient passed straight
    through, as PyTorch does with its variance); with eps = 0 sigma must be positive.
    """

    def __init__(self, full: bool = False, eps: float = 0.0, reduction: str = "mean") -> None:
        super().__init__()
        if eps < 0:
            raise ValueError(f"GaussianNLLLoss: eps must be >= 0, got {eps}")
        self.full, self.eps = bool(full), float(eps)
        self.reduction = F.check_reduction(type(self).__name__, reduction)

    def forward(self, pred: Any, y: Any, *extra: Any) -> Tensor:
        if extra:
            # torch.nn.GaussianNLLLoss is called as (input, target, var); say how ours differs
            raise TypeError(
                f"GaussianNLLLoss takes (pred, y), got {2 + len(extra)} arguments: "
                f"PyTorch's (mu, y, var) call does not apply. minigrad packs the Gaussian into "
                f"one pred of shape (..., 2) = [mu, sigma], with sigma the standard deviation, "
                f"not the variance: loss_fn(mg.stack([mu, var ** 0.5], axis=-1), y)")
        return F.gaussian_nll_loss(pred, y, full=self.full, eps=self.eps,
                                   reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"full={self.full}, eps={self.eps}, reduction={self.reduction!r}"


class MSELoss(Module):
    """(pred - y)^2 averaged (or summed, or kept elementwise); pred and y broadcast."""

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = F.check_reduction(type(self).__name__, reduction)

    def forward(self, pred: Any, y: Any) -> Tensor:
        return F.mse_loss(pred, y, reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"
