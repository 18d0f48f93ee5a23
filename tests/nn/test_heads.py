"""GaussianHead and its fused GaussianParams op: [mu, softplus(s) + min_sigma]."""
import warnings

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.nn import GaussianParams
from minigrad.optim import SGD


def raw_leaf(shape, seed, scale=2.0):
    return mg.Tensor(np.random.default_rng(seed).normal(scale=scale, size=shape),
                     requires_grad=True)


@pytest.mark.parametrize("shape", [(2,), (5, 2), (3, 4, 2)])
def test_gaussian_params_gradcheck(shape):
    raw = raw_leaf(shape, 0)
    assert mg.gradcheck(lambda r: GaussianParams.apply(r, min_sigma=1e-3), [raw])


def test_gaussian_params_values_and_gradient_against_primitive_ops():
    raw = raw_leaf((6, 2), 1)
    out = GaussianParams.apply(raw, min_sigma=0.01)
    assert out.grad_fn.name == "GaussianParams"
    np.testing.assert_array_equal(out.data[:, 0], raw.data[:, 0])
    np.testing.assert_allclose(out.data[:, 1], np.log1p(np.exp(raw.data[:, 1])) + 0.01, rtol=1e-12)
    weights = np.random.default_rng(2).normal(size=(6, 2))
    (out * weights).sum().backward()
    fused = raw.grad.copy()
    raw.grad = None
    composed = mg.stack([raw[:, 0], raw[:, 1].softplus() + 0.01], axis=1)
    (composed * weights).sum().backward()
    np.testing.assert_allclose(fused, raw.grad, rtol=1e-12)


def test_sigma_stays_positive_for_huge_negative_raw():
    for dtype in (np.float64, np.float32):
        raw = mg.Tensor(np.array([[0.0, -1e4], [0.0, -800.0], [0.0, -50.0]], dtype=dtype),
                        requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            out = GaussianParams.apply(raw, min_sigma=1e-6)
            out.sum().backward()
        assert (out.data[:, 1] > 0).all() and out.dtype == dtype
        assert np.isfinite(raw.grad).all()


def test_no_overflow_for_huge_positive_raw():
    raw = mg.Tensor([[0.0, 1e4], [0.0, 800.0]], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow in exp would warn
        out = GaussianParams.apply(raw, min_sigma=1e-6)
        out.sum().backward()
    np.testing.assert_allclose(out.data[:, 1], [1e4, 800.0])
    np.testing.assert_array_equal(raw.grad, [[1.0, 1.0], [1.0, 1.0]])


def test_gaussian_params_needs_last_axis_two():
    message = r"GaussianParams: raw input has shape \(4, 3\), its last axis must have size 2"
    with pytest.raises(ValueError, match=message):
        GaussianParams.apply(mg.ones(4, 3))


def test_head_output_and_structure():
    head = nn.GaussianHead(5, min_sigma=0.1)
    assert [n for n, _ in head.named_parameters()] == ["linear.weight", "linear.bias"]
    assert head.linear.weight.shape == (5, 2)
    x = mg.Tensor(np.random.default_rng(3).normal(size=(7, 5)))
    out = head(x)
    assert out.shape == (7, 2) and (out.data[:, 1] > 0.1).all()
    raw = x.data @ head.linear.weight.data + head.linear.bias.data
    np.testing.assert_allclose(out.data[:, 0], raw[:, 0])
    np.testing.assert_allclose(out.data[:, 1], np.logaddexp(raw[:, 1], 0) + 0.1)


@pytest.mark.parametrize("bad", [0.0, -1e-3, float("nan"), float("inf"), "1e-6"])
def test_head_rejects_bad_min_sigma(bad):
    with pytest.raises(ValueError, match="GaussianHead: min_sigma must be a finite number > 0"):
        nn.GaussianHead(4, min_sigma=bad)


def test_model_forward_backward_and_gradcheck():
    mg.manual_seed(5)
    model = nn.Sequential(nn.MLP([1, 3, 3]), nn.GaussianHead(3))
    x = mg.Tensor(np.linspace(-1, 1, 4).reshape(4, 1), requires_grad=True)
    assert mg.gradcheck(model, [x])
    out = model(x)
    (out[:, 0] ** 2 + out[:, 1]).sum().backward()
    assert all(p.grad is not None and p.grad.shape == p.shape for p in model.parameters())


def test_head_can_be_trained_to_a_target():
    """A few hundred SGD steps on squared error move [mu, sigma] to a fixed target."""
    mg.manual_seed(6)
    model = nn.Sequential(nn.MLP([1, 8]), nn.GaussianHead(8))
    x = mg.ones(1, 1)
    target = np.array([[0.5, 2.0]])
    opt = SGD(model.parameters(), lr=0.1)
    for _ in range(300):
        opt.zero_grad()
        ((model(x) - target) ** 2).sum().backward()
        opt.step()
    np.testing.assert_allclose(model(x).data, target, atol=1e-3)
