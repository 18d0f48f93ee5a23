"""GaussianMixtureNLLLoss, its head, the readers and the mixture KL bound/approximation.

Gradients are checked three ways: a hand-worked case, the same loss composed from
primitive engine ops, and finite differences (`minigrad.gradcheck`, float64).
"""
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.nn import functional as F
from minigrad.nn.mixture import GaussianMixtureNLL

REDUCTIONS = ["mean", "sum", "none"]
# (pred shape, y shape): rows, K = 1, 3-D batch, one mixture for every sample
SHAPES = [((5, 3, 3), (5,)), ((4, 1, 3), (4,)), ((2, 3, 2, 3), (2, 3)), ((3, 3), (6,))]


def mixtures(shape, seed, spread=1.0):
    """Random [logit, mu, sigma] per component, sigma in [0.5, 2]."""
    rng = np.random.default_rng(seed)
    out = np.empty(shape)
    out[..., 0] = rng.normal(0.0, 1.0, shape[:-1])
    out[..., 1] = rng.normal(0.0, spread, shape[:-1])
    out[..., 2] = rng.uniform(0.5, 2.0, shape[:-1])
    return out


def nll_formula(pred, y):
    """-log sum_k pi_k N(y; mu_k, sigma_k^2), written out directly (fine for moderate inputs)."""
    pi = np.exp(pred[..., 0]) / np.exp(pred[..., 0]).sum(-1, keepdims=True)
    mu, s = pred[..., 1], pred[..., 2]
    dens = pi * np.exp(-0.5 * ((y[..., None] - mu) / s) ** 2) / (s * math.sqrt(2 * math.pi))
    return -np.log(dens.sum(-1))


def nll_composed(pred, y, reduction):
    """The same loss from primitive ops (max-shifted log-sum-exp), one node per operation."""
    log_pi = mg.log_softmax(pred[..., 0])
    mu, s = pred[..., 1], pred[..., 2]
    z = (y.unsqueeze(-1) - mu) / s
    a = log_pi - s.log() - 0.5 * z * z - 0.5 * math.log(2 * math.pi)
    m = a.max(axis=-1, keepdims=True)
    loss = -((a - m).exp().sum(axis=-1).log() + m.squeeze(-1))
    return {"mean": loss.mean(), "sum": loss.sum(), "none": loss}[reduction]


def run(loss_fn, pred, y, reduction):
    p, t = mg.Tensor(pred, requires_grad=True), mg.Tensor(y, requires_grad=True)
    out = loss_fn(p, t, reduction)
    shape = np.broadcast_shapes(pred.shape[:-2], y.shape)
    out.backward(np.random.default_rng(3).uniform(-1.5, 1.5, shape) if reduction == "none"
                 else None)
    return out.data, p.grad, t.grad


def fused(pred, y, reduction):
    return F.gaussian_mixture_nll_loss(pred, y, reduction=reduction)


# ---- values -------------------------------------------------------------------------------

