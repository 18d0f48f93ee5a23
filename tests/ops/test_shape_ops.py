"""reshape transpose .T broadcast_to squeeze unsqueeze/expand_dims indexing concatenate
stack: forward against NumPy, gradients against gradcheck, errors naming the op."""
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

import minigrad as mg

FEW = settings(max_examples=20, deadline=None, derandomize=True, database=None)


# ---- reshape ------------------------------------------------------------------------------

@pytest.mark.parametrize("shape, new_shape", [((6,), (2, 3)), ((2, 3), (3, 2)), ((2, 3), (-1,)),
                                              ((), (1, 1)), ((1,), ()), ((2, 3, 4), (4, -1))],
                         ids=str)
def test_reshape(check_op, shape, new_shape):
    expected = lambda a: a.reshape(new_shape)  # noqa: E731
    check_op(lambda t: t.reshape(new_shape), expected, [shape])        # t.reshape((2, 3))
    check_op(lambda t: t.reshape(*new_shape), expected, [shape])       # t.reshape(2, 3)
    check_op(lambda t: mg.reshape(t, new_shape), expected, [shape])
    check_op(lambda t: t.reshape(list(new_shape)), expected, [shape])


def test_flatten_and_reshape_with_one_int():
    x = mg.Tensor(np.arange(6.0).reshape(2, 3))
    assert x.flatten().shape == (6,)
    assert mg.reshape(x, 6).shape == (6,)


def test_reshape_to_a_wrong_size_names_the_op():
    with pytest.raises(ValueError, match=r"^Reshape: cannot reshape array of size 6 into shape "
                                         r"\(4,\).*\(2, 3\)"):
        mg.Tensor(np.ones((2, 3))).reshape(4)


# ---- transpose ----------------------------------------------------------------------------

@pytest.mark.parametrize("shape, axes", [((2, 3), None), ((2, 3), (1, 0)), ((2, 3), (-1, 0)),
                                         ((3, 3), (-1, -2)), ((2, 3, 4), (2, 0, 1)),
                                         ((2, 3, 4), (-1, 0, 1)), ((2, 3, 4), None),
                                         ((4,), None), ((), None)], ids=str)
def test_transpose(check_op, shape, axes):
    expected = lambda a: np.transpose(a, axes)  # noqa: E731
    check_op(lambda t: mg.transpose(t, axes), expected, [shape])
    if axes is None:
        check_op(lambda t: t.transpose(), expected, [shape])
        check_op(lambda t: t.T, expected, [shape])
    else:
        check_op(lambda t: t.transpose(*axes), expected, [shape])      # t.transpose(1, 0)
        check_op(lambda t: t.transpose(axes), expected, [shape])       # t.transpose((1, 0))


def test_transpose_with_a_bad_axis_names_the_op():
    with pytest.raises(ValueError, match=r"^swapaxes: axes 0 and 2 do not both exist.*2 dim"):
        mg.Tensor(np.ones((2, 3))).transpose(0, 2)
    with pytest.raises(ValueError, match=r"^Transpose: axis \(0, 2\) is out of bounds.*\(2, 3\)"):
        mg.Tensor(np.ones((2, 3))).transpose((0, 2))


# ---- broadcast_to, squeeze, unsqueeze -----------------------------------------------------

@pytest.mark.parametrize("shape, target", [((), (2, 3)), ((3,), (2, 3)), ((2, 1), (2, 3)),
                                           ((1, 3), (4, 2, 3)), ((2, 3), (2, 3))], ids=str)
def test_broadcast_to(check_op, shape, target):
    expected = lambda a: np.broadcast_to(a, target)  # noqa: E731
    check_op(lambda t: mg.broadcast_to(t, target), expected, [shape])
    check_op(lambda t: t.broadcast_to(*target), expected, [shape])


@st.composite
def shape_and_target(draw):
    """A target shape and a shape that stretches into it (leading axes dropped, some set to 1)."""
    target = draw(array_shapes(min_dims=0, max_dims=3, max_side=3))
    kept = target[draw(st.integers(0, len(target))):]
    return tuple(draw(st.sampled_from([n, 1])) for n in kept), target


