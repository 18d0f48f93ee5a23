"""The Optimizer base class: parameter groups, zero_grad, state_dict / load_state_dict."""

import numpy as np
import pytest

from minigrad import Tensor
from minigrad.optim import SGD, Adam, Optimizer


def param(values, dtype=np.float64):
    return Tensor(np.array(values, dtype=dtype), requires_grad=True)


def grad_at(p, t):
    return 2.0 * p + np.cos(t) * np.arange(1.0, p.size + 1).reshape(p.shape)


# ---- construction and parameter groups ---------------------------------------------------

def test_plain_parameters_make_one_group_with_the_defaults():
    a, b = param([1.0]), param([2.0])
    opt = Optimizer((p for p in [a, b]), {"lr": 0.1, "momentum": 0})
    assert len(opt.param_groups) == 1
    assert [id(p) for p in opt.param_groups[0]["params"]] == [id(a), id(b)]
    assert opt.param_groups[0]["lr"] == 0.1 and opt.param_groups[0]["momentum"] == 0
    assert opt.defaults == {"lr": 0.1, "momentum": 0}
    assert opt.state == {}


def test_group_dicts_override_the_defaults():
    a, b = param([1.0]), param([2.0])
    opt = Optimizer([{"params": [a]}, {"params": b, "lr": 0.5, "name": "head"}], {"lr": 0.1})
    first, second = opt.param_groups
    assert first.keys() == {"params", "lr"} and first["lr"] == 0.1
    assert second.keys() == {"params", "lr", "name"} and second["lr"] == 0.5
    assert first["params"][0] is a and second["params"][0] is b  # a lone tensor is wrapped


def test_add_param_group():
    a, b = param([1.0]), param([2.0])
    opt = SGD([a], lr=0.1, momentum=0.9)
    opt.add_param_group({"params": [b], "lr": 0.01})
    assert opt.param_groups[1]["lr"] == 0.01 and opt.param_groups[1]["momentum"] == 0.9
    a.grad = b.grad = np.array([1.0])
    opt.step()
    assert b.data[0] == pytest.approx(1.99)


@pytest.mark.parametrize("params", [[], (), iter([])])
def test_empty_parameter_list(params):
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        Optimizer(params, {"lr": 0.1})


def test_parameter_in_two_groups():
    a = param([1.0])
    with pytest.raises(ValueError, match="a parameter appears more than once"):
        Optimizer([{"params": [a]}, {"params": [a]}], {"lr": 0.1})
    with pytest.raises(ValueError, match="a parameter appears more than once"):
        Optimizer([a, a], {"lr": 0.1})
    opt = Optimizer([a], {"lr": 0.1})
    with pytest.raises(ValueError, match="a parameter appears more than once"):
        opt.add_param_group({"params": [a]})
    assert len(opt.param_groups) == 1


@pytest.mark.parametrize("item, name", [(np.zeros(2), "ndarray"), (3.0, "float"),
                                        ("w", "str"), (None, "NoneType")])
def test_non_parameters_are_rejected_by_type(item, name):
    with pytest.raises(TypeError, match=f"can only update parameters .* but got {name}"):
        Optimizer([param([1.0]), item], {"lr": 0.1})


def test_a_single_tensor_or_a_set_is_rejected():
    a = param([1.0])
    with pytest.raises(TypeError, match="iterable of parameters or of dicts, but got Tensor"):
        Optimizer(a, {"lr": 0.1})
    with pytest.raises(TypeError, match="not a set"):
        Optimizer({a}, {"lr": 0.1})
    with pytest.raises(TypeError, match="not a set"):
        Optimizer([{"params": {a}}], {"lr": 0.1})


def test_malformed_groups():
    opt = Optimizer([param([1.0])], {"lr": 0.1})
    with pytest.raises(ValueError, match='must have the key "params"'):
        opt.add_param_group({"lr": 0.2})
    with pytest.raises(TypeError, match="a parameter group must be a dict, got list"):
        opt.add_param_group([param([1.0])])


def test_integer_parameters_are_rejected():
    ints = Tensor(np.arange(3), dtype=np.int64)
    with pytest.raises(TypeError, match="floating-point parameters, but got one of dtype int64"):
        Optimizer([ints], {"lr": 0.1})


def test_parameters_not_requiring_grad_are_accepted():
    frozen = Tensor([1.0, 2.0], requires_grad=False)
    opt = SGD([frozen], lr=0.1)
    opt.step()
    np.testing.assert_array_equal(frozen.data, [1.0, 2.0])


def test_step_is_abstract():
    with pytest.raises(NotImplementedError, match="Optimizer does not implement step"):
        Optimizer([param([1.0])], {"lr": 0.1}).step()


# ---- zero_grad -----------------------------------------------------------------------------

def test_zero_grad_sets_to_none():
    a, b = param([1.0]), param([2.0])
    opt = Optimizer([{"params": [a]}, {"params": [b]}], {"lr": 0.1})
    a.grad, b.grad = np.array([3.0]), np.array([4.0])
    opt.zero_grad()
    assert a.grad is None and b.grad is None


def test_zero_grad_fills_with_zeros_in_place():
    a, b = param([1.0, 2.0]), param([2.0])
    opt = Optimizer([a, b], {"lr": 0.1})
    grad = np.array([3.0, 4.0])
    a.grad = grad
    opt.zero_grad(set_to_none=False)
    assert np.shares_memory(a.grad, grad)  # the assigned array, zeroed where it lies
    np.testing.assert_array_equal(grad, [0.0, 0.0])
    assert b.grad is None


# ---- state_dict / load_state_dict ----------------------------------------------------------

