"""What `.grad` holds (issue 11): a NumPy array whose `.data` is the values and which has
`zero_()`, as a PyTorch user expects; eager, accumulated and compiled alike."""
import numpy as np

import minigrad as mg
from minigrad import nn, optim
from minigrad.grad_array import GradArray


def test_grad_data_is_the_values_and_zero_works():
    w = mg.Tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    assert isinstance(w.grad, np.ndarray) and isinstance(w.grad, GradArray)
    assert type(w.grad.data) is np.ndarray
    np.testing.assert_array_equal(w.grad.data, [2.0, 4.0])
    assert np.shares_memory(w.grad.data, w.grad)        # the values, not a copy
    assert w.grad.zero_() is w.grad
    np.testing.assert_array_equal(w.grad, [0.0, 0.0])


def test_accumulated_gradients_stay_grad_arrays():
    w = mg.Tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    (w * 3).sum().backward()
    assert type(w.grad.data) is np.ndarray
    np.testing.assert_array_equal(w.grad.data, [5.0, 7.0])


def test_compiled_steps_deliver_grad_arrays_too():
    mg.manual_seed(0)
    model = nn.Sequential(nn.MLP([1, 4]), nn.GaussianHead(4))
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.GaussianKLLoss()

    @mg.compile
    def step(x, target):
        opt.zero_grad()
        loss = loss_fn(model(x), target)
        loss.backward()
        opt.step()
        return loss

    x, target = mg.Tensor([[0.5], [-1.0]]), mg.Tensor([[0.0, 1.0], [0.5, 0.3]])
    for _ in range(3):   # capture, then replays
        step(x, target)
    for p in model.parameters():
        assert type(p.grad.data) is np.ndarray and p.grad.data.shape == p.shape


def test_an_assigned_array_reads_back_as_a_grad_array_on_the_same_memory():
    w = mg.Tensor([1.0, 2.0], requires_grad=True)
    given = np.array([3.0, 4.0])
    w.grad = given
    assert type(w.grad) is GradArray and np.shares_memory(w.grad, given)
    assert w.grad is w.grad            # made once, then kept
    w.grad.zero_()
    np.testing.assert_array_equal(given, [0.0, 0.0])
    marked = mg.Tensor([5.0])          # a Tensor (create_graph) is kept as it is
    w.grad = marked
    assert w.grad is marked


def test_the_optimiser_reads_the_stored_gradient_whether_or_not_grad_was_looked_at():
    # the engine stores a plain array and the view is made on first read (grad_array.py);
    # the update must be the same either way
    def train(look: bool) -> np.ndarray:
        w = mg.Tensor([1.0, -2.0], requires_grad=True)
        opt = optim.SGD([w], lr=0.1, momentum=0.9)
        for _ in range(3):
            opt.zero_grad()
            (w * w * w).sum().backward()
            if look:
                assert type(w.grad) is GradArray
            opt.step()
        return w.data.copy()
    np.testing.assert_array_equal(train(True), train(False))
    w, buf = np.array([1.0, -2.0]), None   # torch.optim.SGD's momentum rule by hand
    for _ in range(3):
        g = 3 * w * w
        buf = g if buf is None else 0.9 * buf + g
        w = w - 0.1 * buf
    np.testing.assert_allclose(train(False), w, rtol=1e-12)
