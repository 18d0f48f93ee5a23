"""The tuned first-order kernels (minigrad/kernels.py) equal the expression forms that the
fused nodes use on tensors (for gradients of gradients)."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import kernels
from minigrad.nn import heads
from minigrad.nn import functional as F


def expression_grads(node, grad):
    """The node's backward on tensors: the expression form."""
    saved = node.saved_tensors
    node.saved_tensors = tuple(mg.Tensor(a) for a in saved)
    try:
        out = type(node).backward(node, mg.Tensor(grad))
    finally:
        node.saved_tensors = saved
    out = out if isinstance(out, tuple) else (out,)
    return [None if g is None else g.data for g in out]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape", [(2,), (7, 2), (3, 4, 2)], ids=str)
def test_kl_kernel_equals_the_expression_form(dtype, reduction, shape):
    rng = np.random.default_rng(0)
    pred = np.stack([rng.normal(size=shape[:-1]), rng.uniform(0.3, 3, size=shape[:-1])], -1)
    target = np.stack([rng.normal(size=shape[:-1]), rng.uniform(0.3, 3, size=shape[:-1])], -1)
    p = mg.Tensor(pred.astype(dtype), requires_grad=True)
    t = mg.Tensor(target.astype(dtype), requires_grad=True)
    loss = F.gaussian_kl_loss(p, t, reduction=reduction)
    grad = rng.uniform(0.5, 2, size=loss.shape).astype(dtype)
    fast = type(loss.grad_fn).backward(loss.grad_fn, grad)
    slow = expression_grads(loss.grad_fn, grad)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    for f, s in zip(fast, slow):
        assert f.dtype == dtype
        np.testing.assert_allclose(f, s, rtol=tol, atol=tol)


def test_kl_kernel_keeps_equal_extreme_sigmas_exact():
    pred = np.array([[0.0, 1e-300], [1.0, 1e300]])
    g_pred, g_target = kernels.kl_grads(pred, pred.copy(), 1.0, True, True)
    assert np.all(g_pred == 0) and np.all(g_target == 0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gaussian_params_kernel_equals_the_expression_form(dtype):
    raw = mg.Tensor(np.random.default_rng(1).uniform(-40, 40, size=(9, 2)).astype(dtype),
                    requires_grad=True)
    out = heads.GaussianParams.apply(raw, min_sigma=1e-6)
    grad = np.ones((9, 2), dtype=dtype)
    fast = type(out.grad_fn).backward(out.grad_fn, grad)
    slow, = expression_grads(out.grad_fn, grad)
    np.testing.assert_allclose(fast, slow, rtol=1e-12 if dtype == np.float64 else 1e-6)


def test_sigmoid_kernel_equals_the_op():
    x = np.linspace(-700, 700, 1001)
    np.testing.assert_array_equal(kernels.sigmoid(x), mg.sigmoid(mg.Tensor(x)).data)


@pytest.mark.parametrize("op", [mg.sum, mg.mean])
@pytest.mark.parametrize("shape, axis", [((), None), ((5,), None), ((3, 4), 0), ((3, 4), 1),
                                         ((2, 3, 4), (0, 2)), ((0, 3), 0), ((3, 0), None)],
                         ids=str)
def test_spread_kernel_equals_the_expression_form(op, shape, axis):
    rng = np.random.default_rng(1)
    x = mg.Tensor(rng.normal(size=shape), requires_grad=True)
    y = op(x, axis=axis)
    grad = rng.normal(size=y.shape)
    (fast,) = [type(y.grad_fn).backward(y.grad_fn, grad)]
    (slow,) = expression_grads(y.grad_fn, grad)
    assert type(fast) is np.ndarray and fast.flags.writeable and fast.base is None
    assert fast.shape == slow.shape == shape
    np.testing.assert_array_equal(fast, slow)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gaussian_params_slope_keeps_relative_precision_far_out(dtype):
    # d sigma / d raw1 = sigmoid(raw1), taken from the forward's softplus: no overflow, and
    # the tiny slopes far left stay accurate (where the dtype can hold them)
    limit = 745 if dtype == np.float64 else 104
    x = np.linspace(-limit, limit, 4001).astype(dtype)
    raw = mg.Tensor(np.stack([np.zeros_like(x), x], -1), requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow is fine
        heads.GaussianParams.apply(raw).sum().backward()
    exact = 1 / (1 + np.exp(-x.astype(np.longdouble)))
    normal = exact >= np.finfo(dtype).tiny
    error = np.abs(raw.grad[:, 1].astype(np.longdouble) - exact)[normal] / exact[normal]
    assert np.max(error) / np.finfo(dtype).eps <= 4
    assert np.all(raw.grad[:, 0] == 1)
