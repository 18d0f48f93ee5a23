"""nn.Linear (PyTorch's weight layout on Dense's fused Affine op), nn.Dropout,
nn.functional's PyTorch names and nn.utils' gradient clipping."""
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.nn import Affine
import minigrad.nn.functional as F
from minigrad.nn.utils import clip_grad_norm_, clip_grad_value_


def leaf(shape, seed):
    return mg.Tensor(np.random.default_rng(seed).normal(size=shape), requires_grad=True)


# ---- Linear and linear -----------------------------------------------------------------

@pytest.mark.parametrize("x_shape", [(3,), (4, 3), (2, 4, 3)], ids=["1-D", "2-D", "3-D"])
def test_transposed_affine_matches_x_times_w_transposed_and_gradchecks(check_op, x_shape):
    check_op(lambda x, w, b: Affine.apply(x, w, b, transposed=True),
             lambda x, w, b: x @ w.T + b, [x_shape, (5, 3), (5,)])
    check_op(lambda x, w: F.linear(x, w), lambda x, w: x @ w.T, [x_shape, (2, 3)])


def test_linear_has_pytorchs_layout_and_agrees_with_dense():
    mg.manual_seed(0)
    layer = nn.Linear(3, 5)
    assert layer.weight.shape == (5, 3) and layer.bias.shape == (5,)
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    dense = nn.Dense(3, 5)
    dense.load_state_dict({"weight": layer.weight.data.T, "bias": layer.bias.data})
    x = leaf((4, 3), 1)
    np.testing.assert_allclose(layer(x).data, dense(x).data, rtol=1e-12)
    np.testing.assert_allclose(layer(x).data, x.data @ layer.weight.data.T + layer.bias.data)
    assert layer(x).grad_fn.name == "Affine"  # one fused node, as Dense


def test_linear_init_is_pytorchs_uniform_one_over_sqrt_fan_in():
    mg.manual_seed(3)
    layer = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    for p in (layer.weight.data, layer.bias.data):
        assert np.abs(p).max() <= bound
        assert np.abs(p).max() > 0.95 * bound  # spread over the whole interval
    # uniform on [-b, b] has standard deviation b / sqrt(3)
    assert layer.weight.data.std() == pytest.approx(bound / math.sqrt(3), rel=0.02)
    mg.manual_seed(3)
    np.testing.assert_array_equal(nn.Linear(400, 300).weight.data, layer.weight.data)


def test_linear_without_bias_dtype_and_errors():
    layer = nn.Linear(2, 3, bias=False, dtype="float32")
    assert layer.bias is None and layer.weight.dtype == np.float32
    assert repr(layer) == "Linear(in_features=2, out_features=3, bias=False)"
    out = layer(np.ones((4, 2), dtype=np.float32))
    assert out.shape == (4, 3) and out.dtype == np.float32
    with pytest.raises(ValueError, match=r"Linear\(2->3\): input has shape \(4, 3\), its last "
                                         r"axis must be 2"):
        layer(np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"Linear: out_features must be a positive integer"):
        nn.Linear(2, 0)
    with pytest.raises(ValueError, match=r"weight must be \(out_features, in_features\)"):
        F.linear(mg.Tensor(np.ones((4, 3))), mg.Tensor(np.ones((3, 2))))


def test_linear_trains_with_an_optimizer():
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(1, 16), nn.Tanh(), nn.Linear(16, 1))
    opt = mg.optim.Adam(model.parameters(), lr=0.05)
    x = mg.Tensor(np.linspace(-1, 1, 32).reshape(-1, 1))
    y = mg.Tensor(np.sin(3 * x.data))
    losses = []
    for _ in range(150):
        opt.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.05 * losses[0]


# ---- Dropout ---------------------------------------------------------------------------

def test_dropout_zeroes_about_p_and_scales_the_rest():
    mg.manual_seed(0)
    x = mg.Tensor(np.ones((200, 100)), requires_grad=True)
    y = nn.Dropout(0.3)(x)
    dropped = (y.data == 0).mean()
    assert abs(dropped - 0.3) < 0.01  # 20,000 draws: the std of the fraction is 0.003
    np.testing.assert_allclose(y.data[y.data != 0], 1 / 0.7)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, y.data)  # d/dx = mask / (1 - p)


def test_dropout_is_the_identity_in_eval_mode_and_with_p_zero():
    x = leaf((3, 4), 0)
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
    model.eval()
    assert model[1].training is False
    mid = model[0](x)
    np.testing.assert_array_equal(model(x).data, mid.data)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    np.testing.assert_array_equal(F.dropout(x, 1.0).data, np.zeros((3, 4)))
    model.train()
    assert model[1].training is True


