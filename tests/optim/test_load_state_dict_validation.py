"""load_state_dict refuses, before changing anything, every state step() could not use
(issue 10, section 2): another optimizer's state, a bad step count, a negative running
average of squares, a state that is not a dict. Errors name the key."""
import numpy as np
import pytest

import minigrad
from minigrad.optim import SGD, Adam


def _params():
    return [minigrad.Tensor(np.ones(2), requires_grad=True),
            minigrad.Tensor(np.ones((2, 2)), requires_grad=True)]


def _stepped(make, steps=2):
    params = _params()
    opt = make(params)
    for _ in range(steps):
        for p in params:
            p.grad = np.full(p.data.shape, 0.5)
        opt.step()
    return opt


def make_sgd(ps):
    return SGD(ps, lr=0.1, momentum=0.9)


def make_adam(ps):
    return Adam(ps, lr=0.01, amsgrad=True)


def _assert_refused_and_unchanged(opt, state_dict, match):
    before = opt.state_dict()
    with pytest.raises(ValueError, match=match):
        opt.load_state_dict(state_dict)
    after = opt.state_dict()
    assert after["param_groups"] == before["param_groups"]
    assert sorted(after["state"]) == sorted(before["state"])
    for index, state in before["state"].items():
        for name, value in state.items():
            np.testing.assert_array_equal(after["state"][index][name], value)


def test_adam_refuses_sgd_state():
    adam = _stepped(make_adam)
    _assert_refused_and_unchanged(adam, _stepped(make_sgd).state_dict(),
                                  r"Adam: parameter group 0 .* has no 'betas'.*another optimizer")
    sd = _stepped(make_sgd).state_dict()
    sd["param_groups"] = adam.state_dict()["param_groups"]  # only the state is SGD's
    _assert_refused_and_unchanged(adam, sd, r"Adam: state\[0\] .* has no 'step'")


def test_sgd_refuses_adam_state():
    sgd = _stepped(make_sgd)
    _assert_refused_and_unchanged(sgd, _stepped(make_adam).state_dict(),
                                  r"SGD: parameter group 0 .* has no 'momentum'")
    sd = _stepped(make_adam).state_dict()
    sd["param_groups"] = sgd.state_dict()["param_groups"]
    _assert_refused_and_unchanged(sgd, sd, r"SGD: state\[0\]\['step'\] .* not part of SGD's state")


@pytest.mark.parametrize("step, ok", [(None, False), (-1, False), (2.5, False), (2.0, False),
                                      ("2", False), (True, False), (0, True), (np.int64(3), True)])
def test_adam_step_must_be_a_non_negative_integer(step, ok):
    adam = _stepped(make_adam)
    sd = _stepped(make_adam).state_dict()
    if step is None:
        del sd["state"][1]["step"]
        match = r"state\[1\] .* has no 'step'"
    else:
        sd["state"][1]["step"] = step
        match = r"state\[1\]\['step'\] must be an integer >= 0"
    if ok:
        adam.load_state_dict(sd)
        adam.step()  # usable
    else:
        _assert_refused_and_unchanged(adam, sd, match)


@pytest.mark.parametrize("name", ["exp_avg_sq", "max_exp_avg_sq"])
def test_adam_refuses_a_negative_average_of_squares(name):
    adam = _stepped(make_adam)
    sd = _stepped(make_adam).state_dict()
    sd["state"][0][name] = -sd["state"][0][name]
    _assert_refused_and_unchanged(adam, sd, rf"state\[0\]\['{name}'\] holds negative values")


@pytest.mark.parametrize("make, name", [(make_adam, "exp_avg"), (make_adam, "exp_avg_sq"),
                                        (make_sgd, "momentum_buffer")])
def test_non_finite_or_non_array_buffers_are_refused(make, name):
    opt = _stepped(make)
    sd = _stepped(make).state_dict()
    sd["state"][1][name] = np.full((2, 2), np.nan)
    _assert_refused_and_unchanged(opt, sd, rf"state\[1\]\['{name}'\] holds non-finite values")
    sd["state"][1][name] = [[0.0, 0.0], [0.0, 0.0]]
    _assert_refused_and_unchanged(opt, sd, rf"state\[1\]\['{name}'\] must be an array, got list")
    sd["state"][1][name] = np.array([["a", "b"], ["c", "d"]])
    _assert_refused_and_unchanged(opt, sd, rf"state\[1\]\['{name}'\] has dtype <U1")


@pytest.mark.parametrize("bad, match", [
    ([1, 2], r'must be a dict with keys "state" and "param_groups".*got list'),
    (None, r'must be a dict with keys "state" and "param_groups".*got NoneType'),
    ({"state": [], "param_groups": []}, r'"state" must be a dict'),
    ({"state": {}, "param_groups": {}}, r'"param_groups" must be a list'),
    ({"state": {0: 5}, "param_groups": None}, r'"param_groups" must be a list'),
])
def test_a_state_dict_of_the_wrong_shape_names_the_key(bad, match):
    adam = _stepped(make_adam)
    _assert_refused_and_unchanged(adam, bad, match)


def test_a_per_parameter_state_that_is_not_a_dict_names_the_key():
    adam = _stepped(make_adam)
    sd = _stepped(make_adam).state_dict()
    sd["state"][1] = 5
    _assert_refused_and_unchanged(adam, sd, r"state\[1\] of the loaded state dict must be a dict")


def test_a_parameter_index_listed_twice_is_refused():
    adam = _stepped(make_adam)
    sd = _stepped(make_adam).state_dict()
    sd["param_groups"][0]["params"] = [0, 0]
    _assert_refused_and_unchanged(adam, sd, r"parameter index 0, which is not an int or appears twice")


def test_validation_happens_before_any_change():
    """A bad entry for the second parameter leaves the first one's state untouched too."""
    adam = _stepped(make_adam)
    sd = _stepped(make_adam, steps=5).state_dict()
    sd["param_groups"][0]["lr"] = 0.5
    sd["state"][1]["step"] = -3
    _assert_refused_and_unchanged(adam, sd, r"state\[1\]\['step'\]")
    assert adam.param_groups[0]["lr"] == 0.01


def test_empty_per_parameter_state_is_a_fresh_start():
    adam = _stepped(make_adam)
    sd = _stepped(make_adam).state_dict()
    sd["state"] = {0: {}}
    adam.load_state_dict(sd)
    adam.step()  # takes its first step for both parameters
