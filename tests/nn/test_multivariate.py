"""Full-covariance Gaussians: the fused NLL and KL nodes, the Cholesky head, diagonal cases.

Gradients three ways: hand-worked cases, the same losses composed from primitive engine
ops (a triangular solve written with mg.stack and sums), and `minigrad.gradcheck`.
"""
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.nn import functional as F

REDUCTIONS = ["mean", "sum", "none"]
# (mu shape, L shape, y shape): D = 1, 2, 3, a 2-D batch, one L shared by every row
SHAPES = [((4, 1), (4, 1, 1), (4, 1)), ((5, 2), (5, 2, 2), (5, 2)), ((3, 3), (3, 3, 3), (3, 3)),
          ((2, 3, 2), (2, 3, 2, 2), (2, 3, 2)), ((4, 3), (3, 3), (4, 3))]


def factors(shape, seed):
    """Random lower-triangular L with diagonal in [0.5, 2]."""
    rng = np.random.default_rng(seed)
    dim = shape[-1]
    L = np.tril(rng.normal(0, 0.7, shape))
    L[..., np.arange(dim), np.arange(dim)] = rng.uniform(0.5, 2.0, shape[:-1])
    return L


def normals(shape, seed):
    return np.random.default_rng(seed).normal(size=shape)


def tril_of(L):
    """Only the lower triangle is free: gradcheck perturbs every entry, so mask the rest."""
    return L * np.tril(np.ones(L.shape[-2:]))


def nll_formula(mu, L, y):
    cov = L @ np.swapaxes(L, -1, -2)
    d = y - mu
    quad = (d[..., None, :] @ np.linalg.solve(cov, d[..., None]))[..., 0, 0]
    return 0.5 * (L.shape[-1] * math.log(2 * math.pi) + np.linalg.slogdet(cov)[1] + quad)


def kl_formula(mu_m, L_m, mu_gt, L_gt):
    """KL(N(mu_gt, S_gt) || N(mu_m, S_m)) from the covariances."""
    s_m, s_gt = L_m @ np.swapaxes(L_m, -1, -2), L_gt @ np.swapaxes(L_gt, -1, -2)
    d = mu_m - mu_gt
    inv = np.linalg.inv(s_m)
    return 0.5 * (np.trace(inv @ s_gt, axis1=-2, axis2=-1)
                  + (d[..., None, :] @ inv @ d[..., None])[..., 0, 0] - L_m.shape[-1]
                  + np.linalg.slogdet(s_m)[1] - np.linalg.slogdet(s_gt)[1])


def solve_composed(L, b):
    """L^-1 b for b (..., D) with engine ops only: forward substitution, one node per op."""
    xs = []
    for i in range(L.shape[-1]):
        acc = b[..., i]
        for j in range(i):
            acc = acc - L[..., i, j] * xs[j]
        xs.append(acc / L[..., i, i])
    return mg.stack(xs, axis=-1)


def diag_composed(L):
    return mg.stack([L[..., i, i] for i in range(L.shape[-1])], axis=-1)


def nll_composed(mu, L, y, reduction):
    z = solve_composed(L, y - mu)
    loss = (L.shape[-1] * 0.5 * math.log(2 * math.pi) + diag_composed(L).log().sum(axis=-1)
            + 0.5 * (z * z).sum(axis=-1))
    return {"mean": loss.mean(), "sum": loss.sum(), "none": loss}[reduction]


def kl_composed(mu_m, L_m, mu_gt, L_gt, reduction):
    dim = L_m.shape[-1]
    z = solve_composed(L_m, mu_gt - mu_m)
    L_gt = L_gt * np.tril(np.ones((dim, dim)))  # the node reads only the lower triangle
    cols = [solve_composed(L_m, L_gt[..., :, j]) for j in range(dim)]  # M = L_m^-1 L_gt
    frob = sum((c * c).sum(axis=-1) for c in cols)
    loss = (0.5 * (frob + (z * z).sum(axis=-1) - dim) + diag_composed(L_m).log().sum(axis=-1)
            - diag_composed(L_gt).log().sum(axis=-1))
    return {"mean": loss.mean(), "sum": loss.sum(), "none": loss}[reduction]


def run(fn, arrays, reduction):
    tensors = [mg.Tensor(a, requires_grad=True) for a in arrays]
    out = fn(*tensors, reduction)
    batch = out.shape
    out.backward(np.random.default_rng(5).uniform(-1.5, 1.5, batch) if reduction == "none"
                 else None)
    return [out.data] + [t.grad for t in tensors]


