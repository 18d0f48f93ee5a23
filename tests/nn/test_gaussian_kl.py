"""The fused GaussianKLLoss node: value, gradients checked three ways, errors, dtype, memory.

The three gradient oracles: (1) the hand-derived partial derivatives written out below in
NumPy, (2) the same loss composed from primitive engine ops and backpropagated, and
(3) finite differences (`minigrad.gradcheck`, float64).
"""
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad.autograd import unbroadcast
from gaussian_cases import gaussians
from minigrad.nn import functional as F
from minigrad.nn.functional import GaussianKL
from minigrad.nn.losses import GaussianKLLoss

REDUCTIONS = ["mean", "sum", "none"]
# (pred shape, target shape): equal, one target for all rows, size-1 rows, 3-D, 3-D vs 2-D
SHAPES = [((5, 2), (5, 2)), ((5, 2), (2,)), ((5, 2), (1, 2)), ((4, 3, 2), (4, 3, 2)),
          ((4, 3, 2), (3, 2)), ((1, 2), (6, 2))]


def kl_formula(pred, target):
    """D per Gaussian pair, straight from the closed form."""
    mu_m, s_m, mu_gt, s_gt = pred[..., 0], pred[..., 1], target[..., 0], target[..., 1]
    return -0.5 + np.log(s_m) - np.log(s_gt) + (s_gt**2 + (mu_gt - mu_m)**2) / (2 * s_m**2)


def kl_grad_formula(pred, target):
    """dD/d[mu_m, s_m] and dD/d[mu_gt, s_gt] per pair, at the broadcast shape."""
    mu_m, s_m, mu_gt, s_gt = pred[..., 0], pred[..., 1], target[..., 0], target[..., 1]
    d_mu_m = (mu_m - mu_gt) / s_m**2
    d_s_m = 1 / s_m - (s_gt**2 + (mu_gt - mu_m)**2) / s_m**3
    d_mu_gt = (mu_gt - mu_m) / s_m**2
    d_s_gt = -1 / s_gt + s_gt / s_m**2
    return np.stack([d_mu_m, d_s_m], -1), np.stack([d_mu_gt, d_s_gt], -1)


def kl_composed(pred, target, reduction):
    """The same loss built from primitive ops: one graph node per operation."""
    mu_m, s_m, mu_gt, s_gt = pred[..., 0], pred[..., 1], target[..., 0], target[..., 1]
    d = -0.5 + s_m.log() - s_gt.log() + (s_gt**2 + (mu_gt - mu_m)**2) / (2 * s_m**2)
    return {"mean": d.mean(), "sum": d.sum(), "none": d}[reduction]


def upstream(reduction, batch_shape):
    """The gradient fed into backward: 1 for a scalar loss, fixed random weights for 'none'."""
    if reduction != "none":
        return None, 1.0 / math.prod(batch_shape) if reduction == "mean" else 1.0
    w = np.random.default_rng(7).uniform(-1.5, 1.5, batch_shape)
    return w, w[..., None]


def batch_shape(pred, target):
    return np.broadcast_shapes(pred.shape, target.shape)[:-1]


def run(loss_fn, pred, target, reduction, target_grad):
    p = mg.Tensor(pred, requires_grad=True)
    t = mg.Tensor(target, requires_grad=target_grad)
    out = loss_fn(p, t, reduction)
    seed, _ = upstream(reduction, batch_shape(pred, target))
    out.backward(seed)
    return out, p.grad, t.grad


def fused(pred, target, reduction):
    return F.gaussian_kl_loss(pred, target, reduction=reduction)


# ---- values -------------------------------------------------------------------------------

