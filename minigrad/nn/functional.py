"""Loss functions as fused graph nodes: Gaussian KL, Gaussian NLL and mean squared error.

Each loss is ONE `Function` (reduction included) whose backward is the hand-derived
gradient, so the graph keeps only the loss's inputs instead of every intermediate of a
composed expression. A Gaussian is packed as `[mu, sigma]` in the last axis (sigma is the
standard deviation, not the variance). The `nn.*Loss` modules call the functions below.
"""
from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from minigrad.autograd import Function
from minigrad.tensor import Tensor

REDUCTIONS = ("mean", "sum", "none")
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


# ---- validation (one vectorised pass per check; the details only on the failure path) ---

def check_reduction(op: str, reduction: str) -> str:
    if reduction not in REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of 'mean', 'sum' or 'none', "
                         f"got {reduction!r}")
    return reduction


def _index_text(index: tuple) -> str:
    return f"row {index[0]}" if len(index) == 1 else f"index {index}"


def _check_packed(op: str, label: str, x: np.ndarray) -> None:
    if x.ndim == 0 or x.shape[-1] != 2:
        raise ValueError(f"{op}: {label} must have shape (..., 2) holding [mu, sigma] in its "
                         f"last axis, got shape {x.shape}; stack the mean and the standard "
                         f"deviation along the last axis")


def _broadcast_shape(op: str, labels: tuple, arrays: tuple) -> tuple:
    first = arrays[0].shape
    if all(a.shape == first for a in arrays):
        return first
    try:
        return np.broadcast_shapes(*(a.shape for a in arrays))
    except ValueError:
        shapes = ", ".join(f"{label} {a.shape}" for label, a in zip(labels, arrays))
        raise ValueError(f"{op}: the shapes do not broadcast: {shapes}; give them equal "
                         f"shapes or size-1 axes where one should be repeated") from None


def _check_finite(op: str, label: str, x: np.ndarray) -> None:
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        index = tuple(int(i) for i in np.argwhere(~np.isfinite(x))[0])
        raise ValueError(f"{op}: {label} contains a non-finite value ({float(x[index])}) at index "
                         f"{index}; find the op that made it with minigrad.detect_anomaly(), "
                         f"or lower the learning rate if training diverged")


def _check_sigma(op: str, label: str, sigma: np.ndarray, allow_zero: bool = False) -> None:
    """sigma must be > 0 (>= 0 if `allow_zero`); NaNs were already rejected."""
    if sigma.size == 0:
        return
    low = sigma.min()
    if low > 0 or (allow_zero and low == 0):
        return
    bad = sigma < 0 if allow_zero else sigma <= 0
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    where = f" at {_index_text(index)}" if index else ""
    bound = "< 0" if allow_zero else "<= 0"
    raise ValueError(f"{op}: {label} has sigma {bound}{where} (sigma = {float(sigma[index])}); "
                     f"sigma is a standard deviation and must be positive. Produce it with "
                     f"nn.GaussianHead (softplus keeps sigma positive), or use a smaller "
                     f"learning rate if an optimiser step drove it below zero")


def _all_positive(sigma: np.ndarray) -> bool:
    return sigma.size == 0 or bool(sigma.min() > 0)


_KL_LABELS = ("mu_m", "sigma_m", "mu_gt", "sigma_gt")


def _diagnose_kl(arrays: tuple, packed: bool) -> None:
    """Raise the message that names the bad input: non-finite values first, then sigma <= 0;
    if every input is fine, the loss itself overflowed."""
    op = GaussianKL.name
    if packed:
        finite = (("pred", arrays[0]), ("target", arrays[1]))
        sigmas = (("pred", arrays[0][..., 1]), ("target", arrays[1][..., 1]))
    else:
        finite = tuple(zip(_KL_LABELS, arrays))
        sigmas = (("sigma_m (the model's)", arrays[1]), ("sigma_gt (the target's)", arrays[3]))
    for label, x in finite:
        _check_finite(op, label, x)
    for label, sigma in sigmas:
        _check_sigma(op, label, sigma)
    raise ValueError(f"{op}: the loss is not finite although every input is (a sigma so small "
                     f"that 1/sigma^2 overflows, smallest sigma "
                     f"{min(float(s.min()) for _, s in sigmas if s.size)}); keep sigma "
                     f"away from 0, e.g. with nn.GaussianHead(min_sigma=...)")


def _reduce(loss: np.ndarray, reduction: str, count: int) -> np.ndarray:
    if reduction == "none":
        return loss
    total = np.add.reduce(loss, axis=None)  # what .sum() does, minus its Python wrapper
    return total / count if reduction == "mean" else total


