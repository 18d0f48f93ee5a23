"""The engine: `Function` (one node of the graph per op call) and reverse-mode `backward`.

Every op, built in or user-defined, is a `Function` subclass with two static methods:

    forward(ctx, *arrays, **params) -> ndarray         the value, from NumPy arrays
    backward(ctx, grad) -> one gradient per input        d(root)/d(input), from d(root)/d(output)

`Fn.apply(*tensors, **params)` runs `forward` and, when grad mode is on and an input
requires grad, returns a tensor whose `grad_fn` is the node (`ctx` itself, as in
PyTorch). The node keeps its `inputs`, so the graph can be walked from any result.
"""
from __future__ import annotations

import functools
import heapq
import itertools
from typing import Any, Callable, Iterable

import numpy as np

from minigrad.dtypes import as_array
from minigrad.tensor import Tensor

_grad_enabled = True
_anomaly_mode = False
_scope: tuple = ()  # the stack of nn.Modules whose forward is running (outermost first)
# Nodes are numbered as they are made. A node is always made after the nodes of its inputs,
# so the numbering is a topological order: backward runs nodes from the highest number down.
_node_numbers = itertools.count()


class Function:
    """One op of the graph; subclass it and write `forward` and `backward` as static methods.

    Inside both, `ctx` is the node: `ctx.save_for_backward(*arrays)` keeps arrays for
    backward (read back as `ctx.saved_tensors`), `ctx.needs_input_grad[i]` tells whether
    input i wants a gradient, and any other attribute (`ctx.axis = axis`) can be set.
    """

    __slots__ = ("inputs", "saved_tensors", "needs_input_grad", "scope", "seq", "_pending",
                 "__dict__")
    name = "Function"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" not in cls.__dict__:
            cls.name = cls.__name__

    @staticmethod
    def forward(ctx: "Function", *arrays: np.ndarray, **params: Any) -> np.ndarray:
        raise NotImplementedError("a Function subclass must define forward(ctx, *arrays)")

    @staticmethod
    def backward(ctx: "Function", grad: np.ndarray) -> Any:
        raise NotImplementedError("a Function subclass must define backward(ctx, grad)")

    def save_for_backward(self, *arrays: Any) -> None:
        self.saved_tensors = arrays

    @classmethod
    def apply(cls, *inputs: Any, **params: Any) -> Tensor:
        """Run the op on tensors (or numbers/arrays, taken as constants) and record it."""
        for x in inputs:
            if not isinstance(x, Tensor):
                inputs = tuple(t if isinstance(t, Tensor) else Tensor._make(as_array(t), False, None)
                               for t in inputs)
                break
        ctx = cls.__new__(cls)
        ctx.saved_tensors = ()
        try:
            # the unary and binary cases are spelled out because they are hot
            if len(inputs) == 1:
                a = inputs[0]
                needs = ctx.needs_input_grad = (a.requires_grad,)
                out = cls.forward(ctx, a.data, **params)
            elif len(inputs) == 2:
                a, b = inputs
                needs = ctx.needs_input_grad = (a.requires_grad, b.requires_grad)
                out = cls.forward(ctx, a.data, b.data, **params)
            else:
                needs = ctx.needs_input_grad = tuple([t.requires_grad for t in inputs])
                out = cls.forward(ctx, *[t.data for t in inputs], **params)
        except (ValueError, TypeError, IndexError) as err:
            raise _with_op_context(err, cls.name, inputs) from err
        if type(out) is not np.ndarray:
            out = np.asarray(out)
        if _anomaly_mode:
            _check_finite(out, f"{cls.name} forward", inputs)
        if not (_grad_enabled and True in needs) or out.dtype.kind != "f":
            return Tensor._make(out, False, None)
        ctx.inputs = inputs
        ctx.scope = _scope
        ctx.seq = next(_node_numbers)
        ctx._pending = None
        return Tensor._make(out, True, ctx)

    def __repr__(self) -> str:
        shapes = ", ".join(str(t.shape) for t in getattr(self, "inputs", ()))
        return f"<{self.name} node: inputs {shapes}>"


def _with_op_context(err: Exception, op: str, tensors: tuple) -> Exception:
    """Re-raise a failure inside an op's forward with the op's name and the input shapes."""
    message = str(err)
    if message.startswith(op):
        return err
    shapes = ", ".join(str(t.shape) for t in tensors)
    if "could not be broadcast" in message:
        return ValueError(
            f"{op}: the input shapes {shapes} do not broadcast (compared from the last axis, "
            f"sizes must be equal or 1); reshape one of them, e.g. with .reshape(...) or "
            f".unsqueeze(axis), so that they line up")
    try:
        return type(err)(f"{op}: {message} (input shapes: {shapes})")
    except Exception:  # an exception type with an unusual constructor keeps its own text
        return err


