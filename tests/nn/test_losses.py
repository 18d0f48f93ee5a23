"""GaussianNLLLoss and MSELoss: values, gradients (formula, composed ops, gradcheck), errors."""
import math
import warnings

import numpy as np
import pytest

import minigrad as mg
from minigrad.autograd import unbroadcast
from gaussian_cases import gaussians
from minigrad.nn import functional as F
from minigrad.nn.losses import GaussianKLLoss, GaussianNLLLoss, MSELoss

REDUCTIONS = ["mean", "sum", "none"]
HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
# (pred shape, y shape): rows, one Gaussian for all samples, 3-D, y stretched over a size-1 row
NLL_SHAPES = [((6, 2), (6,)), ((2,), (5,)), ((1, 2), (5,)), ((4, 3, 2), (4, 3)), ((6, 2), ())]
MSE_SHAPES = [((6,), (6,)), ((4, 3), (4, 3)), ((4, 3), (3,)), ((4, 1), (4, 3)), ((5,), ())]


def samples(shape, seed):
    return np.random.default_rng(seed).normal(0.0, 1.5, shape)


def reduce(x, reduction):
    return {"mean": x.mean(), "sum": x.sum(), "none": x}[reduction]


def weights(reduction, shape):
    """(seed for backward, d(reduced)/d(element)) for each reduction."""
    if reduction == "none":
        w = np.random.default_rng(3).uniform(-1.5, 1.5, shape)
        return w, w
    return None, (1.0 / math.prod(shape) if reduction == "mean" else 1.0)


# ---- GaussianNLLLoss ----------------------------------------------------------------------

def nll_formula(pred, y, full=False):
    mu, s = pred[..., 0], pred[..., 1]
    return np.log(s) + (y - mu) ** 2 / (2 * s**2) + (HALF_LOG_2PI if full else 0.0)


def nll_grad_formula(pred, y):
    mu, s = pred[..., 0], pred[..., 1]
    d_mu = -(y - mu) / s**2
    d_s = 1 / s - (y - mu) ** 2 / s**3
    return np.stack(np.broadcast_arrays(d_mu, d_s), -1), (y - mu) / s**2


def nll_composed(pred, y, reduction, full=False):
    mu, s = pred[..., 0], pred[..., 1]
    loss = s.log() + (y - mu) ** 2 / (2 * s**2)
    return reduce(loss + HALF_LOG_2PI if full else loss, reduction)