def nll_fused(mu, L, y, reduction):
    return F.multivariate_gaussian_nll_loss(mu, L, y, reduction=reduction)


def kl_fused(mu_m, L_m, mu_gt, L_gt, reduction):
    return F.multivariate_gaussian_kl_loss(mu_m, L_m, mu_gt, L_gt, reduction=reduction)


def nll_case(shapes, seed):
    return normals(shapes[0], seed), factors(shapes[1], seed + 1), normals(shapes[2], seed + 2)


def kl_case(shapes, seed):
    return (normals(shapes[0], seed), factors(shapes[1], seed + 1), normals(shapes[0], seed + 2),
            factors(shapes[1], seed + 3))


# ---- values -------------------------------------------------------------------------------

@pytest.mark.parametrize("shapes", SHAPES, ids=str)
def test_values_match_the_covariance_formulas(shapes):
    mu, L, y = nll_case(shapes, 1)
    out = nn.MultivariateGaussianNLLLoss("none")(mg.Tensor(mu), mg.Tensor(L), mg.Tensor(y))
    np.testing.assert_allclose(out.data, nll_formula(mu, L, y), rtol=1e-12)
    args = kl_case(shapes, 2)
    out = nn.MultivariateGaussianKLLoss("none")(*map(mg.Tensor, args))
    np.testing.assert_allclose(out.data, kl_formula(*args), rtol=1e-11, atol=1e-13)


def test_hand_worked_nll():
    # L = [[1, 0], [1, 1]], y - mu = (1, 2): z = L^-1 (1, 2) = (1, 1), |z|^2 = 2, log det = 0,
    # so NLL = log(2 pi) + 1; w = L^-T z = (0, 1): d/dmu = -(0, 1), d/dy = (0, 1);
    # d/dL = tril(I - w z^T) = [[1, 0], [-1, 0]].
    mu = mg.Tensor([[0.0, 0.0]], requires_grad=True)
    L = mg.Tensor([[[1.0, 0.0], [1.0, 1.0]]], requires_grad=True)
    y = mg.Tensor([[1.0, 2.0]], requires_grad=True)
    loss = nn.MultivariateGaussianNLLLoss()(mu, L, y)
    assert loss.item() == pytest.approx(math.log(2 * math.pi) + 1.0, rel=1e-15)
    loss.backward()
    np.testing.assert_allclose(mu.grad, [[0.0, -1.0]], atol=1e-15)
    np.testing.assert_allclose(y.grad, [[0.0, 1.0]], atol=1e-15)
    np.testing.assert_allclose(L.grad, [[[1.0, 0.0], [-1.0, 0.0]]], atol=1e-15)


def test_hand_worked_kl():
    # target N(0, I), model N((1, 0), diag(4, 1)): KL = (1/4 + 1 + 1/4 - 2)/2 + log 2
    loss = nn.MultivariateGaussianKLLoss()(mg.Tensor([1.0, 0.0]), mg.Tensor([[2.0, 0.0], [0.0, 1.0]]),
                                           mg.Tensor([0.0, 0.0]), mg.Tensor(np.eye(2)))
    assert loss.item() == pytest.approx(-0.25 + math.log(2), rel=1e-14)


def test_identical_gaussians_give_zero_kl_and_gradient():
    mu, L = normals((3, 2), 3), factors((3, 2, 2), 4)
    args = [mg.Tensor(mu, requires_grad=True), mg.Tensor(L, requires_grad=True)]
    loss = nn.MultivariateGaussianKLLoss("sum")(*args, mg.Tensor(mu), mg.Tensor(L))
    loss.backward()
    assert abs(loss.item()) < 1e-13
    np.testing.assert_allclose(args[0].grad, 0.0, atol=1e-13)
    np.testing.assert_allclose(args[1].grad, 0.0, atol=1e-13)


# ---- diagonal and one-dimensional cases agree with the packed [mu, sigma] losses ------------

