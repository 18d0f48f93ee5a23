"""Tensor construction rules, array-like attributes, conversions, repr and the
requires_grad / detach rules of the Tensor class itself."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import Tensor


# ---- construction and dtype rules -----------------------------------------------------------

@pytest.mark.parametrize("data, shape", [(3, ()), (2.5, ()), ([1, 2, 3], (3,)),
                                         ([[1.0, 2.0], [3.0, 4.0]], (2, 2)), (True, ())],
                         ids=["int", "float", "int list", "nested list", "bool"])
def test_python_data_becomes_the_default_dtype_or_bool(data, shape):
    t = Tensor(data)
    assert t.shape == shape
    assert t.dtype == (np.bool_ if data is True else np.float64)
    np.testing.assert_array_equal(t.data, np.asarray(data))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.int32, np.bool_])
def test_numpy_arrays_keep_their_dtype(dtype):
    array = np.array([1, 0, 1], dtype=dtype)
    assert Tensor(array).dtype == dtype
    assert Tensor(array[0]).dtype == dtype  # NumPy scalars too


def test_dtype_keyword_converts():
    assert Tensor([1, 2], dtype=np.float32).dtype == np.float32
    assert Tensor(np.ones(2), dtype=mg.float32).dtype == np.float32
    assert Tensor(np.array([1.5, 2.5]), dtype=mg.int64).dtype == np.int64


def test_construction_copies_arrays_and_tensors():
    source = np.array([1.0, 2.0])
    t = Tensor(source)
    source[0] = 100.0
    assert t.data[0] == 1.0
    leaf = Tensor([1.0, 2.0], requires_grad=True)
    made = leaf * 2
    copy = Tensor(made)
    assert copy.is_leaf and not copy.requires_grad
    assert not np.shares_memory(copy.data, made.data)
    np.testing.assert_array_equal(copy.data, [2.0, 4.0])


def test_unsupported_data_raises_with_the_fix():
    with pytest.raises(TypeError, match=r"Tensor: cannot build a tensor from str data.*pass numbers"):
        Tensor("abc")


def test_set_default_dtype_changes_python_data_only():
    assert mg.get_default_dtype() == np.float64
    try:
        mg.set_default_dtype(mg.float32)
        assert mg.get_default_dtype() == np.float32
        assert Tensor([1.0, 2.0]).dtype == np.float32
        assert Tensor(3).dtype == np.float32
        assert Tensor(np.ones(2)).dtype == np.float64  # arrays still keep theirs
        x = Tensor([1.0, 2.0], requires_grad=True)
        (x * 2.0 + 1).sum().backward()
        assert x.grad.dtype == np.float32
    finally:
        mg.set_default_dtype(mg.float64)
    assert Tensor([1.0]).dtype == np.float64


def test_set_default_dtype_rejects_non_floating_dtypes():
    with pytest.raises(TypeError, match=r"set_default_dtype: .* floating dtype .* got int32"):
        mg.set_default_dtype(np.int32)
    assert mg.get_default_dtype() == np.float64


# ---- attributes and conversions ---------------------------------------------------------------

def test_array_attributes():
    t = Tensor(np.zeros((2, 3, 4), dtype=np.float32), name="activations")
    assert (t.shape, t.ndim, t.dtype, t.size) == ((2, 3, 4), 3, np.float32, 24)
    assert t.name == "activations"
    assert t.is_leaf and t.grad is None and t.grad_fn is None and t.requires_grad is False
    assert len(t) == 2


def test_numpy_shares_memory_and_array_protocol_works():
    t = Tensor([1.0, 2.0])
    assert t.numpy() is t.data
    assert np.asarray(t) is t.data
    assert np.asarray(t, dtype=np.float32).dtype == np.float32
    copied = np.array(t)
    copied[0] = 9.0
    assert t.data[0] == 1.0
    assert np.sum(np.asarray(Tensor([[1.0], [2.0]]))) == 3.0
    assert t.tolist() == [1.0, 2.0]


def test_item_float_int_and_bool_of_one_element():
    t = Tensor([[2.5]])
    assert t.item() == 2.5 and isinstance(t.item(), float)
    assert float(t) == 2.5 and int(t) == 2
    assert bool(Tensor(1.0)) is True and bool(Tensor([0.0])) is False


def test_item_and_bool_of_many_elements_raise():
    t = Tensor([1.0, 2.0])
    with pytest.raises(ValueError, match=r"item: only a tensor with one element.*shape \(2,\)"):
        t.item()
    with pytest.raises(ValueError, match=r"truth value of a tensor of shape \(2,\) is ambiguous"):
        bool(t)


def test_len_and_iteration():
    t = Tensor(np.arange(6.0).reshape(3, 2))
    assert len(t) == 3
    rows = list(t)
    assert [r.tolist() for r in rows] == [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]
    with pytest.raises(TypeError, match=r"len\(\) of a 0-d tensor.*\.item\(\)"):
        len(Tensor(1.0))


def test_tensors_hash_by_identity():
    a, b = Tensor([1.0]), Tensor([1.0])
    registry = {a: "a", b: "b"}   # equal values, distinct keys
    assert registry[a] == "a" and registry[b] == "b"


# ---- repr ---------------------------------------------------------------------------------

def test_repr_shows_values_and_only_non_default_facts():
    assert repr(Tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(Tensor([1.0, 2.0], requires_grad=True)) == "tensor([1., 2.], requires_grad=True)"
    x = Tensor([1.0, 2.0], requires_grad=True)
    assert repr(x * 2) == "tensor([2., 4.], grad_fn=<Mul>)"
    assert repr(Tensor(np.ones(2, dtype=np.float32))) == "tensor([1., 1.], dtype=float32)"
    assert repr(Tensor(3.0, name="w")) == "tensor(3., name='w')"
    assert repr(Tensor(np.arange(3))) == "tensor([0, 1, 2], dtype=int64)"


def test_repr_of_a_large_tensor_is_summarised():
    text = repr(Tensor(np.arange(1000.0)))
    assert text.startswith("tensor([  0.,   1.,") and "..." in text and len(text) < 200


# ---- requires_grad, detach ----------------------------------------------------------------

@pytest.mark.parametrize("data", [np.arange(3), np.array([True, False]), [True]], ids=str)
def test_integer_and_bool_tensors_cannot_require_grad(data):
    pattern = r"only floating-point tensors can require grad, this one has dtype (int64|bool)"
    with pytest.raises(TypeError, match=pattern):
        Tensor(data, requires_grad=True)
    with pytest.raises(TypeError, match=pattern + r".*dtype=minigrad.float64"):
        Tensor(data).requires_grad_()


def test_integer_tensors_hold_data_and_compute():
    t = Tensor(np.arange(4))
    out = t * 2 + t
    assert out.dtype == np.int64 and not out.requires_grad
    np.testing.assert_array_equal(out.data, [0, 3, 6, 9])


def test_requires_grad_():
    t = Tensor([1.0])
    assert t.requires_grad_() is t and t.requires_grad
    assert t.requires_grad_(False) is t and not t.requires_grad
    made = Tensor([1.0], requires_grad=True) * 2
    with pytest.raises(RuntimeError, match=r"requires_grad_\(False\) on a tensor made by an op.*detach"):
        made.requires_grad_(False)


def test_detach_shares_data_and_cuts_the_graph():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    d = y.detach()
    assert d.is_leaf and d.grad_fn is None and not d.requires_grad
    assert np.shares_memory(d.data, y.data)
    out = (d * x).sum()            # only the x branch carries gradient
    out.backward()
    np.testing.assert_array_equal(x.grad, [3.0, 6.0])


def test_retain_grad_needs_requires_grad():
    with pytest.raises(RuntimeError, match=r"retain_grad: this tensor does not require grad"):
        Tensor([1.0]).retain_grad()


def test_zero_grad_clears():
    x = Tensor([1.0], requires_grad=True)
    (x * 2).sum().backward()
    x.zero_grad()
    assert x.grad is None


def test_item_assignment_follows_the_in_place_rules():
    t = mg.Tensor([1.0, 2.0])
    t[0] = 5.0  # nothing requires grad: a plain write
    np.testing.assert_array_equal(t.data, [5.0, 2.0])
    w = mg.Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"__setitem__: in-place change of a leaf tensor that "
                                           r"requires grad.*no_grad"):
        w[0] = 5.0
    with mg.no_grad():
        w[1] = 7.0
    np.testing.assert_array_equal(w.data, [1.0, 7.0])


@pytest.mark.parametrize("data, first, other", [
    ([[1, 2], [3]], "data[0] has shape (2,)", "data[1] has shape (1,)"),
    ([[[1, 2], [3, 4]], [[5, 6], [7]]], "data[1][0] has shape (2,)", "data[1][1] has shape (1,)"),
    ([1, [2]], "data[0] has shape ()", "data[1] has shape (1,)"),
    ([[1, 2], [[3]]], "data[0] has shape (2,)", "data[1] has shape (1, 1)"),
    ([np.zeros(2), np.zeros(3)], "data[0] has shape (2,)", "data[1] has shape (3,)"),
])
def test_a_ragged_nested_list_names_the_shapes_it_found(data, first, other) -> None:
    for build in (lambda: mg.Tensor(data), lambda: mg.Tensor(data, dtype="float32"),
                  lambda: mg.tensor(data)):
        with pytest.raises(ValueError) as info:
            build()
        message = str(info.value)
        assert message.startswith("Tensor: the nested list is ragged: ")
        assert f"{first} but {other}" in message
        assert "inhomogeneous" not in message and "pad the shorter ones" in message


def test_regular_nested_lists_and_numpy_scalars_are_unchanged() -> None:
    assert mg.Tensor(([1.0, 2.0], (3.0, 4.0))).shape == (2, 2)
    assert mg.Tensor([[[1], [2]], [[3], [4]]]).shape == (2, 2, 1)
    assert mg.Tensor(np.float32(1.5)).dtype == np.float32
    with pytest.raises(TypeError, match="cannot build a tensor from list data"):
        mg.Tensor([[1, 2], [3, "a"]])