def _grad_scale(ctx: Function, grad: np.ndarray) -> Any:
    """d(reduced)/d(each element) times the incoming gradient: a number, or an array for 'none'."""
    if ctx.reduction == "none":
        return grad
    return float(grad) / ctx.count if ctx.reduction == "mean" else float(grad)


def _constant_like(value: Any, like: Any) -> Any:
    """A Python number/list/array next to a tensor takes that tensor's floating dtype."""
    if isinstance(value, Tensor) or not isinstance(like, Tensor) or like.dtype.kind != "f":
        return value
    return Tensor._make(np.asarray(value, dtype=like.dtype), False, None)


def _first_tensor(*values: Any) -> Any:
    return next((v for v in values if isinstance(v, Tensor)), None)


# ---- KL(P_gt || P_m) between two Gaussians ------------------------------------------------

def _kl_value(mu_m, s_m, mu_gt, s_gt) -> np.ndarray:
    """D = (r^2 + z^2 - 1)/2 - log r  with r = s_gt/s_m and z = (mu_gt - mu_m)/s_m.

    This is the closed form -1/2 + log s_m - log s_gt + (s_gt^2 + (mu_gt - mu_m)^2)/(2 s_m^2)
    regrouped so that it needs one division, one log and three temporaries.
    """
    inv = np.divide(1.0, s_m)  # divisions cost several multiplications: do one, reuse it
    r = s_gt * inv
    z = mu_gt - mu_m
    z *= inv
    z *= z
    log_r = np.log(r, out=inv if type(inv) is np.ndarray and inv.shape == r.shape else None)
    r *= r
    r += z
    r -= 1.0
    r *= 0.5
    r -= log_r
    return r


def _kl_grads(mu_m, s_m, mu_gt, s_gt, scale, out_mu_m, out_s_m, out_mu_gt, out_s_gt) -> None:
    """Write each wanted partial derivative (times `scale`) into its `out_*` array (None: skip).

    dD/dmu_m = (mu_m - mu_gt)/s_m^2 = -z/s_m        dD/dmu_gt = -dD/dmu_m
    dD/ds_m  = 1/s_m - (s_gt^2 + (mu_gt - mu_m)^2)/s_m^3 = -(r^2 + z^2 - 1)/s_m
    dD/ds_gt = -1/s_gt + s_gt/s_m^2 = (r^2 - 1)/s_gt
    """
    inv = np.divide(1.0, s_m)
    z = mu_gt - mu_m
    z *= inv
    r = None
    if out_s_m is not None or out_s_gt is not None:
        r = s_gt * inv
        r *= r
    if type(scale) is float:  # a reduced loss: one number scales every element
        inv *= -scale
        neg_w = inv
    else:                     # 'none': the incoming gradient has the loss's shape
        neg_w = np.multiply(inv, scale)
        np.negative(neg_w, out=neg_w)
    if out_mu_m is not None or out_mu_gt is not None:
        mu_grad = np.multiply(z, neg_w, out=out_mu_m if out_mu_m is not None else out_mu_gt)
        if out_mu_gt is not None:
            np.negative(mu_grad, out=out_mu_gt)
    if out_s_gt is not None:  # the only other division, and only when the target learns
        np.subtract(r, 1.0, out=out_s_gt)
        out_s_gt *= scale
        out_s_gt /= s_gt
    if out_s_m is not None:
        z *= z
        r += z
        r -= 1.0
        np.multiply(r, neg_w, out=out_s_m)


