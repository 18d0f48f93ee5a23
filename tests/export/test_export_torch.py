"""The PyTorch mapping: names and shapes against a hand-written expectation, values, round
trips and errors without torch; with torch, the twin module and the docs' code reproduce
minigrad's outputs."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.export import from_torch_state_dict, to_torch_state_dict

from export_cases import DTYPES, TOLERANCE, inputs, trained_model

DOCS = Path(__file__).resolve().parents[2] / "docs" / "exporting.md"

# Sequential(MLP([1, 16, 16]), GaussianHead(16)) in torch.nn.Linear's (out, in) layout
README_MODEL_IN_TORCH = {
    "0.layers.0.weight": (16, 1), "0.layers.0.bias": (16,),
    "0.layers.2.weight": (16, 16), "0.layers.2.bias": (16,),
    "1.linear.weight": (2, 16), "1.linear.bias": (2,),
}


def test_names_and_shapes_follow_pytorch():
    model, _ = trained_model("readme", "float64")
    state = to_torch_state_dict(model)
    assert {k: v.shape for k, v in state.items()} == README_MODEL_IN_TORCH
    assert list(state) == list(README_MODEL_IN_TORCH)  # in the module order, as torch lists them
    own = model.state_dict()
    for name, value in state.items():
        expected = own[name].T if name.endswith("weight") else own[name]
        np.testing.assert_array_equal(value, expected)
        assert value.flags["C_CONTIGUOUS"] and value.dtype == np.float64
    state["1.linear.bias"][0] += 1.0  # a copy: the model is untouched
    assert model.state_dict()["1.linear.bias"][0] == own["1.linear.bias"][0]


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_round_trip_restores_every_weight(dtype):
    model, _ = trained_model("relu_head", dtype)
    mg.manual_seed(123)
    fresh = nn.Sequential(nn.MLP([3, 8, 8], "relu", dtype=dtype), nn.GaussianHead(8, dtype=dtype))
    assert from_torch_state_dict(fresh, to_torch_state_dict(model)) == ([], [])
    for (name, a), b in zip(model.state_dict().items(), fresh.state_dict().values()):
        np.testing.assert_array_equal(a, b, err_msg=name)


def test_bad_state_dicts_are_refused_before_anything_is_written():
    model, _ = trained_model("readme", "float64")
    before = model.state_dict()
    state = to_torch_state_dict(model)
    state["0.layers.2.bias"] = state["0.layers.2.bias"] + 1.0
    state["1.linear.weight"] = state["1.linear.weight"].T  # minigrad's layout, by mistake
    with pytest.raises(ValueError, match=r"'1.linear.weight' has shape \(16, 2\), PyTorch's "
                                         r"layout of this parameter is \(2, 16\) \(that is "
                                         r"minigrad's own layout"):
        from_torch_state_dict(model, state)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])

    state = to_torch_state_dict(model)
    del state["1.linear.bias"]
    state["head.scale"] = np.ones(2)
    with pytest.raises(ValueError, match=r"missing key\(s\) '1.linear.bias'; unexpected key\(s\) "
                                         r"'head.scale'"):
        from_torch_state_dict(model, state)
    assert from_torch_state_dict(model, state, strict=False) == (["1.linear.bias"], ["head.scale"])
    with pytest.raises(TypeError, match="expected a dict"):
        from_torch_state_dict(model, [1, 2])


def test_a_module_without_a_known_layout_is_refused():
    class Scale(nn.Module):
        def __init__(self):
            super().__init__()
            self.factor = nn.Parameter(np.ones((2, 2)))

    with pytest.raises(TypeError, match=r"no PyTorch layout is registered for Scale \(at '1'\), "
                                        r"which has parameters factor.*register_torch_layout"):
        to_torch_state_dict(nn.Sequential(nn.Dense(2, 2), Scale()))


def test_tensors_without_torch_name_the_missing_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ImportError, match="needs PyTorch"):
        to_torch_state_dict(nn.Dense(2, 2), tensors=True)


# ---- with torch ------------------------------------------------------------------------

def docs_torch_code() -> str:
    """The ```python block of docs/exporting.md that defines the PyTorch modules."""
    blocks = re.findall(r"^```python\n(.*?)^```", DOCS.read_text(), re.S | re.M)
    (code,) = [b for b in blocks if "class GaussianHead(torch.nn.Module)" in b]
    return code


@pytest.mark.parametrize("dtype", DTYPES)
def test_the_torch_twin_reproduces_minigrad(dtype):
    torch = pytest.importorskip("torch")
    from minigrad.export import to_torch_module

    for name in ("readme", "sigmoid_head", "softplus_head", "mlp_linear_last", "three_axes"):
        model, shape = trained_model(name, dtype)
        twin = to_torch_module(model)
        x = inputs(shape, 37, dtype)
        with torch.no_grad():
            got = twin(torch.from_numpy(x)).numpy()
        assert got.dtype == np.dtype(dtype)
        with mg.no_grad():
            want = model(mg.Tensor(x)).data
        np.testing.assert_allclose(got, want, rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype],
                                   err_msg=name)


def test_the_documented_pytorch_code_rebuilds_the_model():
    torch = pytest.importorskip("torch")
    namespace: dict = {}
    exec(compile(docs_torch_code(), str(DOCS), "exec"), namespace)
    model, shape = trained_model("readme", "float64")
    twin = namespace["torch_model"]  # the docs build it for the README model and load weights
    with torch.no_grad():
        twin.load_state_dict(to_torch_state_dict(model, tensors=True))
        x = inputs(shape, 37, "float64")
        got = twin.double()(torch.from_numpy(x)).numpy()
    with mg.no_grad():
        want = model(mg.Tensor(x)).data
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_torch_tensors_come_back_into_minigrad():
    torch = pytest.importorskip("torch")
    from minigrad.export import to_torch_module

    model, _ = trained_model("readme", "float64")
    twin = to_torch_module(model)
    with torch.no_grad():  # a step taken in PyTorch ...
        for p in twin.parameters():
            p.mul_(0.5)
    from_torch_state_dict(model, twin.state_dict())  # ... is seen by minigrad
    state = to_torch_state_dict(model, tensors=True)
    for name, value in twin.state_dict().items():
        assert isinstance(state[name], torch.Tensor)
        torch.testing.assert_close(state[name], value, rtol=0, atol=0)


# ---- the mixture and multivariate heads ----------------------------------------------------

# Sequential(MLP([3, 8, 8]), GaussianMixtureHead(8, 3)): the head's Dense gives 3 K = 9 values
MIXTURE_IN_TORCH = {
    "0.layers.0.weight": (8, 3), "0.layers.0.bias": (8,),
    "0.layers.2.weight": (8, 8), "0.layers.2.bias": (8,),
    "1.linear.weight": (9, 8), "1.linear.bias": (9,),
}
# Sequential(MLP([3, 8, 8]), MultivariateGaussianHead(8, 3)): D + D (D + 1) / 2 = 3 + 6 values
MULTIVARIATE_IN_TORCH = {**MIXTURE_IN_TORCH, "1.linear.weight": (9, 8), "1.linear.bias": (9,)}
# D = 2 alone: 2 + 3 = 5 values
MULTIVARIATE_D2_ALONE = {"linear.weight": (5, 4), "linear.bias": (5,)}


@pytest.mark.parametrize("name, expected", [("mixture", MIXTURE_IN_TORCH),
                                            ("multivariate", MULTIVARIATE_IN_TORCH)])
def test_the_heads_map_to_pytorch_names_and_shapes(name, expected):
    model, _ = trained_model(name, "float64")
    state = to_torch_state_dict(model)
    assert list(state) == list(expected)
    assert {k: v.shape for k, v in state.items()} == expected
    own = model.state_dict()
    for key, value in state.items():
        np.testing.assert_array_equal(value, own[key].T if key.endswith("weight") else own[key])
    mg.manual_seed(99)
    fresh, _ = trained_model(name, "float64", steps=1)
    assert from_torch_state_dict(fresh, state) == ([], [])
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(fresh.state_dict()[key], value, err_msg=key)


def test_a_multivariate_head_alone_maps_its_dense():
    head = nn.MultivariateGaussianHead(4, 2)
    assert {k: v.shape for k, v in to_torch_state_dict(head).items()} == MULTIVARIATE_D2_ALONE


@pytest.mark.parametrize("dtype", DTYPES)
def test_the_torch_twins_of_the_heads_reproduce_minigrad(dtype):
    torch = pytest.importorskip("torch")
    from minigrad.export import to_torch_module

    for name in ("mixture", "mixture_one_component_three_axes", "multivariate",
                 "multivariate_d1_alone", "multivariate_three_axes"):
        model, shape = trained_model(name, dtype)
        twin = to_torch_module(model)
        x = inputs(shape, 37, dtype)
        with torch.no_grad():
            got = twin(torch.from_numpy(x))
        with mg.no_grad():
            want = model(mg.Tensor(x))
        got = [t.numpy() for t in got] if isinstance(got, tuple) else [got.numpy()]
        want = [t.data for t in want] if isinstance(want, tuple) else [want.data]
        assert len(got) == len(want)
        for a, b in zip(got, want):
            assert a.dtype == np.dtype(dtype) and a.shape == b.shape, name
            np.testing.assert_allclose(a, b, rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype],
                                       err_msg=name)
