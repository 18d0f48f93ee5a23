"""softmax and log_softmax along an axis: against NumPy and gradcheck, stable for large
inputs, method and `minigrad.` function forms."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

import minigrad as mg

FEW = settings(max_examples=20, deadline=None, derandomize=True, database=None)


def np_softmax(a, axis=-1):
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def np_log_softmax(a, axis=-1):
    return np.log(np_softmax(a, axis))


# name: (method, function, oracle), each taking (x, axis)
SOFTMAXES = {
    "softmax": (lambda t, axis: t.softmax(axis=axis), lambda t, axis: mg.softmax(t, axis=axis),
                np_softmax),
    "log_softmax": (lambda t, axis: t.log_softmax(axis=axis),
                    lambda t, axis: mg.log_softmax(t, axis), np_log_softmax),
}


@pytest.mark.parametrize("shape, axis", [((4,), 0), ((4,), -1), ((2, 3), 0), ((2, 3), 1),
                                         ((2, 3), -1), ((1, 3), 0), ((2, 3, 4), 1),
                                         ((2, 3, 4), -1)], ids=str)
@pytest.mark.parametrize("name", SOFTMAXES)
def test_softmax_along_axes(check_op, name, shape, axis):
    method, function, oracle = SOFTMAXES[name]
    check_op(lambda t: method(t, axis), lambda a: oracle(a, axis), [shape], low=-3.0, high=3.0)
    check_op(lambda t: function(t, axis), lambda a: oracle(a, axis), [shape], seed=1)


def test_default_axis_is_the_last():
    x = mg.Tensor(np.arange(6.0).reshape(2, 3))
    np.testing.assert_allclose(x.softmax().data, np_softmax(x.data, -1), rtol=1e-12)
    np.testing.assert_allclose(mg.softmax(x).data, np_softmax(x.data, -1), rtol=1e-12)
    np.testing.assert_allclose(x.log_softmax().data, np_log_softmax(x.data, -1), rtol=1e-12)
    np.testing.assert_allclose(mg.log_softmax(x).data, np_log_softmax(x.data, -1), rtol=1e-12)


@st.composite
def shape_and_axis(draw):
    shape = draw(array_shapes(min_dims=1, max_dims=3, max_side=4))
    return shape, draw(st.integers(-len(shape), len(shape) - 1))


@FEW
@given(case=shape_and_axis(), name=st.sampled_from(sorted(SOFTMAXES)))
def test_softmax_generated_shapes(check_op, case, name):
    shape, axis = case
    method, _, oracle = SOFTMAXES[name]
    check_op(lambda t: method(t, axis), lambda a: oracle(a, axis), [shape], low=-3.0, high=3.0)


def test_softmax_rows_sum_to_one_and_are_stable_for_huge_inputs():
    x = mg.Tensor([[1000.0, 1000.0, -1000.0], [-1000.0, 0.0, 1000.0]], requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        probs = x.softmax(axis=1)
        logs = x.log_softmax(axis=1)
        (probs[:, 0].sum() + logs[:, 1].sum()).backward()
    np.testing.assert_allclose(probs.data.sum(axis=1), [1.0, 1.0])
    np.testing.assert_allclose(probs.data[0], [0.5, 0.5, 0.0])
    np.testing.assert_allclose(logs.data[0, :2], [np.log(0.5)] * 2)
    assert logs.data[1, 0] == -2000.0  # finite, where log(softmax) would give -inf
    assert np.isfinite(x.grad).all()


def test_bad_axis_names_the_op():
    with pytest.raises(ValueError, match=r"^Softmax: axis 3 is out of range.*\(2, 3\)"):
        mg.Tensor(np.ones((2, 3))).softmax(axis=3)
    with pytest.raises(ValueError, match=r"^LogSoftmax: axis -3 is out of range.*\(2, 3\)"):
        mg.log_softmax(mg.Tensor(np.ones((2, 3))), axis=-3)


@pytest.mark.parametrize("name", SOFTMAXES)
def test_float32_is_preserved(name):
    method = SOFTMAXES[name][0]
    x = mg.Tensor(np.array([[0.5, 1.0, -1.0]], dtype=np.float32), requires_grad=True)
    out = method(x, -1)
    (out * mg.Tensor(np.array([1.0, 2.0, 3.0], dtype=np.float32))).sum().backward()
    assert out.dtype == np.float32 and x.grad.dtype == np.float32