class GaussianKL(Function):
    """KL(N(mu_gt, s_gt^2) || N(mu_m, s_m^2)), reduced, as one node.

    D = -1/2 + log s_m - log s_gt + (s_gt^2 + (mu_gt - mu_m)^2) / (2 s_m^2) per Gaussian pair.
    Inputs: (pred, target) packed as [mu, sigma] in the last axis (`packed=True`), or
    (mu_m, s_m, mu_gt, s_gt) broadcasting together (`packed=False`). Saves only its inputs.
    """

    name = "GaussianKLLoss"

    @staticmethod
    def forward(ctx, *arrays, packed=True, reduction="mean"):
        op = GaussianKL.name
        check_reduction(op, reduction)
        if packed:
            pred, target = arrays
            _check_packed(op, "pred", pred)
            _check_packed(op, "target", target)
            shape = (pred.shape if pred.shape == target.shape
                     else _broadcast_shape(op, ("pred", "target"), (pred, target)))[:-1]
            parts = (pred[..., 0], pred[..., 1], target[..., 0], target[..., 1])
        else:
            shape = _broadcast_shape(op, _KL_LABELS, arrays)
            parts = np.broadcast_arrays(*arrays)  # views, so every temporary has the full shape
        # Screen cheaply (a NaN sigma fails `min > 0` too; NaN/inf elsewhere makes the value
        # non-finite) and run the detailed checks, which name the culprit, only on failure.
        if not (_all_positive(parts[1]) and _all_positive(parts[3])):
            _diagnose_kl(arrays, packed)
        ctx.save_for_backward(*arrays)
        ctx.packed, ctx.reduction, ctx.count = packed, reduction, math.prod(shape)
        value = _reduce(_kl_value(*parts), reduction, ctx.count)
        if not (math.isfinite(value) if value.ndim == 0 else np.isfinite(value).all()):
            _diagnose_kl(arrays, packed)
        return value

    @staticmethod
    def backward(ctx, grad):
        scale = _grad_scale(ctx, grad)
        needs = ctx.needs_input_grad
        if ctx.packed:
            pred, target = ctx.saved_tensors
            parts = (pred[..., 0], pred[..., 1], target[..., 0], target[..., 1])
            shape = pred.shape if pred.shape == target.shape else np.broadcast_shapes(
                pred.shape, target.shape)
            dtype = pred.dtype if pred.dtype == target.dtype else np.result_type(pred, target)
            g_pred = np.empty(shape, dtype) if needs[0] else None
            g_target = np.empty(shape, dtype) if needs[1] else None
            outs = [None if g is None else g[..., k]
                    for g in (g_pred, g_target) for k in (0, 1)]
            _kl_grads(*parts, scale, *outs)
            return g_pred, g_target
        parts = np.broadcast_arrays(*ctx.saved_tensors)
        dtype = np.result_type(*parts)
        outs = [np.empty(parts[0].shape, dtype) if need else None for need in needs]
        _kl_grads(*parts, scale, *outs)
        return tuple(outs)


def gaussian_kl(mu_m: Any, sigma_m: Any, mu_gt: Any, sigma_gt: Any,
                reduction: str = "none") -> Tensor:
    """KL(N(mu_gt, sigma_gt^2) || N(mu_m, sigma_m^2)) elementwise; the four arguments broadcast.

    Unreduced by default. Numbers and arrays take the dtype of the first tensor argument.
    """
    like = _first_tensor(mu_m, sigma_m, mu_gt, sigma_gt)
    args = [_constant_like(a, like) for a in (mu_m, sigma_m, mu_gt, sigma_gt)]
    return GaussianKL.apply(*args, packed=False, reduction=reduction)


def gaussian_kl_loss(pred: Any, target: Any, reduction: str = "mean") -> Tensor:
    """KL(target || pred), both [mu, sigma] in the last axis; their shapes broadcast."""
    return GaussianKL.apply(pred, _constant_like(target, pred), packed=True, reduction=reduction)


# ---- negative log-likelihood of samples under a Gaussian ---------------------------------

def _check_samples_shape(op: str, batch: tuple, y: np.ndarray, pred_label: str) -> tuple:
    """y must equal the batch shape, or one of them must broadcast to the other.

    Mutual stretching ((N,) with (N, 1) giving (N, N)) is almost always a shape bug, so it is
    refused rather than silently computing N^2 terms.
    """
    try:
        shape = np.broadcast_shapes(batch, y.shape)
    except ValueError:
        shape = None
    if shape is None or shape not in (batch, y.shape):
        raise ValueError(f"{op}: y has shape {y.shape} but {pred_label} has shape {batch}; "
                         f"they must be equal (or one broadcast to the other), e.g. y of shape "
                         f"{batch} for pred of shape {batch + (2,)}; reshape y "
                         f"(y.reshape({', '.join(map(str, batch)) or '-1'})) if it has an "
                         f"extra axis")
    return shape


