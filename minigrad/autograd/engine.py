"""Reverse mode: walk the graph from the outputs back, one node at a time.

Nodes run highest number first (creation order is a topological order), so a node runs
once every consumer has added its gradient to the node's pending sum. `backward` leaves
the results in the leaves' `.grad`; `grad` returns them and touches no `.grad`. With
`create_graph=True` each node's backward runs on tensors, so the gradients it returns are
themselves recorded and can be differentiated again.
"""
from __future__ import annotations

from heapq import heappop, heappush
from collections.abc import Sequence
from typing import Any

import numpy as np

from minigrad.autograd.arguments import as_list, describe, inputs_requiring_grad, seed_gradients
from minigrad.autograd.errors import check_finite, check_versions, freed_graph
from minigrad.autograd.gradients import fit, one_per_input
from minigrad.autograd.grad_mode import state
from minigrad.autograd.graph import nodes_leading_to
from minigrad.autograd.higher_order import backward_on_tensors
from minigrad.autograd.versions import clock
from minigrad.tensor import Tensor

__all__ = ["backward", "backward_steps", "grad"]


def backward(tensors: Any, grad_tensors: Any = None, retain_graph: bool | None = None,
             create_graph: bool = False) -> None:
    """Accumulate d(sum of tensors)/d(leaf) into `.grad` of every leaf that requires grad.

    `.grad` holds a NumPy array of numbers; with `create_graph=True` it holds a Tensor whose
    own graph can be differentiated again (as PyTorch's `.grad` then does).
    """
    if (grad_tensors is None and type(tensors) is Tensor and tensors.requires_grad
            and tensors.data.size == 1):  # loss.backward(): 1 us less than seed_gradients
        roots, seeds = [tensors], [np.array(1, tensors.data.dtype).reshape(tensors.data.shape)]
    else:
        roots = as_list(tensors)
        seeds = seed_gradients("backward", roots, grad_tensors, create_graph)
    _run(roots, seeds, create_graph if retain_graph is None else retain_graph, create_graph)


def grad(outputs: Any, inputs: Any, grad_outputs: Any = None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool = False) -> tuple:
    """d(outputs)/d(inputs) weighted by `grad_outputs`, as `torch.autograd.grad`: a tuple with
    one tensor per input (None for an unused one when `allow_unused`); no `.grad` changes."""
    roots = as_list(outputs)
    wanted = inputs_requiring_grad("grad", inputs)
    seeds = seed_gradients("grad", roots, grad_outputs, create_graph)
    found = _run(roots, seeds, create_graph if retain_graph is None else retain_graph,
                 create_graph, capture=wanted)
    results = []
    for i, t in enumerate(wanted):
        g = found.get(id(t))
        if g is None and not allow_unused:
            raise RuntimeError(
                f"grad: input {i} ({describe(t)}) was not used to compute the outputs, so it "
                f"has no gradient; pass allow_unused=True to get None for it")
        if g is not None and not isinstance(g, Tensor):
            g = Tensor._make(g, False, None)
        results.append(g)
    return tuple(results)


# ---- the walk ---------------------------------------------------------------------------

def backward_steps(output: Tensor, grad_output: Any = None) -> list:
    """The engine's backward pass as data, for tools that show it (the explorer): one
    `(node, gradient it received, gradients it sent to each input)` per node, in the order
    the engine runs them. Keeps the graph and touches no `.grad`."""
    steps: list = []
    seeds = seed_gradients("backward_steps", [output], grad_output, False)
    _run([output], seeds, True, False, capture=(), observe=steps.append)
    return steps


