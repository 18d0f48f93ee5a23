"""In-place updates under PyTorch's rules, and the version counter that catches an update
that would corrupt a saved array."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import nn


def test_p_minus_equals_under_no_grad_trains_the_model():
    mg.manual_seed(0)
    model = nn.Sequential(nn.MLP([1, 4]), nn.GaussianHead(4))
    x, target = mg.Tensor([[0.5]]), mg.Tensor([[0.0, 1.0]])
    before = nn.GaussianKLLoss()(model(x), target)
    before.backward()
    old = [p.data.copy() for p in model.parameters()]
    with mg.no_grad():
        for p in model.parameters():
            p -= 0.1 * p.grad
    assert all(not np.array_equal(o, p.data) for o, p in zip(old, model.parameters()))
    assert nn.GaussianKLLoss()(model(x), target).item() < before.item()


def test_in_place_on_a_leaf_that_requires_grad_asks_for_no_grad():
    w = mg.Tensor([1.0, 2.0], requires_grad=True)
    for update in (lambda: w.add_(1.0), lambda: w.__isub__(1.0), lambda: w.zero_(),
                   lambda: w.clamp_(0, 1), lambda: w.copy_(np.zeros(2))):
        with pytest.raises(RuntimeError, match=r"in-place change of a leaf tensor that requires "
                                               r"grad.*minigrad.no_grad"):
            update()
    np.testing.assert_array_equal(w.data, [1.0, 2.0])


def test_every_in_place_method_under_no_grad():
    t = mg.Tensor([1.0, -2.0, 3.0], requires_grad=True)
    with mg.no_grad():
        t.add_(1.0).mul_(2.0).sub_(np.array([1.0, 1.0, 1.0])).div_(2.0)
        np.testing.assert_allclose(t.data, [1.5, -1.5, 3.5])
        t *= 2
        t /= 4
        t += mg.Tensor([0.25, 0.25, 0.25])
        t.clamp_(-0.5, 1.0)
        np.testing.assert_allclose(t.data, [1.0, -0.5, 1.0])
        t.fill_(7.0)
        t.copy_(mg.Tensor([1.0, 2.0, 3.0]))
        t.zero_()
    np.testing.assert_array_equal(t.data, [0.0, 0.0, 0.0])
    assert t.requires_grad and t._version > 0


def test_in_place_that_would_grow_or_change_dtype_kind_is_refused():
    t = mg.Tensor([1.0, 2.0])
    with pytest.raises(ValueError, match=r"add_: cannot write into the tensor of shape \(2,\)"):
        t.add_(np.ones((3, 2)))
    i = mg.Tensor(np.array([1, 2]))
    with pytest.raises(TypeError, match=r"mul_: cannot write into .*int64"):
        i.mul_(0.5)


def test_a_changed_saved_input_fails_backward_naming_the_op():
    w = mg.Tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()
    with mg.no_grad():
        w += 1.0
    with pytest.raises(RuntimeError, match=r"Mul saved for its backward was changed in place"):
        loss.backward()


def test_an_optimizer_step_between_forward_and_backward_is_caught():
    mg.manual_seed(0)
    layer = nn.Dense(2, 1)
    opt = mg.optim.SGD(layer.parameters(), lr=0.1)
    loss = layer(mg.Tensor([[1.0, 2.0]])).sum()
    loss.backward(retain_graph=True)
    opt.step()
    with pytest.raises(RuntimeError, match=r"Affine saved for its backward was changed in place"):
        loss.backward()


def test_a_changed_saved_output_fails_backward():
    x = mg.Tensor([1.0, 2.0], requires_grad=True)
    y = mg.exp(x)
    loss = y.sum()
    with mg.no_grad():
        y.mul_(2.0)
    with pytest.raises(RuntimeError, match=r"output of Exp .*changed in place"):
        loss.backward()


def test_changes_to_inputs_no_op_saved_pass():
    w = mg.Tensor([1.0, 2.0], requires_grad=True)
    loss = (w + 1.0).sum()              # Add saves nothing
    with mg.no_grad():
        w += 1.0
    loss.backward()
    np.testing.assert_array_equal(w.grad, [1.0, 1.0])


def test_in_place_with_an_operand_that_requires_grad_is_refused_while_recording():
    buf = mg.zeros(2)
    p = mg.Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"with an operand that requires grad"):
        buf += p
    buf = buf + p                       # the out-of-place form records
    assert buf.requires_grad
