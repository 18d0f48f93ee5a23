"""Edge values (issue 10, section 1): no silent NaN and no crash on ordinary input.
Each case failed on the first edition."""
import warnings

import numpy as np
import pytest

import minigrad as mg
from minigrad.nn import functional as F


def grad_of(fn, *values):
    xs = [mg.Tensor(v, requires_grad=True) for v in values]
    fn(*xs).sum().backward()
    return [x.grad for x in xs]


def test_x_to_the_zero_has_zero_gradient_at_zero():
    np.testing.assert_array_equal(grad_of(lambda x: x ** 0, [0.0, 1.0])[0], [0.0, 0.0])
    # sum_k (k + 1) x^k = 1 + 2x + 3x^2: slope 2 at 0 and 8 at 1
    g, = grad_of(lambda x: sum((k + 1.0) * x ** k for k in range(3)), [0.0, 1.0])
    np.testing.assert_array_equal(g, [2.0, 8.0])


@pytest.mark.parametrize("b, grad_a, grad_b", [(2.0, 0.0, 0.0), (0.0, 0.0, 0.0),
                                               (0.5, np.inf, 0.0), (-1.0, -np.inf, -np.inf)])
def test_power_at_zero_base_follows_pytorch(b, grad_a, grad_b):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # 0 ** -1 is inf, as in NumPy
        ga, gb = grad_of(lambda a, b: a ** b, [0.0], [b])
    assert ga[0] == grad_a and gb[0] == grad_b


def test_ops_on_numbers_and_arrays_only_return_tensors():
    assert mg.where(np.array([True, False]), 1.0, 0.0).tolist() == [1.0, 0.0]
    assert mg.add(2.0, 3.0).item() == 5.0 and isinstance(mg.add(2.0, 3.0), mg.Tensor)
    assert mg.maximum(0.0, 1.0).item() == 1.0
    assert mg.exp(np.zeros(2)).tolist() == [1.0, 1.0]


def test_clip_with_array_bounds_that_broadcast_x():
    x = mg.Tensor([0.5, 2.0], requires_grad=True)
    y = mg.clip(x, np.array([[0.0], [1.0]]), 1.5)
    assert y.shape == (2, 2)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 0.0])  # 0.5 is inside [0, 1.5], below [1, 1.5]


def test_clip_with_tensor_bounds_gives_them_gradients():
    x = mg.Tensor([0.5, 2.0, -1.0], requires_grad=True)
    lo = mg.Tensor([0.0, 0.0, 0.0], requires_grad=True)
    hi = mg.Tensor(1.5, requires_grad=True)
    mg.clip(x, lo, hi).sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(lo.grad, [0.0, 0.0, 1.0])
    assert hi.grad == 1.0
    assert mg.gradcheck(lambda x, lo, hi: mg.clip(x, lo, hi), [x, lo, hi])


@pytest.mark.parametrize("op", [mg.relu, lambda x: mg.clip(x, 0.0, 5.0),
                                lambda x: mg.maximum(x, 0.0), lambda x: -mg.minimum(-x, 0.0)])
def test_an_infinite_gradient_on_the_inactive_side_gives_zero_not_nan(op):
    x = mg.Tensor([-1.0, 4.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # sqrt'(0) is inf
        mg.sqrt(op(x)).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.25])


def test_empty_axes():
    assert mg.softmax(mg.zeros((5, 0)), axis=-1).shape == (5, 0)
    assert mg.log_softmax(mg.zeros((5, 0)), axis=-1).shape == (5, 0)
    assert mg.zeros((0, 3)).max(axis=1).shape == (0,) and mg.zeros((0, 3)).min(axis=1).shape == (0,)
    with pytest.raises(ValueError, match=r"Max: cannot reduce over an empty axis"):
        mg.zeros((0, 3)).max(axis=0)
    for a_shape, b_shape in [((0,), (0, 3)), ((3, 0), (0,))]:
        a = mg.Tensor(np.zeros(a_shape), requires_grad=True)
        b = mg.Tensor(np.zeros(b_shape), requires_grad=True)
        (a @ b).sum().backward()
        assert a.grad.shape == a_shape and b.grad.shape == b_shape


@pytest.mark.parametrize("loss", [lambda p: F.mse_loss(p, np.zeros((0, 2))),
                                  lambda p: F.gaussian_nll_loss(p, np.zeros(0)),
                                  lambda p: F.gaussian_kl_loss(p, np.ones((0, 2)))])
def test_a_mean_over_an_empty_batch_is_nan_with_empty_gradients(loss):
    p = mg.Tensor(np.zeros((0, 2)), requires_grad=True)
    value = loss(p)
    assert np.isnan(value.item())
    value.backward()
    assert p.grad.shape == (0, 2)