def _check_finite(array: np.ndarray, where: str, tensors: tuple) -> None:
    if array.dtype.kind in "fc" and not np.isfinite(array).all():
        bad = np.argwhere(~np.isfinite(array))[0]
        shapes = ", ".join(str(t.shape) for t in tensors)
        raise FloatingPointError(
            f"detect_anomaly: {where} produced a non-finite value {array[tuple(bad)]} at index "
            f"{tuple(int(i) for i in bad)} (input shapes: {shapes}); check the inputs' "
            f"domain (log/sqrt of negatives, division by zero) or lower the learning rate"
        )


# ---- backward ---------------------------------------------------------------------------

def unbroadcast(grad: np.ndarray, shape: tuple, op: str = "backward") -> np.ndarray:
    """Sum `grad` over the axes that broadcasting added or stretched, back to `shape`."""
    extra = grad.ndim - len(shape)
    if extra >= 0:
        stretched = tuple(i + extra for i, n in enumerate(shape)
                          if n == 1 and grad.shape[i + extra] != 1)
        axes = tuple(range(extra)) + stretched
        summed = grad.sum(axis=axes, keepdims=True) if axes else grad
        if summed.shape[extra:] == tuple(shape):
            return summed.reshape(shape)
    raise RuntimeError(
        f"{op}.backward returned a gradient of shape {grad.shape} for an input of shape "
        f"{shape}; a gradient must have its input's shape (or broadcast to it)"
    )


def _freed_graph_error(node: Function) -> RuntimeError:
    return RuntimeError(
        f"backward: trying to backward through the graph a second time: the node "
        f"{node.name} was freed by an earlier backward(). Pass retain_graph=True to "
        f"the first backward() if you need to call it again, or recompute the forward pass"
    )


def topological_order(root: Function) -> list:
    """The nodes `root` depends on (itself included), each after all the nodes it consumes."""
    seen = {root}
    stack = [root]
    while stack:
        node = stack.pop()
        if node.saved_tensors is None:
            raise _freed_graph_error(node)
        for t in node.inputs:
            fn = t.grad_fn
            if fn is not None and fn not in seen:
                seen.add(fn)
                stack.append(fn)
    return sorted(seen, key=_node_number)


def _node_number(node: Function) -> int:
    return node.seq


def _seed_gradient(root: Tensor, grad: Any) -> np.ndarray:
    if grad is None:
        if root.data.size != 1:
            raise RuntimeError(
                f"backward: the output has shape {root.shape}, and a gradient can only be implied "
                f"for a single-element output; reduce it first (out.sum() or out.mean()) or pass "
                f"grad= an array of shape {root.shape}"
            )
        return np.array(1, dtype=root.data.dtype).reshape(root.data.shape)  # ones_like, cheaper
    # not copied: the engine never writes into a gradient, and copies before a leaf keeps it
    seed = np.asarray(grad.data if isinstance(grad, Tensor) else grad, dtype=root.data.dtype)
    if seed.shape != root.data.shape:
        raise ValueError(
            f"backward: grad has shape {seed.shape} but the output has shape {root.shape}; "
            f"they must match"
        )
    return seed


def backward(root: Tensor, grad: Any = None, retain_graph: bool = False) -> None:
    """Accumulate d(root)/d(leaf) into `.grad` of every leaf that requires grad.

    Nodes run in reverse creation order (a topological order), so each receives the sum
    of the gradients from all its consumers before it passes its own on. Unless
    `retain_graph`, each node drops its saved arrays once used, and a second backward
    through it raises.
    """
    if not root.requires_grad:
        raise RuntimeError(
            "backward: this tensor does not require grad and has no graph; set "
            "requires_grad=True on the leaves it is computed from (and not inside no_grad())"
        )
    seed = _seed_gradient(root, grad)
    if root.grad_fn is None or root._retains_grad:
        root.grad = seed.copy() if root.grad is None else root.grad + seed
        if root.grad_fn is None:
            return
    # A max-heap on the node number: a node runs once every consumer that can reach it ran.
    first = root.grad_fn
    first._pending = seed
    queue = [(-first.seq, first)]
    try:
        _run_backward(queue, retain_graph)
    except BaseException:
        for _, node in queue:  # leave no half-summed gradient behind for the next backward
            node._pending = None
        raise


