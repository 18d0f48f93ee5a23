"""Factories: shapes in both spellings, dtype= and requires_grad=, the default dtype,
and manual_seed reproducibility."""
import numpy as np
import pytest

import minigrad as mg

SHAPED = {"zeros": (mg.zeros, 0.0), "ones": (mg.ones, 1.0)}


@pytest.mark.parametrize("name", SHAPED)
def test_zeros_ones_shapes_dtype_and_requires_grad(name):
    factory, value = SHAPED[name]
    for t in (factory(2, 3), factory((2, 3)), factory([2, 3])):
        assert t.shape == (2, 3) and t.dtype == np.float64 and (t.data == value).all()
        assert t.is_leaf and not t.requires_grad
    assert factory().shape == ()
    t = factory(4, requires_grad=True, dtype=mg.float32)
    assert t.requires_grad and t.is_leaf and t.dtype == np.float32


def test_full():
    t = mg.full((2, 2), 7.0, requires_grad=True)
    assert t.shape == (2, 2) and t.requires_grad and (t.data == 7.0).all()
    assert mg.full(3, 1.5, dtype=mg.float32).dtype == np.float32
    assert mg.full(3, 1.5).shape == (3,)


@pytest.mark.parametrize("factory", [mg.rand, mg.randn])
def test_random_factories_are_reproducible_with_manual_seed(factory):
    mg.manual_seed(1234)
    first = factory(3, 4).data
    mg.manual_seed(1234)
    again = factory((3, 4)).data
    different = factory(3, 4).data
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, different)
    t = factory(5, requires_grad=True, dtype=mg.float32)
    assert t.dtype == np.float32 and t.requires_grad


def test_manual_seed_returns_the_generator_factories_use():
    gen = mg.manual_seed(7)
    assert mg.creation.generator() is gen
    expected = np.random.default_rng(7).standard_normal((2, 2))
    np.testing.assert_array_equal(mg.randn(2, 2).data, expected)


def test_rand_is_in_the_unit_interval_and_randn_is_standard_normal():
    mg.manual_seed(0)
    u = mg.rand(10_000).data
    z = mg.randn(10_000).data
    assert u.min() >= 0.0 and u.max() < 1.0
    assert abs(z.mean()) < 0.05 and abs(z.std() - 1.0) < 0.05


def test_arange():
    ints = mg.arange(5)
    assert ints.dtype == np.int64 and ints.tolist() == [0, 1, 2, 3, 4]
    floats = mg.arange(0, 1, 0.25)
    assert floats.dtype == np.float64 and floats.tolist() == [0.0, 0.25, 0.5, 0.75]
    t = mg.arange(1, 4, dtype=mg.float32, requires_grad=True)
    assert t.dtype == np.float32 and t.requires_grad
    with pytest.raises(TypeError, match=r"only floating-point tensors can require grad.*int64"):
        mg.arange(3, requires_grad=True)


def test_eye():
    np.testing.assert_array_equal(mg.eye(3).data, np.eye(3))
    t = mg.eye(2, 3, requires_grad=True, dtype=mg.float32)
    assert t.shape == (2, 3) and t.dtype == np.float32 and t.requires_grad


@pytest.mark.parametrize("factory, value", [(mg.zeros_like, 0), (mg.ones_like, 1)])
def test_like_factories_keep_shape_and_dtype(factory, value):
    source = mg.Tensor(np.full((2, 3), 5.0, dtype=np.float32))
    t = factory(source)
    assert t.shape == (2, 3) and t.dtype == np.float32 and (t.data == value).all()
    assert factory(np.arange(3)).dtype == np.int64          # arrays work too
    assert factory(source, dtype=mg.float64).dtype == np.float64
    assert factory(source, requires_grad=True).requires_grad


def test_tensor_is_the_constructor():
    t = mg.tensor([1, 2], requires_grad=True, name="b")
    assert isinstance(t, mg.Tensor) and t.dtype == np.float64 and t.requires_grad and t.name == "b"
    assert mg.tensor([1, 2], dtype=mg.float32).dtype == np.float32


def test_factories_follow_the_default_dtype():
    try:
        mg.set_default_dtype(mg.float32)
        made = [mg.zeros(2), mg.ones(2), mg.full(2, 1.0), mg.rand(2), mg.randn(2), mg.eye(2),
                mg.arange(0.0, 1.0, 0.5), mg.tensor([1.0])]
        assert all(t.dtype == np.float32 for t in made)
    finally:
        mg.set_default_dtype(mg.float64)
    assert mg.zeros(2).dtype == np.float64
