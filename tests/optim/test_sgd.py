"""SGD against the update rule documented for torch.optim.SGD, restated by hand."""

import numpy as np
import pytest

from minigrad import Tensor
from minigrad.optim import SGD

STEPS = 7
P0 = np.array([1.0, -0.5, 2.0])


def param(values, dtype=np.float64):
    return Tensor(np.array(values, dtype=dtype), requires_grad=True)


def grad_at(p, t):
    """The gradient of step t (from 1): depends on p and changes with t."""
    return 2.0 * p + np.array([1.0, -2.0, 0.5]) * np.cos(t)


def reference_sgd(p, lr, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0,
                  maximize=False):
    """The documented pseudo-code, line by line; returns p after each step."""
    trajectory, b = [], None
    for t in range(1, STEPS + 1):
        g = grad_at(p, t)
        if maximize:
            g = -g
        if weight_decay != 0:
            g = g + weight_decay * p
        if momentum != 0:
            if t > 1:
                b = momentum * b + (1 - dampening) * g
            else:
                b = g
            if nesterov:
                g = g + momentum * b
            else:
                g = b
        p = p - lr * g
        trajectory.append(p)
    return trajectory


CASES = {
    "plain": dict(lr=0.1),
    "momentum": dict(lr=0.1, momentum=0.9),
    "dampening": dict(lr=0.1, momentum=0.9, dampening=0.3),
    "nesterov": dict(lr=0.1, momentum=0.8, nesterov=True),
    "weight_decay": dict(lr=0.1, weight_decay=0.25),
    "maximize": dict(lr=0.1, maximize=True),
    "momentum+weight_decay": dict(lr=0.05, momentum=0.9, weight_decay=0.1),
    "momentum+maximize": dict(lr=0.05, momentum=0.5, maximize=True),
    "weight_decay+maximize": dict(lr=0.1, weight_decay=0.5, maximize=True),
    "dampening+weight_decay+maximize": dict(lr=0.05, momentum=0.7, dampening=0.5,
                                            weight_decay=0.2, maximize=True),
    "nesterov+weight_decay+maximize": dict(lr=0.05, momentum=0.9, nesterov=True,
                                           weight_decay=0.3, maximize=True),
}