@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("shapes", NLL_SHAPES, ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_value_and_gradient_match_formula_and_composed_ops(shapes, reduction, full):
    pred, y = gaussians(shapes[0], 1), samples(shapes[1], 2)
    batch = np.broadcast_shapes(shapes[0][:-1], shapes[1])
    seed, w = weights(reduction, batch)
    grads = {}
    for name, fn in [("fused", lambda p, t: GaussianNLLLoss(full=full, reduction=reduction)(p, t)),
                     ("composed", lambda p, t: nll_composed(p, t, reduction, full))]:
        p, t = mg.Tensor(pred, requires_grad=True), mg.Tensor(y, requires_grad=True)
        out = fn(p, t)
        np.testing.assert_allclose(out.data, reduce(nll_formula(pred, y, full), reduction),
                                   rtol=1e-13, atol=1e-14)
        out.backward(seed)
        grads[name] = (p.grad, t.grad)
    d_pred, d_y = nll_grad_formula(pred, y)
    w_pred = w[..., None] if reduction == "none" else w
    np.testing.assert_allclose(grads["fused"][0], unbroadcast(d_pred * w_pred, pred.shape), rtol=1e-12)
    np.testing.assert_allclose(grads["fused"][1], unbroadcast(d_y * w, y.shape), rtol=1e-12)
    for fused, composed in zip(grads["fused"], grads["composed"]):
        np.testing.assert_allclose(fused, composed, rtol=1e-11, atol=1e-14)


@pytest.mark.parametrize("y_grad", [False, True])
@pytest.mark.parametrize("shapes", NLL_SHAPES, ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_gradcheck(shapes, reduction, y_grad):
    pred = mg.Tensor(gaussians(shapes[0], 11), requires_grad=True)
    y = mg.Tensor(samples(shapes[1], 12), requires_grad=y_grad)
    assert mg.gradcheck(lambda p, t: F.gaussian_nll_loss(p, t, full=True, reduction=reduction),
                        [pred, y])


def test_nll_known_value_and_its_minimum():
    # -log N(1; 0, 2^2) = log 2 + 1/8 + log(2 pi)/2
    loss = GaussianNLLLoss(full=True)(mg.Tensor([0.0, 2.0]), mg.Tensor(1.0))
    assert loss.item() == pytest.approx(math.log(2) + 0.125 + HALF_LOG_2PI, rel=1e-15)
    # over samples, the gradient vanishes at the sample mean and the (biased) sample std
    y = samples((50,), 13)
    pred = mg.Tensor([y.mean(), y.std()], requires_grad=True)
    GaussianNLLLoss()(pred, mg.Tensor(y)).backward()
    np.testing.assert_allclose(pred.grad, 0.0, atol=1e-14)


def test_nll_eps_floors_sigma_and_passes_the_gradient_through():
    pred = mg.Tensor([[0.0, 0.0], [1.0, 1e-4], [0.5, 2.0]], requires_grad=True)
    y = np.array([0.1, 1.2, 0.3])
    loss = GaussianNLLLoss(eps=0.01, reduction="sum")(pred, mg.Tensor(y))
    floored = np.array([[0.0, 0.01], [1.0, 0.01], [0.5, 2.0]])
    assert loss.item() == pytest.approx(nll_formula(floored, y).sum(), rel=1e-14)
    loss.backward()
    np.testing.assert_allclose(pred.grad, nll_grad_formula(floored, y)[0], rtol=1e-12)
    with pytest.raises(ValueError, match=r"GaussianNLLLoss: pred has sigma < 0 at row 0"):
        GaussianNLLLoss(eps=0.01)(mg.Tensor([[0.0, -0.1]]), mg.Tensor([0.0]))


def test_nll_differs_from_kl_learning_from_samples():
    # many samples of N(1, 0.5^2): the NLL optimum is near the sampling Gaussian, and the
    # NLL value minus the target's entropy approximates KL(target || model)
    y = np.random.default_rng(14).normal(1.0, 0.5, 200_000)
    model = np.array([0.8, 0.7])
    nll = GaussianNLLLoss(full=True)(mg.Tensor(model), mg.Tensor(y)).item()
    entropy = 0.5 * math.log(2 * math.pi * math.e * 0.25)
    kl = GaussianKLLoss()(mg.Tensor(model), mg.Tensor([1.0, 0.5])).item()
    assert nll - entropy == pytest.approx(kl, abs=5e-3)


def test_nll_float32_stays_float32_and_saves_its_inputs():
    pred = mg.Tensor(gaussians((5, 2), 15).astype(np.float32), requires_grad=True)
    y = mg.Tensor(samples((5,), 16).astype(np.float32))
    loss = GaussianNLLLoss()(pred, y)
    assert loss.dtype == np.float32 and loss.grad_fn.name == "GaussianNLLLoss"
    node = loss.grad_fn
    assert node.saved_tensors[0] is pred.data and node.saved_tensors[1] is y.data
    assert mg.topological_order(node) == [node]
    loss.backward()
    assert pred.grad.dtype == np.float32 and node.saved_tensors is None
    assert GaussianNLLLoss()(pred, [0.0] * 5).dtype == np.float32


@pytest.mark.parametrize("pred_shape, y_shape", [((6, 2), (6, 1)), ((6, 2), (5,)),
                                                 ((6, 2), (6, 2))])
def test_nll_rejects_samples_of_the_wrong_shape(pred_shape, y_shape):
    pattern = (rf"GaussianNLLLoss: y has shape {re_shape(y_shape)} but pred\[\.\.\., 0\] has "
               rf"shape \(6,\); they must be equal")
    with pytest.raises(ValueError, match=pattern):
        GaussianNLLLoss()(mg.Tensor(gaussians(pred_shape, 17)), mg.Tensor(np.zeros(y_shape)))


def re_shape(shape):
    return str(shape).replace("(", r"\(").replace(")", r"\)")


def test_nll_errors():
    pred, y = gaussians((4, 2), 18), samples((4,), 19)
    with pytest.raises(ValueError, match=r"GaussianNLLLoss: pred must have shape \(\.\.\., 2\)"):
        GaussianNLLLoss()(mg.Tensor(np.ones((4, 3))), mg.Tensor(y))
    bad = pred.copy()
    bad[1, 1] = -0.5
    with pytest.raises(ValueError, match=r"pred has sigma <= 0 at row 1 \(sigma = -0.5\)"
                                         r".*GaussianHead"):
        GaussianNLLLoss()(mg.Tensor(bad), mg.Tensor(y))
    bad_y = y.copy()
    bad_y[2] = np.nan
    with pytest.raises(ValueError, match=r"y contains a non-finite value \(nan\) at index \(2,\)"):
        GaussianNLLLoss()(mg.Tensor(pred), mg.Tensor(bad_y))
    with pytest.raises(ValueError, match=r"reduction must be one of 'mean', 'sum' or 'none'"):
        GaussianNLLLoss(reduction="avg")
    with pytest.raises(ValueError, match=r"GaussianNLLLoss: eps must be >= 0, got -1"):
        GaussianNLLLoss(eps=-1)


# ---- MSELoss ------------------------------------------------------------------------------

@pytest.mark.parametrize("shapes", MSE_SHAPES, ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_value_and_gradient_match_formula_and_composed_ops(shapes, reduction):
    pred, y = samples(shapes[0], 21), samples(shapes[1], 22)
    seed, w = weights(reduction, np.broadcast_shapes(*shapes))
    grads = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, fn in [("fused", lambda p, t: MSELoss(reduction)(p, t)),
                         ("composed", lambda p, t: reduce((p - t) ** 2, reduction))]:
            p, t = mg.Tensor(pred, requires_grad=True), mg.Tensor(y, requires_grad=True)
            out = fn(p, t)
            np.testing.assert_allclose(out.data, reduce((pred - y) ** 2, reduction), rtol=1e-13)
            out.backward(seed)
            grads[name] = (p.grad, t.grad)
    np.testing.assert_allclose(grads["fused"][0], unbroadcast(2 * (pred - y) * w, pred.shape),
                               rtol=1e-12)
    np.testing.assert_allclose(grads["fused"][1], unbroadcast(-2 * (pred - y) * w, y.shape),
                               rtol=1e-12)
    for fused, composed in zip(grads["fused"], grads["composed"]):
        np.testing.assert_allclose(fused, composed, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("y_grad", [False, True])
@pytest.mark.parametrize("shapes", MSE_SHAPES, ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_gradcheck(shapes, reduction, y_grad):
    pred = mg.Tensor(samples(shapes[0], 31), requires_grad=True)
    y = mg.Tensor(samples(shapes[1], 32), requires_grad=y_grad)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert mg.gradcheck(lambda p, t: F.mse_loss(p, t, reduction=reduction), [pred, y])


def test_mse_is_one_node_saving_its_inputs_in_their_dtype():
    pred = mg.Tensor(samples((4, 3), 33).astype(np.float32), requires_grad=True)
    loss = MSELoss()(pred, np.zeros((4, 3)))
    node = loss.grad_fn
    assert node.name == "MSELoss" and mg.topological_order(node) == [node]
    assert node.saved_tensors[0] is pred.data and loss.dtype == np.float32
    g, g_y = node.backward(node, np.array(1.0, np.float32))
    assert g_y is None  # y did not ask for a gradient
    loss.backward()
    assert node.saved_tensors is None and pred.grad.dtype == np.float32
    assert loss.item() == pytest.approx(float((pred.data.astype(np.float64) ** 2).mean()),
                                        rel=1e-6)


def test_mse_warns_when_broadcasting_grows_both_shapes():
    with pytest.warns(UserWarning, match=r"MSELoss: pred \(4,\) and y \(4, 1\) broadcast to "
                                         r"\(4, 4\)"):
        MSELoss()(mg.Tensor(np.zeros(4)), mg.Tensor(np.zeros((4, 1))))


def test_mse_errors():
    with pytest.raises(ValueError, match=r"MSELoss: the shapes do not broadcast: pred \(3,\), "
                                         r"y \(4,\)"):
        MSELoss()(mg.Tensor(np.zeros(3)), mg.Tensor(np.zeros(4)))
    with pytest.raises(ValueError, match=r"MSELoss: pred contains a non-finite value \(inf\) "
                                         r"at index \(1,\)"):
        MSELoss()(mg.Tensor([0.0, np.inf]), mg.Tensor([0.0, 0.0]))
    with pytest.raises(ValueError, match=r"MSELoss: reduction must be one of .*got 'mena'"):
        MSELoss(reduction="mena")


def test_loss_modules_repr_show_their_options():
    assert repr(MSELoss()) == "MSELoss(reduction='mean')"
    assert repr(GaussianKLLoss("sum")) == "GaussianKLLoss(reduction='sum')"
    assert repr(GaussianNLLLoss(full=True)) == \
        "GaussianNLLLoss(full=True, eps=0.0, reduction='mean')"
    assert list(GaussianKLLoss().parameters()) == []
