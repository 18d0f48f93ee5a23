"""Multivariate Gaussians with full covariance Sigma = L L^T, L a lower-triangular Cholesky
factor with a positive diagonal: the fused NLL and KL nodes and the head that predicts (mu, L).

    head = nn.MultivariateGaussianHead(64, dim=2)           # features -> (mu, L)
    mu, L = head(h)                                         # (..., 2) and (..., 2, 2)
    loss = nn.MultivariateGaussianNLLLoss()(mu, L, y)       # y of shape (..., 2)

Every triangular solve is forward substitution written with slices, products and sums, so
the same kernel runs in forward and in backward (no SciPy). Independent (diagonal)
Gaussians need none of this: the packed [mu, sigma] losses broadcast over a trailing D axis,
e.g. GaussianNLLLoss(full=True, reduction="none")(pred (N, D, 2), y (N, D)).sum(-1).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from minigrad.autograd import Function
from minigrad.nn import functional as F
from minigrad.nn.layers import Dense
from minigrad.nn.mixture import scale_row_grad
from minigrad.nn.module import Module
from minigrad.tensor import Tensor

__all__ = [
    "CholeskyParams", "MultivariateGaussianHead", "MultivariateGaussianKL",
    "MultivariateGaussianKLLoss", "MultivariateGaussianNLL", "MultivariateGaussianNLLLoss",
    "multivariate_gaussian_kl_loss", "multivariate_gaussian_nll_loss",
]

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


# ---- triangular kernels ----------------------------------------------------------------
# A vector is a list of its D components, each an array of the batch shape, so every step is
# an elementwise product, sum or quotient on whole batches (fast for the small D of a head,
# and made only of ops that a differentiable backward may use: slices, *, -, /, stack).

def _columns(v: Any) -> list:
    return [v[..., i] for i in range(v.shape[-1])]


def _solve_lower(L: Any, b: list) -> list:
    """x with L x = b for lower-triangular L (..., D, D) (forward substitution):
    x_i = (b_i - sum_{j<i} L_ij x_j) / L_ii. Entries above the diagonal are never read."""
    x: list = []
    for i, b_i in enumerate(b):
        acc = b_i
        for j in range(i):
            acc = acc - L[..., i, j] * x[j]
        x.append(acc / L[..., i, i])
    return x


def _solve_upper_t(L: Any, b: list) -> list:
    """x with L^T x = b (back substitution): x_i = (b_i - sum_{j>i} L_ji x_j) / L_ii."""
    dim = len(b)
    x: list = [None] * dim
    for i in reversed(range(dim)):
        acc = b[i]
        for j in range(i + 1, dim):
            acc = acc - L[..., j, i] * x[j]
        x[i] = acc / L[..., i, i]
    return x


def _matrix(entry: Any, dim: int) -> Any:
    """The (..., D, D) array whose (i, j) entry is entry(i, j).

    One stack along a new last axis, then a reshape: stacking rows along axis -2 instead
    copies with a stride of D and takes about ten times as long."""
    flat = np.stack([entry(i, j) for i in range(dim) for j in range(dim)], axis=-1)
    return flat.reshape(flat.shape[:-1] + (dim, dim))


def _log_det(L: Any) -> Any:
    """log det(L L^T) / 2 = sum_i log L_ii."""
    return sum(np.log(L[..., i, i]) for i in range(L.shape[-1]))


# ---- screening: cheap checks first, the details (node, row, value) only on failure -------

def _where(index: tuple) -> str:
    if not index:
        return ""
    return f" at row {index[0]}" if len(index) == 1 else f" at index {index}"


def _check_shapes(op: str, vectors: dict, factors: dict) -> tuple:
    """Every vector is (..., D), every factor (..., D, D); their batch axes broadcast."""
    dims = {}
    for label, v in vectors.items():
        if v.ndim < 1:
            raise ValueError(f"{op}: {label} must have shape (..., D), got a scalar")
        dims[label] = v.shape[-1]
    for label, L in factors.items():
        if L.ndim < 2 or L.shape[-1] != L.shape[-2]:
            raise ValueError(f"{op}: {label} must be a square lower-triangular factor of shape "
                             f"(..., D, D), got shape {L.shape}")
        dims[label] = L.shape[-1]
    if len(set(dims.values())) != 1:
        listed = ", ".join(f"{k} {v}" for k, v in dims.items())
        raise ValueError(f"{op}: the dimensions D do not agree ({listed}); mu and y are "
                         f"(..., D) and L is (..., D, D) for the same D")
    batches = [v.shape[:-1] for v in vectors.values()] + [L.shape[:-2] for L in factors.values()]
    try:
        batch = np.broadcast_shapes(*batches)
    except ValueError:
        listed = ", ".join(f"{k} {v.shape}" for k, v in {**vectors, **factors}.items())
        raise ValueError(f"{op}: the batch axes do not broadcast: {listed}; give them equal "
                         f"leading shapes or size-1 axes") from None
    return batch, dims[next(iter(dims))]


def _diagnose(op: str, vectors: dict, factors: dict, final: bool) -> None:
    """Name the first bad input: a non-finite value, a non-positive diagonal, an entry above
    the diagonal; if none and `final`, the loss overflowed."""
    for label, x in {**vectors, **factors}.items():
        bad = ~np.isfinite(x)
        if bad.any():
            index = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(f"{op}: {label} contains a non-finite value ({float(x[index])}) at "
                             f"index {index}; find the op that made it with "
                             f"minigrad.detect_anomaly(), or lower the learning rate")
    for label, L in factors.items():
        d = np.diagonal(L, axis1=-2, axis2=-1)
        if d.size and not d.min() > 0:
            index = tuple(int(i) for i in np.argwhere(d <= 0)[0])
            raise ValueError(f"{op}: {label} has a diagonal entry <= 0{_where(index[:-1])} "
                             f"({label}[{index[-1]}, {index[-1]}] = {float(d[index])}); a "
                             f"Cholesky factor needs a positive diagonal: produce it with "
                             f"nn.MultivariateGaussianHead (softplus keeps it positive)")
        upper = np.triu(L, 1)
        if upper.any():
            index = tuple(int(i) for i in np.argwhere(upper != 0)[0])
            raise ValueError(f"{op}: {label} is not lower-triangular{_where(index[:-2])}: entry "
                             f"({index[-2]}, {index[-1]}) above the diagonal is "
                             f"{float(L[index])}; pass the Cholesky factor "
                             f"(np.linalg.cholesky(cov)), not the covariance")
    if final:
        raise ValueError(f"{op}: the loss is not finite although every input is (a diagonal "
                         f"of L so small that the solve overflows); keep it away from 0, e.g. "
                         f"with nn.MultivariateGaussianHead(min_sigma=...)")


def _screen(op: str, vectors: dict, factors: dict) -> None:
    """Cheap: positive diagonals (NaN fails too), zero upper triangles, finite values."""
    for L in factors.values():
        d = np.diagonal(L, axis1=-2, axis2=-1)
        if (d.size and not d.min() > 0) or any(L[..., i, i + 1:].any() for i in range(L.shape[-1])):
            _diagnose(op, vectors, factors, final=False)
    for x in (*vectors.values(), *factors.values()):
        if not math.isfinite(np.add.reduce(x, axis=None)):
            _diagnose(op, vectors, factors, final=False)


# ---- NLL ---------------------------------------------------------------------------------

class MultivariateGaussianNLL(Function):
    """-log N(y; mu, L L^T) = D/2 log(2 pi) + sum_i log L_ii + |z|^2 / 2,  z = L^-1 (y - mu).

    With w = L^-T z:  d/dmu = -w,  d/dy = w,  d/dL = tril(diag(1/L_ii) - w z^T)
    (only the lower triangle is a free parameter). Saves only its inputs (mu, L, y); backward
    redoes the two triangular solves from them.
    """

    name = "MultivariateGaussianNLLLoss"

    @staticmethod
    def forward(ctx, mu, L, y, reduction="mean"):
        op = MultivariateGaussianNLL.name
        F.check_reduction(op, reduction)
        vectors, factors = {"mu": mu, "y": y}, {"L": L}
        batch, dim = _check_shapes(op, vectors, factors)
        _screen(op, vectors, factors)
        ctx.save_for_backward(mu, L, y)
        ctx.reduction, ctx.count = reduction, math.prod(batch)
        z = _solve_lower(L, _columns(y - mu))
        loss = dim * _HALF_LOG_2PI + _log_det(L) + 0.5 * sum(z_i * z_i for z_i in z)
        value = F._reduce(np.broadcast_to(loss, batch), reduction, ctx.count)
        if not np.isfinite(value).all():
            _diagnose(op, vectors, factors, final=True)
        return value

    @staticmethod
    def backward(ctx, grad):
        mu, L, y = ctx.saved_tensors
        dim = L.shape[-1]
        z = _solve_lower(L, _columns(y - mu))
        w = _solve_upper_t(L, z)                           # L^-T z
        s1 = scale_row_grad(ctx, grad, 1)
        needs = ctx.needs_input_grad
        g_mu = g_y = g_L = None
        if needs[0] or needs[2]:
            w_vec = np.stack(w, axis=-1) * s1
            g_mu, g_y = (-w_vec if needs[0] else None), (w_vec if needs[2] else None)
        if needs[1]:
            tril = np.tril(np.ones((dim, dim), L.dtype))
            g_L = _matrix(lambda i, j: (1.0 / L[..., i, i] if i == j else 0.0) - w[i] * z[j],
                          dim) * tril * scale_row_grad(ctx, grad, 2)
        return g_mu, g_L, g_y


# ---- KL ----------------------------------------------------------------------------------

class MultivariateGaussianKL(Function):
    """KL(N(mu_gt, L_gt L_gt^T) || N(mu_m, L_m L_m^T)), the target against the model, reduced:

        KL = (|M|_F^2 + |z|^2 - D) / 2 + sum_i log L_m,ii - sum_i log L_gt,ii
        with M = L_m^-1 L_gt and z = L_m^-1 (mu_gt - mu_m).

    With w = L_m^-T z and W = L_m^-T M:  d/dmu_m = -w,  d/dmu_gt = w,
    d/dL_gt = tril(W - diag(1/L_gt,ii)),  d/dL_m = tril(diag(1/L_m,ii) - W M^T - w z^T).
    Saves only its four inputs.
    """

    name = "MultivariateGaussianKLLoss"

    @staticmethod
    def forward(ctx, mu_m, L_m, mu_gt, L_gt, reduction="mean"):
        op = MultivariateGaussianKL.name
        F.check_reduction(op, reduction)
        vectors, factors = {"mu_m": mu_m, "mu_gt": mu_gt}, {"L_m": L_m, "L_gt": L_gt}
        batch, dim = _check_shapes(op, vectors, factors)
        _screen(op, vectors, factors)
        ctx.save_for_backward(mu_m, L_m, mu_gt, L_gt)
        ctx.reduction, ctx.count, ctx.batch = reduction, math.prod(batch), batch
        z = _solve_lower(L_m, _columns(mu_gt - mu_m))
        frob = 0.0
        for j in range(dim):  # column j of M = L_m^-1 L_gt
            frob = frob + sum(m * m for m in _solve_lower(L_m, _columns(L_gt[..., :, j])))
        loss = (0.5 * (frob + sum(z_i * z_i for z_i in z) - dim)
                + _log_det(L_m) - _log_det(L_gt))
        value = F._reduce(np.broadcast_to(loss, batch), reduction, ctx.count)
        if not np.isfinite(value).all():
            _diagnose(op, vectors, factors, final=True)
        return value

    @staticmethod
    def backward(ctx, grad):
        mu_m, L_m, mu_gt, L_gt = ctx.saved_tensors
        dim = L_m.shape[-1]
        tril = np.tril(np.ones((dim, dim), L_m.dtype))
        z = _solve_lower(L_m, _columns(mu_gt - mu_m))
        w = _solve_upper_t(L_m, z)
        M_cols = [_solve_lower(L_m, _columns(L_gt[..., :, j])) for j in range(dim)]  # M[i][j]
        W_cols = [_solve_upper_t(L_m, col) for col in M_cols]                         # at [j][i]
        s1, s2 = scale_row_grad(ctx, grad, 1), scale_row_grad(ctx, grad, 2)
        needs = ctx.needs_input_grad
        g_mu_m = g_mu_gt = g_L_m = g_L_gt = None
        if needs[0] or needs[2]:
            w_vec = np.stack(w, axis=-1) * s1
            g_mu_m, g_mu_gt = (-w_vec if needs[0] else None), (w_vec if needs[2] else None)
        if needs[1]:  # diag(1/L_m,ii) - W M^T - w z^T, lower triangle
            g_L_m = _matrix(lambda i, j: (1.0 / L_m[..., i, i] if i == j else 0.0)
                            - sum(W_cols[k][i] * M_cols[k][j] for k in range(dim))
                            - w[i] * z[j], dim) * tril * s2
        if needs[3]:
            shared = np.broadcast_shapes(L_m.shape, L_gt.shape)[:-2] != ctx.batch
            if shared and ctx.reduction != "none":
                # factors shared by many rows: their term counts once per row of the batch
                s2 = s2 * np.ones(ctx.batch + (1, 1), L_gt.dtype)
            g_L_gt = _matrix(lambda i, j: W_cols[j][i] - (1.0 / L_gt[..., i, i] if i == j else 0.0),
                             dim) * tril * s2
        return g_mu_m, g_L_m, g_mu_gt, g_L_gt


def multivariate_gaussian_nll_loss(mu: Any, L: Any, y: Any, reduction: str = "mean") -> Tensor:
    """-log N(y; mu, L L^T): mu and y (..., D), L (..., D, D) lower-triangular."""
    return MultivariateGaussianNLL.apply(mu, F._constant_like(L, mu), F._constant_like(y, mu),
                                         reduction=reduction)


def multivariate_gaussian_kl_loss(mu_m: Any, L_m: Any, mu_gt: Any, L_gt: Any,
                                  reduction: str = "mean") -> Tensor:
    """KL(N(mu_gt, L_gt L_gt^T) || N(mu_m, L_m L_m^T)): the target first inside the KL, as
    gaussian_kl_loss(pred, target); all batch axes broadcast."""
    like = F._first_tensor(mu_m, L_m, mu_gt, L_gt)
    args = [F._constant_like(a, like) for a in (mu_m, L_m, mu_gt, L_gt)]
    return MultivariateGaussianKL.apply(*args, reduction=reduction)


class MultivariateGaussianNLLLoss(Module):
    """-log N(y; mu, L L^T) with the full constant D/2 log(2 pi), reduced; called as
    loss(mu, L, y) with mu, y of shape (..., D) and L (..., D, D) lower-triangular."""

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = F.check_reduction(type(self).__name__, reduction)

    def forward(self, mu: Any, L: Any, y: Any) -> Tensor:
        return multivariate_gaussian_nll_loss(mu, L, y, reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class MultivariateGaussianKLLoss(Module):
    """KL(N(mu_gt, L_gt L_gt^T) || N(mu_m, L_m L_m^T)), reduced; called as
    loss(mu_m, L_m, mu_gt, L_gt): the model's pair first, as GaussianKLLoss(pred, target)."""

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = F.check_reduction(type(self).__name__, reduction)

    def forward(self, mu_m: Any, L_m: Any, mu_gt: Any, L_gt: Any) -> Tensor:
        return multivariate_gaussian_kl_loss(mu_m, L_m, mu_gt, L_gt, reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


# ---- the head ----------------------------------------------------------------------------

class CholeskyParams(Function):
    """raw (..., D(D+1)/2) -> L (..., D, D): raw fills the lower triangle row by row,
    (0,0), (1,0), (1,1), (2,0), ...; diagonal entries go through softplus + min_sigma.
    d L_ij / d raw = 1 off the diagonal, sigmoid(raw) on it; entries above it are 0."""

    name = "CholeskyParams"

    @staticmethod
    def forward(ctx, raw, dim=1, min_sigma=1e-6):
        n = dim * (dim + 1) // 2
        if raw.ndim < 1 or raw.shape[-1] != n:
            raise ValueError(f"CholeskyParams: raw input has shape {raw.shape}; for dim={dim} "
                             f"its last axis must hold the {n} lower-triangular entries")
        ctx.save_for_backward(raw)
        ctx.dim = dim
        rows, cols = np.tril_indices(dim)
        out = np.zeros(raw.shape[:-1] + (dim, dim), raw.dtype)
        out[..., rows, cols] = raw
        on_diag = np.flatnonzero(rows == cols)
        out[..., np.arange(dim), np.arange(dim)] = np.logaddexp(raw[..., on_diag], 0) + min_sigma
        return out

    @staticmethod
    def backward(ctx, grad):
        (raw,) = ctx.saved_tensors
        parts, k = [], 0
        for i in range(ctx.dim):
            for j in range(i + 1):
                g = grad[..., i, j]
                if i == j:  # sigmoid as (1 + tanh(x/2))/2: no exp to overflow
                    g = g * (0.5 + 0.5 * np.tanh(0.5 * raw[..., k]))
                parts.append(g)
                k += 1
        return np.stack(parts, axis=-1)


class MultivariateGaussianHead(Module):
    """Features (..., in_features) -> (mu, L): mu (..., dim) and a lower-triangular L
    (..., dim, dim) with diagonal softplus(.) + min_sigma > 0, so Sigma = L L^T is positive
    definite. One Dense(in_features, dim + dim (dim + 1)/2) (`self.linear`) feeds both."""

    def __init__(self, in_features: int, dim: int, min_sigma: float = 1e-6,
                 dtype: Any = None) -> None:
        super().__init__()
        if not (isinstance(dim, (int, np.integer)) and dim >= 1):
            raise ValueError(f"MultivariateGaussianHead: dim must be an integer >= 1, got {dim!r}")
        if not (isinstance(min_sigma, (int, float, np.floating)) and math.isfinite(min_sigma)
                and min_sigma > 0):
            raise ValueError(f"MultivariateGaussianHead: min_sigma must be a finite number > 0 "
                             f"(the floor of L's diagonal), got {min_sigma!r}")
        self.in_features, self.dim, self.min_sigma = in_features, int(dim), float(min_sigma)
        self.linear = Dense(in_features, self.dim + self.dim * (self.dim + 1) // 2, dtype=dtype)

    def forward(self, x: Any) -> tuple:
        raw = self.linear(x)
        mu = raw[..., :self.dim]
        L = CholeskyParams.apply(raw[..., self.dim:], dim=self.dim, min_sigma=self.min_sigma)
        return mu, L

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, dim={self.dim}, min_sigma={self.min_sigma:g}"