@pytest.mark.parametrize("shapes", SHAPES, ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_value_matches_the_density_formula(shapes, reduction):
    pred, y = mixtures(shapes[0], 1), np.random.default_rng(2).normal(size=shapes[1])
    expected = nll_formula(pred, y)
    expected = {"mean": expected.mean(), "sum": expected.sum(), "none": expected}[reduction]
    out = nn.GaussianMixtureNLLLoss(reduction)(mg.Tensor(pred), mg.Tensor(y))
    np.testing.assert_allclose(out.data, expected, rtol=1e-12)


def test_hand_worked_case():
    # pi = (1/2, 1/2), mu = (-1, 1), sigma = 1, y = 0: p = e^{-1/2} / sqrt(2 pi), so
    # NLL = 1/2 + log(2 pi)/2; r = (1/2, 1/2), z = (1, -1): d/dmu = -r z / sigma = (-1/2, 1/2),
    # d/dsigma = r (1 - z^2) / sigma = 0, d/dlogit = pi - r = 0, d/dy = sum r z / sigma = 0.
    pred = mg.Tensor([[[0.0, -1.0, 1.0], [0.0, 1.0, 1.0]]], requires_grad=True)
    y = mg.Tensor([0.0], requires_grad=True)
    loss = nn.GaussianMixtureNLLLoss()(pred, y)
    assert loss.item() == pytest.approx(0.5 + 0.5 * math.log(2 * math.pi), rel=1e-15)
    loss.backward()
    np.testing.assert_allclose(pred.grad, [[[0.0, -0.5, 0.0], [0.0, 0.5, 0.0]]], atol=1e-15)
    np.testing.assert_allclose(y.grad, [0.0], atol=1e-15)


def test_one_component_equals_the_full_gaussian_nll():
    pred, y = mixtures((6, 1, 3), 4), np.random.default_rng(5).normal(size=6)
    p1 = mg.Tensor(pred, requires_grad=True)
    p2 = mg.Tensor(pred[:, 0, 1:].copy(), requires_grad=True)
    a = nn.GaussianMixtureNLLLoss("sum")(p1, mg.Tensor(y))
    b = nn.GaussianNLLLoss(full=True, reduction="sum")(p2, mg.Tensor(y))
    assert a.item() == pytest.approx(b.item(), rel=1e-14)
    a.backward()
    b.backward()
    np.testing.assert_allclose(p1.grad[:, 0, 1:], p2.grad, rtol=1e-13)
    np.testing.assert_allclose(p1.grad[:, 0, 0], 0.0, atol=1e-15)  # one weight: always 1


def test_far_samples_and_huge_logits_stay_finite_and_agree_with_the_shifted_composition():
    pred = mixtures((4, 3, 3), 6)
    pred[0, :, 0] = [800.0, -800.0, 0.0]   # exp(800) overflows without the shift
    y = np.array([0.0, 300.0, -500.0, 1.0])  # the density underflows to 0 without it
    out_f, gp_f, gy_f = run(fused, pred, y, "sum")
    out_c, gp_c, gy_c = run(nll_composed, pred, y, "sum")
    assert np.isfinite(out_f) and np.isfinite(gp_f).all() and np.isfinite(gy_f).all()
    np.testing.assert_allclose(out_f, out_c, rtol=1e-12)
    np.testing.assert_allclose(gp_f, gp_c, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(gy_f, gy_c, rtol=1e-9)


# ---- gradients ----------------------------------------------------------------------------

@pytest.mark.parametrize("shapes", SHAPES, ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gradient_matches_composed_primitive_ops(shapes, reduction):
    pred, y = mixtures(shapes[0], 11), np.random.default_rng(12).normal(size=shapes[1])
    out_f, gp_f, gy_f = run(fused, pred, y, reduction)
    out_c, gp_c, gy_c = run(nll_composed, pred, y, reduction)
    np.testing.assert_allclose(out_f, out_c, rtol=1e-12)
    np.testing.assert_allclose(gp_f, gp_c, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(gy_f, gy_c, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("shapes", SHAPES, ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gradcheck(shapes, reduction):
    pred = mg.Tensor(mixtures(shapes[0], 21), requires_grad=True)
    y = mg.Tensor(np.random.default_rng(22).normal(size=shapes[1]), requires_grad=True)
    assert mg.gradcheck(lambda p, t: nn.GaussianMixtureNLLLoss(reduction)(p, t), [pred, y])


def test_one_node_saving_only_its_inputs():
    pred = mg.Tensor(mixtures((4, 2, 3), 31), requires_grad=True)
    y = mg.Tensor(np.zeros(4))
    loss = nn.GaussianMixtureNLLLoss()(pred, y)
    node = loss.grad_fn
    assert mg.topological_order(node) == [node] and node.name == "GaussianMixtureNLLLoss"
    assert node.saved_tensors[0] is pred.data and node.saved_tensors[1] is y.data
    assert not [v for v in vars(node).values() if isinstance(v, np.ndarray)]
    g_pred, g_y = node.backward(node, np.array(1.0))
    assert g_pred.shape == (4, 2, 3) and g_y is None


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_float32_stays_float32(reduction):
    pred = mg.Tensor(mixtures((5, 3, 3), 32).astype(np.float32), requires_grad=True)
    loss = nn.GaussianMixtureNLLLoss(reduction)(pred, np.zeros(5))
    assert loss.dtype == np.float32
    loss.backward(None if reduction != "none" else np.ones(5, np.float32))
    assert pred.grad.dtype == np.float32


# ---- bad input ----------------------------------------------------------------------------

@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_weight_logit_names_component_row_and_value(bad):
    pred = mixtures((4, 3, 3), 41)
    pred[2, 1, 0] = bad
    with pytest.raises(ValueError, match=rf"GaussianMixtureNLLLoss: pred has a non-finite "
                                         rf"mixture weight logit \({bad}\) in component 1 at "
                                         rf"row 2.*detect_anomaly"):
        nn.GaussianMixtureNLLLoss()(mg.Tensor(pred), np.zeros(4))


@pytest.mark.parametrize("bad", [0.0, -0.5])
def test_non_positive_sigma_names_component_row_and_value(bad):
    pred = mixtures((4, 3, 3), 42)
    pred[3, 2, 2] = bad
    with pytest.raises(ValueError, match=rf"GaussianMixtureNLLLoss: pred has sigma <= 0 in "
                                         rf"component 2 at row 3 \(sigma = {bad}\).*Head"):
        nn.GaussianMixtureNLLLoss()(mg.Tensor(pred), np.zeros(4))


def test_nan_sigma_and_nan_y_are_named():
    pred = mixtures((4, 3, 3), 43)
    pred[1, 0, 2] = np.nan
    with pytest.raises(ValueError, match=r"non-finite sigma \(nan\) in component 0 at row 1"):
        nn.GaussianMixtureNLLLoss()(mg.Tensor(pred), np.zeros(4))
    with pytest.raises(ValueError, match=r"y contains a non-finite value \(inf\) at row 2"):
        nn.GaussianMixtureNLLLoss()(mg.Tensor(mixtures((4, 3, 3), 44)), [0, 0, np.inf, 0])


def test_tiny_sigma_that_overflows_is_reported_not_returned_as_inf():
    pred = mixtures((2, 1, 3), 45)
    pred[0, 0, 2] = 1e-300
    with pytest.raises(ValueError, match=r"loss is not finite although every input is"):
        nn.GaussianMixtureNLLLoss()(mg.Tensor(pred), np.ones(2))


@pytest.mark.parametrize("pred_shape, y_shape, message", [
    ((5, 3, 2), (5,), r"pred must have shape \(\.\.\., K, 3\).*got shape \(5, 3, 2\)"),
    ((5, 3, 3), (5, 2), r"y has shape \(5, 2\) but pred \(5, 3, 3\)"),
    ((5, 3, 3), (5, 1), r"y has shape \(5, 1\) but pred \(5, 3, 3\).*must have shape \(5,\)"),
    ((5, 3, 3), (4,), r"y has shape \(4,\)"),
])
def test_shapes_that_do_not_fit(pred_shape, y_shape, message):
    with pytest.raises(ValueError, match="GaussianMixtureNLLLoss: " + message):
        nn.GaussianMixtureNLLLoss()(mg.Tensor(np.ones(pred_shape)), mg.Tensor(np.zeros(y_shape)))


def test_invalid_reduction():
    with pytest.raises(ValueError, match="GaussianMixtureNLLLoss: reduction must be one of"):
        nn.GaussianMixtureNLLLoss("avg")


# ---- the head -----------------------------------------------------------------------------

def test_head_layout_and_positive_sigma():
    mg.manual_seed(0)
    head = nn.GaussianMixtureHead(4, n_components=3, min_sigma=0.01)
    x = mg.Tensor(np.random.default_rng(51).normal(size=(2, 5, 4)) * 100)
    out = head(x)
    assert out.shape == (2, 5, 3, 3)
    assert (out.data[..., 2] >= 0.01).all()
    loss = nn.GaussianMixtureNLLLoss()(out, np.zeros((2, 5)))
    loss.backward()
    assert head.linear.weight.grad.shape == (4, 9)
    assert "n_components=3" in repr(head)


def test_mixture_params_gradcheck():
    raw = mg.Tensor(np.random.default_rng(52).normal(size=(3, 2, 3)) * 3, requires_grad=True)
    assert mg.gradcheck(lambda r: nn.GaussianMixtureParams.apply(r, min_sigma=0.1), [raw])


@pytest.mark.parametrize("kwargs, message", [
    ({"n_components": 0}, "n_components must be an integer >= 1"),
    ({"n_components": 2, "min_sigma": 0.0}, "min_sigma must be a finite number > 0"),
])
def test_head_rejects_bad_options(kwargs, message):
    with pytest.raises(ValueError, match="GaussianMixtureHead: " + message):
        nn.GaussianMixtureHead(4, **kwargs)


# ---- readers ------------------------------------------------------------------------------

def test_mean_variance_and_density_agree_with_samples_and_integration():
    pred = mixtures((3, 4, 3), 61, spread=3.0)
    draws = nn.mixture_sample(pred, n=200_000, seed=0)
    assert draws.shape == (200_000, 3)
    mean, var = nn.mixture_mean(pred), nn.mixture_variance(pred)
    assert (np.abs(draws.mean(0) - mean) < 5 * np.sqrt(var / 200_000)).all()
    np.testing.assert_allclose(draws.var(0), var, rtol=0.02)
    grid = np.linspace(-25, 25, 20001)
    dens = nn.mixture_density(pred, grid[:, None])          # (G, 3)
    np.testing.assert_allclose(dens.sum(0) * (grid[1] - grid[0]), 1.0, rtol=1e-6)
    np.testing.assert_allclose((grid[:, None] * dens).sum(0) * (grid[1] - grid[0]), mean, atol=1e-6)
    y = np.array([0.3, -1.0, 2.0])
    np.testing.assert_allclose(-np.log(nn.mixture_density(pred, y)), nll_formula(pred, y))


def test_samples_are_reproducible_and_follow_the_weights():
    pred = np.array([[np.log(0.2), -10.0, 0.1], [np.log(0.8), 10.0, 0.1]])  # one mixture
    a = nn.mixture_sample(pred, n=5000, seed=3)
    assert np.array_equal(a, nn.mixture_sample(pred, n=5000, seed=3))
    assert not np.array_equal(a, nn.mixture_sample(pred, n=5000, seed=4))
    assert abs((a > 0).mean() - 0.8) < 0.03


def test_mode_is_the_highest_peak():
    pred = np.array([[[np.log(0.3), -2.0, 0.5], [np.log(0.7), 3.0, 1.0]],    # two peaks
                     [[0.0, 0.0, 1.0], [0.0, 0.5, 1.0]],                      # one merged peak
                     [[5.0, 1.5, 0.2], [0.0, -4.0, 3.0]]])
    mode = nn.mixture_mode(pred)
    grid = np.linspace(-10, 10, 200001)
    dens = nn.mixture_density(pred, grid[:, None])
    np.testing.assert_allclose(mode, grid[dens.argmax(0)], atol=2e-4)
    assert mode[1] == pytest.approx(0.25, abs=1e-9)  # symmetric pair: the midpoint


def test_readers_reject_bad_predictions():
    with pytest.raises(ValueError, match=r"mixture_mean: pred must have shape \(\.\.\., K, 3\)"):
        nn.mixture_mean(np.ones((4, 2)))
    with pytest.raises(ValueError, match="mixture_mode: pred must hold finite values"):
        nn.mixture_mode(np.array([[0.0, 0.0, -1.0]]))


# ---- KL between mixtures: bound and approximation -----------------------------------------

def _kl_monte_carlo(f, g, n=200_000):
    y = nn.mixture_sample(f, n=n, seed=7)
    diff = np.log(nn.mixture_density(f, y)) - np.log(nn.mixture_density(g, y))
    return diff.mean(0), diff.std(0) / math.sqrt(n)


def test_single_components_give_the_exact_kl():
    f, g = mixtures((5, 1, 3), 71), mixtures((5, 1, 3), 72)
    exact = F.gaussian_kl(g[:, 0, 1], g[:, 0, 2], f[:, 0, 1], f[:, 0, 2]).data
    np.testing.assert_allclose(nn.mixture_kl_upper_bound(g, f).data, exact, rtol=1e-13)
    np.testing.assert_allclose(nn.mixture_kl_variational(g, f).data, exact, rtol=1e-12)


def test_identical_mixtures_give_zero():
    f = mixtures((3, 3, 3), 73)
    np.testing.assert_allclose(nn.mixture_kl_upper_bound(f, f).data, 0.0, atol=1e-14)
    np.testing.assert_allclose(nn.mixture_kl_variational(f, f).data, 0.0, atol=1e-14)


def test_bound_lies_above_the_kl_and_the_approximation_near_it():
    f = np.array([[[0.0, -1.0, 1.0], [0.5, 1.5, 0.7]], [[0.0, -4.0, 0.5], [0.0, 4.0, 0.5]]])
    g = np.array([[[0.3, 1.0, 1.2], [0.0, -0.5, 0.8]], [[0.5, -3.5, 0.6], [0.0, 4.2, 0.5]]])
    kl, se = _kl_monte_carlo(f, g)
    bound = nn.mixture_kl_upper_bound(g, f).data
    approx = nn.mixture_kl_variational(g, f).data
    assert bound[0] > 2 * kl[0] + 5 * se[0]      # loose when components overlap and mismatch
    assert bound[1] > kl[1] - 4 * se[1]          # nearly tight when they are apart and matched
    assert bound[1] < kl[1] + 0.02
    np.testing.assert_allclose(approx[1], kl[1], rtol=0.05)   # separated: close
    assert abs(approx[0] - kl[0]) < bound[0] - kl[0]           # closer than the bound


@pytest.mark.parametrize("fn", [nn.mixture_kl_upper_bound, nn.mixture_kl_variational])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_kl_bound_and_approximation_gradcheck(fn, reduction):
    g = mg.Tensor(mixtures((2, 3, 3), 81), requires_grad=True)
    f = mg.Tensor(mixtures((2, 3, 3), 82), requires_grad=True)
    assert mg.gradcheck(lambda a, b: fn(a, b, reduction=reduction), [g, f])


def test_bound_needs_equal_component_counts():
    with pytest.raises(ValueError, match="mixture_kl_upper_bound: .*same K"):
        nn.mixture_kl_upper_bound(mixtures((2, 3, 3), 1), mixtures((2, 2, 3), 2))
    approx = nn.mixture_kl_variational(mixtures((2, 3, 3), 1), mixtures((2, 2, 3), 2))
    assert approx.shape == (2,)
