"""The mixture and multivariate nodes are twice differentiable (issue 13, point 4, with the
engine of issue 9): gradgradcheck in float64 on several shapes."""
import numpy as np
import pytest

import minigrad as mg
from minigrad.nn import mixture as M
from minigrad.nn import multivariate as V


def mixture_pred(rng, batch, k):
    return np.stack([rng.normal(size=batch + (k,)), rng.normal(size=batch + (k,)),
                     rng.uniform(0.5, 2, size=batch + (k,))], -1)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("batch, k", [((4,), 3), ((2, 2), 2), ((3,), 1)], ids=str)
def test_mixture_nll_is_twice_differentiable(reduction, batch, k):
    rng = np.random.default_rng(0)
    p = mg.Tensor(mixture_pred(rng, batch, k), requires_grad=True)
    y = mg.Tensor(rng.normal(size=batch), requires_grad=True)
    assert mg.gradgradcheck(lambda p, y: M.gaussian_mixture_nll_loss(p, y, reduction=reduction),
                            [p, y])


def test_mixture_params_are_twice_differentiable():
    raw = mg.Tensor(np.random.default_rng(1).normal(size=(4, 3, 3)), requires_grad=True)
    assert mg.gradgradcheck(lambda r: M.GaussianMixtureParams.apply(r) ** 2, [raw])


def cholesky(rng, batch, d):
    L = np.tril(rng.normal(size=batch + (d, d)) * 0.3)
    L[..., range(d), range(d)] = rng.uniform(0.5, 1.5, size=batch + (d,))
    return L


@pytest.mark.parametrize("d", [1, 2, 3])
def test_multivariate_nll_and_kl_are_twice_differentiable(d):
    rng = np.random.default_rng(d)
    mask = np.tril(np.ones((d, d)))  # the check moves every entry; L must stay triangular
    mu, mu2, y = (mg.Tensor(rng.normal(size=(3, d)), requires_grad=True) for _ in range(3))
    L, L2 = (mg.Tensor(cholesky(rng, (3,), d), requires_grad=True) for _ in range(2))
    assert mg.gradgradcheck(lambda m, L, y: V.multivariate_gaussian_nll_loss(m, L * mask, y),
                            [mu, L, y])
    assert mg.gradgradcheck(
        lambda a, b, c, e: V.multivariate_gaussian_kl_loss(a, b * mask, c, e * mask),
        [mu, L, mu2, L2])