class GaussianNLL(Function):
    """-log N(y; mu, sigma^2) = log sigma + (y - mu)^2 / (2 sigma^2) [+ log(2 pi)/2], reduced.

    pred holds [mu, sigma] (the standard deviation) in its last axis, y the samples.
    d/dmu = -(y - mu)/sigma^2,  d/dsigma = 1/sigma - (y - mu)^2/sigma^3,  d/dy = -d/dmu.
    With eps > 0, sigma is raised to at least eps and the gradient passes straight through.
    """

    name = "GaussianNLLLoss"

    @staticmethod
    def forward(ctx, pred, y, full=False, eps=0.0, reduction="mean"):
        op = GaussianNLL.name
        check_reduction(op, reduction)
        if eps < 0:
            raise ValueError(f"{op}: eps must be >= 0, got {eps}")
        _check_packed(op, "pred", pred)
        shape = _check_samples_shape(op, pred.shape[:-1], y, "pred[..., 0]")
        _check_finite(op, "pred", pred)
        _check_finite(op, "y", y)
        _check_sigma(op, "pred", pred[..., 1], allow_zero=eps > 0)
        ctx.save_for_backward(pred, y)
        ctx.eps, ctx.reduction, ctx.count = eps, reduction, math.prod(shape)
        mu, sigma = pred[..., 0], _floored(pred[..., 1], eps)
        loss = np.subtract(y, mu)
        loss /= sigma
        loss *= loss
        loss *= 0.5
        loss += np.log(sigma)
        if full:
            loss += _HALF_LOG_2PI
        return _reduce(loss, reduction, ctx.count)

    @staticmethod
    def backward(ctx, grad):
        pred, y = ctx.saved_tensors
        mu, sigma = pred[..., 0], _floored(pred[..., 1], ctx.eps)
        scale = _grad_scale(ctx, grad)
        z = np.subtract(y, mu)
        z /= sigma
        w = np.divide(scale, sigma)               # scale / sigma
        g_y = np.multiply(z, w)                   # (y - mu)/sigma^2, also -d/dmu
        g_pred = None
        if ctx.needs_input_grad[0]:
            g_pred = np.empty(g_y.shape + (2,), g_y.dtype)
            np.negative(g_y, out=g_pred[..., 0])
            z *= z
            np.subtract(1.0, z, out=z)
            np.multiply(z, w, out=g_pred[..., 1])  # (1 - z^2)/sigma
        return g_pred, (g_y if ctx.needs_input_grad[1] else None)


def _floored(sigma: np.ndarray, eps: float) -> np.ndarray:
    return np.maximum(sigma, eps) if eps > 0 else sigma


def gaussian_nll_loss(pred: Any, y: Any, full: bool = False, eps: float = 0.0,
                      reduction: str = "mean") -> Tensor:
    """-log N(y; mu, sigma^2): pred = [mu, sigma] in the last axis, y of shape pred.shape[:-1]."""
    return GaussianNLL.apply(pred, _constant_like(y, pred), full=full, eps=eps,
                             reduction=reduction)


# ---- mean squared error ------------------------------------------------------------------

class MSE(Function):
    """(pred - y)^2, reduced;  d/dpred = 2 (pred - y), d/dy = -2 (pred - y)."""

    name = "MSELoss"

    @staticmethod
    def forward(ctx, pred, y, reduction="mean"):
        op = MSE.name
        check_reduction(op, reduction)
        shape = _broadcast_shape(op, ("pred", "y"), (pred, y))
        if shape not in (pred.shape, y.shape):
            warnings.warn(f"{op}: pred {pred.shape} and y {y.shape} broadcast to {shape}, "
                          f"larger than either; this is usually a shape mistake", stacklevel=4)
        _check_finite(op, "pred", pred)
        _check_finite(op, "y", y)
        ctx.save_for_backward(pred, y)
        ctx.reduction, ctx.count = reduction, math.prod(shape)
        diff = np.subtract(pred, y)
        diff *= diff  # squared in place: the one temporary
        return _reduce(diff, reduction, ctx.count)

    @staticmethod
    def backward(ctx, grad):
        pred, y = ctx.saved_tensors
        g = np.subtract(pred, y)
        scale = _grad_scale(ctx, grad)
        if type(scale) is float:
            g *= 2.0 * scale
        else:
            g *= 2.0
            g *= scale
        g_y = np.negative(g) if ctx.needs_input_grad[1] else None
        return (g if ctx.needs_input_grad[0] else None), g_y


def mse_loss(pred: Any, y: Any, reduction: str = "mean") -> Tensor:
    """Mean (or sum, or elementwise) squared error (pred - y)^2; pred and y broadcast."""
    return MSE.apply(pred, _constant_like(y, pred), reduction=reduction)


# ---- the functional forms a PyTorch user reaches for (torch.nn.functional's names) --------
# Re-exported here so that `import minigrad.nn.functional as F` gives F.relu, F.linear, ...
# (`name as name` marks each as a deliberate re-export for linters and type checkers)
from minigrad.ops import log_softmax as log_softmax, relu as relu  # noqa: E402
from minigrad.ops import sigmoid as sigmoid, softmax as softmax  # noqa: E402
from minigrad.ops import softplus as softplus, tanh as tanh  # noqa: E402
from minigrad.nn.layers import linear as linear  # noqa: E402
from minigrad.nn.dropout import dropout as dropout  # noqa: E402
