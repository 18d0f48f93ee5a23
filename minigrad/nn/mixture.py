"""Mixtures of one-dimensional Gaussians: the fused NLL node, the head, readers and KL bounds.

A mixture of K Gaussians is packed as (..., K, 3) holding [logit, mu, sigma] per component:
the weights are pi = softmax(logit) over the K axis, sigma is the standard deviation.

    head = nn.GaussianMixtureHead(64, n_components=3)     # features -> (..., 3, 3)
    loss = nn.GaussianMixtureNLLLoss()(head(h), y)         # y of shape (...)

The density is p(y) = sum_k pi_k N(y; mu_k, sigma_k^2). KL between two mixtures has no
closed form: `mixture_kl_upper_bound` and `mixture_kl_variational` are a bound and an
approximation, and are named so.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from minigrad.autograd import Function
from minigrad.nn import functional as F
from minigrad.nn.layers import Dense
from minigrad.nn.module import Module
from minigrad.ops.softmax import log_softmax
from minigrad.tensor import Tensor

__all__ = [
    "GaussianMixtureHead", "GaussianMixtureNLL", "GaussianMixtureNLLLoss",
    "GaussianMixtureParams", "gaussian_mixture_nll_loss", "mixture_density",
    "mixture_kl_upper_bound", "mixture_kl_variational", "mixture_mean", "mixture_mode",
    "mixture_sample", "mixture_variance", "mixture_weights",
]

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
_FIELDS = ("logit", "mu", "sigma")


# ---- kernels written with the ops a differentiable backward may use ----------------------

def _max_last(a: Any) -> Any:
    """max over the last axis, keeping it, from slices and np.maximum only (K is small)."""
    m = a[..., 0]
    for k in range(1, a.shape[-1]):
        m = np.maximum(m, a[..., k])
    return np.expand_dims(m, -1)


def _log_terms(pred: Any, y: Any) -> tuple:
    """a_k = log pi_k + log N(y; mu_k, sigma_k^2) per component (..., K), the log-weights
    log pi_k and z_k = (y - mu_k)/sigma_k; every step shifted so exp never overflows."""
    logit, mu, sigma = pred[..., 0], pred[..., 1], pred[..., 2]
    shifted = logit - _max_last(logit)
    log_pi = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    z = (np.expand_dims(y, -1) - mu) / sigma
    return log_pi - np.log(sigma) - 0.5 * z * z - _HALF_LOG_2PI, log_pi, z


# ---- screening: cheap checks first, the details (node, row, value) only on failure -------

def _row_text(index: tuple) -> str:
    if not index:
        return ""
    return f" at row {index[0]}" if len(index) == 1 else f" at index {index}"


def _check_layout(op: str, pred: np.ndarray, y: np.ndarray) -> tuple:
    if pred.ndim < 2 or pred.shape[-1] != 3 or pred.shape[-2] < 1:
        raise ValueError(f"{op}: pred must have shape (..., K, 3) holding [logit, mu, sigma] "
                         f"for each of K components, got shape {pred.shape}; produce it with "
                         f"nn.GaussianMixtureHead(in_features, K)")
    batch = pred.shape[:-2]
    try:
        shape = np.broadcast_shapes(batch, y.shape)
    except ValueError:
        shape = None
    if shape is None or shape not in (batch, y.shape):
        raise ValueError(f"{op}: y has shape {y.shape} but pred {pred.shape} describes a "
                         f"mixture per row of shape {batch}; y must have shape {batch} "
                         f"(one sample per mixture); reshape y if it has an extra axis")
    return shape


def _diagnose_mixture(op: str, pred: np.ndarray, y: np.ndarray, final: bool) -> None:
    """Name the first bad input (non-finite field, sigma <= 0, non-finite y); if none is bad
    and `final`, the loss itself is not finite (a sigma so small that 1/sigma^2 overflows)."""
    for k, field in enumerate(_FIELDS):
        part = pred[..., k]
        bad = ~np.isfinite(part)
        if bad.any():
            index = tuple(int(i) for i in np.argwhere(bad)[0])
            what = "mixture weight logit" if field == "logit" else field
            raise ValueError(f"{op}: pred has a non-finite {what} ({float(part[index])}) in "
                             f"component {index[-1]}{_row_text(index[:-1])}; find the op that "
                             f"made it with minigrad.detect_anomaly(), or lower the learning "
                             f"rate if training diverged")
    sigma = pred[..., 2]
    if sigma.size and not sigma.min() > 0:
        index = tuple(int(i) for i in np.argwhere(sigma <= 0)[0])
        raise ValueError(f"{op}: pred has sigma <= 0 in component {index[-1]}"
                         f"{_row_text(index[:-1])} (sigma = {float(sigma[index])}); sigma is a "
                         f"standard deviation and must be positive: produce pred with "
                         f"nn.GaussianMixtureHead (softplus keeps sigma positive)")
    bad = ~np.isfinite(y)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{op}: y contains a non-finite value ({float(y[index])})"
                         f"{_row_text(index)}; clean the targets before training")
    if final:
        raise ValueError(f"{op}: the loss is not finite although every input is (smallest "
                         f"sigma {float(sigma.min())}); keep sigma away from 0, e.g. with "
                         f"nn.GaussianMixtureHead(min_sigma=...)")


def scale_row_grad(ctx: Any, grad: Any, keep: int) -> Any:
    """d(reduced loss)/d(row loss) times grad, with `keep` trailing axes added for broadcasting.
    Shared by the fused mixture and multivariate losses (one loss per row, then a reduction)."""
    if ctx.reduction == "none":
        for _ in range(keep):
            grad = np.expand_dims(grad, -1)
        return grad
    return grad / ctx.count if ctx.reduction == "mean" else grad


# ---- the fused negative log-likelihood -----------------------------------------------------

class GaussianMixtureNLL(Function):
    """-log sum_k pi_k N(y; mu_k, sigma_k^2) per row, pi = softmax(logit), reduced; full
    constant included. pred is (..., K, 3) = [logit, mu, sigma], y is (...).

    With a_k = log pi_k + log N(y; mu_k, sigma_k^2), the loss is -logsumexp_k(a_k) and the
    responsibilities r_k = softmax_k(a_k) (how much component k explains y) give
        d/dlogit_k = pi_k - r_k,   d/dmu_k = -r_k z_k / sigma_k,
        d/dsigma_k = r_k (1 - z_k^2) / sigma_k,   d/dy = sum_k r_k z_k / sigma_k
    with z_k = (y - mu_k)/sigma_k. Both passes shift by the max before exp (log-sum-exp), so
    a y far from every component neither underflows to log 0 nor yields 0/0.
    Saves only its inputs; backward recomputes a_k from them.
    """

    name = "GaussianMixtureNLLLoss"

    @staticmethod
    def forward(ctx, pred, y, reduction="mean"):
        op = GaussianMixtureNLL.name
        F.check_reduction(op, reduction)
        shape = _check_layout(op, pred, y)
        # A NaN or inf anywhere in pred makes its sum non-finite (one pass, no bool array);
        # a NaN sigma fails `min > 0` too. Non-finite y shows up in the loss value.
        sigma = pred[..., 2]
        positive = sigma.size == 0 or sigma.min() > 0
        if not (positive and math.isfinite(np.add.reduce(pred, axis=None))):
            _diagnose_mixture(op, pred, y, final=False)
        ctx.save_for_backward(pred, y)
        ctx.reduction, ctx.count = reduction, math.prod(shape)
        with np.errstate(over="ignore", invalid="ignore"):  # a non-finite value is named below
            a, _, _ = _log_terms(pred, y)
            m = _max_last(a)
            loss = -(m[..., 0] + np.log(np.exp(a - m).sum(axis=-1)))
            value = F._reduce(loss, reduction, ctx.count)
        if not np.isfinite(value).all():
            _diagnose_mixture(op, pred, y, final=True)
        return value

    @staticmethod
    def backward(ctx, grad):
        pred, y = ctx.saved_tensors
        a, log_pi, z = _log_terms(pred, y)
        e = np.exp(a - _max_last(a))
        r = e / e.sum(axis=-1, keepdims=True)
        s = scale_row_grad(ctx, grad, 1)
        rz_over_sigma = r * z / pred[..., 2]
        g_pred = g_y = None
        if ctx.needs_input_grad[0]:
            g_pred = np.stack([(np.exp(log_pi) - r) * s,
                               -rz_over_sigma * s,
                               r * (1.0 - z * z) / pred[..., 2] * s], axis=-1)
        if ctx.needs_input_grad[1]:
            g_y = rz_over_sigma.sum(axis=-1) * scale_row_grad(ctx, grad, 0)
        return g_pred, g_y


def gaussian_mixture_nll_loss(pred: Any, y: Any, reduction: str = "mean") -> Tensor:
    """-log p(y) under the mixture pred = (..., K, 3) [logit, mu, sigma]; y of shape (...)."""
    return GaussianMixtureNLL.apply(pred, F._constant_like(y, pred), reduction=reduction)


class GaussianMixtureNLLLoss(Module):
    """-log sum_k softmax(logit)_k N(y; mu_k, sigma_k^2), averaged (or summed, or per row).

    pred is (..., K, 3) = [logit, mu, sigma] (nn.GaussianMixtureHead), y is (...). The
    constant log(2 pi)/2 is always included, so the value is the NLL in nats; with K = 1 it
    equals GaussianNLLLoss(full=True).
    """

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = F.check_reduction(type(self).__name__, reduction)

    def forward(self, pred: Any, y: Any) -> Tensor:
        return gaussian_mixture_nll_loss(pred, y, reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


# ---- the head ------------------------------------------------------------------------------

class GaussianMixtureParams(Function):
    """raw (..., K, 3) -> [logit, mu, sigma] with logit, mu passed through and
    sigma = softplus(raw2) + min_sigma;  d sigma / d raw2 = sigmoid(raw2)."""

    name = "GaussianMixtureParams"

    @staticmethod
    def forward(ctx, raw, min_sigma=1e-6):
        if raw.ndim < 2 or raw.shape[-1] != 3:
            raise ValueError(f"GaussianMixtureParams: raw input has shape {raw.shape}; it must "
                             f"be (..., K, 3) with [logit, mu, pre-softplus sigma] per component")
        ctx.save_for_backward(raw)
        out = raw.copy()
        out[..., 2] = np.logaddexp(raw[..., 2], 0) + min_sigma  # softplus without overflow
        return out

    @staticmethod
    def backward(ctx, grad):
        (raw,) = ctx.saved_tensors
        slope = 0.5 + 0.5 * np.tanh(0.5 * raw[..., 2])  # sigmoid with no exp to overflow
        return np.stack([grad[..., 0], grad[..., 1], grad[..., 2] * slope], axis=-1)


class GaussianMixtureHead(Module):
    """Features (..., in_features) -> (..., n_components, 3) = [logit, mu, sigma] per component.

    A Dense(in_features, 3 K) (`self.linear`) gives raw values, reshaped to (..., K, 3); then
    sigma = softplus(raw) + min_sigma > 0. The weights are softmax(logit) over the K axis.
    """

    def __init__(self, in_features: int, n_components: int, min_sigma: float = 1e-6,
                 dtype: Any = None) -> None:
        super().__init__()
        if not (isinstance(n_components, (int, np.integer)) and n_components >= 1):
            raise ValueError(f"GaussianMixtureHead: n_components must be an integer >= 1, got "
                             f"{n_components!r}")
        if not (isinstance(min_sigma, (int, float, np.floating)) and math.isfinite(min_sigma)
                and min_sigma > 0):
            raise ValueError(f"GaussianMixtureHead: min_sigma must be a finite number > 0 (the "
                             f"floor that keeps sigma positive), got {min_sigma!r}")
        self.in_features, self.n_components = in_features, int(n_components)
        self.min_sigma = float(min_sigma)
        self.linear = Dense(in_features, 3 * self.n_components, dtype=dtype)

    def forward(self, x: Any) -> Tensor:
        raw = self.linear(x)
        raw = raw.reshape(*raw.shape[:-1], self.n_components, 3)
        return GaussianMixtureParams.apply(raw, min_sigma=self.min_sigma)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, n_components={self.n_components}, "
                f"min_sigma={self.min_sigma:g}")


# ---- reading a prediction (NumPy in, NumPy out; no graph) ----------------------------------

def _unpack(pred: Any, op: str) -> tuple:
    p = np.asarray(pred.data if isinstance(pred, Tensor) else pred, dtype=float)
    if p.ndim < 2 or p.shape[-1] != 3:
        raise ValueError(f"{op}: pred must have shape (..., K, 3) = [logit, mu, sigma] per "
                         f"component, got shape {p.shape}")
    if not np.isfinite(p).all() or not (p[..., 2] > 0).all():
        raise ValueError(f"{op}: pred must hold finite values and sigma > 0; screen it with "
                         f"GaussianMixtureNLLLoss, whose error names the row")
    logit = p[..., 0]
    w = np.exp(logit - logit.max(axis=-1, keepdims=True))
    return w / w.sum(axis=-1, keepdims=True), p[..., 1], p[..., 2]


def mixture_weights(pred: Any) -> np.ndarray:
    """pi = softmax(logit) over the components: (..., K)."""
    return _unpack(pred, "mixture_weights")[0]


def mixture_mean(pred: Any) -> np.ndarray:
    """E[y] = sum_k pi_k mu_k, shape (...)."""
    pi, mu, _ = _unpack(pred, "mixture_mean")
    return (pi * mu).sum(axis=-1)


def mixture_variance(pred: Any) -> np.ndarray:
    """Var[y] = sum_k pi_k (sigma_k^2 + (mu_k - E[y])^2) (law of total variance), shape (...)."""
    pi, mu, sigma = _unpack(pred, "mixture_variance")
    mean = (pi * mu).sum(axis=-1, keepdims=True)
    return (pi * (sigma**2 + (mu - mean) ** 2)).sum(axis=-1)


def _density(pi: np.ndarray, mu: np.ndarray, sigma: np.ndarray, t: np.ndarray) -> np.ndarray:
    z = (t[..., None] - mu) / sigma
    return (pi * np.exp(-0.5 * z * z) / sigma).sum(axis=-1) / math.sqrt(2 * math.pi)


def mixture_density(pred: Any, t: Any) -> np.ndarray:
    """p(t) = sum_k pi_k N(t; mu_k, sigma_k^2); t broadcasts against the batch shape (...),
    so t of shape (G, 1) with pred (N, K, 3) gives the density on a grid of G values per row,
    shape (G, N)."""
    pi, mu, sigma = _unpack(pred, "mixture_density")
    return _density(pi, mu, sigma, np.asarray(t, dtype=float))


def mixture_sample(pred: Any, n: int = 1, seed: Any = None) -> np.ndarray:
    """n draws per row, shape (n, ...): pick component k with probability pi_k, then draw
    N(mu_k, sigma_k^2). `seed` is an int or a np.random.Generator (same seed, same draws)."""
    pi, mu, sigma = _unpack(pred, "mixture_sample")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    # inverse-CDF over the weights: k = number of cumulative weights below a uniform draw
    u = rng.random((n,) + pi.shape[:-1])[..., None]
    k = np.minimum((np.cumsum(pi, axis=-1) < u).sum(axis=-1), pi.shape[-1] - 1)
    mu_k = np.take_along_axis(np.broadcast_to(mu, k.shape + mu.shape[-1:]), k[..., None], -1)
    s_k = np.take_along_axis(np.broadcast_to(sigma, k.shape + mu.shape[-1:]), k[..., None], -1)
    return mu_k[..., 0] + s_k[..., 0] * rng.standard_normal(k.shape)


def mixture_mode(pred: Any, iterations: int = 100) -> np.ndarray:
    """The highest mode of each row's mixture, shape (...).

    A 1-D mixture's modes are fixed points of t = sum_k w_k(t) mu_k / sum_k w_k(t) with
    w_k(t) = pi_k N(t; mu_k, sigma_k^2) / sigma_k^2 (the mean-shift iteration); started from
    every component mean, it climbs to a nearby mode; the mode with the highest density wins.
    """
    pi, mu, sigma = _unpack(pred, "mixture_mode")
    t = mu.copy()                                  # (..., K): one start per component
    c = pi / sigma**3                              # pi_k / (sigma_k * sigma_k^2)
    for _ in range(iterations):
        z = (t[..., None] - mu[..., None, :]) / sigma[..., None, :]
        w = c[..., None, :] * np.exp(-0.5 * z * z)
        t = (w * mu[..., None, :]).sum(-1) / np.maximum(w.sum(-1), np.finfo(float).tiny)
    heights = _density(pi[..., None, :], mu[..., None, :], sigma[..., None, :], t)
    return np.take_along_axis(t, heights.argmax(axis=-1)[..., None], -1)[..., 0]


# ---- KL between mixtures: a bound and an approximation (there is no closed form) -----------

def _split(pred: Any, op: str) -> tuple:
    if not isinstance(pred, Tensor):
        pred = Tensor(np.asarray(pred, dtype=float))
    if pred.ndim < 2 or pred.shape[-1] != 3:
        raise ValueError(f"{op}: each mixture must have shape (..., K, 3) = [logit, mu, sigma], "
                         f"got shape {pred.shape}")
    return log_softmax(pred[..., 0]), pred[..., 1], pred[..., 2]


def mixture_kl_upper_bound(pred: Any, target: Any, reduction: str = "none") -> Tensor:
    """An UPPER BOUND on KL(target || pred) for two mixtures with the same K, matched k with k:

        KL(f || g) <= sum_k a_k log(a_k / b_k) + sum_k a_k KL(f_k || g_k)

    (f = target with weights a, g = pred with weights b; convexity of KL in its pair of
    arguments). Equal to the KL when K = 1; tight when components are far apart and matched.
    Built from differentiable ops (log_softmax, the fused Gaussian KL), so it can be a loss.
    """
    op = "mixture_kl_upper_bound"
    F.check_reduction(op, reduction)
    log_b, mu_g, s_g = _split(pred, op)
    log_a, mu_f, s_f = _split(target, op)
    if pred.shape[-2] != target.shape[-2]:
        raise ValueError(f"{op}: the bound matches components k with k, so both mixtures need "
                         f"the same K; got pred {pred.shape} and target {target.shape}")
    a = log_a.exp()
    per_row = (a * (log_a - log_b + F.gaussian_kl(mu_g, s_g, mu_f, s_f))).sum(axis=-1)
    return {"none": per_row, "sum": per_row.sum(), "mean": per_row.mean()}[reduction]


def _logsumexp(x: Tensor) -> Tensor:
    """log sum exp over the last axis: x_0 - log_softmax(x)_0 (log_softmax shifts by the max)."""
    return x[..., 0] - log_softmax(x)[..., 0]


def mixture_kl_variational(pred: Any, target: Any, reduction: str = "none") -> Tensor:
    """Hershey & Olsen's (2007) variational APPROXIMATION of KL(target || pred) (not a bound):

        D_var(f || g) = sum_a a_a log( sum_a' a_a' e^{-KL(f_a || f_a')}
                                       / sum_b b_b e^{-KL(f_a || g_b)} )

    with f = target (weights a), g = pred (weights b); any K on either side. Exact when both
    are single Gaussians; differentiable (composed from log_softmax and the fused KL).
    """
    op = "mixture_kl_variational"
    F.check_reduction(op, reduction)
    log_b, mu_g, s_g = _split(pred, op)
    log_a, mu_f, s_f = _split(target, op)

    def col(x: Any) -> Any:  # component a of f along rows
        return x.unsqueeze(-1)

    def row(x: Any) -> Any:  # component a' (or b) along columns
        return x.unsqueeze(-2)

    kl_ff = F.gaussian_kl(row(mu_f), row(s_f), col(mu_f), col(s_f))   # KL(f_a || f_a')
    kl_fg = F.gaussian_kl(row(mu_g), row(s_g), col(mu_f), col(s_f))   # KL(f_a || g_b)
    inner = _logsumexp(row(log_a) - kl_ff) - _logsumexp(row(log_b) - kl_fg)
    per_row = (log_a.exp() * inner).sum(axis=-1)
    return {"none": per_row, "sum": per_row.sum(), "mean": per_row.mean()}[reduction]
