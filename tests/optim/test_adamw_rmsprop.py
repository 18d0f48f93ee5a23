"""AdamW and RMSprop against the algorithms documented for torch.optim, restated by hand
over several steps."""

import itertools

import numpy as np
import pytest

from minigrad import Tensor
from minigrad.optim import Adam, AdamW, RMSprop

STEPS = 8
P0 = np.array([1.0, -0.5, 2.0])


def param(values, dtype=np.float64):
    return Tensor(np.array(values, dtype=dtype), requires_grad=True)


def grad_at(p, t):
    """Depends on p and swings in size with t, so running maxima and averages matter."""
    return 0.5 * p + np.array([3.0, -2.0, 1.0]) * np.cos(1.3 * t)


def run(optimizer_cls, steps=STEPS, **options):
    p = param(P0)
    opt = optimizer_cls([p], **options)
    trajectory = []
    for t in range(1, steps + 1):
        p.grad = grad_at(p.data, t)
        opt.step()
        trajectory.append(p.data.copy())
    return trajectory, opt, p


def reference_adamw(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                    amsgrad=False, maximize=False):
    """torch.optim.AdamW's pseudo-code: decay p by lr * lambda, then Adam without decay."""
    beta1, beta2 = betas
    p = P0.copy()
    m = v = v_max = np.zeros_like(p)
    out = []
    for t in range(1, STEPS + 1):
        g = grad_at(p, t)
        if maximize:
            g = -g
        p = p - lr * weight_decay * p
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_hat = m / (1 - beta1 ** t)
        if amsgrad:
            v_max = np.maximum(v_max, v)
            v_hat = v_max / (1 - beta2 ** t)
        else:
            v_hat = v / (1 - beta2 ** t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
        out.append(p)
    return out


@pytest.mark.parametrize("options", [
    {},
    {"lr": 0.1, "weight_decay": 0.3},
    {"lr": 0.05, "betas": (0.5, 0.9), "eps": 1e-3, "amsgrad": True},
    {"lr": 0.05, "weight_decay": 0.1, "maximize": True},
    {"lr": 0.05, "weight_decay": 0.0},
])
def test_adamw_follows_the_documented_algorithm(options):
    trajectory, _, _ = run(AdamW, **options)
    for step, (got, want) in enumerate(zip(trajectory, reference_adamw(**options)), 1):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14, err_msg=f"step {step}")


def test_adamw_defaults_are_pytorchs_and_decay_differs_from_adams_l2():
    p = param([1.0])
    opt = AdamW([p])
    assert {k: v for k, v in opt.defaults.items()} == {
        "lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 1e-2,
        "amsgrad": False, "maximize": False}
    decoupled, _, _ = run(AdamW, lr=0.1, weight_decay=0.5)
    coupled, _, _ = run(Adam, lr=0.1, weight_decay=0.5)
    assert not np.allclose(decoupled[-1], coupled[-1])
    # with no decay the two are the same algorithm
    np.testing.assert_array_equal(run(AdamW, lr=0.1, weight_decay=0)[0][-1],
                                  run(Adam, lr=0.1)[0][-1])


def test_adamw_rejects_bad_options_by_its_own_name():
    with pytest.raises(ValueError, match=r"AdamW: invalid betas\[1\] 1.0"):
        AdamW([param([1.0])], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match=r"AdamW: invalid weight_decay -1"):
        AdamW([param([1.0])], weight_decay=-1)


def reference_rmsprop(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                      centered=False, maximize=False):
    """torch.optim.RMSprop's pseudo-code, line by line."""
    p = P0.copy()
    v = g_ave = b = np.zeros_like(p)
    out = []
    for t in range(1, STEPS + 1):
        g = grad_at(p, t)
        if maximize:
            g = -g
        if weight_decay != 0:
            g = g + weight_decay * p
        v = alpha * v + (1 - alpha) * g * g
        v_tilde = v
        if centered:
            g_ave = alpha * g_ave + (1 - alpha) * g
            v_tilde = v_tilde - g_ave * g_ave
        if momentum > 0:
            b = momentum * b + g / (np.sqrt(v_tilde) + eps)
            p = p - lr * b
        else:
            p = p - lr * g / (np.sqrt(v_tilde) + eps)
        out.append(p)
    return out


RMSPROP_CASES = [dict(zip(("momentum", "centered", "weight_decay", "maximize"), values))
                 for values in itertools.product((0.0, 0.9), (False, True), (0.0, 0.2),
                                                 (False, True))]


@pytest.mark.parametrize("options", RMSPROP_CASES + [{"lr": 0.1, "alpha": 0.5, "eps": 1e-2}])
def test_rmsprop_follows_the_documented_algorithm(options):
    trajectory, opt, p = run(RMSprop, **options)
    for step, (got, want) in enumerate(zip(trajectory, reference_rmsprop(**options)), 1):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14, err_msg=f"step {step}")
    state = opt.state[p]
    assert state["step"] == STEPS
    assert ("momentum_buffer" in state) == (options.get("momentum", 0) > 0)
    assert ("grad_avg" in state) == options.get("centered", False)


def test_rmsprop_defaults_and_option_checks():
    opt = RMSprop([param([1.0])])
    assert opt.defaults == {"lr": 1e-2, "alpha": 0.99, "eps": 1e-8, "weight_decay": 0,
                            "momentum": 0, "centered": False, "maximize": False}
    with pytest.raises(ValueError, match=r"RMSprop: invalid alpha 1.5"):
        RMSprop([param([1.0])], alpha=1.5)
    with pytest.raises(ValueError, match=r"RMSprop: invalid momentum -0.1"):
        RMSprop([param([1.0])], momentum=-0.1)


@pytest.mark.parametrize("cls, options", [(AdamW, {"lr": 0.1, "amsgrad": True}),
                                          (RMSprop, {"momentum": 0.9, "centered": True})])
def test_state_dict_round_trip_continues_the_same_steps(cls, options):
    straight, _, _ = run(cls, **options)
    p = param(P0)
    opt = cls([p], **options)
    for t in range(1, 4):
        p.grad = grad_at(p.data, t)
        opt.step()
    saved, saved_p = opt.state_dict(), p.data.copy()
    q = param(saved_p)
    resumed = cls([q], **options)
    resumed.load_state_dict(saved)
    for t in range(4, STEPS + 1):
        q.grad = grad_at(q.data, t)
        resumed.step()
    np.testing.assert_array_equal(q.data, straight[-1])


@pytest.mark.parametrize("cls", [AdamW, RMSprop])
def test_float32_parameters_stay_float32(cls):
    p = param([1.0, 2.0], dtype=np.float32)
    opt = cls([p], lr=0.1)
    p.grad = np.array([0.5, -0.5], dtype=np.float32)
    opt.step()
    assert p.data.dtype == np.float32
