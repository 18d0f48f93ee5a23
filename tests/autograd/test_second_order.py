"""Second derivatives: every op of the op set and every fused node passes `gradgradcheck`
(finite differences of the engine's own first derivatives) in float64 on broadcasting
shapes: scalar, vector, matrix, size-1 axes, batched."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.nn import functional as F

SHAPES = [((), ()), ((3,), (3,)), ((2, 3), (3,)), ((2, 1), (1, 3)), ((2, 2, 3), (2, 1, 3))]
UNARY_SHAPES = [(), (3,), (2, 3), (1, 3), (2, 1, 3)]


def leaves(shapes, low=-2.0, high=2.0, seed=0):
    rng = np.random.default_rng(seed)
    return [mg.Tensor(rng.uniform(low, high, size=s), requires_grad=True) for s in shapes]


def positive(shapes, seed=0):
    return leaves(shapes, 0.5, 2.0, seed)


BINARY = {
    "add": (lambda a, b: a + b, leaves),
    "subtract": (lambda a, b: a - b, leaves),
    "multiply": (lambda a, b: a * b, leaves),
    "divide": (lambda a, b: a / b, positive),
    "power": (lambda a, b: a ** b, positive),
    "maximum": (mg.maximum, leaves),
    "minimum": (mg.minimum, leaves),
    "where": (lambda a, b: mg.where(a > 0, a * b, b * b), leaves),
}

UNARY = {
    "negative": (lambda x: -x, leaves), "exp": (mg.exp, leaves), "log": (mg.log, positive),
    "sqrt": (mg.sqrt, positive), "abs": (mg.abs, leaves), "tanh": (mg.tanh, leaves),
    "sigmoid": (mg.sigmoid, leaves), "relu": (lambda x: mg.relu(x) * x, leaves),
    "softplus": (mg.softplus, leaves), "x**3": (lambda x: x ** 3, leaves),
    "x**2": (lambda x: x ** 2, leaves), "2**x": (lambda x: 2.0 ** x, leaves),
    "clip": (lambda x: mg.clip(x, -0.5, 0.7) * x, leaves),
    "cast": (lambda x: (x * x).astype(np.float32).astype(np.float64), leaves),
    "sum": (lambda x: (x * x).sum(), leaves), "mean": (lambda x: (x * x).mean(), leaves),
    "max": (lambda x: (x * x).max() * x, leaves), "min": (lambda x: (x * x).min() * x, leaves),
    "var": (lambda x: x.var() if x.size > 1 else x * x, leaves),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("shapes", SHAPES, ids=str)
def test_binary_ops_are_twice_differentiable(name, shapes):
    fn, make = BINARY[name]
    assert mg.gradgradcheck(fn, make(shapes))


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("shape", UNARY_SHAPES, ids=str)
def test_unary_ops_are_twice_differentiable(name, shape):
    fn, make = UNARY[name]
    assert mg.gradgradcheck(fn, make([shape]))


AXIS_OPS = {
    "sum(axis)": lambda x: (x * x).sum(axis=-1, keepdims=True) * x,
    "mean(axis)": lambda x: (x * x).mean(axis=0) * x,
    "max(axis)": lambda x: (x * x).max(axis=-1, keepdims=True) * x,
    "var(axis)": lambda x: x.var(axis=-1, keepdims=True) * x,
    "softmax": lambda x: mg.softmax(x * x, axis=-1),
    "log_softmax": lambda x: mg.log_softmax(x * x, axis=0),
    "reshape": lambda x: (x * x).reshape(-1) * x.reshape(-1),
    "transpose": lambda x: (x * x).transpose(1, 0) * x.T,
    "broadcast_to": lambda x: (x * x).broadcast_to((2, 2, 3)) * x,
    "getitem": lambda x: (x * x)[:, [0, 0, 2]] * x[1],
    "concatenate": lambda x: mg.concatenate([x * x, x], axis=1) * mg.concatenate([x, x], axis=1),
    "stack": lambda x: mg.stack([x * x, x], axis=0) * x,
    "squeeze/unsqueeze": lambda x: (x * x).unsqueeze(0).squeeze(0) * x,
    "matmul": lambda x: (x @ (x * x).T) * 2,
    "matmul 1-D": lambda x: (x[0] @ (x * x).T) * x[1, 0],
}


@pytest.mark.parametrize("name", sorted(AXIS_OPS))
def test_axis_and_shape_ops_are_twice_differentiable(name):
    assert mg.gradgradcheck(AXIS_OPS[name], leaves([(2, 3)]))


def test_batched_matmul_is_twice_differentiable():
    a, b = leaves([(2, 2, 3), (3, 4)])
    assert mg.gradgradcheck(lambda a, b: (a @ b) * (a @ b), [a, b])


# ---- fused nodes ------------------------------------------------------------------------

def gaussians(rows, seed):
    rng = np.random.default_rng(seed)
    return np.stack([rng.normal(size=rows), rng.uniform(0.5, 2.0, size=rows)], axis=-1)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("rows", [(), (4,), (2, 3)], ids=str)
def test_gaussian_kl_is_twice_differentiable(reduction, rows):
    pred = mg.Tensor(gaussians(rows, 0), requires_grad=True)
    target = mg.Tensor(gaussians(rows, 1), requires_grad=True)
    assert mg.gradgradcheck(lambda p, t: F.gaussian_kl_loss(p, t, reduction=reduction),
                            [pred, target])


def test_unpacked_gaussian_kl_with_broadcasting_is_twice_differentiable():
    mu_m, s_m = mg.Tensor([0.3, -0.2], requires_grad=True), mg.Tensor([[1.2], [0.7]], requires_grad=True)
    mu_gt, s_gt = mg.Tensor(0.1, requires_grad=True), mg.Tensor([0.9, 1.5], requires_grad=True)
    assert mg.gradgradcheck(lambda *a: F.gaussian_kl(*a, reduction="sum"), [mu_m, s_m, mu_gt, s_gt])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("eps", [0.0, 0.8])
def test_gaussian_nll_is_twice_differentiable(reduction, eps):
    pred = mg.Tensor(gaussians((4,), 2), requires_grad=True)
    y = mg.Tensor(np.random.default_rng(3).normal(size=4), requires_grad=True)
    assert mg.gradgradcheck(
        lambda p, y: F.gaussian_nll_loss(p, y, full=True, eps=eps, reduction=reduction), [pred, y])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_is_twice_differentiable(reduction):
    pred, y = leaves([(2, 3), (3,)])
    assert mg.gradgradcheck(lambda p, y: F.mse_loss(p, y, reduction=reduction), [pred, y])


@pytest.mark.parametrize("x_shape", [(3,), (4, 3), (2, 4, 3)], ids=str)
def test_affine_of_dense_is_twice_differentiable(x_shape):
    layer = nn.Dense(3, 2)
    x, = leaves([x_shape])
    w = mg.Tensor(layer.weight.data, requires_grad=True)
    b = mg.Tensor(np.array([0.1, -0.3]), requires_grad=True)
    affine = nn.layers.Affine
    assert mg.gradgradcheck(lambda x, w, b: mg.tanh(affine.apply(x, w, b)), [x, w, b])


def test_gaussian_params_of_the_head_is_twice_differentiable():
    raw, = leaves([(5, 2)], -4.0, 4.0)
    params = nn.heads.GaussianParams
    assert mg.gradgradcheck(lambda r: params.apply(r, min_sigma=1e-3) ** 2, [raw])


def test_a_whole_model_loss_is_twice_differentiable_in_its_input():
    mg.manual_seed(0)
    model = nn.Sequential(nn.MLP([1, 4]), nn.GaussianHead(4))
    target = mg.Tensor([[0.0, 1.0], [0.5, 0.3], [1.0, 2.0]])
    x = mg.Tensor([[0.5], [-1.0], [2.0]], requires_grad=True)  # flows through every fused node
    assert mg.gradgradcheck(lambda x: nn.GaussianKLLoss()(model(x), target), [x])
