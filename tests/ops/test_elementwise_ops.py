"""exp log sqrt abs tanh sigmoid relu softplus clip maximum minimum where: forward
against NumPy, gradients against gradcheck, method and `minigrad.` function forms."""
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

import minigrad as mg

FEW = settings(max_examples=20, deadline=None, derandomize=True, database=None)
SHAPES = [(), (3,), (2, 3), (1, 3), (2, 1, 4)]


def np_sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


# name: (method call, minigrad function, NumPy oracle, input range)
UNARY = {
    "exp": (lambda t: t.exp(), mg.exp, np.exp, (-2.0, 2.0)),
    "log": (lambda t: t.log(), mg.log, np.log, (0.5, 3.0)),
    "sqrt": (lambda t: t.sqrt(), mg.sqrt, np.sqrt, (0.5, 3.0)),
    "abs": (lambda t: t.abs(), mg.abs, np.abs, (-2.0, 2.0)),
    "tanh": (lambda t: t.tanh(), mg.tanh, np.tanh, (-2.0, 2.0)),
    "sigmoid": (lambda t: t.sigmoid(), mg.sigmoid, np_sigmoid, (-4.0, 4.0)),
    "relu": (lambda t: t.relu(), mg.relu, lambda a: np.maximum(a, 0), (-2.0, 2.0)),
    "softplus": (lambda t: t.softplus(), mg.softplus, lambda a: np.log1p(np.exp(a)), (-4.0, 4.0)),
}


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", UNARY)
def test_unary_method(check_op, name, shape):
    method, _, oracle, (low, high) = UNARY[name]
    check_op(method, oracle, [shape], low=low, high=high)


@pytest.mark.parametrize("name", UNARY)
def test_unary_function_form(check_op, name):
    _, function, oracle, (low, high) = UNARY[name]
    check_op(function, oracle, [(2, 3)], low=low, high=high)


@FEW
@given(shape=array_shapes(min_dims=0, max_dims=3, max_side=3),
       name=st.sampled_from(sorted(UNARY)))
def test_unary_on_generated_shapes(check_op, shape, name):
    method, _, oracle, (low, high) = UNARY[name]
    check_op(method, oracle, [shape], low=low, high=high)


def test_abs_builtin_and_relu_gradient_at_zero_is_zero():
    x = mg.Tensor([-2.0, 0.0, 3.0], requires_grad=True)
    (abs(x) + x.relu()).sum().backward()
    np.testing.assert_array_equal(x.grad, [-1.0, 0.0, 2.0])


@pytest.mark.parametrize("name", ["sigmoid", "softplus"])
def test_sigmoid_and_softplus_are_stable_at_large_magnitude(name):
    _, function, _, _ = UNARY[name]
    x = mg.Tensor([-1000.0, 1000.0], requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = function(x)
        out.sum().backward()
    assert np.isfinite(out.data).all() and np.isfinite(x.grad).all()
    if name == "sigmoid":
        np.testing.assert_array_equal(out.data, [0.0, 1.0])
    else:
        np.testing.assert_array_equal(out.data, [0.0, 1000.0])
    np.testing.assert_array_equal(x.grad, [0.0, 0.0] if name == "sigmoid" else [0.0, 1.0])


def test_softplus_keeps_precision_for_small_outputs():
    # log(1 + exp(-40)) rounds to 0 if computed naively; logaddexp keeps ~4.2e-18
    out = mg.softplus(mg.Tensor([-40.0]))
    np.testing.assert_allclose(out.data, [np.exp(-40.0)], rtol=1e-12)


# ---- clip ---------------------------------------------------------------------------------

@pytest.mark.parametrize("bounds", [(-0.5, 0.5), (-0.5, None), (None, 0.5)], ids=str)
@pytest.mark.parametrize("shape", [(), (7,), (2, 3)], ids=str)
def test_clip(check_op, bounds, shape):
    lo, hi = bounds
    check_op(lambda t: t.clip(lo, hi), lambda a: np.clip(a, lo, hi), [shape], seed=3)
    check_op(lambda t: mg.clip(t, lo, hi), lambda a: np.clip(a, lo, hi), [shape], seed=3)


def test_clip_gradient_is_one_inside_and_at_the_bounds_zero_outside():
    x = mg.Tensor([-2.0, -1.0, 0.0, 1.0, 2.0], requires_grad=True)
    x.clip(-1.0, 1.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 1.0, 1.0, 1.0, 0.0])
    assert x.clamp(0.0, 1.0).shape == (5,)  # PyTorch's spelling


def test_clip_without_bounds_raises():
    with pytest.raises(ValueError, match=r"Clip: give at least one of min and max"):
        mg.Tensor([1.0]).clip()


