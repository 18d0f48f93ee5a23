"""Dense and its fused Affine op, the activation modules, Sequential and MLP."""
import math
import re

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.nn import Affine


def leaf(shape, seed, dtype=np.float64):
    return mg.Tensor(np.random.default_rng(seed).normal(size=shape).astype(dtype),
                     requires_grad=True)


# ---- Affine ---------------------------------------------------------------------------

@pytest.mark.parametrize("x_shape", [(3,), (4, 3), (2, 4, 3)], ids=["1-D", "2-D", "3-D"])
def test_affine_gradcheck(x_shape):
    x, w, b = leaf(x_shape, 0), leaf((3, 2), 1), leaf((2,), 2)
    assert mg.gradcheck(lambda x, w, b: Affine.apply(x, w, b), [x, w, b])


@pytest.mark.parametrize("x_shape", [(3,), (2, 4, 3)], ids=["1-D", "3-D"])
def test_affine_gradcheck_without_bias(x_shape):
    x, w = leaf(x_shape, 3), leaf((3, 5), 4)
    assert mg.gradcheck(lambda x, w: Affine.apply(x, w), [x, w])


def test_affine_matches_matmul_plus_bias():
    x, w, b = leaf((2, 4, 3), 5), leaf((3, 2), 6), leaf((2,), 7)
    fused = Affine.apply(x, w, b)
    assert fused.grad_fn.name == "Affine"
    np.testing.assert_allclose(fused.data, x.data @ w.data + b.data)
    fused.sum().backward()
    grads = [t.grad.copy() for t in (x, w, b)]
    for t in (x, w, b):
        t.grad = None
    (x @ w + b).sum().backward()
    for fused_grad, t in zip(grads, (x, w, b)):
        np.testing.assert_allclose(fused_grad, t.grad, rtol=1e-12)


def test_affine_skips_gradients_nobody_needs():
    x, w = mg.Tensor(np.ones((2, 3))), leaf((3, 2), 8)
    b = mg.Tensor(np.zeros(2))
    Affine.apply(x, w, b).sum().backward()
    assert w.grad.shape == (3, 2) and x.grad is None and b.grad is None


def test_affine_shape_error():
    message = r"Affine: x of shape \(2, 4\) and weight of shape \(3, 2\)"
    with pytest.raises(ValueError, match=message):
        Affine.apply(np.ones((2, 4)), np.ones((3, 2)))


# ---- Dense ----------------------------------------------------------------------------

def test_dense_shapes_and_bias_zero():
    layer = nn.Dense(3, 4)
    assert layer.weight.shape == (3, 4) and layer.bias.shape == (4,)
    np.testing.assert_array_equal(layer.bias.data, 0.0)
    assert [n for n, _ in layer.named_parameters()] == ["weight", "bias"]
    assert layer(mg.ones(5, 3)).shape == (5, 4)
    assert layer(mg.ones(3)).shape == (4,)
    assert layer(mg.ones(2, 5, 3)).shape == (2, 5, 4)
    assert layer(np.ones((1, 3))).shape == (1, 4)  # plain arrays are accepted as constants


def test_dense_computes_x_weight_plus_bias():
    layer = nn.Dense(3, 2)
    layer.bias.data[...] = [1.0, -1.0]
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(layer(x).data, x @ layer.weight.data + [1.0, -1.0])


def test_dense_without_bias():
    layer = nn.Dense(3, 2, bias=False)
    assert layer.bias is None and [n for n, _ in layer.named_parameters()] == ["weight"]
    out = layer(mg.ones(4, 3))
    assert out.grad_fn.name == "Affine" and len(out.grad_fn.inputs) == 2
    assert repr(layer) == "Dense(in_features=3, out_features=2, bias=False)"


def test_dense_gradients_reach_its_parameters():
    layer = nn.Dense(3, 2)
    x = leaf((4, 3), 9)
    layer(x).sum().backward()
    np.testing.assert_allclose(layer.weight.grad, x.data.sum(axis=0)[:, None] * np.ones((1, 2)))
    np.testing.assert_allclose(layer.bias.grad, [4.0, 4.0])
    np.testing.assert_allclose(x.grad, np.ones((4, 2)) @ layer.weight.data.T)


def test_dense_input_shape_error():
    message = re.escape("Dense(3->4): input has shape (5, 2), its last axis must be 3 "
                        "(in_features)")
    with pytest.raises(ValueError, match=message):
        nn.Dense(3, 4)(mg.ones(5, 2))
    with pytest.raises(ValueError, match=re.escape("input has shape (), its last axis must be 3")):
        nn.Dense(3, 4)(mg.Tensor(1.0))


@pytest.mark.parametrize("bad", [0, -2, 2.5])
def test_dense_rejects_bad_sizes(bad):
    with pytest.raises(ValueError, match="Dense: in_features must be a positive integer"):
        nn.Dense(bad, 3)


def test_dense_rejects_unknown_init():
    with pytest.raises(ValueError, match="Dense: unknown init 'orthogonal'; choose one of 'xav"):
        nn.Dense(2, 2, init="orthogonal")


def test_dense_init_schemes_use_their_bounds():
    mg.manual_seed(0)
    xavier = nn.Dense(200, 100).weight.data
    he = nn.Dense(200, 100, init="he").weight.data
    assert np.abs(xavier).max() <= math.sqrt(6 / 300)
    assert np.abs(xavier).max() > 0.95 * math.sqrt(6 / 300)
    assert np.abs(he).max() <= math.sqrt(6 / 200)
    assert np.abs(he).max() > 0.95 * math.sqrt(6 / 200)