def test_diagonal_factor_equals_independent_gaussians_equals_one_dimensional():
    rng = np.random.default_rng(6)
    mu, sigma, y = rng.normal(size=(5, 3)), rng.uniform(0.5, 2, (5, 3)), rng.normal(size=(5, 3))
    L = mg.Tensor(sigma[..., None] * np.eye(3), requires_grad=True)
    full = nn.MultivariateGaussianNLLLoss("none")(mg.Tensor(mu), L, mg.Tensor(y))
    packed = mg.Tensor(np.stack([mu, sigma], -1), requires_grad=True)
    diagonal = nn.GaussianNLLLoss(full=True, reduction="none")(packed, mg.Tensor(y)).sum(-1)
    np.testing.assert_allclose(full.data, diagonal.data, rtol=1e-13)
    full.sum().backward()
    diagonal.sum().backward()
    np.testing.assert_allclose(np.diagonal(L.grad, axis1=-2, axis2=-1), packed.grad[..., 1],
                               rtol=1e-12)
    # D = 1: L is sigma itself
    one = nn.MultivariateGaussianNLLLoss("none")(mg.Tensor(mu[:, :1]), mg.Tensor(sigma[:, :1, None]),
                                                 mg.Tensor(y[:, :1]))
    np.testing.assert_allclose(one.data, nn.GaussianNLLLoss(full=True, reduction="none")(
        mg.Tensor(np.stack([mu[:, 0], sigma[:, 0]], -1)), mg.Tensor(y[:, 0])).data, rtol=1e-13)


def test_diagonal_kl_equals_the_sum_of_one_dimensional_kls():
    rng = np.random.default_rng(7)
    pred = np.stack([rng.normal(size=(4, 2)), rng.uniform(0.5, 2, (4, 2))], -1)
    target = np.stack([rng.normal(size=(4, 2)), rng.uniform(0.5, 2, (4, 2))], -1)
    full = F.multivariate_gaussian_kl_loss(pred[..., 0], pred[..., 1, None] * np.eye(2),
                                           target[..., 0], target[..., 1, None] * np.eye(2),
                                           reduction="none")
    packed = nn.GaussianKLLoss("none")(mg.Tensor(pred), mg.Tensor(target)).sum(-1)
    np.testing.assert_allclose(full.data, packed.data, rtol=1e-13)


# ---- gradients ----------------------------------------------------------------------------