def test_dropout_masks_repeat_under_manual_seed_and_differ_between_calls():
    mg.manual_seed(7)
    first, second = F.dropout(np.ones(50)), F.dropout(np.ones(50))
    mg.manual_seed(7)
    np.testing.assert_array_equal(F.dropout(np.ones(50)).data, first.data)
    assert not np.array_equal(first.data, second.data)


def test_dropout_rejects_a_probability_outside_0_1():
    with pytest.raises(ValueError, match=r"Dropout: p is the probability .* got 1.5"):
        nn.Dropout(1.5)
    with pytest.raises(ValueError, match=r"dropout: .* got -0.1"):
        F.dropout(np.ones(3), -0.1)


# ---- nn.functional's PyTorch names ------------------------------------------------------

def test_functional_exposes_pytorchs_names():
    x = leaf((2, 3), 0)
    for name in ("relu", "tanh", "sigmoid", "softplus", "softmax", "log_softmax"):
        np.testing.assert_array_equal(getattr(F, name)(x).data, getattr(mg, name)(x).data)
    for name in ("dropout", "linear", "mse_loss", "gaussian_nll_loss", "gaussian_kl_loss"):
        assert callable(getattr(F, name))


# ---- clip_grad_norm_ and clip_grad_value_ ----------------------------------------------

def params_with_grads(*grads):
    out = []
    for g in grads:
        p = mg.Tensor(np.zeros(np.shape(g)), requires_grad=True)
        p.grad = np.array(g, dtype=float)
        out.append(p)
    return out


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, "inf"])
def test_clip_grad_norm_scales_by_max_norm_over_the_total_norm(norm_type):
    grads = [np.array([3.0, -4.0]), np.array([[1.0, 2.0], [-2.0, 0.5]])]
    params = params_with_grads(*grads) + [mg.Tensor([1.0], requires_grad=True)]  # no grad
    flat = np.concatenate([g.ravel() for g in grads])
    q = math.inf if norm_type == "inf" else norm_type
    expected = np.abs(flat).max() if q == math.inf else (np.abs(flat) ** q).sum() ** (1 / q)
    total = clip_grad_norm_(params, max_norm=1.5, norm_type=norm_type)
    assert isinstance(total, mg.Tensor) and total.item() == pytest.approx(expected, rel=1e-12)
    coef = 1.5 / (expected + 1e-6)
    for p, g in zip(params, grads):
        np.testing.assert_allclose(p.grad, g * coef, rtol=1e-12)
    assert params[2].grad is None


def test_clip_grad_norm_leaves_small_gradients_alone_and_accepts_one_tensor():
    (p,) = params_with_grads([0.3, 0.4])
    total = clip_grad_norm_(p, max_norm=1.0)
    assert total.item() == pytest.approx(0.5)
    np.testing.assert_array_equal(p.grad, [0.3, 0.4])
    assert clip_grad_norm_([], 1.0).item() == 0.0


def test_clip_grad_norm_on_gradients_from_backward():
    model = nn.Linear(3, 2)
    F.mse_loss(model(leaf((5, 3), 0)), mg.Tensor(np.full((5, 2), 10.0))).backward()
    before = math.sqrt(sum((p.grad ** 2).sum() for p in model.parameters()))
    total = clip_grad_norm_(model.parameters(), 0.1)
    after = math.sqrt(sum((p.grad ** 2).sum() for p in model.parameters()))
    assert total.item() == pytest.approx(before) and after == pytest.approx(0.1, rel=1e-5)


def test_clip_grad_norm_error_if_nonfinite():
    params = params_with_grads([1.0, np.nan])
    with pytest.raises(RuntimeError, match=r"total norm of order 2.0 of the gradients is nan"):
        clip_grad_norm_(params, 1.0, error_if_nonfinite=True)
    assert np.isnan(clip_grad_norm_(params, 1.0).item())  # PyTorch's default: scale anyway
    with pytest.raises(TypeError, match=r"Linear module itself.*model\.parameters\(\)"):
        clip_grad_norm_(nn.Linear(2, 2), 1.0)


def test_clip_grad_value_clamps_in_place():
    params = params_with_grads([-3.0, 0.2, 5.0], [[0.5, -0.7]])
    grad = params[0].grad
    assert clip_grad_value_(params, 0.6) is None
    assert params[0].grad is grad
    np.testing.assert_array_equal(params[0].grad, [-0.6, 0.2, 0.6])
    np.testing.assert_array_equal(params[1].grad, [[0.5, -0.6]])
    with pytest.raises(ValueError, match=r"clip_value must be >= 0, got -1"):
        clip_grad_value_(params, -1)
