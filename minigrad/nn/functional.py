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

from minigrad import kernels
from minigrad.autograd import Function
from minigrad.ops.shape import Stack
from minigrad.tensor import Tensor

__all__ = [
    "MSE", "GaussianKL", "GaussianNLL", "dropout", "gaussian_kl", "gaussian_kl_loss",
    "gaussian_mixture_nll_loss", "gaussian_nll_loss", "linear", "log_softmax",
    "mixture_kl_upper_bound", "mixture_kl_variational", "mse_loss",
    "multivariate_gaussian_kl_loss", "multivariate_gaussian_nll_loss", "relu", "sigmoid",
    "softmax", "softplus", "tanh",
]

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
    """sigma must be a positive normal number (>= 0 if `allow_zero`); NaNs were already
    rejected. A subnormal sigma is refused too: 1/sigma, and so the gradient, overflows."""
    if sigma.size == 0:
        return
    tiny = np.finfo(sigma.dtype).tiny if sigma.dtype.kind == "f" else 0.0
    low = sigma.min()
    if low >= tiny or (allow_zero and low == 0):
        return
    bad = ((sigma < 0) | ((sigma > 0) & (sigma < tiny))) if allow_zero else sigma < tiny
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    where = f" at {_index_text(index)}" if index else ""
    value = float(sigma[index])
    if value > 0:
        raise ValueError(f"{op}: {label} has sigma = {value}{where}, below the smallest normal "
                         f"{sigma.dtype} ({tiny}), so 1/sigma and the gradient overflow; keep "
                         f"sigma away from 0, e.g. with nn.GaussianHead(min_sigma=...)")
    bound = "< 0" if allow_zero else "<= 0"
    raise ValueError(f"{op}: {label} has sigma {bound}{where} (sigma = {value}); "
                     f"sigma is a standard deviation and must be positive. Produce it with "
                     f"nn.GaussianHead (softplus keeps sigma positive), or use a smaller "
                     f"learning rate if an optimiser step drove it below zero")


_TINY = {np.dtype(t): np.finfo(t).tiny for t in (np.float16, np.float32, np.float64)}


def _all_normal(sigma: np.ndarray) -> bool:
    """Every sigma a positive normal number (NaN fails too): the cheap screen."""
    return sigma.size == 0 or bool(sigma.min() >= _TINY.get(sigma.dtype, 0.0))


_KL_LABELS = ("mu_m", "sigma_m", "mu_gt", "sigma_gt")


def _diagnose_kl(arrays: tuple, packed: bool) -> None:
    """Raise the message that names the bad input: non-finite values first, then sigma <= 0;
    if every input is fine, name the term that overflowed."""
    op = GaussianKL.name
    if packed:
        finite: tuple[tuple[str, Any], ...] = (("pred", arrays[0]), ("target", arrays[1]))
        parts = np.broadcast_arrays(arrays[0][..., 0], arrays[0][..., 1],
                                    arrays[1][..., 0], arrays[1][..., 1])
        sigmas = (("pred", parts[1]), ("target", parts[3]))
    else:
        finite = tuple(zip(_KL_LABELS, arrays))
        parts = np.broadcast_arrays(*arrays)
        sigmas = (("sigma_m (the model's)", parts[1]), ("sigma_gt (the target's)", parts[3]))
    for label, x in finite:
        _check_finite(op, label, x)
    for label, sigma in sigmas:
        _check_sigma(op, label, sigma)
    mu_m, s_m, mu_gt, s_gt = parts
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        z, r = (mu_gt - mu_m) / s_m, s_gt / s_m
        # the first element whose squares overflow, else the most extreme one
        score = np.where(np.isfinite(z * z + r * r), np.abs(z) + np.abs(r), np.inf)
    index: tuple[Any, ...] = (np.unravel_index(int(np.argmax(score)), score.shape)
                              if score.ndim else ())
    index = tuple(int(i) for i in index)
    where = f" at {_index_text(index)}" if index else ""
    zi, ri = float(z[index]), float(r[index])
    cause = (f"the means differ by {abs(zi):.3g} sigma_m (mu_gt - mu_m = "
             f"{float(mu_gt[index] - mu_m[index]):.3g}, sigma_m = {float(s_m[index]):.3g})"
             if abs(zi) >= abs(ri) else
             f"sigma_gt / sigma_m = {ri:.3g} (sigma_gt = {float(s_gt[index]):.3g}, sigma_m = "
             f"{float(s_m[index]):.3g})")
    raise ValueError(f"{op}: the loss overflows{where}: {cause}, so its square exceeds the "
                     f"largest {arrays[0].dtype} number; rescale the data (standardise the "
                     f"targets), or keep the model's sigma from collapsing "
                     f"(nn.GaussianHead(min_sigma=...))")