@pytest.mark.parametrize("shapes", SHAPES, ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_matches_composed_primitive_ops(shapes, reduction):
    arrays = nll_case(shapes, 11)
    for a, b in zip(run(nll_fused, arrays, reduction), run(nll_composed, arrays, reduction)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("shapes", SHAPES, ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_kl_matches_composed_primitive_ops(shapes, reduction):
    arrays = kl_case(shapes, 12)
    for a, b in zip(run(kl_fused, arrays, reduction), run(kl_composed, arrays, reduction)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("shapes", SHAPES, ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gradcheck(shapes, reduction):
    nll = [mg.Tensor(a, requires_grad=True) for a in nll_case(shapes, 21)]
    assert mg.gradcheck(lambda m, L, y: nll_fused(m, tril_of(L), y, reduction), nll)
    kl = [mg.Tensor(a, requires_grad=True) for a in kl_case(shapes, 22)]
    assert mg.gradcheck(lambda a, b, c, d: kl_fused(a, tril_of(b), c, tril_of(d), reduction), kl)


def test_nodes_save_only_their_inputs():
    mu, L, y = (mg.Tensor(a, requires_grad=True) for a in nll_case(SHAPES[1], 31))
    node = nn.MultivariateGaussianNLLLoss()(mu, L, y).grad_fn
    assert all(s is t.data for s, t in zip(node.saved_tensors, (mu, L, y)))
    assert not [v for v in vars(node).values() if isinstance(v, np.ndarray)]
    args = [mg.Tensor(a, requires_grad=True) for a in kl_case(SHAPES[1], 32)]
    node = nn.MultivariateGaussianKLLoss()(*args).grad_fn
    assert all(s is t.data for s, t in zip(node.saved_tensors, args))
    assert mg.topological_order(node) == [node]


def test_float32_stays_float32():
    mu, L, y = (a.astype(np.float32) for a in nll_case(SHAPES[1], 33))
    L = mg.Tensor(L, requires_grad=True)
    loss = nn.MultivariateGaussianNLLLoss()(mg.Tensor(mu), L, y)
    loss.backward()
    assert loss.dtype == np.float32 and L.grad.dtype == np.float32


# ---- bad input ----------------------------------------------------------------------------

@pytest.mark.parametrize("bad", [0.0, -1.5])
def test_non_positive_diagonal_names_row_entry_and_value(bad):
    mu, L, y = nll_case(SHAPES[2], 41)
    L[2, 1, 1] = bad
    with pytest.raises(ValueError, match=rf"MultivariateGaussianNLLLoss: L has a diagonal entry "
                                         rf"<= 0 at row 2 \(L\[1, 1\] = {bad}\).*Head"):
        nn.MultivariateGaussianNLLLoss()(mg.Tensor(mu), mg.Tensor(L), mg.Tensor(y))


def test_non_finite_values_are_named():
    args = list(kl_case(SHAPES[1], 42))
    args[2][3, 1] = np.nan
    with pytest.raises(ValueError, match=r"MultivariateGaussianKLLoss: mu_gt contains a "
                                         r"non-finite value \(nan\) at index \(3, 1\)"):
        nn.MultivariateGaussianKLLoss()(*map(mg.Tensor, args))
    mu, L, y = nll_case(SHAPES[1], 43)
    L[0, 1, 0] = np.inf
    with pytest.raises(ValueError, match=r"L contains a non-finite value \(inf\) at index "
                                         r"\(0, 1, 0\)"):
        nn.MultivariateGaussianNLLLoss()(mg.Tensor(mu), mg.Tensor(L), mg.Tensor(y))


def test_upper_triangle_must_be_zero():
    mu, L, y = nll_case(SHAPES[1], 44)
    with pytest.raises(ValueError, match=r"L_gt is not lower-triangular at row 1: entry \(0, 1\)"
                                         r".*np.linalg.cholesky"):
        L_gt = L.copy()
        L_gt[1, 0, 1] = 0.3
        nn.MultivariateGaussianKLLoss()(mu, L, mu, L_gt)


@pytest.mark.parametrize("mu_shape, L_shape, y_shape, message", [
    ((4, 2), (4, 2, 2), (4, 3), r"the dimensions D do not agree \(mu 2, y 3, L 2\)"),
    ((4, 2), (4, 2, 3), (4, 2), r"L must be a square .*got shape \(4, 2, 3\)"),
    ((4, 2), (3, 2, 2), (4, 2), r"the batch axes do not broadcast: mu \(4, 2\), y \(4, 2\), "
                                r"L \(3, 2, 2\)"),
    ((), (2, 2), (2,), r"mu must have shape \(\.\.\., D\)"),
])
def test_shapes_that_do_not_fit(mu_shape, L_shape, y_shape, message):
    L = np.broadcast_to(np.eye(L_shape[-1], L_shape[-2]).T, L_shape).copy()
    with pytest.raises(ValueError, match="MultivariateGaussianNLLLoss: " + message):
        nn.MultivariateGaussianNLLLoss()(mg.Tensor(np.zeros(mu_shape)), mg.Tensor(L),
                                         mg.Tensor(np.zeros(y_shape)))


# ---- the head -----------------------------------------------------------------------------

def test_head_gives_mu_and_a_valid_cholesky_factor():
    mg.manual_seed(0)
    head = nn.MultivariateGaussianHead(5, dim=3, min_sigma=0.01)
    mu, L = head(mg.Tensor(np.random.default_rng(51).normal(size=(7, 5)) * 50))
    assert mu.shape == (7, 3) and L.shape == (7, 3, 3)
    assert (np.triu(L.data, 1) == 0).all()
    assert (np.diagonal(L.data, axis1=-2, axis2=-1) >= 0.01).all()
    loss = nn.MultivariateGaussianNLLLoss()(mu, L, np.zeros((7, 3)))
    loss.backward()
    assert head.linear.weight.grad.shape == (5, 3 + 6)


def test_cholesky_params_layout_and_gradcheck():
    raw = np.array([0.0, 2.0, -30.0, 5.0, 6.0, 50.0])
    L = nn.CholeskyParams.apply(mg.Tensor(raw), dim=3, min_sigma=0.5).data
    np.testing.assert_allclose(L, [[math.log(2) + 0.5, 0, 0], [2.0, 0.5, 0], [5.0, 6.0, 50.5]],
                               rtol=1e-12)
    t = mg.Tensor(np.random.default_rng(52).normal(size=(2, 6)) * 3, requires_grad=True)
    assert mg.gradcheck(lambda r: nn.CholeskyParams.apply(r, dim=3), [t])
    with pytest.raises(ValueError, match=r"CholeskyParams: .*dim=3 its last axis must hold the 6"):
        nn.CholeskyParams.apply(mg.Tensor(np.zeros(5)), dim=3)


def test_head_rejects_bad_options():
    with pytest.raises(ValueError, match="MultivariateGaussianHead: dim must be an integer >= 1"):
        nn.MultivariateGaussianHead(4, dim=0)
    with pytest.raises(ValueError, match="MultivariateGaussianHead: min_sigma must be"):
        nn.MultivariateGaussianHead(4, dim=2, min_sigma=-1.0)