def _run(roots: list, seeds: list, retain_graph: bool, create_graph: bool,
         capture: Sequence[Tensor] | None = None, observe: Any = None) -> dict:
    """The one backward pass. Without `capture`, gradients reach the leaves' `.grad` (and
    tensors that retain_grad); with it, they are returned by id for just those tensors.
    `observe`, if given, receives each node's step (see `backward_steps`)."""
    mode = state.s  # this thread's state, looked up once
    if mode.tracer is not None:  # minigrad.compile is capturing: it runs and notes the walk
        return mode.tracer.backward(roots, seeds, retain_graph, create_graph, capture, observe)
    wanted = {id(t) for t in capture} if capture is not None else None
    found: dict = {}
    pending: dict = {}      # node -> the summed gradient of its output so far
    queue: list = []
    for root, seed in zip(roots, seeds):
        _deliver(root, seed, None, (), pending, queue, wanted, found)
    useful = nodes_leading_to(capture, [node for _, node in queue]) if capture else None
    anomaly = mode.anomaly
    # with create_graph the backward records (even under no_grad); first order runs on arrays
    previous: Any = state.grad_enabled if create_graph else None
    if create_graph:
        state.grad_enabled = True
    now = clock.now  # in-place changes so far; nothing changes them during the walk
    plain = wanted is None
    try:
        while queue:
            node = heappop(queue)[1]
            g = pending.pop(node)
            if useful is not None and node not in useful:
                continue
            if node.saved_tensors is None:
                raise freed_graph(node)
            if node.created != now:  # something changed in place since the node was made
                check_versions(node)
            grads = backward_on_tensors(node, g) if create_graph else node.backward(node, g)
            if type(grads) is not tuple:
                grads = (grads,) if len(node.inputs) == 1 else one_per_input(node, grads)
            elif len(grads) != len(node.inputs):
                grads = one_per_input(node, grads)
            if anomaly:
                for gi in grads:
                    if gi is not None:
                        check_finite(gi, f"{node.name} backward", node.inputs)
            if not retain_graph:
                node.saved_tensors = None
            for t, gi in zip(node.inputs, grads):
                if gi is None or not t.requires_grad:
                    continue
                data = t.data
                if type(gi) is not np.ndarray or gi.shape != data.shape or gi.dtype is not data.dtype:
                    gi = fit(gi, data, node.name)
                fn = t.grad_fn
                # the two common cases spelled out: 0.13 us less per edge than _deliver
                if plain and not t._retains_grad:
                    if fn is not None:   # an op's output: add to its node's pending sum
                        if fn in pending:
                            pending[fn] = pending[fn] + gi
                        else:
                            pending[fn] = gi
                            heappush(queue, (-fn.seq, fn))
                    elif t._grad is None:  # a leaf: its .grad, sharing no memory
                        t._grad = gi.copy() if _maybe_shared(gi, g, grads) else gi
                    else:
                        t._grad = t._grad + gi
                else:  # a kept or a captured gradient
                    _deliver(t, gi, g, grads, pending, queue, wanted, found)
            if observe is not None:
                observe((node, g, [fit(gi, t.data, node.name) if gi is not None and
                                   t.requires_grad else None for t, gi in zip(node.inputs, grads)]))
    finally:
        if create_graph:
            state.grad_enabled = previous
    return found


def _deliver(t: Tensor, g: Any, incoming: Any, siblings: tuple, pending: dict, queue: list,
             wanted: set | None, found: dict) -> None:
    """Hand gradient `g` of tensor `t` on: to its node's pending sum, and to `.grad` (or the
    captured results) for leaves and tensors that keep their gradient."""
    fn = t.grad_fn
    if fn is not None:
        if fn in pending:
            pending[fn] = pending[fn] + g
        else:
            pending[fn] = g
            heappush(queue, (-fn.seq, fn))
    if wanted is not None:
        if id(t) in wanted:
            found[id(t)] = g if id(t) not in found else found[id(t)] + g
    elif fn is None or t._retains_grad:
        if t._grad is None:
            # a leaf's .grad must never share memory with another gradient or the caller's array
            t._grad = g.copy() if _maybe_shared(g, incoming, siblings) else g
        else:
            t._grad = t._grad + g


def _maybe_shared(g: Any, incoming: Any, siblings: tuple) -> bool:
    """Whether gradient `g`, about to become a leaf's `.grad`, may share memory with another
    gradient: a view, the node's incoming gradient, or one array sent to two inputs."""
    if type(g) is not np.ndarray:  # a Tensor (create_graph=True): never written in place
        return False
    if g is incoming or g.base is not None:
        return True
    count = 0
    for other in siblings:  # a loop, not sum(...): this runs for every leaf on every step
        if other is g:
            count += 1
    return count > 1