@pytest.mark.parametrize("shapes", SHAPES, ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_value_matches_closed_form(shapes, reduction):
    pred, target = gaussians(shapes[0], 1), gaussians(shapes[1], 2)
    expected = kl_formula(pred, target)
    expected = {"mean": expected.mean(), "sum": expected.sum(), "none": expected}[reduction]
    out = GaussianKLLoss(reduction)(mg.Tensor(pred), mg.Tensor(target))
    np.testing.assert_allclose(out.data, expected, rtol=1e-13, atol=1e-14)


def test_known_values():
    # KL(N(0, 1) || N(1, 2^2)) = log 2 - 1/2 + (1 + 1)/(2 * 4) = log 2 - 1/4
    out = GaussianKLLoss()(mg.Tensor([[1.0, 2.0]]), mg.Tensor([[0.0, 1.0]]))
    assert out.item() == pytest.approx(math.log(2) - 0.25, rel=1e-15)
    # the example's start: model N(3, 1), target N(0, 1): (1 + 9)/2 - 1/2 = 4.5
    assert GaussianKLLoss()(mg.Tensor([3.0, 1.0]), mg.Tensor([0.0, 1.0])).item() == 4.5


def test_identical_gaussians_give_zero_loss_and_zero_gradient():
    pred = mg.Tensor(gaussians((6, 2), 3), requires_grad=True)
    loss = GaussianKLLoss(reduction="sum")(pred, pred.detach())
    loss.backward()
    assert abs(loss.item()) < 1e-14
    np.testing.assert_allclose(pred.grad, 0.0, atol=1e-14)


def test_kl_is_not_symmetric_and_is_positive():
    a, b = gaussians((8, 2), 4), gaussians((8, 2), 5)
    ab = F.gaussian_kl_loss(mg.Tensor(a), mg.Tensor(b), reduction="none").data
    ba = F.gaussian_kl_loss(mg.Tensor(b), mg.Tensor(a), reduction="none").data
    assert (ab > 0).all() and (ba > 0).all()
    assert not np.allclose(ab, ba)


# ---- gradients, three ways ----------------------------------------------------------------

@pytest.mark.parametrize("target_grad", [False, True], ids=["pred", "pred+target"])
@pytest.mark.parametrize("shapes", SHAPES, ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gradient_matches_hand_derived_formula(shapes, reduction, target_grad):
    pred, target = gaussians(shapes[0], 11), gaussians(shapes[1], 12)
    out, g_pred, g_target = run(fused, pred, target, reduction, target_grad)
    _, weight = upstream(reduction, batch_shape(pred, target))
    d_pred, d_target = kl_grad_formula(pred, target)
    np.testing.assert_allclose(g_pred, unbroadcast(d_pred * weight, pred.shape), rtol=1e-12)
    if target_grad:
        np.testing.assert_allclose(g_target, unbroadcast(d_target * weight, target.shape),
                                   rtol=1e-12, atol=1e-15)
    else:
        assert g_target is None


@pytest.mark.parametrize("target_grad", [False, True], ids=["pred", "pred+target"])
@pytest.mark.parametrize("shapes", SHAPES, ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gradient_matches_composed_primitive_ops(shapes, reduction, target_grad):
    pred, target = gaussians(shapes[0], 21), gaussians(shapes[1], 22)
    out_f, gp_f, gt_f = run(fused, pred, target, reduction, target_grad)
    out_c, gp_c, gt_c = run(kl_composed, pred, target, reduction, target_grad)
    np.testing.assert_allclose(out_f.data, out_c.data, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(gp_f, gp_c, rtol=1e-11, atol=1e-14)
    if target_grad:
        np.testing.assert_allclose(gt_f, gt_c, rtol=1e-11, atol=1e-14)


@pytest.mark.parametrize("target_grad", [False, True], ids=["pred", "pred+target"])
@pytest.mark.parametrize("shapes", SHAPES, ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gradcheck_packed(shapes, reduction, target_grad):
    pred = mg.Tensor(gaussians(shapes[0], 31), requires_grad=True)
    target = mg.Tensor(gaussians(shapes[1], 32), requires_grad=target_grad)
    assert mg.gradcheck(lambda p, t: GaussianKLLoss(reduction)(p, t), [pred, target])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gradcheck_four_argument_form_with_broadcasting(reduction):
    rng = np.random.default_rng(41)
    args = [mg.Tensor(rng.normal(size=(3, 1)), requires_grad=True),
            mg.Tensor(rng.uniform(0.5, 2, size=(1, 4)), requires_grad=True),
            mg.Tensor(rng.normal(size=(4,)), requires_grad=True),
            mg.Tensor(rng.uniform(0.5, 2, size=(3, 4)), requires_grad=True)]
    assert mg.gradcheck(lambda *a: F.gaussian_kl(*a, reduction=reduction), args)


def test_four_argument_form_equals_packed_form_and_is_the_same_node():
    pred, target = gaussians((5, 2), 51), gaussians((5, 2), 52)
    leaves = [mg.Tensor(a, requires_grad=True)
              for a in (pred[:, 0], pred[:, 1], target[:, 0], target[:, 1])]
    out = F.gaussian_kl(*leaves)
    assert out.shape == (5,)  # unreduced by default
    assert type(out.grad_fn) is GaussianKL and out.grad_fn.name == "GaussianKLLoss"
    np.testing.assert_allclose(out.data, kl_formula(pred, target), rtol=1e-13)
    out.sum().backward()
    d_pred, d_target = kl_grad_formula(pred, target)
    expected = [d_pred[:, 0], d_pred[:, 1], d_target[:, 0], d_target[:, 1]]
    for leaf, grad in zip(leaves, expected):
        np.testing.assert_allclose(leaf.grad, grad, rtol=1e-12)


def test_four_argument_form_accepts_numbers_and_computes_only_wanted_gradients():
    mu = mg.Tensor([0.5, -1.0], requires_grad=True)
    out = F.gaussian_kl(mu, 2.0, 0.0, 1.0)
    np.testing.assert_allclose(out.data, kl_formula(np.stack([mu.data, [2.0, 2.0]], -1),
                                                    np.array([0.0, 1.0])))
    grads = out.grad_fn.backward(out.grad_fn, np.ones(2))
    assert grads[0] is not None and grads[1:] == (None, None, None)


def test_target_gradient_is_skipped_when_not_needed():
    pred = mg.Tensor(gaussians((4, 2), 61), requires_grad=True)
    loss = GaussianKLLoss()(pred, mg.Tensor(gaussians((4, 2), 62)))
    g_pred, g_target = loss.grad_fn.backward(loss.grad_fn, np.array(1.0))
    assert g_pred.shape == (4, 2) and g_target is None


def test_gradient_flows_to_target_only():
    target = mg.Tensor(gaussians((3, 2), 63), requires_grad=True)
    pred = gaussians((3, 2), 64)
    GaussianKLLoss(reduction="sum")(mg.Tensor(pred), target).backward()
    np.testing.assert_allclose(target.grad, kl_grad_formula(pred, target.data)[1], rtol=1e-12)


# ---- the graph and its memory -------------------------------------------------------------

def test_one_node_whose_inputs_are_the_arguments():
    pred = mg.Tensor(gaussians((4, 2), 71), requires_grad=True)
    target = mg.Tensor(gaussians((4, 2), 72))
    loss_fn = GaussianKLLoss()
    loss = loss_fn(pred, target)
    assert mg.topological_order(loss.grad_fn) == [loss.grad_fn]
    assert loss.grad_fn.inputs[0] is pred and loss.grad_fn.inputs[1] is target
    assert loss.grad_fn.scope == (loss_fn,)


def test_saves_exactly_its_input_arrays_and_frees_them_after_backward():
    pred = mg.Tensor(gaussians((4, 2), 73), requires_grad=True)
    target = mg.Tensor(gaussians((2,), 74))
    loss = GaussianKLLoss()(pred, target)
    node = loss.grad_fn
    assert len(node.saved_tensors) == 2
    assert node.saved_tensors[0] is pred.data and node.saved_tensors[1] is target.data
    assert not [v for v in vars(node).values() if isinstance(v, np.ndarray)]
    loss.backward()
    assert node.saved_tensors is None
    with pytest.raises(RuntimeError, match="second time"):
        loss.backward()


def test_four_argument_form_saves_its_four_inputs():
    args = [mg.Tensor(np.array(v), requires_grad=True) for v in ([0.0, 1.0], 1.5, [0.2], 0.7)]
    node = F.gaussian_kl(*args).grad_fn
    assert all(s is a.data for s, a in zip(node.saved_tensors, args))


def test_retain_graph_allows_a_second_backward():
    pred = mg.Tensor(gaussians((3, 2), 75), requires_grad=True)
    loss = GaussianKLLoss()(pred, mg.Tensor([0.0, 1.0]))
    loss.backward(retain_graph=True)
    first = pred.grad.copy()
    loss.backward()
    np.testing.assert_allclose(pred.grad, 2 * first)


def test_no_graph_under_no_grad():
    pred = mg.Tensor(gaussians((3, 2), 76), requires_grad=True)
    with mg.no_grad():
        loss = GaussianKLLoss()(pred, mg.Tensor([0.0, 1.0]))
    assert loss.grad_fn is None and not loss.requires_grad


# ---- dtypes -------------------------------------------------------------------------------

@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_float32_stays_float32(reduction):
    pred = mg.Tensor(gaussians((5, 2), 81).astype(np.float32), requires_grad=True)
    target = mg.Tensor(gaussians((5, 2), 82).astype(np.float32), requires_grad=True)
    loss = GaussianKLLoss(reduction)(pred, target)
    assert loss.dtype == np.float32
    loss.backward(None if reduction != "none" else np.ones(5, np.float32))
    assert pred.grad.dtype == np.float32 and target.grad.dtype == np.float32
    d_pred, _ = kl_grad_formula(pred.data.astype(np.float64), target.data.astype(np.float64))
    scale = 1 / 5 if reduction == "mean" else 1.0
    np.testing.assert_allclose(pred.grad, d_pred * scale, rtol=1e-5)


def test_python_target_takes_the_dtype_of_pred():
    pred = mg.Tensor(np.array([[0.5, 1.5]], np.float32), requires_grad=True)
    loss = GaussianKLLoss()(pred, [0.0, 1.0])
    assert loss.dtype == np.float32
    loss.backward()
    assert pred.grad.dtype == np.float32


# ---- bad input ----------------------------------------------------------------------------

def test_invalid_reduction_lists_the_choices():
    with pytest.raises(ValueError, match=r"GaussianKLLoss: reduction must be one of 'mean', "
                                         r"'sum' or 'none', got 'avg'"):
        GaussianKLLoss(reduction="avg")
    with pytest.raises(ValueError, match="reduction must be one of"):
        F.gaussian_kl_loss(mg.Tensor([0.0, 1.0]), [0.0, 1.0], reduction="max")


@pytest.mark.parametrize("pred_shape, target_shape, which, shape", [
    ((5, 3), (5, 2), "pred", r"\(5, 3\)"),
    ((5, 2), (5,), "target", r"\(5,\)"),
    ((), (2,), "pred", r"\(\)"),
])
def test_last_axis_must_hold_mu_and_sigma(pred_shape, target_shape, which, shape):
    pred, target = np.ones(pred_shape), np.ones(target_shape)
    with pytest.raises(ValueError, match=rf"GaussianKLLoss: {which} must have shape \(\.\.\., 2\)"
                                         rf".*got shape {shape}"):
        GaussianKLLoss()(mg.Tensor(pred), mg.Tensor(target))


def test_shapes_that_do_not_broadcast_name_both():
    with pytest.raises(ValueError, match=r"do not broadcast: pred \(5, 2\), target \(3, 2\)"):
        GaussianKLLoss()(mg.Tensor(np.ones((5, 2))), mg.Tensor(np.ones((3, 2))))
    with pytest.raises(ValueError, match=r"do not broadcast: mu_m \(3,\), sigma_m \(4,\)"):
        F.gaussian_kl(mg.Tensor(np.zeros(3)), mg.Tensor(np.ones(4)), 0.0, 1.0)


@pytest.mark.parametrize("which", ["pred", "target"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values_are_named_with_their_index(which, bad):
    arrays = {"pred": gaussians((4, 2), 91), "target": gaussians((4, 2), 92)}
    arrays[which][2, 0] = bad
    with pytest.raises(ValueError, match=rf"GaussianKLLoss: {which} contains a non-finite value "
                                         rf"\({bad}\) at index \(2, 0\).*detect_anomaly"):
        GaussianKLLoss()(mg.Tensor(arrays["pred"]), mg.Tensor(arrays["target"]))


@pytest.mark.parametrize("which", ["pred", "target"])
@pytest.mark.parametrize("bad", [0.0, -0.25])
def test_non_positive_sigma_names_argument_row_and_value(which, bad):
    arrays = {"pred": gaussians((4, 2), 93), "target": gaussians((4, 2), 94)}
    arrays[which][3, 1] = bad
    with pytest.raises(ValueError, match=rf"GaussianKLLoss: {which} has sigma <= 0 at row 3 "
                                         rf"\(sigma = {bad}\).*GaussianHead"
                                         rf".*smaller learning rate"):
        GaussianKLLoss()(mg.Tensor(arrays["pred"]), mg.Tensor(arrays["target"]))


def test_non_positive_sigma_in_3d_input_gives_the_full_index():
    pred = gaussians((2, 3, 2), 95)
    pred[1, 2, 1] = -1.0
    with pytest.raises(ValueError, match=r"pred has sigma <= 0 at index \(1, 2\)"):
        GaussianKLLoss()(mg.Tensor(pred), mg.Tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"target has sigma <= 0 \(sigma = -2.0\)"):
        GaussianKLLoss()(mg.Tensor([0.0, 1.0]), mg.Tensor([0.0, -2.0]))


def test_four_argument_form_names_the_bad_argument():
    with pytest.raises(ValueError, match=r"sigma_gt \(the target's\) has sigma <= 0 at row 1"):
        F.gaussian_kl(mg.Tensor([0.0, 0.0]), 1.0, 0.0, mg.Tensor([1.0, 0.0]))
    with pytest.raises(ValueError, match=r"mu_gt contains a non-finite value \(nan\)"):
        F.gaussian_kl(mg.Tensor([0.0]), 1.0, np.nan, 1.0)