def test_dense_accepts_an_init_function():
    layer = nn.Dense(2, 3, init=nn.init.ones_)
    np.testing.assert_array_equal(layer.weight.data, 1.0)


def test_dense_dtype_follows_argument_and_default():
    assert nn.Dense(2, 2, dtype=np.float32).weight.dtype == np.float32
    mg.set_default_dtype(np.float32)
    try:
        layer = nn.Dense(2, 2)
    finally:
        mg.set_default_dtype(np.float64)
    assert layer.weight.dtype == np.float32 and layer.bias.dtype == np.float32


def test_float32_model_stays_float32():
    model = nn.Sequential(nn.MLP([1, 8, 8], dtype=np.float32), nn.GaussianHead(8, dtype=np.float32))
    x = mg.Tensor(np.linspace(-1, 1, 5, dtype=np.float32).reshape(5, 1))
    out = model(x)
    assert out.dtype == np.float32
    out.sum().backward()
    assert all(p.data.dtype == np.float32 and p.grad.dtype == np.float32
               for p in model.parameters())


# ---- activations ----------------------------------------------------------------------

@pytest.mark.parametrize("module, op", [(nn.Tanh, np.tanh), (nn.ReLU, lambda v: np.maximum(v, 0)),
                                        (nn.Sigmoid, lambda v: 1 / (1 + np.exp(-v))),
                                        (nn.Softplus, lambda v: np.log1p(np.exp(v)))])
def test_activation_modules(module, op):
    act = module()
    x = leaf((2, 3), 10)
    np.testing.assert_allclose(act(x).data, op(x.data), rtol=1e-12)
    assert list(act.parameters()) == [] and repr(act) == f"{module.__name__}()"
    assert mg.gradcheck(act, [x])


# ---- Sequential -----------------------------------------------------------------------

def test_sequential_chains_indexes_and_iterates():
    a, t, b = nn.Dense(2, 3), nn.Tanh(), nn.Dense(3, 1)
    seq = nn.Sequential(a, t, b)
    assert len(seq) == 3 and list(seq) == [a, t, b]
    assert seq[0] is a and seq[-1] is b
    x = mg.ones(4, 2)
    np.testing.assert_allclose(seq(x).data, b(t(a(x))).data)
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_sequential_slice_keeps_keys_and_names():
    seq = nn.Sequential(nn.Dense(2, 3), nn.Tanh(), nn.Dense(3, 1))
    tail = seq[1:]
    assert isinstance(tail, nn.Sequential) and len(tail) == 2 and tail[0] is seq[1]
    assert [n for n, _ in tail.named_parameters()] == ["2.weight", "2.bias"]
    assert seq[2].weight.name == "2.weight"  # slicing does not rename the model's parameters
    np.testing.assert_allclose(tail(seq[0](mg.ones(1, 2))).data, seq(mg.ones(1, 2)).data)


def test_sequential_append_and_errors():
    seq = nn.Sequential()
    assert seq.append(nn.Dense(1, 2)).append(nn.ReLU()) is seq
    assert len(seq) == 2 and seq[0].weight.name == "0.weight"
    with pytest.raises(IndexError, match="index 5 is out of range for 2 modules"):
        seq[5]
    with pytest.raises(TypeError, match="Sequential: can only hold Modules, got ufunc"):
        seq.append(np.tanh)


# ---- MLP ------------------------------------------------------------------------------

def test_mlp_structure_and_names():
    mlp = nn.MLP([1, 64, 64])
    kinds = [type(m).__name__ for m in mlp.layers]
    assert kinds == ["Dense", "Tanh", "Dense", "Tanh"]
    assert [n for n, _ in mlp.named_parameters()] == [
        "layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias"]
    assert len(mlp) == 4 and mlp[2] is mlp.layers[2]
    assert mlp(mg.ones(7, 1)).shape == (7, 64)


def test_mlp_activate_last_false_ends_linear():
    mlp = nn.MLP([2, 5, 3], activation="relu", activate_last=False)
    assert [type(m).__name__ for m in mlp] == ["Dense", "ReLU", "Dense"]
    assert mlp(mg.ones(2)).shape == (3,)


@pytest.mark.parametrize("activation, kind", [("tanh", nn.Tanh), ("RELU", nn.ReLU),
                                              ("sigmoid", nn.Sigmoid), ("softplus", nn.Softplus),
                                              (nn.Sigmoid, nn.Sigmoid)])
def test_mlp_activation_choices(activation, kind):
    assert type(nn.MLP([2, 3], activation=activation)[1]) is kind


def test_mlp_initialises_for_its_activation():
    mg.manual_seed(3)
    relu = nn.MLP([300, 300], activation="relu")[0].weight.data
    tanh = nn.MLP([300, 300], activation="tanh")[0].weight.data
    assert np.abs(relu).max() > 1.3 * math.sqrt(6 / 600)  # He is wider than Xavier
    assert np.abs(relu).max() <= math.sqrt(6 / 300)
    assert np.abs(tanh).max() <= math.sqrt(6 / 600)


def test_mlp_errors():
    message = "MLP: unknown activation 'gelu'; choose one of 'tanh', 'relu'"
    with pytest.raises(ValueError, match=message):
        nn.MLP([1, 2], activation="gelu")
    with pytest.raises(ValueError, match="MLP: sizes must be at least two positive integers"):
        nn.MLP([4])
    with pytest.raises(ValueError, match="MLP: sizes must be"):
        nn.MLP([1, 0, 2])


def test_mlp_gradcheck_through_the_whole_stack():
    mg.manual_seed(4)
    mlp = nn.MLP([2, 3, 2], activation="tanh")
    assert mg.gradcheck(mlp, [leaf((4, 2), 11)])