def _reduce(loss: np.ndarray, reduction: str, count: int) -> np.ndarray:
    if reduction == "none":
        return loss
    total = np.add.reduce(loss, axis=None)  # what .sum() does, minus its Python wrapper
    if reduction != "sum":
        total = total / count if count else total * np.nan  # a mean over nothing is NaN
    return np.asarray(total)  # a 0-d array, not a NumPy scalar


def _grad_scale(ctx: Any, grad: Any) -> Any:
    """d(reduced)/d(each element) times the incoming gradient (an array or a tensor, so that
    it stays differentiable): grad / count for 'mean', grad itself otherwise."""
    return grad / (ctx.count or 1) if ctx.reduction == "mean" else grad


def _constant_like(value: Any, like: Any) -> Any:
    """A Python number/list/array next to a tensor takes that tensor's floating dtype."""
    if isinstance(value, Tensor) or not isinstance(like, Tensor) or like.dtype.kind != "f":
        return value
    return Tensor._make(np.asarray(value, dtype=like.dtype), False, None)


def _first_tensor(*values: Any) -> Any:
    return next((v for v in values if isinstance(v, Tensor)), None)


def _unpack(pair: Any) -> tuple:
    """[mu, sigma] in the last axis -> (mu, sigma), on arrays or tensors alike."""
    return pair[..., 0], pair[..., 1]


# ---- KL(P_gt || P_m) between two Gaussians ------------------------------------------------

def _kl_terms(mu_m: Any, s_m: Any, mu_gt: Any, s_gt: Any) -> tuple:
    """z = (mu_gt - mu_m)/s_m, r = s_gt/s_m and d = (s_gt - s_m)/s_m = r - 1, so that
    r^2 - 1 = d (r + 1) is exactly 0 when the sigmas are equal, however extreme."""
    inv = 1 / s_m
    return (mu_gt - mu_m) * inv, s_gt * inv, (s_gt - s_m) * inv, inv


def _kl_value(mu_m: np.ndarray, s_m: np.ndarray, mu_gt: np.ndarray, s_gt: np.ndarray) -> np.ndarray:
    """D = (r^2 - 1 + z^2)/2 - log r with r = s_gt/s_m and z = (mu_gt - mu_m)/s_m: the closed
    form -1/2 + log s_m - log s_gt + (s_gt^2 + (mu_gt - mu_m)^2)/(2 s_m^2).

    Forward only, so it works in place. r is a true division, so equal sigmas give r = 1 and
    D = 0 exactly however extreme they are, and a tiny ratio's log does not underflow.
    """
    if not (mu_m.shape == s_m.shape == mu_gt.shape == s_gt.shape):
        mu_m, s_m, mu_gt, s_gt = np.broadcast_arrays(mu_m, s_m, mu_gt, s_gt)  # views
    r = np.divide(s_gt, s_m)
    log_r = np.log(r)
    z = np.subtract(mu_gt, mu_m)
    z /= s_m
    z *= z
    r *= r
    r += z
    r -= 1.0
    r *= 0.5
    r -= log_r
    return r


