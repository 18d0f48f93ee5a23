"""matmul / @: 1-D, 2-D and batched N-D with broadcast batch axes, against NumPy and
gradcheck; operator, method and `minigrad.matmul` forms; shape errors."""
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import minigrad as mg

FEW = settings(max_examples=15, deadline=None, derandomize=True, database=None)

MATMUL_SHAPES = [
    ((3,), (3,)),              # dot product, 0-d result
    ((3,), (3, 2)),            # vector @ matrix
    ((2, 3), (3,)),            # matrix @ vector
    ((2, 3), (3, 4)),
    ((1, 3), (3, 1)),          # size-1 axes
    ((5, 2, 3), (5, 3, 4)),    # batched
    ((5, 2, 3), (3, 4)),       # batch broadcast on the left
    ((2, 3), (5, 3, 4)),       # ... and on the right
    ((2, 1, 2, 3), (4, 3, 2)),  # both batch shapes broadcast: (2, 4)
    ((3,), (2, 3, 4)),         # vector against a batch
    ((2, 4, 3), (3,)),
]


@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=str)
def test_matmul(check_op, shapes):
    check_op(lambda a, b: a @ b, np.matmul, shapes)
    check_op(mg.matmul, np.matmul, shapes, seed=1)


def test_method_and_reflected_forms():
    a = np.arange(6.0).reshape(2, 3)
    b = mg.Tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    np.testing.assert_array_equal(mg.Tensor(a).matmul(b).data, a @ b.data)
    left = a @ b                              # ndarray @ Tensor uses Tensor.__rmatmul__
    assert isinstance(left, mg.Tensor)
    left.sum().backward()
    np.testing.assert_array_equal(b.grad, a.T @ np.ones((2, 4)))


@st.composite
def matmul_shapes(draw):
    batch = draw(mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=2, max_side=3))
    m, k, n = draw(st.tuples(*[st.integers(1, 3)] * 3))
    left, right = batch.input_shapes
    return left + (m, k), right + (k, n)


@FEW
@given(shapes=matmul_shapes())
def test_matmul_generated_batch_shapes(check_op, shapes):
    check_op(lambda a, b: a @ b, np.matmul, shapes)


@pytest.mark.parametrize("left, right, detail", [
    ((2, 3), (4, 2), "last axis of the first (3) must equal the second-to-last axis of the second (4)"),
    ((3,), (4,), "last axis of the first (3) must equal the only axis of the second (4)"),
    ((2, 3), (2,), "the only axis of the second (2)"),
    ((), (2,), "both operands need at least one dimension"),
])
def test_mismatched_shapes_name_the_op_and_both_shapes(left, right, detail):
    a, b = mg.Tensor(np.ones(left)), mg.Tensor(np.ones(right))
    pattern = rf"^MatMul: .*{re.escape(str(left))} and {re.escape(str(right))}.*{re.escape(detail)}"
    if not left:
        pattern = rf"^MatMul: {re.escape(detail)}.*{re.escape(str(left))} and {re.escape(str(right))}"
    with pytest.raises(ValueError, match=pattern):
        a @ b
    with pytest.raises(ValueError, match=pattern):
        mg.matmul(a, b)


def test_unbroadcastable_batch_axes_name_the_op_and_shapes():
    with pytest.raises(ValueError, match=r"^MatMul\b.*" + re.escape("(2, 3, 4), (3, 4, 5)")):
        mg.Tensor(np.ones((2, 3, 4))) @ mg.Tensor(np.ones((3, 4, 5)))


@pytest.mark.parametrize("shapes", [((3,), (3,)), ((2, 3), (3, 4)), ((5, 2, 3), (3,))], ids=str)
def test_float32_is_preserved(shapes):
    a, b = (mg.Tensor(np.ones(s, dtype=np.float32), requires_grad=True) for s in shapes)
    out = a @ b
    out.sum().backward()
    assert out.dtype == a.grad.dtype == b.grad.dtype == np.float32
