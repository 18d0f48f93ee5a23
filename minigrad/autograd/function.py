"""`Function`: one op of the graph. Built-in ops, fused losses and user ops all subclass it.

    forward(ctx, *arrays, **params) -> ndarray      the value, computed on NumPy arrays
    backward(ctx, grad) -> one gradient per input    d(root)/d(input) from d(root)/d(output)

`backward` is written with NumPy operators, ufuncs and methods: for first-order training it
runs on arrays, and under `create_graph=True` on tensors, where the same expressions record
a graph (minigrad/autograd/higher_order.py). `Op.on(...)` runs an op inside a backward.
"""
from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from typing import Any

import numpy as np

from minigrad.autograd.constants import as_constants
from minigrad.autograd.errors import check_finite, with_op_context
from minigrad.autograd.grad_mode import state
from minigrad.autograd.versions import clock
from minigrad.tensor import Tensor

__all__ = ["Function", "once_differentiable"]

# Nodes are numbered as they are made. A node is always made after the nodes of its inputs,
# so the numbering is a topological order: backward runs nodes from the highest number down.
_node_numbers = itertools.count()


class Function:
    """One op of the graph; subclass it and write `forward` and `backward` as static methods.

    Inside both, `ctx` is the node: `ctx.save_for_backward(*arrays)` keeps arrays for backward
    (read back as `ctx.saved_tensors`), `ctx.needs_input_grad[i]` tells whether input i wants
    a gradient, and any other attribute (`ctx.axis = axis`) can be set. Save the forward's
    inputs or its output: anything else saved is a constant when differentiating twice.
    """

    __slots__ = ("inputs", "saved_tensors", "needs_input_grad", "scope", "seq", "out_data",
                 "created", "__dict__")
    # the slots, typed for checkers (set in apply; __dict__ takes any attribute forward sets)
    inputs: tuple[Tensor, ...]
    saved_tensors: Any  # the tuple save_for_backward got (Any: apply first sets it to ())
    needs_input_grad: tuple[bool, ...]
    scope: tuple
    seq: int
    out_data: np.ndarray
    created: int
    name = "Function"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" not in cls.__dict__:
            cls.name = cls.__name__

    @staticmethod
    def forward(ctx: Any, *arrays: np.ndarray, **params: Any) -> np.ndarray:
        raise NotImplementedError("a Function subclass must define forward(ctx, *arrays)")

    @staticmethod
    def backward(ctx: Any, grad: Any) -> Any:
        raise NotImplementedError("a Function subclass must define backward(ctx, grad)")

    def save_for_backward(self, *arrays: Any) -> None:
        self.saved_tensors = arrays

    @classmethod
    def apply(cls, *inputs: Any, **params: Any) -> Tensor:
        """Run the op on tensors (numbers and arrays are taken as constants) and record it."""
        mode = state.s  # this thread's state (one thread-local lookup, then plain attributes)
        if mode.tracer is not None:  # minigrad.compile is capturing: it runs and notes the op
            return mode.tracer.apply(cls, inputs, params)
        for x in inputs:
            if not isinstance(x, Tensor):
                inputs = as_constants(inputs)
                break
        ctx = cls.__new__(cls)
        ctx.saved_tensors = ()
        needs: tuple[bool, ...]
        try:
            n = len(inputs)
            if n == 1:  # 1 to 3 inputs spelled out: 0.4-0.5 us less per op than the last branch
                a = inputs[0]
                needs = ctx.needs_input_grad = (a.requires_grad,)
                out = cls.forward(ctx, a.data, **params)
            elif n == 2:
                a, b = inputs
                needs = ctx.needs_input_grad = (a.requires_grad, b.requires_grad)
                out = cls.forward(ctx, a.data, b.data, **params)
            elif n == 3:
                a, b, c = inputs
                needs = ctx.needs_input_grad = (a.requires_grad, b.requires_grad, c.requires_grad)
                out = cls.forward(ctx, a.data, b.data, c.data, **params)
            else:
                needs = ctx.needs_input_grad = tuple([t.requires_grad for t in inputs])
                out = cls.forward(ctx, *[t.data for t in inputs], **params)
        except (ValueError, TypeError, IndexError) as err:
            raise with_op_context(err, cls.name, inputs) from err
        if type(out) is not np.ndarray:  # a NumPy scalar, from 0-d inputs
            scalar, out = out, np.asarray(out)
            ctx.saved_tensors = tuple(out if s is scalar else s for s in ctx.saved_tensors)
        if mode.anomaly:
            check_finite(out, f"{cls.name} forward", inputs)
        if not (True in needs and mode.grad_enabled) or out.dtype.kind != "f":
            return Tensor._make(out, False, None)
        ctx.inputs = inputs
        ctx.scope = mode.scope
        ctx.seq = next(_node_numbers)
        ctx.out_data = out
        ctx.created = clock.now  # to catch an in-place change to a saved array before backward
        return Tensor._make(out, True, ctx)

    @classmethod
    def on(cls, *args: Any, **params: Any) -> Any:
        """This op inside a backward: plain NumPy on arrays, a recorded op on tensors."""
        for a in args:
            if isinstance(a, Tensor):
                return cls.apply(*args, **params)
        return cls.forward(_Scratch(), *args, **params)

    def __repr__(self) -> str:
        shapes = ", ".join(str(t.shape) for t in getattr(self, "inputs", ()))
        return f"<{self.name} node: inputs {shapes}>"


class _Scratch:
    """A throwaway ctx for `Function.on` on arrays: whatever forward saves is dropped."""

    needs_input_grad = ()

    def save_for_backward(self, *arrays: Any) -> None:
        pass


def once_differentiable(backward: Callable) -> Callable:
    """Mark a backward that only runs on arrays: differentiating through it twice raises."""
    @functools.wraps(backward)
    def wrapper(ctx: Any, grad: Any) -> Any:
        if isinstance(grad, Tensor):
            raise RuntimeError(
                f"{ctx.name}: its backward is marked once_differentiable, so it cannot be "
                f"differentiated again (create_graph=True reached it); compute this gradient "
                f"with create_graph=False, or write {ctx.name}.backward with NumPy operators "
                f"and ufuncs so that it runs on tensors too")
        return backward(ctx, grad)
    wrapper.once_differentiable = True  # type: ignore[attr-defined]
    return wrapper