@FEW
@given(case=shape_and_target())
def test_broadcast_to_generated_shapes(check_op, case):
    shape, target = case
    check_op(lambda t: mg.broadcast_to(t, target), lambda a: np.broadcast_to(a, target), [shape])


def test_broadcast_to_an_incompatible_shape_names_the_op():
    with pytest.raises(ValueError, match=r"^BroadcastTo\b.*\(2, 3\)"):
        mg.broadcast_to(mg.Tensor(np.ones((2, 3))), (4, 3))


@pytest.mark.parametrize("shape, axis", [((1, 3, 1), None), ((1, 3, 1), 0), ((1, 3, 1), -1),
                                         ((1, 3, 1), (0, 2)), ((1,), None)], ids=str)
def test_squeeze(check_op, shape, axis):
    check_op(lambda t: t.squeeze(axis), lambda a: np.squeeze(a, axis), [shape])
    check_op(lambda t: mg.squeeze(t, axis), lambda a: np.squeeze(a, axis), [shape])


def test_squeeze_of_a_long_axis_names_the_op():
    with pytest.raises(ValueError, match=r"^Squeeze\b.*\(2, 3\)"):
        mg.Tensor(np.ones((2, 3))).squeeze(0)


@pytest.mark.parametrize("shape, axis", [((), 0), ((3,), 0), ((3,), 1), ((3,), -1),
                                         ((2, 3), (0, 3))], ids=str)
def test_unsqueeze_and_expand_dims(check_op, shape, axis):
    expected = lambda a: np.expand_dims(a, axis)  # noqa: E731
    check_op(lambda t: t.unsqueeze(axis), expected, [shape])
    check_op(lambda t: t.expand_dims(axis), expected, [shape])
    check_op(lambda t: mg.unsqueeze(t, axis), expected, [shape])
    check_op(lambda t: mg.expand_dims(t, axis), expected, [shape])


# ---- indexing -----------------------------------------------------------------------------

INDICES = {
    "int": 1,
    "negative int": -1,
    "two ints": (1, 2),
    "slice": slice(1, None),
    "step slice": (slice(None), slice(None, None, 2)),
    "None": (None, 0),
    "Ellipsis": (Ellipsis, 1),
    "int array": np.array([2, 0]),
    "repeated int array": np.array([0, 0, 2, 0]),
    "list": [1, 1, 0],
    "arrays in two axes": (np.array([0, 1, 1]), np.array([3, 3, 0])),
    "array and slice": (slice(0, 2), np.array([1, 1])),
    "bool mask": np.array([True, False, True]),
    "bool mask 2-D": np.arange(12).reshape(3, 4) % 3 == 0,
    "mixed": (None, Ellipsis, np.array([1, 1]), slice(1, 3)),
}


@pytest.mark.parametrize("name", INDICES)
def test_getitem(check_op, name):
    index = INDICES[name]
    check_op(lambda t: t[index], lambda a: a[index], [(3, 4)])


def test_getitem_on_batched_and_scalar_shapes(check_op):
    check_op(lambda t: t[..., 0, :], lambda a: a[..., 0, :], [(2, 3, 4)])
    check_op(lambda t: t[None], lambda a: a[None], [()])
    check_op(lambda t: t[...], lambda a: a[...], [()])


def test_repeated_indices_accumulate():
    x = mg.Tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[[0, 0, 2, 0]].sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 0.0, 1.0])
    y = mg.Tensor(np.zeros((2, 2)), requires_grad=True)
    y[np.array([1, 1]), np.array([0, 0])].backward(np.array([2.0, 5.0]))
    np.testing.assert_array_equal(y.grad, [[0.0, 0.0], [7.0, 0.0]])


def test_tensor_indices_and_masks():
    x = mg.Tensor([-1.0, 2.0, -3.0, 4.0], requires_grad=True)
    positive = x[x > 0]                                  # a bool tensor as a mask
    picked = x[mg.Tensor(np.array([3, 3]))]              # an integer tensor as an index
    (positive.sum() + picked.sum()).backward()
    np.testing.assert_array_equal(positive.data, [2.0, 4.0])
    np.testing.assert_array_equal(x.grad, [0.0, 1.0, 0.0, 3.0])


