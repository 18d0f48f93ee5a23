"""The graph does not outlive its training step: intermediates die by reference counting
alone (no cycles, so no gc.collect() needed), backward frees what nodes saved unless
retain_graph=True, and a training loop keeps the number of live tensors constant."""
from __future__ import annotations

import gc
import weakref
from contextlib import contextmanager

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn, optim
from minigrad.autograd import topological_order

BATCH = 32


@contextmanager
def gc_disabled():
    """Only reference counting frees objects inside: anything in a cycle would survive."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def make_training(seed: int = 0):
    mg.manual_seed(seed)
    model = nn.Sequential(nn.MLP([1, 16, 16]), nn.GaussianHead(16))
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    rng = np.random.default_rng(seed)
    x = rng.uniform(-3, 3, (BATCH, 1))
    target = np.stack([np.sin(x[:, 0]), 0.15 + 0.2 * np.abs(x[:, 0])], axis=1)
    return model, opt, nn.GaussianKLLoss(), mg.Tensor(x), mg.Tensor(target)


def intermediates(loss: mg.Tensor) -> list:
    """Every tensor of the graph that an op made (not the leaves), the loss included."""
    made = [loss]
    for node in topological_order(loss.grad_fn):
        made += [t for t in node.inputs if t.grad_fn is not None]
    return made


def count_tensors() -> int:
    # issubclass(type(o)), not isinstance: isinstance reads o.__class__, which on some lazy
    # module objects (torch's, when installed) triggers a deprecation warning
    return sum(issubclass(type(o), mg.Tensor) for o in gc.get_objects())


def test_intermediates_die_when_the_step_variables_go():
    model, opt, loss_fn, x, target = make_training()
    with gc_disabled():
        pred = model(x)
        loss = loss_fn(pred, target)
        refs = [weakref.ref(t) for t in intermediates(loss)]
        assert len(refs) >= 6  # Affine, tanh, Affine, tanh, Affine, GaussianParams, the loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        assert all(r() is not None for r in refs), "alive while the step's variables are"
        del loss, pred
        assert [r() for r in refs] == [None] * len(refs)


def test_the_next_step_releases_the_previous_graph():
    model, opt, loss_fn, x, target = make_training()
    with gc_disabled():
        first_refs = []
        for step in range(3):
            pred = model(x)
            loss = loss_fn(pred, target)
            if step == 0:
                first_refs = [weakref.ref(t) for t in intermediates(loss)]
            opt.zero_grad()
            loss.backward()
            opt.step()
            if step == 0:
                assert all(r() is not None for r in first_refs)
            else:  # rebinding pred and loss dropped the first step's graph
                assert all(r() is None for r in first_refs)


def test_backward_frees_every_saved_array():
    model, _, loss_fn, x, target = make_training()
    loss = loss_fn(model(x), target)
    nodes = topological_order(loss.grad_fn)
    assert sum(bool(node.saved_tensors) for node in nodes) >= 4  # something to free
    loss.backward()
    assert [node.saved_tensors for node in nodes] == [None] * len(nodes)
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        loss.backward()


def test_retain_graph_keeps_the_saved_arrays():
    model, _, loss_fn, x, target = make_training()
    loss = loss_fn(model(x), target)
    nodes = topological_order(loss.grad_fn)
    saved = [node.saved_tensors for node in nodes]
    loss.backward(retain_graph=True)
    assert all(node.saved_tensors is kept for node, kept in zip(nodes, saved))
    first = [p.grad.copy() for p in model.parameters()]
    loss.backward()  # the retained graph can be walked again: gradients add up
    for p, g in zip(model.parameters(), first):
        np.testing.assert_allclose(p.grad, 2 * g, rtol=1e-12)


class _Scaled(mg.Function):
    """y = 3 x, saving a scratch array that nothing else refers to."""

    @staticmethod
    def forward(ctx, x):
        scratch = np.full_like(x, 3.0)
        ctx.save_for_backward(scratch)
        return x * scratch

    @staticmethod
    def backward(ctx, grad):
        (scratch,) = ctx.saved_tensors
        return grad * scratch


def test_a_saved_array_is_freed_by_backward_itself():
    x = mg.Tensor(np.ones(5), requires_grad=True)
    with gc_disabled():
        y = _Scaled.apply(x).sum()
        scratch = weakref.ref(y.grad_fn.inputs[0].grad_fn.saved_tensors[0])
        assert scratch() is not None
        y.backward()
        assert scratch() is None, "freed although the graph (y) is still alive"
    np.testing.assert_allclose(x.grad, np.full(5, 3.0))


def test_training_loop_keeps_the_tensor_count_constant():
    model, opt, loss_fn, x, target = make_training()

    def step() -> None:
        opt.zero_grad()
        loss = loss_fn(model(x), target)
        loss.backward()
        opt.step()

    step()  # the momentum buffers and gradients exist from the first step on
    gc.collect()
    before = count_tensors()
    with gc_disabled():
        for _ in range(300):
            step()
    after = count_tensors()
    assert before > 0
    assert after == before, f"{after - before} tensors more after 300 steps"
