"""PyTorch habits around nn and optim that must give a useful answer, not a raw error."""

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn, optim


def test_passing_the_model_to_an_optimizer_says_to_pass_its_parameters():
    model = nn.Sequential(nn.Dense(2, 3), nn.Tanh())
    for cls in (optim.SGD, optim.Adam):
        with pytest.raises(TypeError, match=r"Sequential module itself.*model\.parameters\(\)"):
            cls(model, lr=0.1)


def test_a_wrong_shape_grad_names_the_parameter_and_both_shapes():
    model = nn.Dense(2, 3)
    for cls in (optim.SGD, optim.Adam):
        opt = cls(model.parameters(), lr=0.1)
        model.weight.grad = np.ones((3, 2))
        model.bias.grad = np.ones(3)
        with pytest.raises(ValueError, match=r"'weight' \(parameter 0 of group 0\) has shape "
                                             r"\(2, 3\) but its \.grad has shape \(3, 2\)"):
            opt.step()
        before = model.weight.data.copy()
        model.weight.grad = np.ones((2, 3))
        opt.step()  # the right shape is accepted
        assert not np.array_equal(model.weight.data, before)


def test_a_wrong_shape_grad_of_an_unnamed_parameter_gives_its_position():
    a, b = mg.Tensor([1.0, 2.0], requires_grad=True), mg.Tensor([3.0], requires_grad=True)
    opt = optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1)
    b.grad = np.ones(2)
    with pytest.raises(ValueError, match=r"parameter 0 of group 1 has shape \(1,\) but its "
                                         r"\.grad has shape \(2,\)"):
        opt.step()


def test_module_zero_grad_accepts_set_to_none():
    model = nn.Dense(2, 3)
    model(mg.Tensor([[1.0, 2.0]])).sum().backward()
    grad = model.weight.grad
    assert grad is not None and np.any(grad != 0)
    model.zero_grad(set_to_none=False)
    assert model.weight.grad is grad and np.all(grad == 0)  # zeroed in place
    assert np.all(model.bias.grad == 0)
    model.zero_grad(set_to_none=True)
    assert model.weight.grad is None and model.bias.grad is None
    model.zero_grad(set_to_none=False)  # no gradient to zero: stays None
    assert model.weight.grad is None


def test_three_argument_gaussian_nll_says_what_minigrad_expects():
    mu, y, var = mg.Tensor([0.0, 1.0]), mg.Tensor([0.5, 1.0]), mg.Tensor([1.0, 4.0])
    loss_fn = nn.GaussianNLLLoss()
    with pytest.raises(TypeError, match=r"takes \(pred, y\), got 3 arguments.*\[mu, sigma\].*"
                                        r"standard deviation, not the variance"):
        loss_fn(mu, y, var)
    # the translation the message gives computes PyTorch's loss
    loss = loss_fn(mg.stack([mu, var ** 0.5], axis=-1), y)
    expected = np.mean(0.5 * (np.log([1.0, 4.0]) + (np.array([0.5, 0.0]) ** 2) / [1.0, 4.0]))
    assert loss.item() == pytest.approx(expected)