class GaussianKL(Function):
    """KL(N(mu_gt, s_gt^2) || N(mu_m, s_m^2)), reduced, as one node.

    D = -1/2 + log s_m - log s_gt + (s_gt^2 + (mu_gt - mu_m)^2) / (2 s_m^2) per Gaussian pair.
    With z = (mu_gt - mu_m)/s_m and r = s_gt/s_m:
        dD/dmu_m = -z/s_m          dD/dmu_gt = z/s_m
        dD/ds_m  = -(r^2 + z^2 - 1)/s_m         dD/ds_gt = (r^2 - 1)/s_gt
    Inputs: (pred, target) packed as [mu, sigma] in the last axis (`packed=True`), or
    (mu_m, s_m, mu_gt, s_gt) broadcasting together (`packed=False`). Saves only its inputs;
    its backward is written in NumPy that also runs on tensors, so it can be differentiated
    again (the Hessian in (mu_m, s_m) at the optimum is the Fisher information).
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
            parts = arrays
        # Screen cheaply (a NaN sigma fails `min >= tiny` too; NaN/inf elsewhere makes the
        # value non-finite) and run the detailed checks, which name the culprit, on failure.
        if not (_all_normal(parts[1]) and _all_normal(parts[3])):
            _diagnose_kl(arrays, packed)
        ctx.save_for_backward(*arrays)
        ctx.packed, ctx.reduction, ctx.count = packed, reduction, math.prod(shape)
        value = _reduce(_kl_value(*parts), reduction, ctx.count)
        if ctx.count and not (math.isfinite(value) if value.ndim == 0 else np.isfinite(value).all()):
            _diagnose_kl(arrays, packed)  # an inf or NaN anywhere reaches the reduced value
        return value

    @staticmethod
    def backward(ctx, grad):
        if ctx.packed and type(grad) is np.ndarray:
            pred, target = ctx.saved_tensors
            if pred.shape == target.shape and pred.dtype == target.dtype and pred.ndim > 1:
                # first order: the same formulas as below, in place (minigrad/kernels.py)
                scale = grad if ctx.reduction == "none" else float(grad) / (
                    ctx.count or 1 if ctx.reduction == "mean" else 1)
                return kernels.kl_grads(pred, target, scale, *ctx.needs_input_grad)
        scale = _grad_scale(ctx, grad)
        if ctx.packed:
            pred, target = ctx.saved_tensors
            parts = _unpack(pred) + _unpack(target)
        else:
            parts = ctx.saved_tensors
        z, r, d, inv = _kl_terms(*parts)
        w = scale * inv
        d_mu_m = -z * w
        d_s_m = -(d * (r + 1) + z * z) * w
        needs = ctx.needs_input_grad
        if ctx.packed:
            g_pred = Stack.on(d_mu_m, d_s_m, axis=-1) if needs[0] else None
            g_target = None
            if needs[1]:
                g_target = Stack.on(-d_mu_m, d * (r + 1) * scale / parts[3], axis=-1)
            return g_pred, g_target
        return (d_mu_m if needs[0] else None, d_s_m if needs[1] else None,
                -d_mu_m if needs[2] else None,
                d * (r + 1) * scale / parts[3] if needs[3] else None)


def gaussian_kl(mu_m: Any, sigma_m: Any, mu_gt: Any, sigma_gt: Any,
                reduction: str = "none") -> Tensor:
    """KL(N(mu_gt, sigma_gt^2) || N(mu_m, sigma_m^2)) elementwise; the four arguments broadcast.

    Unreduced by default. Numbers and arrays take the dtype of the first tensor argument.
    """
    like = _first_tensor(mu_m, sigma_m, mu_gt, sigma_gt)
    args = [_constant_like(a, like) for a in (mu_m, sigma_m, mu_gt, sigma_gt)]
    return GaussianKL.apply(*args, packed=False, reduction=reduction)


def gaussian_kl_loss(pred: Any, target: Any, reduction: str = "mean") -> Tensor:
    """KL(target || pred), both [mu, sigma] in the last axis; their shapes broadcast.

    For diagonal multivariate Gaussians give shape (..., D, 2) and sum the D terms:
    `gaussian_kl_loss(pred, target, reduction="none").sum(-1)`.
    """
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
    With z = (y - mu)/sigma:  d/dmu = -z/sigma,  d/dsigma = (1 - z^2)/sigma,  d/dy = z/sigma.
    With eps > 0, sigma is raised to at least eps and the gradient passes straight through.
    """

    name = "GaussianNLLLoss"

    @staticmethod
    def forward(ctx, pred, y, full=False, eps=0.0, reduction="mean"):
        op = GaussianNLL.name
        check_reduction(op, reduction)
        if not (math.isfinite(eps) and eps >= 0):
            raise ValueError(f"{op}: eps must be a finite number >= 0, got {eps}")
        _check_packed(op, "pred", pred)
        shape = _check_samples_shape(op, pred.shape[:-1], y, "pred[..., 0]")
        _check_finite(op, "pred", pred)
        _check_finite(op, "y", y)
        _check_sigma(op, "pred", pred[..., 1], allow_zero=eps > 0)
        ctx.save_for_backward(pred, y)
        ctx.eps, ctx.reduction, ctx.count = eps, reduction, math.prod(shape)
        mu, sigma = _unpack(pred)
        sigma = np.maximum(sigma, eps) if eps > 0 else sigma
        with np.errstate(over="ignore"):
            z = (y - mu) / sigma
            loss = 0.5 * z * z + np.log(sigma)
        if not np.isfinite(loss).all():
            index = tuple(int(i) for i in np.argwhere(~np.isfinite(np.broadcast_to(loss, shape)))[0])
            raise ValueError(
                f"{op}: the loss overflows at {_index_text(index)}: (y - mu)/sigma = "
                f"{float(np.broadcast_to(z, shape)[index]):.3g} with sigma = "
                f"{float(np.broadcast_to(sigma, shape)[index]):.3g}; sigma is far too small "
                f"for this error: standardise the targets, or raise sigma's floor "
                f"(nn.GaussianHead(min_sigma=...) or eps=...)")
        if full:
            loss = loss + _HALF_LOG_2PI
        return _reduce(loss, reduction, ctx.count)

    @staticmethod
    def backward(ctx, grad):
        pred, y = ctx.saved_tensors
        mu, sigma = _unpack(pred)
        # d/dsigma of the floored loss, passed straight through to the raw sigma (first
        # order); differentiated again, the floor's max routes nothing to a floored sigma
        sigma = np.maximum(sigma, ctx.eps) if ctx.eps > 0 else sigma
        z = (y - mu) / sigma
        w = _grad_scale(ctx, grad) / sigma
        g_y = z * w                                # (y - mu)/sigma^2, also -d/dmu
        g_pred = Stack.on(-g_y, (1 - z * z) * w, axis=-1) if ctx.needs_input_grad[0] else None
        return g_pred, (g_y if ctx.needs_input_grad[1] else None)


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
        g = 2 * (pred - y) * _grad_scale(ctx, grad)
        need_pred, need_y = ctx.needs_input_grad
        return (g if need_pred else None), (-g if need_y else None)


def mse_loss(pred: Any, y: Any, reduction: str = "mean") -> Tensor:
    """Mean (or sum, or elementwise) squared error (pred - y)^2; pred and y broadcast."""
    return MSE.apply(pred, _constant_like(y, pred), reduction=reduction)


# ---- re-exported from their own modules (mixtures, full-covariance Gaussians) -------------
# At the bottom: those modules import this one for the shared screening and reduction helpers.
from minigrad.nn.mixture import (gaussian_mixture_nll_loss, mixture_kl_upper_bound,  # noqa: E402
                                 mixture_kl_variational)
from minigrad.nn.multivariate import (multivariate_gaussian_kl_loss,  # noqa: E402
                                      multivariate_gaussian_nll_loss)

# ---- the functional forms a PyTorch user reaches for (torch.nn.functional's names) --------
# Re-exported here (and listed in __all__) so that `import minigrad.nn.functional as F` gives
# F.relu, F.linear, ...
from minigrad.ops import log_softmax, relu, sigmoid, softmax, softplus, tanh  # noqa: E402
from minigrad.nn.layers import linear  # noqa: E402
from minigrad.nn.dropout import dropout  # noqa: E402