def test_iterating_yields_rows_that_backpropagate():
    x = mg.Tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    rows = list(x)
    assert len(rows) == 3 and rows[1].shape == (2,)
    (rows[0] * 2 + rows[2]).sum().backward()
    np.testing.assert_array_equal(x.grad, [[2.0, 2.0], [0.0, 0.0], [1.0, 1.0]])


def test_index_out_of_range_names_the_op():
    with pytest.raises(IndexError, match=r"^GetItem: index 5 is out of bounds.*\(2, 3\)"):
        mg.Tensor(np.ones((2, 3)))[5]


# ---- concatenate, stack -------------------------------------------------------------------

@pytest.mark.parametrize("shapes, axis", [([(2,), (3,)], 0), ([(2, 3), (1, 3)], 0),
                                          ([(2, 3), (2, 1), (2, 2)], 1), ([(2, 3), (2, 4)], -1),
                                          ([(2, 1, 3), (2, 2, 3)], 1), ([(4,)], 0)], ids=str)
def test_concatenate(check_op, shapes, axis):
    check_op(lambda *ts: mg.concatenate(ts, axis=axis),
             lambda *arrays: np.concatenate(arrays, axis=axis), shapes)


@pytest.mark.parametrize("shape, count, axis", [((), 3, 0), ((3,), 2, 0), ((3,), 2, 1),
                                                ((2, 3), 3, -1), ((2, 3), 2, 1)], ids=str)
def test_stack(check_op, shape, count, axis):
    check_op(lambda *ts: mg.stack(ts, axis=axis),
             lambda *arrays: np.stack(arrays, axis=axis), [shape] * count)


def test_concatenate_and_stack_take_numbers_and_lists_as_constants():
    x = mg.Tensor([1.0, 2.0], requires_grad=True)
    joined = mg.concatenate([x, [3.0], np.array([4.0])])
    stacked = mg.stack([x, [0.0, 0.0]], axis=1)
    (joined.sum() + stacked.sum()).backward()
    np.testing.assert_array_equal(joined.data, [1.0, 2.0, 3.0, 4.0])
    assert stacked.shape == (2, 2)
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])


def test_concatenate_and_stack_mismatches_name_the_op_and_shapes():
    a, b = mg.Tensor(np.ones((2, 3))), mg.Tensor(np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"^Concatenate\b.*" + re.escape("(2, 3), (2, 4)")):
        mg.concatenate([a, b])
    with pytest.raises(ValueError, match=r"^Stack\b.*" + re.escape("(2, 3), (2, 4)")):
        mg.stack([a, b])
    with pytest.raises(ValueError, match=r"Concatenate: need at least one tensor"):
        mg.concatenate([])
    with pytest.raises(ValueError, match=r"Stack: need at least one tensor"):
        mg.stack([])


# ---- float32 ------------------------------------------------------------------------------

@pytest.mark.parametrize("op", [
    lambda t: t.reshape(3, 2), lambda t: t.T, lambda t: t.transpose(1, 0),
    lambda t: mg.broadcast_to(t, (4, 2, 3)), lambda t: t[None].squeeze(0), lambda t: t.unsqueeze(1),
    lambda t: t[[0, 0, 1]], lambda t: t[t > 0], lambda t: t[:, 1:],
    lambda t: mg.concatenate([t, t], axis=1), lambda t: mg.stack([t, t]),
], ids=["reshape", "T", "transpose", "broadcast_to", "squeeze", "unsqueeze", "int array",
        "mask", "slice", "concatenate", "stack"])
def test_float32_is_preserved(op):
    x = mg.Tensor(np.array([[1.0, -2.0, 3.0], [-4.0, 5.0, 6.0]], dtype=np.float32),
                  requires_grad=True)
    out = op(x)
    out.sum().backward()
    assert out.dtype == np.float32 and x.grad.dtype == np.float32
