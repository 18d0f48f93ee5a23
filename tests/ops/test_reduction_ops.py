"""sum mean max min var over axis None / int / negative / tuple, with keepdims: forward
against NumPy, gradients against gradcheck; max/min ties; var's ddof; axis errors."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, valid_tuple_axes

import minigrad as mg

FEW = settings(max_examples=25, deadline=None, derandomize=True, database=None)

# name: (method, minigrad function, NumPy oracle); each takes (x, axis, keepdims)
REDUCTIONS = {
    "sum": (lambda t, axis, keep: t.sum(axis=axis, keepdims=keep),
            lambda t, axis, keep: mg.sum(t, axis=axis, keepdims=keep), np.sum),
    "mean": (lambda t, axis, keep: t.mean(axis=axis, keepdims=keep),
             lambda t, axis, keep: mg.mean(t, axis=axis, keepdims=keep), np.mean),
    "max": (lambda t, axis, keep: t.max(axis=axis, keepdims=keep),
            lambda t, axis, keep: mg.max(t, axis=axis, keepdims=keep), np.max),
    "min": (lambda t, axis, keep: t.min(axis=axis, keepdims=keep),
            lambda t, axis, keep: mg.min(t, axis=axis, keepdims=keep), np.min),
    "var": (lambda t, axis, keep: t.var(axis=axis, keepdims=keep),
            lambda t, axis, keep: mg.var(t, axis=axis, keepdims=keep), np.var),
}

# (shape, axis): scalar, whole tensor, int, negative, tuple, size-1 axes, batched
CASES = [
    ((), None),
    ((5,), None),
    ((5,), 0),
    ((2, 3), None),
    ((2, 3), 1),
    ((2, 3), -2),
    ((2, 3), (0, 1)),
    ((1, 4), 0),
    ((3, 1), 1),
    ((2, 3, 4), (0, 2)),
    ((2, 3, 4), (-1, 1)),
]


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("shape, axis", CASES, ids=str)
@pytest.mark.parametrize("name", REDUCTIONS)
def test_reduction_method(check_op, name, shape, axis, keepdims):
    method, _, oracle = REDUCTIONS[name]
    check_op(lambda t: method(t, axis, keepdims),
             lambda a: oracle(a, axis=axis, keepdims=keepdims), [shape])


@pytest.mark.parametrize("name", REDUCTIONS)
def test_reduction_function_form(check_op, name):
    method, function, oracle = REDUCTIONS[name]
    out = check_op(lambda t: function(t, 1, False), lambda a: oracle(a, axis=1), [(2, 3, 2)])
    x = mg.Tensor(np.arange(12.0).reshape(2, 3, 2))
    np.testing.assert_array_equal(out.shape, (2, 2))
    np.testing.assert_array_equal(function(x, (0, 2), True).data, method(x, (0, 2), True).data)


@st.composite
def shape_and_axis(draw):
    shape = draw(array_shapes(min_dims=1, max_dims=3, max_side=3))
    axis = draw(st.none() | st.integers(-len(shape), len(shape) - 1)
                | valid_tuple_axes(len(shape), min_size=1))
    return shape, axis


@FEW
@given(case=shape_and_axis(), name=st.sampled_from(sorted(REDUCTIONS)), keepdims=st.booleans())
def test_reduction_on_generated_shapes_and_axes(check_op, case, name, keepdims):
    shape, axis = case
    method, _, oracle = REDUCTIONS[name]
    check_op(lambda t: method(t, axis, keepdims),
             lambda a: oracle(a, axis=axis, keepdims=keepdims), [shape])


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min_split_the_gradient_evenly_between_ties(name):
    method = REDUCTIONS[name][0]
    sign = 1.0 if name == "max" else -1.0
    x = mg.Tensor(sign * np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0], [0.0, 5.0, 1.0]]),
                  requires_grad=True)
    method(x, 1, False).sum().backward()
    np.testing.assert_allclose(x.grad, [[0.0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3], [0.0, 1.0, 0.0]])
    y = mg.Tensor(sign * np.array([4.0, 1.0, 4.0, 4.0]), requires_grad=True)
    method(y, None, False).backward()
    np.testing.assert_allclose(y.grad, [1 / 3, 0.0, 1 / 3, 1 / 3])


@pytest.mark.parametrize("ddof", [0, 1, 2])
@pytest.mark.parametrize("axis", [None, 0, 1, (0, 1)], ids=str)
def test_var_with_ddof(check_op, axis, ddof):
    check_op(lambda t: t.var(axis=axis, ddof=ddof), lambda a: np.var(a, axis=axis, ddof=ddof),
             [(4, 5)])
    check_op(lambda t: mg.var(t, axis=axis, ddof=ddof, keepdims=True),
             lambda a: np.var(a, axis=axis, ddof=ddof, keepdims=True), [(4, 5)], seed=1)


def test_var_with_too_large_ddof_raises():
    with pytest.raises(ValueError, match=r"Var: ddof=3 leaves no degrees of freedom for 3 elements"):
        mg.Tensor(np.ones((2, 3))).var(axis=1, ddof=3)


@pytest.mark.parametrize("name, op_name", [("sum", "Sum"), ("mean", "Mean"), ("max", "Max"),
                                           ("min", "Min"), ("var", "Var")])
def test_bad_axis_names_the_op_the_axis_and_the_rank(name, op_name):
    method, function, _ = REDUCTIONS[name]
    x = mg.Tensor(np.ones((2, 3)))
    pattern = rf"{op_name}: axis 2 is out of range for a tensor with 2 dimensions"
    with pytest.raises(ValueError, match=pattern):
        method(x, 2, False)
    with pytest.raises(ValueError, match=pattern.replace("axis 2", "axis -3")):
        function(x, (0, -3), False)
    with pytest.raises(ValueError, match=rf"{op_name}: repeated axis"):
        method(x, (1, -1), False)


def test_max_of_an_empty_tensor_raises():
    with pytest.raises(ValueError, match=r"Max: cannot reduce over an empty axis \(shape \(0,\)"):
        mg.Tensor(np.zeros(0)).max()


@pytest.mark.parametrize("name", REDUCTIONS)
def test_float32_is_preserved(name):
    method = REDUCTIONS[name][0]
    x = mg.Tensor(np.arange(6, dtype=np.float32).reshape(2, 3), requires_grad=True)
    out = method(x, 1, False)
    out.sum().backward()
    assert out.dtype == np.float32 and x.grad.dtype == np.float32
