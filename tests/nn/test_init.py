"""nn.init: the Glorot and He formulas, in place, reproducible under manual_seed."""
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad.nn import Parameter, init

FAN_IN, FAN_OUT = 400, 600  # our layout: (in_features, out_features)


def big(dtype=np.float64):
    return Parameter(np.zeros((FAN_IN, FAN_OUT), dtype=dtype))


def test_xavier_uniform_bound_and_std():
    mg.manual_seed(0)
    w = init.xavier_uniform_(big(), gain=2.0)
    bound = 2.0 * math.sqrt(6 / (FAN_IN + FAN_OUT))
    assert np.abs(w.data).max() <= bound
    assert np.abs(w.data).max() > 0.999 * bound
    assert w.data.std() == pytest.approx(2.0 * math.sqrt(2 / (FAN_IN + FAN_OUT)), rel=0.01)
    assert abs(w.data.mean()) < 0.01 * bound


def test_xavier_normal_std():
    mg.manual_seed(1)
    w = init.xavier_normal_(big())
    assert w.data.std() == pytest.approx(math.sqrt(2 / (FAN_IN + FAN_OUT)), rel=0.01)


def test_fan_in_is_the_first_axis():
    """He uses fan_in only, so transposing the shape must change the std."""
    mg.manual_seed(2)
    w = init.kaiming_normal_(Parameter(np.zeros((FAN_IN, FAN_OUT))))
    wt = init.kaiming_normal_(Parameter(np.zeros((FAN_OUT, FAN_IN))))
    assert w.data.std() == pytest.approx(math.sqrt(2 / FAN_IN), rel=0.01)
    assert wt.data.std() == pytest.approx(math.sqrt(2 / FAN_OUT), rel=0.01)


def test_kaiming_uniform_bound_and_modes():
    mg.manual_seed(3)
    w = init.kaiming_uniform_(big())
    bound = math.sqrt(6 / FAN_IN)
    assert bound * 0.999 < np.abs(w.data).max() <= bound
    assert w.data.std() == pytest.approx(math.sqrt(2 / FAN_IN), rel=0.01)
    w = init.kaiming_uniform_(big(), mode="fan_out", nonlinearity="tanh")
    assert w.data.std() == pytest.approx(5 / 3 / math.sqrt(FAN_OUT), rel=0.01)
    with pytest.raises(ValueError, match="kaiming_uniform_: mode must be 'fan_in' or 'fan_out'"):
        init.kaiming_uniform_(big(), mode="avg")


def test_uniform_normal_zeros_ones():
    mg.manual_seed(4)
    w = big()
    assert init.uniform_(w, -1.0, 3.0) is w
    assert w.data.min() >= -1.0 and w.data.max() < 3.0
    assert w.data.mean() == pytest.approx(1.0, abs=0.01)
    init.normal_(w, mean=5.0, std=0.5)
    assert w.data.mean() == pytest.approx(5.0, abs=0.01)
    assert w.data.std() == pytest.approx(0.5, rel=0.01)
    np.testing.assert_array_equal(init.zeros_(w).data, 0.0)
    np.testing.assert_array_equal(init.ones_(w).data, 1.0)


def test_init_is_in_place_keeps_dtype_and_records_no_graph():
    w = big(np.float32)
    array = w.data
    init.xavier_uniform_(w)
    assert w.data is array and w.data.dtype == np.float32
    assert w.grad_fn is None and w.grad is None


def test_manual_seed_makes_init_repeat():
    mg.manual_seed(7)
    first = init.xavier_uniform_(Parameter(np.zeros((3, 4)))).data.copy()
    mg.manual_seed(7)
    second = init.xavier_uniform_(Parameter(np.zeros((3, 4)))).data
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, init.xavier_uniform_(Parameter(np.zeros((3, 4)))).data)


def test_calculate_gain():
    assert init.calculate_gain("linear") == 1.0
    assert init.calculate_gain("sigmoid") == 1.0
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01 ** 2)))
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    with pytest.raises(ValueError, match=r"calculate_gain: unknown nonlinearity 'swish'; choose"):
        init.calculate_gain("swish")


def test_fans_need_two_axes():
    with pytest.raises(ValueError, match=r"xavier_uniform_: .*at least 2 axes.*shape \(5,\)"):
        init.xavier_uniform_(Parameter(np.zeros(5)))