# ---- maximum, minimum ---------------------------------------------------------------------

PAIRS = {"maximum": (mg.maximum, np.maximum, lambda a, b: a.maximum(b)),
         "minimum": (mg.minimum, np.minimum, lambda a, b: a.minimum(b))}


@pytest.mark.parametrize("shapes", [((), ()), ((3,), ()), ((2, 3), (3,)), ((2, 1), (1, 3)),
                                    ((2, 1, 3), (4, 1))], ids=str)
@pytest.mark.parametrize("name", PAIRS)
def test_maximum_minimum_broadcast(check_op, name, shapes):
    function, oracle, method = PAIRS[name]
    check_op(function, oracle, shapes)
    check_op(method, oracle, shapes, seed=1)


@FEW
@given(shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3),
       name=st.sampled_from(sorted(PAIRS)))
def test_maximum_minimum_on_generated_shapes(check_op, shapes, name):
    function, oracle, _ = PAIRS[name]
    check_op(function, oracle, shapes.input_shapes)


@pytest.mark.parametrize("name", PAIRS)
def test_maximum_minimum_split_ties_evenly(name):
    function = PAIRS[name][0]
    a = mg.Tensor([1.0, 2.0, 5.0], requires_grad=True)
    b = mg.Tensor([3.0, 2.0, 0.0], requires_grad=True)
    function(a, b).sum().backward()
    first_wins = [0.0, 0.5, 1.0] if name == "maximum" else [1.0, 0.5, 0.0]
    np.testing.assert_array_equal(a.grad, first_wins)
    np.testing.assert_array_equal(b.grad, 1.0 - np.array(first_wins))


def test_maximum_with_a_number_keeps_float32():
    x = mg.Tensor(np.array([-1.0, 1.0], dtype=np.float32), requires_grad=True)
    out = mg.maximum(x, 0.0)
    out.sum().backward()
    assert out.dtype == np.float32 and x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad, [0.0, 1.0])


@pytest.mark.parametrize("name, op_name", [("maximum", "Maximum"), ("minimum", "Minimum")])
def test_maximum_minimum_shape_mismatch(name, op_name):
    with pytest.raises(ValueError, match=rf"^{op_name}\b.*" + re.escape("(2,), (3,)")):
        PAIRS[name][0](mg.Tensor(np.ones(2)), mg.Tensor(np.ones(3)))


# ---- where --------------------------------------------------------------------------------

@pytest.mark.parametrize("shapes", [((3,), (3,), (3,)), ((2, 3), (3,), ()), ((2, 1), (1, 3), (2, 3)),
                                    ((2, 3), (2, 1), (4, 1, 1))], ids=str)
def test_where_broadcasts_and_gives_both_branches_gradient(check_op, random_inputs, shapes):
    cond = random_inputs([shapes[0]], seed=7)[0] > 0
    check_op(lambda x, y: mg.where(cond, x, y), lambda x, y: np.where(cond, x, y), shapes[1:])


def test_where_routes_the_gradient_by_the_condition():
    x = mg.Tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = mg.Tensor([10.0, 20.0, 30.0], requires_grad=True)
    cond = x > 1.5                        # a bool tensor is accepted as the condition
    out = mg.where(cond, x, y)
    out.backward(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(out.data, [10.0, 2.0, 3.0])
    np.testing.assert_array_equal(x.grad, [0.0, 2.0, 3.0])
    np.testing.assert_array_equal(y.grad, [1.0, 0.0, 0.0])


def test_where_with_a_number_branch():
    x = mg.Tensor([-1.0, 2.0], requires_grad=True)
    out = mg.where(x > 0, x, 0.0)
    out.sum().backward()
    np.testing.assert_array_equal(out.data, [0.0, 2.0])
    np.testing.assert_array_equal(x.grad, [0.0, 1.0])


def test_where_shape_mismatch_names_the_op_and_shapes():
    with pytest.raises(ValueError, match=r"^Where\b.*" + re.escape("(2,), (3,), ()")):
        mg.where(mg.Tensor([True, False]), mg.Tensor(np.ones(3)), 0.0)


# ---- float32 ------------------------------------------------------------------------------

@pytest.mark.parametrize("op", [entry[0] for entry in UNARY.values()] + [
    lambda t: t.clip(0.6, 0.9), lambda t: mg.minimum(t, 0.7), lambda t: mg.where(t > 0.7, t, 1.0),
], ids=list(UNARY) + ["clip", "minimum", "where"])
def test_float32_is_preserved(op):
    x = mg.Tensor(np.array([[0.5, 0.75], [1.0, 2.0]], dtype=np.float32), requires_grad=True)
    out = op(x)
    out.sum().backward()
    assert out.dtype == np.float32 and x.grad.dtype == np.float32