@pytest.mark.parametrize("options", CASES.values(), ids=CASES.keys())
def test_trajectory_matches_documented_rule(options):
    p = param(P0)
    opt = SGD([p], **options)
    for t, expected in enumerate(reference_sgd(P0.copy(), **options), start=1):
        p.grad = grad_at(p.data, t)
        opt.step()
        np.testing.assert_allclose(p.data, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("options, grads, expected", [
    # b = 1, p = 1 - 0.1*1; then b = 0.9*1 + 1 = 1.9, p = 0.9 - 0.19
    (dict(lr=0.1, momentum=0.9), [1.0, 1.0], [0.9, 0.71]),
    # the first buffer is the raw gradient; b = 0.9*1 + 0.5*1 = 1.4 after
    (dict(lr=0.1, momentum=0.9, dampening=0.5), [1.0, 1.0], [0.9, 0.76]),
    # g = 1 + 0.9*1 = 1.9; then b = 1.9, g = 1 + 0.9*1.9 = 2.71
    (dict(lr=0.1, momentum=0.9, nesterov=True), [1.0, 1.0], [0.81, 0.539]),
    # g = 1 + 0.1*1 = 1.1
    (dict(lr=0.1, weight_decay=0.1), [1.0], [0.89]),
    (dict(lr=0.1, maximize=True), [1.0, 2.0], [1.1, 1.3]),
    # the gradient is negated before the decay term is added: g = -1 + 0.5*1 = -0.5
    (dict(lr=0.1, weight_decay=0.5, maximize=True), [1.0], [1.05]),
])
def test_literal_values_worked_on_paper(options, grads, expected):
    p = param([1.0])
    opt = SGD([p], **options)
    for grad, value in zip(grads, expected):
        p.grad = np.array([grad])
        opt.step()
        assert p.data[0] == pytest.approx(value, rel=1e-12)


def test_updates_data_in_place_and_never_writes_to_grad():
    p = param(P0)
    data = p.data
    opt = SGD([p], lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1, maximize=True)
    for t in range(1, 4):
        grad = grad_at(p.data, t)
        p.grad = grad
        saved = grad.copy()
        opt.step()
        assert p.data is data
        np.testing.assert_array_equal(grad, saved)


def test_momentum_buffer_is_a_copy_of_the_first_gradient():
    p = param(P0)
    opt = SGD([p], lr=0.1, momentum=0.9)
    p.grad = np.ones(3)
    opt.step()
    assert opt.state[p]["momentum_buffer"] is not p.grad
    np.testing.assert_array_equal(p.grad, np.ones(3))


def test_no_state_without_momentum():
    p = param(P0)
    opt = SGD([p], lr=0.1, weight_decay=0.1)
    p.grad = np.ones(3)
    opt.step()
    assert not opt.state.get(p)


@pytest.mark.parametrize("hyper", [float, np.float64])
def test_float32_stays_float32(hyper):
    p = param(P0, np.float32)
    opt = SGD([p], lr=hyper(0.1), momentum=hyper(0.9), dampening=hyper(0.1),
              weight_decay=hyper(0.01))
    expected = reference_sgd(P0.copy(), lr=0.1, momentum=0.9, dampening=0.1,
                             weight_decay=0.01)
    for t in range(1, STEPS + 1):
        p.grad = grad_at(p.data, t).astype(np.float32)
        opt.step()
        assert p.data.dtype == np.float32
        assert opt.state[p]["momentum_buffer"].dtype == np.float32
    np.testing.assert_allclose(p.data, expected[-1], rtol=1e-5)


def test_float64_gradient_does_not_change_float32_parameter():
    p = param(P0, np.float32)
    opt = SGD([p], lr=0.1, momentum=0.9)
    p.grad = np.ones(3, dtype=np.float64)
    opt.step()
    opt.step()
    assert p.data.dtype == np.float32
    assert opt.state[p]["momentum_buffer"].dtype == np.float32


def test_parameters_without_grad_are_skipped():
    a, b = param(P0), param(P0)
    frozen = Tensor(P0.copy(), requires_grad=False)
    opt = SGD([a, b, frozen], lr=0.1, momentum=0.9)
    a.grad = np.ones(3)
    opt.step()
    np.testing.assert_array_equal(b.data, P0)
    np.testing.assert_array_equal(frozen.data, P0)
    assert b not in opt.state and frozen not in opt.state
    np.testing.assert_allclose(a.data, P0 - 0.1)


def test_groups_use_their_own_learning_rate():
    a, b = param([1.0]), param([1.0])
    opt = SGD([{"params": [a]}, {"params": [b], "lr": 0.01}], lr=0.1)
    for p in (a, b):
        p.grad = np.array([2.0])
    opt.step()
    assert a.data[0] == pytest.approx(0.8)
    assert b.data[0] == pytest.approx(0.98)
    assert opt.param_groups[1]["momentum"] == 0


def test_step_returns_the_closure_loss():
    p = param([1.0])

    def closure():
        p.grad = np.array([1.0])
        return 3.5

    assert SGD([p], lr=0.5).step(closure) == 3.5
    assert p.data[0] == pytest.approx(0.5)


@pytest.mark.parametrize("options, message", [
    (dict(lr=-0.1), r"SGD: invalid lr -0\.1: must be >= 0"),
    (dict(momentum=-0.1), r"SGD: invalid momentum -0\.1: must be >= 0"),
    (dict(dampening=-0.5), r"SGD: invalid dampening -0\.5: must be >= 0"),
    (dict(weight_decay=-1e-4), r"SGD: invalid weight_decay -0\.0001: must be >= 0"),
    (dict(lr=float("nan")), r"SGD: invalid lr nan: must be >= 0"),
    (dict(nesterov=True), r"nesterov=True requires momentum > 0 and dampening == 0, "
                          r"got momentum=0, dampening=0"),
    (dict(nesterov=True, momentum=0.9, dampening=0.1),
     r"nesterov=True requires momentum > 0 and dampening == 0, "
     r"got momentum=0\.9, dampening=0\.1"),
])
def test_invalid_options_raise(options, message):
    with pytest.raises(ValueError, match=message):
        SGD([param([1.0])], **options)


def test_invalid_group_override_raises():
    with pytest.raises(ValueError, match=r"SGD: invalid momentum -1: must be >= 0"):
        SGD([{"params": [param([1.0])], "momentum": -1}], lr=0.1)


@pytest.mark.parametrize("lr", ["0.1", None, True])
def test_lr_must_be_a_number(lr):
    with pytest.raises(TypeError, match="SGD: lr must be a real number"):
        SGD([param([1.0])], lr=lr)