def make_sgd(p0s, lr=0.1):
    params = [param(v) for v in p0s]
    opt = SGD([{"params": params[:2]}, {"params": params[2:], "lr": lr / 2, "dampening": 0.2}],
              lr=lr, momentum=0.9)
    return params, opt


def make_adam(p0s, lr=0.05):
    params = [param(v) for v in p0s]
    opt = Adam([{"params": params[:2], "amsgrad": True}, {"params": params[2:]}],
               lr=lr, weight_decay=0.1)
    return params, opt


P0S = [[1.0, 2.0], [[0.5, -1.0], [2.0, 0.0]], [3.0]]


def run(params, opt, steps, start=1):
    for t in range(start, start + steps):
        for p in params:
            p.grad = grad_at(p.data, t)
        opt.step()


def test_state_dict_layout():
    params, opt = make_sgd(P0S)
    params[0].grad = np.ones(2)
    params[2].grad = np.ones(1)
    opt.step()
    sd = opt.state_dict()
    assert sd["param_groups"] == [
        dict(params=[0, 1], lr=0.1, momentum=0.9, dampening=0, nesterov=False,
             weight_decay=0, maximize=False),
        dict(params=[2], lr=0.05, momentum=0.9, dampening=0.2, nesterov=False,
             weight_decay=0, maximize=False),
    ]
    assert set(sd["state"]) == {0, 2}
    np.testing.assert_array_equal(sd["state"][0]["momentum_buffer"], [1.0, 1.0])


def test_state_dict_holds_copies():
    params, opt = make_adam(P0S)
    run(params, opt, 2)
    sd = opt.state_dict()
    saved = sd["state"][0]["exp_avg"].copy()
    run(params, opt, 1, start=3)
    np.testing.assert_array_equal(sd["state"][0]["exp_avg"], saved)
    sd["state"][0]["exp_avg"][:] = 99.0
    assert not np.any(opt.state[params[0]]["exp_avg"] == 99.0)


@pytest.mark.parametrize("make", [make_sgd, make_adam])
def test_round_trip_continues_identically(make):
    params_a, opt_a = make(P0S)
    run(params_a, opt_a, 3)
    sd = opt_a.state_dict()

    # a fresh optimiser with another lr, on copies of the current parameters
    params_b, opt_b = make([p.data.copy() for p in params_a], lr=0.5)
    opt_b.load_state_dict(sd)
    assert [g["lr"] for g in opt_b.param_groups] == [g["lr"] for g in opt_a.param_groups]
    assert all(x is y for x, y in zip(opt_b.param_groups[0]["params"], params_b[:2]))

    for t in range(4, 9):
        run(params_a, opt_a, 1, start=t)
        run(params_b, opt_b, 1, start=t)
        for a, b in zip(params_a, params_b):
            np.testing.assert_array_equal(a.data, b.data)


def test_load_takes_copies_and_parameter_dtype():
    params, opt = make_adam(P0S)
    run(params, opt, 2)
    sd = opt.state_dict()
    params32 = [param(p.data, np.float32) for p in params]
    opt32 = Adam([{"params": params32[:2]}, {"params": params32[2:]}])
    opt32.load_state_dict(sd)
    state = opt32.state[params32[0]]
    assert state["exp_avg"].dtype == np.float32 and state["step"] == 2
    sd["state"][0]["exp_avg"][:] = 99.0
    assert not np.any(state["exp_avg"] == 99.0)
    assert opt32.param_groups[0]["amsgrad"] is True


def test_mismatched_loads_raise_and_change_nothing():
    params, opt = make_sgd(P0S)
    run(params, opt, 2)
    sd = opt.state_dict()
    other_params, other = make_sgd(P0S)
    before = other.state_dict()

    with pytest.raises(ValueError, match="has 1 parameter groups, but the optimizer has 2"):
        other.load_state_dict({**sd, "param_groups": sd["param_groups"][:1]})
    with pytest.raises(ValueError, match="parameter group 1 has 2 parameters in the loaded "
                                         "state dict, but 1 in the optimizer"):
        groups = [sd["param_groups"][0], {**sd["param_groups"][1], "params": [2, 3]}]
        other.load_state_dict({**sd, "param_groups": groups})
    with pytest.raises(ValueError, match=r"state 'momentum_buffer' of parameter 1 has shape "
                                         r"\(3,\) .* but the parameter has shape \(2, 2\)"):
        bad = {**sd["state"], 1: {"momentum_buffer": np.zeros(3)}}
        other.load_state_dict({**sd, "state": bad})
    with pytest.raises(ValueError, match="state for parameter 7, which is in none"):
        other.load_state_dict({**sd, "state": {**sd["state"], 7: {}}})
    with pytest.raises(ValueError, match=r"SGD: invalid lr -1: must be >= 0"):
        groups = [{**sd["param_groups"][0], "lr": -1}, sd["param_groups"][1]]
        other.load_state_dict({**sd, "param_groups": groups})
    with pytest.raises(ValueError, match='keys "state" and "param_groups"'):
        other.load_state_dict({"state": {}})

    after = other.state_dict()
    assert after["param_groups"] == before["param_groups"] and after["state"] == {}


# ---- repr ----------------------------------------------------------------------------------

def test_repr_lists_groups_and_options():
    _, opt = make_sgd(P0S)
    assert repr(opt) == "\n".join([
        "SGD (",
        "Parameter Group 0",
        "    dampening: 0",
        "    lr: 0.1",
        "    maximize: False",
        "    momentum: 0.9",
        "    nesterov: False",
        "    weight_decay: 0",
        "Parameter Group 1",
        "    dampening: 0.2",
        "    lr: 0.05",
        "    maximize: False",
        "    momentum: 0.9",
        "    nesterov: False",
        "    weight_decay: 0",
        ")",
    ])
