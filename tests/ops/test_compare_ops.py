"""Comparisons: bool tensors equal to NumPy's, broadcasting, outside the graph."""
import re

import numpy as np
import pytest

import minigrad as mg

# name: (operator form, minigrad function, NumPy oracle)
COMPARISONS = {
    "less": (lambda a, b: a < b, mg.less, np.less),
    "less_equal": (lambda a, b: a <= b, mg.less_equal, np.less_equal),
    "greater": (lambda a, b: a > b, mg.greater, np.greater),
    "greater_equal": (lambda a, b: a >= b, mg.greater_equal, np.greater_equal),
    "equal": (lambda a, b: a == b, mg.equal, np.equal),
    "not_equal": (lambda a, b: a != b, mg.not_equal, np.not_equal),
}

LEFT = np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]])
RIGHT = np.array([2.0, 2.0, 2.0])


@pytest.mark.parametrize("name", COMPARISONS)
def test_comparison_matches_numpy_and_records_no_graph(name):
    operator, function, oracle = COMPARISONS[name]
    a = mg.Tensor(LEFT, requires_grad=True)
    b = mg.Tensor(RIGHT, requires_grad=True)
    for out in (operator(a, b), function(a, b)):
        assert out.dtype == np.bool_
        assert out.requires_grad is False and out.grad_fn is None
        np.testing.assert_array_equal(out.data, oracle(LEFT, RIGHT))


@pytest.mark.parametrize("name", COMPARISONS)
def test_comparison_with_numbers_and_arrays(name):
    operator, function, oracle = COMPARISONS[name]
    a = mg.Tensor(LEFT, requires_grad=True)
    np.testing.assert_array_equal(operator(a, 2.0).data, oracle(LEFT, 2.0))
    np.testing.assert_array_equal(operator(2.0, a).data, oracle(2.0, LEFT))  # reflected
    np.testing.assert_array_equal(function(RIGHT, a).data, oracle(RIGHT, LEFT))
    np.testing.assert_array_equal(operator(a, mg.Tensor(2.0)).data, oracle(LEFT, 2.0))


def test_comparison_result_works_as_a_mask_and_a_where_condition():
    x = mg.Tensor([-1.0, 0.5, 2.0], requires_grad=True)
    mask = x > 0
    out = mg.where(mask, x * 3, x * 0)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 3.0, 3.0])
    assert mask.numpy().tolist() == [False, True, True]


def test_float32_comparison_with_a_python_number():
    x = mg.Tensor(np.array([0.1, 0.3], dtype=np.float32))
    # 0.1 is compared as float32(0.1), as NumPy and PyTorch do for a Python scalar
    np.testing.assert_array_equal((x == 0.1).data, [True, False])


@pytest.mark.parametrize("name", COMPARISONS)
def test_shape_mismatch_names_the_comparison_and_both_shapes(name):
    function = COMPARISONS[name][1]
    with pytest.raises(ValueError, match=rf"^{name}: .*" + re.escape("(2,), (3,)")):
        function(mg.Tensor(np.ones(2)), mg.Tensor(np.ones(3)))
