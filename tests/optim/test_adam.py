"""Adam against the algorithm documented for torch.optim.Adam, restated by hand."""

import math

import numpy as np
import pytest

from minigrad import Tensor
from minigrad.optim import Adam

STEPS = 8
P0 = np.array([1.0, -0.5, 2.0])


def param(values, dtype=np.float64):
    return Tensor(np.array(values, dtype=dtype), requires_grad=True)


def grad_at(p, t):
    """The gradient of step t (from 1): depends on p, and its size rises and falls with t
    so that AMSGrad's running maximum matters."""
    return 0.5 * p + np.array([3.0, -2.0, 1.0]) * np.cos(1.3 * t)


def reference_adam(p, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                   amsgrad=False, maximize=False):
    """The documented pseudo-code, line by line; returns p after each step."""
    beta1, beta2 = betas
    m = v = v_max = np.zeros_like(p)
    trajectory = []
    for t in range(1, STEPS + 1):
        g = grad_at(p, t)
        if maximize:
            g = -g
        if weight_decay != 0:
            g = g + weight_decay * p
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        m_hat = m / (1 - beta1**t)
        if amsgrad:
            v_max = np.maximum(v_max, v)
            v_hat = v_max / (1 - beta2**t)
        else:
            v_hat = v / (1 - beta2**t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
        trajectory.append(p)
    return trajectory


CASES = {
    "plain": dict(lr=0.1),
    "weight_decay": dict(lr=0.1, weight_decay=0.3),
    "amsgrad": dict(lr=0.1, amsgrad=True),
    "maximize": dict(lr=0.1, maximize=True),
    "betas": dict(lr=0.1, betas=(0.5, 0.8)),
    "eps": dict(lr=0.1, eps=0.5),
    "amsgrad+betas": dict(lr=0.05, betas=(0.3, 0.6), amsgrad=True),
    "weight_decay+maximize": dict(lr=0.1, weight_decay=0.4, maximize=True),
    "all": dict(lr=0.05, betas=(0.8, 0.9), eps=1e-3, weight_decay=0.2, amsgrad=True,
                maximize=True),
}


@pytest.mark.parametrize("options", CASES.values(), ids=CASES.keys())
def test_trajectory_matches_documented_rule(options):
    p = param(P0)
    opt = Adam([p], **options)
    for t, expected in enumerate(reference_adam(P0.copy(), **options), start=1):
        p.grad = grad_at(p.data, t)
        opt.step()
        np.testing.assert_allclose(p.data, expected, rtol=1e-12, atol=1e-12)


def test_amsgrad_case_exercises_the_maximum():
    plain = reference_adam(P0.copy(), lr=0.05, betas=(0.3, 0.6))
    ams = reference_adam(P0.copy(), lr=0.05, betas=(0.3, 0.6), amsgrad=True)
    assert not np.allclose(plain[-1], ams[-1])


def run(options, grads, p0=1.0):
    p = param([p0])
    opt = Adam([p], **options)
    values = []
    for grad in grads:
        p.grad = np.array([grad])
        opt.step()
        values.append(p.data[0])
    return values


def test_constant_gradient_moves_lr_per_step():
    # m_hat = g and v_hat = g^2 exactly, so each step is lr * g / (|g| + eps)
    assert run(dict(lr=0.1), [2.0, 2.0]) == pytest.approx([0.9, 0.8], rel=1e-7)


def test_literal_values_worked_on_paper():
    # betas (0.5, 0.5), eps 0. Step 1, g = 1: m = 0.5, v = 0.5, m_hat = v_hat = 1, p = 0.
    # Step 2, g = -1: m = -0.25, m_hat = -1/3; v = 0.75, v_hat = 1; p = 1/3.
    assert run(dict(lr=1.0, betas=(0.5, 0.5), eps=0.0), [1.0, -1.0]) == pytest.approx(
        [0.0, 1 / 3], abs=1e-15)


def test_amsgrad_literal_values_worked_on_paper():
    # betas (0.5, 0.5), eps 0. Step 1, g = 2: m = 1, v = v_max = 2, p = 1 - 2/2 = 0.
    # Step 2, g = 0: m = 0.5, m_hat = 2/3; v = 1 but v_max stays 2, bias-corrected to 8/3;
    # p = -(2/3) / sqrt(8/3) = -1/sqrt(6). (Without amsgrad v_hat = 4/3: p = -1/sqrt(3).)
    options = dict(lr=1.0, betas=(0.5, 0.5), eps=0.0)
    assert run({**options, "amsgrad": True}, [2.0, 0.0]) == pytest.approx(
        [0.0, -1 / math.sqrt(6)], abs=1e-15)
    assert run(options, [2.0, 0.0]) == pytest.approx([0.0, -1 / math.sqrt(3)], abs=1e-15)


def test_maximize_literal():
    # maximize climbs: the first step is +lr whatever the gradient's size
    assert run(dict(lr=0.1, maximize=True), [5.0]) == pytest.approx([1.1], rel=1e-7)


def test_state_keys_and_step_count():
    p, q = param(P0), param(P0)
    opt = Adam([{"params": [p]}, {"params": [q], "amsgrad": True}], lr=0.1)
    for t in range(1, 6):
        p.grad = grad_at(p.data, t)
        q.grad = grad_at(q.data, t)
        opt.step()
    assert set(opt.state[p]) == {"step", "exp_avg", "exp_avg_sq"}
    assert set(opt.state[q]) == {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
    assert opt.state[p]["step"] == 5 and isinstance(opt.state[p]["step"], int)
    assert np.all(opt.state[q]["max_exp_avg_sq"] >= opt.state[q]["exp_avg_sq"])


def test_updates_data_in_place_and_never_writes_to_grad():
    p = param(P0)
    data = p.data
    opt = Adam([p], lr=0.1, weight_decay=0.1, amsgrad=True, maximize=True)
    for t in range(1, 4):
        grad = grad_at(p.data, t)
        p.grad = grad
        saved = grad.copy()
        opt.step()
        assert p.data is data
        np.testing.assert_array_equal(grad, saved)


@pytest.mark.parametrize("hyper", [float, np.float64])
def test_float32_stays_float32(hyper):
    p = param(P0, np.float32)
    options = dict(lr=0.05, betas=(0.8, 0.9), eps=1e-6, weight_decay=0.1, amsgrad=True)
    opt = Adam([p], lr=hyper(0.05), betas=(hyper(0.8), hyper(0.9)), eps=hyper(1e-6),
               weight_decay=hyper(0.1), amsgrad=True)
    data = p.data
    for t in range(1, STEPS + 1):
        p.grad = grad_at(p.data, t).astype(np.float32)
        opt.step()
    assert p.data is data and p.data.dtype == np.float32
    for name in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"):
        assert opt.state[p][name].dtype == np.float32
    np.testing.assert_allclose(p.data, reference_adam(P0.copy(), **options)[-1], rtol=1e-5)


def test_float64_gradient_does_not_change_float32_parameter():
    p = param(P0, np.float32)
    opt = Adam([p], lr=0.1)
    p.grad = np.ones(3, dtype=np.float64)
    opt.step()
    assert p.data.dtype == np.float32
    assert opt.state[p]["exp_avg"].dtype == np.float32


def test_scalar_parameter():
    p = param(3.0)
    opt = Adam([p], lr=0.5)
    p.grad = np.array(1.0)
    opt.step()
    assert p.data.shape == () and float(p.data) == pytest.approx(2.5)


def test_parameters_without_grad_are_skipped():
    a, b = param(P0), param(P0)
    frozen = Tensor(P0.copy(), requires_grad=False)
    opt = Adam([a, b, frozen], lr=0.1)
    a.grad = np.ones(3)
    opt.step()
    np.testing.assert_array_equal(b.data, P0)
    np.testing.assert_array_equal(frozen.data, P0)
    assert b not in opt.state and frozen not in opt.state
    assert opt.state[a]["step"] == 1


def test_groups_use_their_own_learning_rate():
    a, b = param([1.0]), param([1.0])
    opt = Adam([{"params": [a]}, {"params": [b], "lr": 0.01}], lr=0.1)
    for p in (a, b):
        p.grad = np.array([2.0])
    opt.step()
    assert a.data[0] == pytest.approx(0.9)
    assert b.data[0] == pytest.approx(0.99)


@pytest.mark.parametrize("options, message", [
    (dict(lr=-1e-3), r"Adam: invalid lr -0\.001: must be >= 0"),
    (dict(eps=-1e-8), r"Adam: invalid eps -1e-08: must be >= 0"),
    (dict(weight_decay=-0.1), r"Adam: invalid weight_decay -0\.1: must be >= 0"),
    (dict(betas=(1.0, 0.999)), r"Adam: invalid betas\[0\] 1\.0: must be in \[0, 1\)"),
    (dict(betas=(0.9, -0.1)), r"Adam: invalid betas\[1\] -0\.1: must be in \[0, 1\)"),
    (dict(betas=(0.9,)), r"Adam: invalid betas \(0\.9,\): must be a pair"),
])
def test_invalid_options_raise(options, message):
    with pytest.raises(ValueError, match=message):
        Adam([param([1.0])], **options)


def test_invalid_group_override_raises():
    with pytest.raises(ValueError, match=r"Adam: invalid betas\[1\] 1: must be in \[0, 1\)"):
        Adam([{"params": [param([1.0])], "betas": (0.9, 1)}])


def test_lr_must_be_a_number():
    with pytest.raises(TypeError, match="Adam: lr must be a real number, got str"):
        Adam([param([1.0])], lr="fast")