@pytest.mark.parametrize("reduce", [mg.sum, mg.mean, mg.max, mg.min])
@pytest.mark.parametrize("axis", [0, -1])
def test_reducing_a_0d_tensor_over_axis_0_gives_its_value(reduce, axis):
    assert reduce(mg.Tensor(1.5), axis=axis).item() == 1.5
    assert mg.Tensor(1.5).var(axis=axis, ddof=0).item() == 0.0


def test_concatenate_along_a_missing_axis_names_it_and_the_shapes():
    with pytest.raises(ValueError, match=r"Concatenate: axis 1 does not exist in every input "
                                         r"\(shapes \(3,\), \(3,\)\)"):
        mg.concatenate([mg.zeros(3), mg.zeros(3)], axis=1)


def _ulps(actual, exact, dtype):
    """The largest error in units of the dtype's epsilon, relative to the exact value (where
    that is a normal number of the dtype: below, the dtype cannot hold it)."""
    normal = np.abs(exact) >= np.finfo(dtype).tiny
    error = np.abs(actual.astype(np.longdouble) - exact)[normal] / np.abs(exact[normal])
    return np.max(error) / np.finfo(dtype).eps


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sigmoid_and_softplus_keep_relative_precision_over_the_finite_range(dtype):
    limit = 700 if dtype == np.float64 else 85
    x = np.linspace(-limit, limit, 20001).astype(dtype)
    wide = x.astype(np.longdouble)
    exact = 1 / (1 + np.exp(-wide))
    slope = np.exp(-np.abs(wide)) / (1 + np.exp(-np.abs(wide))) ** 2   # s (1 - s), no rounding
    t = mg.Tensor(x, requires_grad=True)
    s = mg.sigmoid(t)
    assert _ulps(s.data, exact, dtype) <= 4
    s.sum().backward()
    assert _ulps(t.grad, slope, dtype) <= 8
    t.grad = None
    mg.softplus(t).sum().backward()          # d/dx softplus = sigmoid
    assert _ulps(t.grad, exact, dtype) <= 4


def test_log_of_sigmoid_and_softplus_far_out():
    x = mg.Tensor([-40.0], requires_grad=True)
    y = mg.log(mg.sigmoid(x))
    y.backward()
    assert y.item() == pytest.approx(-40.0, rel=1e-14) and x.grad[0] == pytest.approx(1.0)
    x = mg.Tensor([-50.0], requires_grad=True)
    mg.log(mg.softplus(x)).backward()
    assert x.grad[0] == pytest.approx(1.0)
    assert mg.sigmoid(mg.Tensor(np.float32(-20.0))).item() > 0


def test_gaussian_nll_screens_overflow_and_eps():
    with pytest.raises(ValueError, match=r"GaussianNLLLoss: the loss overflows at row 0: "
                                         r"\(y - mu\)/sigma = 1e\+200 with sigma = 1e-200"):
        F.gaussian_nll_loss(mg.Tensor([[0.0, 1e-200]]), mg.Tensor([1.0]))
    for eps in (float("nan"), float("inf"), -1.0):
        with pytest.raises(ValueError, match=r"eps must be a finite number >= 0"):
            F.gaussian_nll_loss(mg.Tensor([[0.0, 1.0]]), mg.Tensor([1.0]), eps=eps)


def test_gaussian_kl_names_the_real_cause_of_an_overflow():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(ValueError, match=r"sigma_gt / sigma_m = 1e\+200"):
            F.gaussian_kl_loss(mg.Tensor([[0.0, 1.0]]), mg.Tensor([[0.0, 1e200]]))
        with pytest.raises(ValueError, match=r"the means differ by 1e\+200 sigma_m"):
            F.gaussian_kl_loss(mg.Tensor([[1e200, 1.0]]), mg.Tensor([[0.0, 1.0]]))


def test_gaussian_kl_refuses_a_subnormal_sigma():
    with pytest.raises(ValueError, match=r"target has sigma = 5e-324 at row 0, below the "
                                         r"smallest normal float64"):
        F.gaussian_kl_loss(mg.Tensor([[0.0, 1.0]]), mg.Tensor([[0.0, 5e-324]]))


def test_gaussian_kl_gradient_is_exact_for_equal_extreme_sigmas():
    for sigma in (1e-300, 1e300, 3.7e-150):
        p = mg.Tensor([[0.0, sigma]], requires_grad=True)
        t = mg.Tensor([[0.0, sigma]], requires_grad=True)
        loss = F.gaussian_kl_loss(p, t)
        loss.backward()
        assert loss.item() == 0.0
        assert np.all(p.grad == 0) and np.all(t.grad == 0)
