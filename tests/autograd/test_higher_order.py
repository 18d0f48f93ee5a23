"""Hessians and third derivatives against closed forms, and the functional API
(`minigrad.autograd.functional`) against its definitions."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.autograd import functional as AF
from minigrad.nn import functional as F


def test_hessian_of_a_quadratic_form_is_a_plus_a_transpose():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(4, 4))
    x = mg.Tensor(rng.normal(size=4))
    H = AF.hessian(lambda x: x @ (mg.Tensor(A) @ x), x)
    np.testing.assert_allclose(H.data, A + A.T, atol=1e-12)


@pytest.mark.parametrize("sigma", [0.5, 1.0, 3.0])
def test_kl_hessian_at_the_optimum_is_the_fisher_information(sigma):
    target = mg.Tensor([0.7, sigma])
    pred = mg.Tensor([0.7, sigma])   # the optimum: the model equals the target
    H = AF.hessian(lambda p: F.gaussian_kl_loss(p, target, reduction="sum"), pred)
    np.testing.assert_allclose(H.data, np.diag([1 / sigma ** 2, 2 / sigma ** 2]), atol=1e-12)


def test_kl_hessian_away_from_the_optimum_matches_the_closed_form():
    # D(mu, s) = log s - log s_gt + (s_gt^2 + (mu_gt - mu)^2) / (2 s^2) - 1/2
    mu, s, mu_gt, s_gt = 0.4, 1.3, -0.2, 0.8
    H = AF.hessian(lambda p: F.gaussian_kl_loss(p, mg.Tensor([mu_gt, s_gt]), reduction="sum"),
                   mg.Tensor([mu, s]))
    d = mu - mu_gt
    expected = [[1 / s ** 2, -2 * d / s ** 3],
                [-2 * d / s ** 3, -1 / s ** 2 + 3 * (s_gt ** 2 + d ** 2) / s ** 4]]
    np.testing.assert_allclose(H.data, expected, rtol=1e-12)


X = np.array([-1.5, -0.2, 0.0, 0.7, 2.5])
THIRD = {
    "exp": (mg.exp, np.exp(X)),
    "tanh": (mg.tanh, (lambda t: -2 * (1 - t ** 2) * (1 - 3 * t ** 2))(np.tanh(X))),
    "sigmoid": (mg.sigmoid, (lambda s: s * (1 - s) * (1 - 6 * s + 6 * s ** 2))(1 / (1 + np.exp(-X)))),
    "softplus": (mg.softplus, (lambda s: s * (1 - s) * (1 - 2 * s))(1 / (1 + np.exp(-X)))),
    "x**3": (lambda x: x ** 3, np.full_like(X, 6.0)),
}


@pytest.mark.parametrize("name", sorted(THIRD))
def test_third_derivatives_match_closed_forms(name):
    fn, expected = THIRD[name]
    x = mg.Tensor(X, requires_grad=True)
    g, = mg.grad(fn(x).sum(), x, create_graph=True)
    h, = mg.grad(g.sum(), x, create_graph=True)
    t, = mg.grad(h.sum(), x)
    np.testing.assert_allclose(t.data, expected, rtol=1e-10, atol=1e-12)


def test_hessian_of_an_mlp_loss_is_the_jacobian_of_its_gradient():
    mg.manual_seed(0)
    model = nn.Sequential(nn.MLP([1, 3]), nn.GaussianHead(3))
    x = mg.Tensor([[0.5], [-1.0]])
    target = mg.Tensor([[0.0, 1.0], [0.5, 0.3]])
    w0 = model[0][0].weight            # (1, 3)

    def loss(w):
        return nn.GaussianKLLoss()(model[1](mg.tanh(x @ w + model[0][0].bias)), target)

    H = AF.hessian(loss, mg.Tensor(w0.data))
    J = AF.jacobian(lambda w: mg.grad(loss(w), w, create_graph=True)[0], mg.Tensor(w0.data))
    assert H.shape == (1, 3, 1, 3)
    np.testing.assert_allclose(H.data, J.data, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(H.data.reshape(3, 3), H.data.reshape(3, 3).T, atol=1e-12)


def test_vjp_jvp_hvp_follow_their_definitions():
    rng = np.random.default_rng(1)
    A = mg.Tensor(rng.normal(size=(3, 3)))
    f = lambda x: mg.tanh(A @ x) * x           # noqa: E731
    x = mg.Tensor(rng.normal(size=3))
    J = AF.jacobian(f, x).data
    v = mg.Tensor(rng.normal(size=3))
    out, vj = AF.vjp(f, x, v)
    np.testing.assert_allclose(out.data, f(x).data)
    np.testing.assert_allclose(vj.data, v.data @ J, rtol=1e-12)
    _, jv = AF.jvp(f, x, v)
    np.testing.assert_allclose(jv.data, J @ v.data, rtol=1e-12)
    scalar = lambda x: (f(x) ** 2).sum()       # noqa: E731
    H = AF.hessian(scalar, x).data
    _, hv = AF.hvp(scalar, x, v)
    np.testing.assert_allclose(hv.data, H @ v.data, rtol=1e-10)
    _, vh = AF.vhp(scalar, x, v)
    np.testing.assert_allclose(vh.data, v.data @ H, rtol=1e-10)


def test_tuple_inputs_give_tuple_results_and_results_carry_no_graph():
    a, b = mg.Tensor([1.0, 2.0]), mg.Tensor([3.0, 4.0])
    J = AF.jacobian(lambda a, b: a * b, (a, b))
    assert isinstance(J, tuple) and len(J) == 2
    np.testing.assert_allclose(J[0].data, np.diag([3.0, 4.0]))
    np.testing.assert_allclose(J[1].data, np.diag([1.0, 2.0]))
    H = AF.hessian(lambda a, b: (a * a * b).sum(), (a, b))
    np.testing.assert_allclose(H[0][1].data, np.diag([2.0, 4.0]))
    assert not H[0][0].requires_grad and a.grad is None and not a.requires_grad


def test_create_graph_results_can_be_differentiated_again():
    x = mg.Tensor([0.5, 1.5], requires_grad=True)
    _, hv = AF.hvp(lambda x: (x ** 4).sum(), x, mg.Tensor([1.0, 1.0]), create_graph=True)
    third, = mg.grad(hv.sum(), x)                 # d/dx (12 x^2) = 24 x
    np.testing.assert_allclose(third.data, 24 * x.data)


def test_functional_bad_input_names_the_problem():
    x = mg.Tensor([1.0, 2.0])
    with pytest.raises(ValueError, match=r"vjp: v\[0\] has shape \(3,\).*\(2,\)"):
        AF.vjp(lambda x: x * 2, x, mg.Tensor([1.0, 2.0, 3.0]))
    with pytest.raises(RuntimeError, match=r"hessian: func must return a single-element"):
        AF.hessian(lambda x: x * 2, x)
    with pytest.raises(TypeError, match=r"jacobian: input 0 must be a Tensor"):
        AF.jacobian(lambda x: x, [1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"does not depend on input 1 \(strict=True\)"):
        AF.jacobian(lambda a, b: a * 2, (x, mg.Tensor([1.0])), strict=True)


def test_hvp_costs_about_two_backward_passes():
    """Not a timing: the Hessian-vector product runs a fixed number of node backwards
    (forward once, first backward, second backward), independent of the input size."""
    x = mg.Tensor(np.linspace(-1, 1, 50))
    _, hv = AF.hvp(lambda x: (mg.tanh(x) ** 2).sum(), x, mg.Tensor(np.ones(50)))
    t = np.tanh(x.data)
    # d^2/dx^2 tanh^2 = 2 (1 - t^2)(1 - 3 t^2)
    np.testing.assert_allclose(hv.data, 2 * (1 - t ** 2) * (1 - 3 * t ** 2), rtol=1e-10)