def _maybe_shared(gi: np.ndarray, incoming: np.ndarray, grads: tuple) -> bool:
    """Whether a gradient about to become a leaf's `.grad` may share memory with another
    gradient (the node's incoming one, a view, or one array returned for two inputs), in
    which case the leaf gets a copy: writing into one `.grad` must never change another."""
    if gi is incoming or gi.base is not None:
        return True
    count = 0
    for other in grads:
        if other is gi:
            count += 1
    return count > 1


def _run_backward(queue: list, retain_graph: bool) -> None:
    """Pop nodes highest number first; each sends d(root)/d(input) on to its inputs' nodes
    (queued when they receive their first gradient) or into leaves' `.grad`."""
    ndarray = np.ndarray
    while queue:
        node = heapq.heappop(queue)[1]
        g = node._pending
        node._pending = None
        if node.saved_tensors is None:
            raise _freed_graph_error(node)
        grads = node.backward(node, g)
        if type(grads) is not tuple:
            grads = tuple(grads) if isinstance(grads, list) else (grads,)
        inputs = node.inputs
        if len(grads) != len(inputs):
            raise RuntimeError(
                f"{node.name}.backward returned {len(grads)} gradients for "
                f"{len(inputs)} inputs; return one per input (None where there is none)"
            )
        if _anomaly_mode:
            for gi in grads:
                if gi is not None:
                    _check_finite(np.asarray(gi), f"{node.name} backward", inputs)
        for t, gi in zip(inputs, grads):
            if gi is None or not t.requires_grad:
                continue
            data = t.data
            if type(gi) is not ndarray:
                gi = np.asarray(gi)
            if gi.shape != data.shape:
                gi = unbroadcast(gi, data.shape, node.name)
            if gi.dtype is not data.dtype and gi.dtype != data.dtype:
                gi = gi.astype(data.dtype)
            fn = t.grad_fn
            if fn is not None:
                if fn._pending is None:
                    fn._pending = gi
                    heapq.heappush(queue, (-fn.seq, fn))
                else:
                    fn._pending = fn._pending + gi
                if not t._retains_grad:
                    continue
            if t.grad is None:
                t.grad = gi.copy() if _maybe_shared(gi, g, grads) else gi
            else:
                t.grad = t.grad + gi
        if not retain_graph:
            node.saved_tensors = None


# ---- grad mode and friends --------------------------------------------------------------

class _GradMode:
    """Base of `no_grad` / `enable_grad`: a context manager that also decorates functions."""

    enabled = True

    def __enter__(self) -> None:
        global _grad_enabled
        self._previous = _grad_enabled
        _grad_enabled = self.enabled

    def __exit__(self, *exc: Any) -> None:
        global _grad_enabled
        _grad_enabled = self._previous

    def __call__(self, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with type(self)():
                return fn(*args, **kwargs)
        return wrapper


class no_grad(_GradMode):
    """Inside it, ops record no graph: results do not require grad."""

    enabled = False


class enable_grad(_GradMode):
    """Turn graph recording back on inside a `no_grad` block."""

    enabled = True


def is_grad_enabled() -> bool:
    return _grad_enabled


class set_grad_enabled(_GradMode):
    """`set_grad_enabled(False)` as a context manager, or a plain call that sets the mode."""

    def __init__(self, mode: bool) -> None:
        global _grad_enabled
        self.enabled = bool(mode)
        self._previous = _grad_enabled
        _grad_enabled = self.enabled

    def __enter__(self) -> None:
        pass

    def __call__(self, fn: Callable) -> Callable:  # pragma: no cover - PyTorch parity
        mode = self.enabled

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)
        return wrapper


class detect_anomaly:
    """Check every op's forward output and backward gradients for NaN/inf, naming the op."""

    def __enter__(self) -> None:
        global _anomaly_mode
        self._previous = _anomaly_mode
        _anomaly_mode = True

    def __exit__(self, *exc: Any) -> None:
        global _anomaly_mode
        _anomaly_mode = self._previous


class module_scope:
    """Record that the ops run inside belong to `module` (used by nn.Module.__call__)."""

    __slots__ = ("module", "_previous")

    def __init__(self, module: Any) -> None:
        self.module = module

    def __enter__(self) -> None:
        global _scope
        self._previous = _scope
        _scope = _scope + (self.module,)

    def __exit__(self, *exc: Any) -> None:
        global _scope
        _scope = self._previous


def leaves(root: Tensor) -> Iterable[Tensor]:
    """The leaf tensors that require grad and that `root` depends on, each once, in graph order."""
    if root.grad_fn is None:
        return [root] if root.requires_grad else []
    seen: set = set()
    found = []
    for node in topological_order(root.grad_fn):
        for t in node.inputs:
            if t.grad_fn is None and t.requires_grad and id(t) not in seen:
                seen.add(id(t))
                found.append(t)
    return found
