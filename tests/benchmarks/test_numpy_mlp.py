"""benchmarks/numpy_mlp.py's hand-written step must compute exactly what minigrad computes:
the same loss, the same six gradients, and the same weights after a few SGD-momentum steps.

Otherwise benchmarks/mlp_step.py would compare minigrad with a different (cheaper) step.
"""
from __future__ import annotations

import importlib.util
import pathlib
import sys

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn, optim

_PATH = pathlib.Path(__file__).resolve().parents[2] / "benchmarks" / "numpy_mlp.py"
LR, MOMENTUM = 0.05, 0.9
SIZES = [(16, 8, 1), (32, 12, 3)]  # (batch B, hidden H, input D)


def _load_numpy_mlp():
    """Import benchmarks/numpy_mlp.py by path (benchmarks/ is not a package)."""
    name = "benchmarks_numpy_mlp"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, _PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # registered first, as importlib's own loader does
    spec.loader.exec_module(module)
    return module


NumpyMLPStep = _load_numpy_mlp().NumpyMLPStep


def _problem(B: int, H: int, D: int, seed: int = 0):
    """A seeded model with non-zero biases, its weights as arrays, and a batch (x, target)."""
    mg.manual_seed(seed)
    model = nn.Sequential(nn.MLP([D, H, H]), nn.GaussianHead(H, min_sigma=1e-6))
    rng = np.random.default_rng(seed)
    for p in model.parameters():
        if p.ndim == 1:  # biases start at zero; give them values so their paths are tested
            p.data[...] = rng.normal(0.0, 0.3, p.shape)
    x = rng.uniform(-3, 3, (B, D))
    target = np.stack([np.sin(x[:, 0]), 0.15 + 0.2 * np.abs(x[:, 0])], axis=1)
    weights = [p.data.copy() for p in model.parameters()]
    return model, weights, x, target


@pytest.mark.parametrize("B, H, D", SIZES)
def test_loss_and_gradients_match_minigrad(B, H, D):
    model, weights, x, target = _problem(B, H, D)
    loss = nn.GaussianKLLoss()(model(mg.Tensor(x)), mg.Tensor(target))
    loss.backward()
    ref_loss, ref_grads = NumpyMLPStep(weights, LR, MOMENTUM).loss_and_grads(x, target)

    assert loss.dtype == np.float64
    np.testing.assert_allclose(ref_loss, loss.item(), rtol=1e-10)
    names = ["W1", "b1", "W2", "b2", "W3", "b3"]
    for name, p, g in zip(names, model.parameters(), ref_grads):
        assert g.shape == p.shape, name
        assert np.abs(p.grad).max() > 0, f"{name}: a zero gradient would compare trivially"
        np.testing.assert_allclose(g, p.grad, rtol=1e-10, atol=1e-14, err_msg=name)


@pytest.mark.parametrize("B, H, D", SIZES)
def test_sgd_momentum_steps_stay_equal(B, H, D):
    model, weights, x, target = _problem(B, H, D, seed=1)
    opt = optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    loss_fn = nn.GaussianKLLoss()
    reference = NumpyMLPStep(weights, LR, MOMENTUM)
    xt, tt = mg.Tensor(x), mg.Tensor(target)
    losses = []
    for _ in range(5):
        opt.zero_grad()
        loss = loss_fn(model(xt), tt)
        loss.backward()
        opt.step()
        ref_loss = reference.step(x, target)
        np.testing.assert_allclose(ref_loss, loss.item(), rtol=1e-10)
        losses.append(ref_loss)
    assert losses[-1] != losses[0], "the weights must actually move"
    for p, w in zip(model.parameters(), reference.params):
        np.testing.assert_allclose(w, p.data, rtol=1e-10, atol=1e-13)


OptimisedNumpyMLPStep = _load_numpy_mlp().OptimisedNumpyMLPStep


@pytest.mark.parametrize("B, H, D", SIZES)
def test_optimised_reference_matches_minigrad_step_by_step(B, H, D):
    """The optimised step (flat buffers, out=) gives minigrad's loss, gradients and weights."""
    model, weights, x, target = _problem(B, H, D, seed=2)
    opt = optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    loss_fn = nn.GaussianKLLoss()
    fast = OptimisedNumpyMLPStep(weights, B, LR, MOMENTUM)
    xt, tt = mg.Tensor(x), mg.Tensor(target)
    losses = []
    for _ in range(5):
        opt.zero_grad()
        loss = loss_fn(model(xt), tt)
        loss.backward()
        grads = [p.grad.copy() for p in model.parameters()]
        opt.step()
        losses.append(fast.step(x, target))
        np.testing.assert_allclose(losses[-1], loss.item(), rtol=1e-10)
        for p_grad, g in zip(grads, fast.grads):
            assert np.abs(g).max() > 0
            np.testing.assert_allclose(g, p_grad, rtol=1e-9, atol=1e-13)
    assert losses[-1] != losses[0], "the weights must actually move"
    for p, w in zip(model.parameters(), fast.params):
        np.testing.assert_allclose(w, p.data, rtol=1e-10, atol=1e-13)
    assert all(w.base is fast.flat for w in fast.params), "one flat parameter buffer"
