"""+ - * / ** and negation: forward against NumPy, gradients against gradcheck,
on shapes that broadcast, in operator, reflected and `minigrad.` function forms."""
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import minigrad as mg

FEW = settings(max_examples=20, deadline=None, derandomize=True, database=None)

# (scalar, vector, matrix, size-1 axes, batched) pairs that broadcast against each other
BROADCAST_PAIRS = [
    ((), ()),
    ((), (3,)),
    ((3,), ()),
    ((4,), (4,)),
    ((2, 3), (3,)),
    ((2, 1), (1, 3)),
    ((2, 3), (2, 1)),
    ((1,), (2, 3)),
    ((2, 1, 3), (4, 1)),
    ((2, 3, 4), (2, 3, 4)),
]

# name: (operator form, minigrad function, NumPy oracle, input range)
BINARY = {
    "add": (lambda a, b: a + b, mg.add, np.add, (-2.0, 2.0)),
    "sub": (lambda a, b: a - b, mg.subtract, np.subtract, (-2.0, 2.0)),
    "mul": (lambda a, b: a * b, mg.multiply, np.multiply, (-2.0, 2.0)),
    "div": (lambda a, b: a / b, mg.divide, np.divide, (0.5, 2.0)),   # b kept away from 0
    "pow": (lambda a, b: a ** b, mg.power, np.power, (0.5, 2.0)),    # a > 0: real log(a)
}


@pytest.mark.parametrize("shapes", BROADCAST_PAIRS, ids=str)
@pytest.mark.parametrize("name", BINARY)
def test_binary_operator_broadcasts(check_op, name, shapes):
    operator, _, oracle, (low, high) = BINARY[name]
    check_op(operator, oracle, shapes, low=low, high=high)


@pytest.mark.parametrize("name", BINARY)
def test_binary_function_form_matches_operator(check_op, random_inputs, name):
    operator, function, oracle, (low, high) = BINARY[name]
    check_op(function, oracle, [(2, 1, 3), (4, 1)], low=low, high=high)
    a, b = (mg.Tensor(x) for x in random_inputs([(2, 3), (3,)], low, high))
    np.testing.assert_array_equal(function(a, b).data, operator(a, b).data)


@FEW
@given(shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3),
       name=st.sampled_from(sorted(BINARY)))
def test_binary_operator_on_generated_shapes(check_op, shapes, name):
    operator, _, oracle, (low, high) = BINARY[name]
    out = check_op(operator, oracle, shapes.input_shapes, low=low, high=high)
    assert out.shape == shapes.result_shape


def test_pow_with_tensor_exponent_gives_gradient_to_both():
    a = mg.Tensor([0.5, 2.0], requires_grad=True)
    b = mg.Tensor([3.0, -1.0], requires_grad=True)
    (a ** b).sum().backward()
    np.testing.assert_allclose(a.grad, [3.0 * 0.5 ** 2, -1.0 * 2.0 ** -2])
    np.testing.assert_allclose(b.grad, [0.5 ** 3 * np.log(0.5), 2.0 ** -1 * np.log(2.0)])


def test_pow_with_zero_base_has_zero_exponent_gradient():
    # d(0^b)/db = 0^b log(0) is 0 * -inf; the limit for b > 0 is 0, not nan
    a = mg.Tensor([0.0, 1.0], requires_grad=True)
    b = mg.Tensor([2.0, 2.0], requires_grad=True)
    (a ** b).sum().backward()
    np.testing.assert_array_equal(b.grad, [0.0, 0.0])
    np.testing.assert_array_equal(a.grad, [0.0, 2.0])


@pytest.mark.parametrize("exponent", [2, 3, -1, 0.5, 2.5])
def test_pow_with_number_exponent(check_op, exponent):
    # integer powers are defined for negative bases; the others need a positive base
    low = -2.0 if float(exponent).is_integer() else 0.5
    check_op(lambda t: t ** exponent, lambda a: a ** exponent, [(2, 3)], low=low)
    check_op(lambda t: mg.power(t, exponent), lambda a: a ** exponent, [(3,)], low=0.5)


@pytest.mark.parametrize("shape", [(), (3,), (2, 3)], ids=str)
def test_negation(check_op, shape):
    check_op(lambda t: -t, np.negative, [shape])
    check_op(mg.negative, np.negative, [shape])


@pytest.mark.parametrize("expression, oracle, low", [
    (lambda t: 2 * t, lambda a: 2 * a, -2.0),
    (lambda t: 2 + t, lambda a: 2 + a, -2.0),
    (lambda t: 1 - t, lambda a: 1 - a, -2.0),
    (lambda t: 2 / t, lambda a: 2 / a, 0.5),
    (lambda t: 2 ** t, lambda a: 2 ** a, -2.0),
    (lambda t: 0.5 ** t, lambda a: 0.5 ** a, -2.0),
    (lambda t: t - 1, lambda a: a - 1, -2.0),
    (lambda t: t / 4, lambda a: a / 4, -2.0),
    (lambda t: np.arange(3.0) - t, lambda a: np.arange(3.0) - a, -2.0),
    (lambda t: np.arange(3.0) * t, lambda a: np.arange(3.0) * a, -2.0),
    (lambda t: [1.0, 2.0, 3.0] + t, lambda a: np.array([1.0, 2.0, 3.0]) + a, -2.0),
], ids=["2*t", "2+t", "1-t", "2/t", "2**t", "0.5**t", "t-1", "t/4", "ndarray-t", "ndarray*t",
        "list+t"])
def test_reflected_and_constant_operands(check_op, expression, oracle, low):
    check_op(expression, oracle, [(2, 3)], low=low)


def test_ndarray_on_the_left_gives_a_tensor():
    # Tensor sets __array_ufunc__ = None, so NumPy defers to the reflected method
    out = np.ones(3) * mg.Tensor([1.0, 2.0, 3.0], requires_grad=True)
    assert isinstance(out, mg.Tensor) and out.grad_fn is not None


@pytest.mark.parametrize("name", BINARY)
def test_float32_is_preserved_with_a_python_number(name):
    operator = BINARY[name][0]
    x = mg.Tensor(np.array([0.5, 1.5], dtype=np.float32), requires_grad=True)
    for out in (operator(x, 2.0), operator(2.0, x), operator(x, x)):
        assert out.dtype == np.float32
        x.grad = None
        out.sum().backward()
        assert x.grad.dtype == np.float32


def test_mixed_float32_and_float64_promote_but_grads_keep_input_dtype():
    a = mg.Tensor(np.ones(2, dtype=np.float32), requires_grad=True)
    b = mg.Tensor(np.ones(2, dtype=np.float64), requires_grad=True)
    out = a * b
    assert out.dtype == np.float64  # NumPy's promotion
    out.sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64


@pytest.mark.parametrize("name, op_name", [("add", "Add"), ("sub", "Sub"), ("mul", "Mul"),
                                           ("div", "Div"), ("pow", "Pow")])
def test_shape_mismatch_names_the_op_and_both_shapes(name, op_name):
    operator, function = BINARY[name][:2]
    a, b = mg.Tensor(np.ones((2, 3))), mg.Tensor(np.ones(4))
    pattern = rf"^{op_name}\b.*" + re.escape("(2, 3), (4,)")
    with pytest.raises(ValueError, match=pattern):
        operator(a, b)
    with pytest.raises(ValueError, match=pattern):
        function(a, b)
