"""Grad mode and the module scope are per thread; the decorators behave as PyTorch's."""
import threading

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn, optim
from minigrad.autograd.grad_mode import state


def test_no_grad_in_one_thread_leaves_the_other_recording():
    """Force the interleaving that broke the process-wide flag: thread B enters no_grad,
    thread A records and trains a step, B leaves; then both overlap the other way round."""
    mg.manual_seed(0)
    model = nn.Sequential(nn.MLP([1, 8]), nn.GaussianHead(8))
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = mg.Tensor([[0.5], [-1.0]])
    target = mg.Tensor([[0.0, 1.0], [0.5, 0.3]])
    b_inside, a_done, b_left = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def thread_b():
        with mg.no_grad():
            b_inside.set()
            seen["b_mode_inside"] = mg.is_grad_enabled()
            out = model(x)
            seen["b_records"] = out.requires_grad
            a_done.wait(5)
            seen["b_mode_after_a"] = mg.is_grad_enabled()
        seen["b_mode_after"] = mg.is_grad_enabled()
        b_left.set()

    worker = threading.Thread(target=thread_b)
    worker.start()
    assert b_inside.wait(5)
    assert mg.is_grad_enabled()                      # A never saw B's no_grad
    for _ in range(3):
        opt.zero_grad()
        loss = nn.GaussianKLLoss()(model(x), target)
        assert loss.requires_grad
        loss.backward()
        assert all(p.grad is not None for p in model.parameters())  # every step complete
        opt.step()
    with mg.no_grad():                               # overlapping the other way round
        a_done.set()
        assert b_left.wait(5)
        assert not mg.is_grad_enabled()
    worker.join(5)
    assert mg.is_grad_enabled()
    assert seen == {"b_mode_inside": False, "b_records": False, "b_mode_after_a": False,
                    "b_mode_after": True}


def test_module_scope_is_per_thread():
    inner = nn.Tanh()
    started, release = threading.Event(), threading.Event()

    class Slow(nn.Module):
        def forward(self, x):
            started.set()
            release.wait(5)
            return inner(x)

    worker = threading.Thread(target=lambda: Slow()(mg.Tensor([1.0], requires_grad=True)))
    worker.start()
    assert started.wait(5)
    assert state.scope == ()                        # the other thread's module is not ours
    out = inner(mg.Tensor([1.0], requires_grad=True))
    assert out.grad_fn.scope == (inner,)
    release.set()
    worker.join(5)


def test_no_grad_works_bare_and_called_as_a_decorator():
    @mg.no_grad
    def bare(x):
        return x * 2

    @mg.no_grad()
    def called(x):
        return x * 2

    x = mg.Tensor([1.0], requires_grad=True)
    assert not bare(x).requires_grad and not called(x).requires_grad
    assert bare.__name__ == "bare" and mg.is_grad_enabled()


def test_set_grad_enabled_as_decorator_changes_nothing_until_the_call():
    @mg.set_grad_enabled(False)
    def f(x):
        return x * 2

    assert mg.is_grad_enabled()                     # decorating did not switch it off
    assert not f(mg.Tensor([1.0], requires_grad=True)).requires_grad
    assert mg.is_grad_enabled()
    mg.set_grad_enabled(False)                      # a plain call sets the mode now
    assert not mg.is_grad_enabled()
    mg.set_grad_enabled(True)
    with mg.set_grad_enabled(False):
        assert not mg.is_grad_enabled()
    assert mg.is_grad_enabled()


def test_no_grad_on_a_generator_holds_while_it_runs_only():
    @mg.no_grad()
    def gen(x):
        for _ in range(2):
            received = yield mg.is_grad_enabled(), (x * 2).requires_grad
            assert received == "ping"

    x = mg.Tensor([1.0], requires_grad=True)
    g = gen(x)
    assert next(g) == (False, False)
    assert mg.is_grad_enabled()                     # suspended: the caller records again
    assert g.send("ping") == (False, False)
    with pytest.raises(StopIteration):
        g.send("ping")
    assert mg.is_grad_enabled()


def test_enable_grad_inside_no_grad():
    with mg.no_grad():
        with mg.enable_grad():
            assert (mg.Tensor([1.0], requires_grad=True) * 2).requires_grad
        assert not mg.is_grad_enabled()
