"""`minigrad.compile(step)`: capture a training step once, replay it without the framework.

The first call of the compiled function runs `step` eagerly while a tracer, installed in
this thread's engine state, notes every op `Function.apply` runs (its class, parameters,
input and output tensors), every backward walk (which node sent a gradient to which
input), and every `zero_grad` and optimiser `step`. From those notes it builds a plan: a
flat list of kernels bound to arrays allocated once (inputs, parameters, every
intermediate value and gradient), each writing its result in place with `out=`
(`minigrad.replay_kernels`). Later calls whose tensor arguments have the same shapes and
dtypes skip Python's framework entirely: copy the arguments into their buffers, run the
kernels in order, hand back fresh copies of the returned values. No Tensor or graph node
is made, and nothing the capture already proved (shapes, broadcasting, dtypes) is checked
again. New shapes or dtypes capture again (a small cache keyed by them). An SGD or Adam
update replays on flat buffers: the plan moves the optimiser's parameters (`p.data` becomes
a view, values unchanged), their gradients and its state into one array each.

The rule, as for `jax.jit`: the plan is the ops one run performed. Python code in the step
runs only during capture, so its branches and loops are frozen, and so is any value it
reads from a tensor. Reading a value (`.item()`, `float(t)`, `bool(t)`, `.tolist()`,
`.numpy()`, `np.asarray(t)`) during capture raises `CaptureError`; anything that changes
from call to call must be a tensor argument, not a tensor made inside the step or a
closed-over variable rebound between calls (rebinding one is detected and refused).
"""
from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

from minigrad.autograd import engine
from minigrad.autograd.constants import as_constants
from minigrad.autograd.function import Function
from minigrad.autograd.grad_mode import state
from minigrad.replay_kernels import FlatUpdate, OpSpec, flat_views, kernel_for
from minigrad.grad_array import GradArray
from minigrad.tensor import Tensor

__all__ = ["CaptureError", "Compiled"]  # not compile: a star import must not shadow the builtin


class CaptureError(RuntimeError):
    """The step cannot be captured or replayed safely; the message says why and the fix."""


# ---- what the tracer notes ----------------------------------------------------------------

class _Value:
    """One array of the plan: an argument (copied into `array` per call), an outside tensor
    read live (a parameter, a constant), or the output of a captured op."""

    __slots__ = ("array", "captured", "kind", "position", "tensor")

    def __init__(self, tensor: Tensor, kind: str, position: int = -1) -> None:
        self.tensor, self.captured, self.kind, self.position = tensor, tensor.data, kind, position
        self.array: np.ndarray | None = None   # the plan's buffer, set when it is built


class _Op:
    __slots__ = ("cls", "ins", "kernel", "needs", "node", "out", "params")
    # set after __init__: by the tracer (needs) and by the plan (kernel)
    needs: tuple[bool, ...]
    kernel: Any   # the op's replay kernel, from replay_kernels.kernel_for

    def __init__(self, cls: type[Function], params: dict, ins: list, out: _Value,
                 node: Any) -> None:
        self.cls, self.params, self.ins, self.out, self.node = cls, params, ins, out, node


class _Backward:
    __slots__ = ("fresh", "roots", "seeds", "steps")

    def __init__(self, roots: list, seeds: list, steps: list, fresh: set) -> None:
        self.roots, self.seeds, self.steps = roots, seeds, steps
        self.fresh = fresh   # ids of the _Values whose .grad was None when the walk began


_READERS = ("item", "tolist", "numpy", "__bool__", "__float__", "__int__", "__array__",
            "__index__")


@functools.cache
def _traced_class(cls: type) -> type:
    """`cls` with its value-reading methods refused: every tensor of a capture wears it."""
    def refuse(name: str) -> Callable:
        def method(self: Tensor, *args: Any, **kwargs: Any) -> Any:
            raise CaptureError(
                f"compile: {name}() on a tensor of shape {self.shape} while capturing the "
                f"step: a value read in Python is frozen into the plan and would be stale on "
                f"every later call. Return the tensor from the step and read it outside "
                f"(loss = step(x); loss.item()), or express the computation with minigrad ops")
        return method
    def recorded(ufunc: Any) -> Callable:
        def method(self: Tensor, other: Any) -> Any:
            if state.tracer is None:  # inside an op the tracer is running: compare plainly
                a, b = as_constants((self, other))
                return _Compare.apply(a, b, ufunc=ufunc)
            return state.tracer.apply(_Compare, (self, other), {"ufunc": ufunc})
        return method
    body = {"__slots__": (), "__hash__": object.__hash__,
            **{name: refuse(name.strip("_")) for name in _READERS},
            **{name: recorded(ufunc) for name, ufunc in _COMPARISONS.items()}}
    return type(f"Traced{cls.__name__}", (cls,), body)


_COMPARISONS = {"__lt__": np.less, "__le__": np.less_equal, "__gt__": np.greater,
                "__ge__": np.greater_equal, "__eq__": np.equal, "__ne__": np.not_equal}


class _Compare(Function):
    """A comparison operator on a traced tensor, recorded as an op of the plan (the tensor
    operators compare outside the graph, so Function.apply never sees them). A Function only
    for the plan's sake: its own `apply` makes no node, so it is never differentiated."""

    name = "compare"

    @staticmethod
    def forward(ctx: Any, *arrays: np.ndarray, **params: Any) -> np.ndarray:
        return params["ufunc"](*arrays)   # (a, b), ufunc=np.less etc.

    @classmethod
    def apply(cls, a: Tensor, b: Tensor, ufunc: Any = None) -> Tensor:
        return Tensor._make(np.asarray(cls.forward(None, a.data, b.data, ufunc=ufunc)), False,
                            None)


class _Tracer:
    """Installed in `state.tracer` during a capture: `Function.apply` and the engine's
    backward hand it their work, it runs that work eagerly and takes notes."""

    def __init__(self, args: tuple) -> None:
        self.values: dict = {}        # id(tensor) -> _Value
        self.arrays: dict = {}        # id(array) -> _Value, to know a detached value again
        self.events: list = []        # _Op, _Backward, ("zero_grad", params), ("step", opt)
        self.outside: list = []       # _Values of tensors from outside the step, read live
        self.swapped: list = []       # (tensor, its class before the capture)
        self.snapshots: list = []     # (tensor, version, copy of data) of outside leaves
        self.stepped: set = set()     # ids of the parameters an optimiser step updated
        tensors = [t for t in args if isinstance(t, Tensor)]
        if len({id(t) for t in tensors}) != len(tensors):
            raise CaptureError("compile: the same tensor is passed as two arguments; the plan "
                               "would read one buffer for both on later calls, so pass it once")
        self.inputs = [self._note(t, "input", i) for i, t in enumerate(args)
                       if isinstance(t, Tensor)]

    def _note(self, t: Tensor, kind: str, position: int = -1) -> _Value:
        value = self.values.get(id(t))
        if value is None and kind == "outside" and id(t.data) in self.arrays:
            value = self.values[id(t)] = self.arrays[id(t.data)]  # t.detach() of a value
        if value is None:
            if kind == "outside" and t.data.dtype == bool:
                raise CaptureError(
                    f"compile: a boolean tensor of shape {t.shape} made outside the recorded "
                    f"ops (by mg.greater(), np.less() or a logical_* function, which the "
                    f"capture cannot see) would be frozen into the plan; write comparisons "
                    f"with the operators (a > b), or pass the mask as an argument")
            value = self.values[id(t)] = _Value(t, kind, position)
            self.arrays[id(t.data)] = value
            if kind != "op":
                if kind == "outside":
                    self.outside.append(value)
                self.snapshots.append((t, t._version, t.data.copy()))
            cls: type = type(t)   # (as a plain type: mypy reads type[Tensor] as unhashable)
            self.swapped.append((t, cls))
            t.__class__ = _traced_class(cls)
        return value

    # -- the hooks -------------------------------------------------------------------------
    def apply(self, cls: type[Function], inputs: tuple, params: dict) -> Tensor:
        if not all(isinstance(x, Tensor) for x in inputs):
            inputs = as_constants(inputs)
        ins = [self._note(t, "outside") for t in inputs]
        state.tracer = None
        try:
            result = cls.apply(*inputs, **params)
        finally:
            state.tracer = self  # grad_mode declares `tracer = None`
        op = _Op(cls, params, ins, self._note(result, "op"), result.grad_fn)
        op.needs = tuple(t.requires_grad for t in inputs)
        self.events.append(op)
        return result

    def backward(self, roots: list, seeds: list, retain_graph: bool, create_graph: bool,
                 capture: Any, observe: Any) -> Any:
        if create_graph or capture is not None or observe is not None:
            what = ("create_graph=True" if create_graph else
                    "minigrad.grad()" if capture is not None else "backward_steps()")
            raise CaptureError(
                f"compile: {what} inside a compiled step is not supported (the plan replays "
                f"first-order backward into .grad only); call it outside the compiled function")
        steps: list = []
        fresh = {id(v) for v in self.values.values() if v.kind != "op" and v.tensor.grad is None}
        state.tracer = None
        try:
            engine._run(roots, seeds, retain_graph, False, observe=steps.append)
        finally:
            state.tracer = self  # grad_mode declares `tracer = None`
        for root in roots:
            if id(root) not in self.values or self.values[id(root)].kind != "op":
                raise CaptureError("compile: backward() from a tensor that was not computed "
                                   "inside the compiled step; compute the loss inside it")
        self.events.append(_Backward([self.values[id(r)] for r in roots],
                                     [np.array(s) for s in seeds],
                                     [(node, [g is not None for g in grads])
                                      for node, _, grads in steps], fresh))
        return {}

    def zero_grad(self, params: list, set_to_none: bool) -> None:
        self.events.append(("zero_grad", list(params), set_to_none))

    def optimizer_step(self, optimizer: Any) -> None:
        self.events.append(("step", optimizer))
        for group in optimizer.param_groups:
            self.stepped.update(id(p) for p in group["params"])

    # -- after the eager run -------------------------------------------------------------
    def finish(self) -> None:
        for t, cls in reversed(self.swapped):
            t.__class__ = cls

    def check(self) -> None:
        """Refuse what the plan would not reproduce: data replaced or changed in place
        inside the step by anything but a recorded optimiser update."""
        for t, version, before in self.snapshots:
            if t._version != version and id(t) not in self.stepped:  # an optimiser step ticks it
                raise CaptureError(
                    f"compile: a tensor of shape {t.shape} was changed in place inside the step "
                    f"(version {version} -> {t._version}); in-place tensor updates are not "
                    f"captured. Use an optimizer from minigrad.optim for parameter updates, or "
                    f"the out-of-place form (x = x + y)")
            value = self.values[id(t)]
            if t.data is not value.captured or (  # an optimiser's update is recorded
                    id(t) not in self.stepped and not np.array_equal(t.data, before,
                                                                     equal_nan=True)):
                raise CaptureError(
                    f"compile: the data of a tensor of shape {t.shape} was replaced or written "
                    f"inside the step by code the capture cannot see (t.data = ..., "
                    f"t.data[...] = ..., or an optimizer without a replay kernel); use "
                    f"minigrad.optim's SGD or Adam, or update outside the compiled function")


# ---- the plan -----------------------------------------------------------------------------

def _returned(result: Any, values: dict) -> tuple:
    """What the step returned, as a template: None, a value, or a tuple/list of values."""
    def one(t: Any) -> _Value:
        if not isinstance(t, Tensor):
            raise CaptureError(
                f"compile: the step returned a {type(t).__name__}; a compiled step may return "
                f"None, a Tensor, or a tuple or list of Tensors (they come back as fresh "
                f"tensors). Return the loss tensor and call .item() outside the step")
        value = values.get(id(t))
        if value is None:
            raise CaptureError("compile: the step returned a tensor that no op of the step "
                               "produced or read; return tensors computed inside the step")
        return value
    if result is None:
        return ("none", None)
    if isinstance(result, (tuple, list)):
        return (type(result), [one(t) for t in result])
    return ("one", one(result))


class _Plan:
    """The replayable step: kernels in order over arrays fixed when the plan was built."""

    def __init__(self, tracer: _Tracer, returned: tuple, closure: list) -> None:
        self.inputs: list[tuple[int, np.ndarray]] = []   # (argument position, its buffer)
        for v in tracer.inputs:
            buffer = v.array = v.captured.copy()
            self.inputs.append((v.position, buffer))
        self.closure = closure
        self.returned = returned
        self.args: tuple = ()   # this call's arguments, while its kernels run
        for v in tracer.outside:
            v.array = v.captured
        self.kernels: list = []
        ops_of_node = {id(e.node): e for e in tracer.events if isinstance(e, _Op) and e.node}
        self.leaf_grads: dict = {}   # id(_Value) -> the view of a flat gradient buffer
        self.delivered: dict = {}    # id(_Value) -> its GradArray view, what .grad holds
        updates = self._flatten(tracer, ops_of_node)
        reset: set = set()   # ids of tensors a zero_grad set to None, with only ops since
        for event in tracer.events:
            if isinstance(event, _Op):
                self._add_op(event)
            elif isinstance(event, _Backward):
                self._add_backward(event, ops_of_node, reset)
                reset = set()
            elif event[0] == "zero_grad":
                self.kernels.append(functools.partial(_zero_grad, event[1], event[2]))
                reset = {id(p) for p in event[1]} if event[2] else set()
            else:
                reset = set()
                self.kernels.append(updates.get(id(event[1])) or event[1].replay_kernel())
        self.outside = [(v.tensor, v.array) for v in tracer.outside]
        self.kernels = [k for k in self.kernels if k is not None]

    def _flatten(self, tracer: _Tracer, ops_of_node: dict) -> dict:
        """Move the parameters of each SGD/Adam the step runs, their gradients and their
        state into one flat buffer apiece (values unchanged; `p.data` becomes a view), so the
        update is a few ufunc calls on the whole model. Only for an optimiser whose every
        parameter got a gradient in the capture and belongs to no other optimiser."""
        graded = {}
        for event in tracer.events:
            if isinstance(event, _Backward):
                for node, sent in event.steps:
                    op = ops_of_node.get(id(node))
                    for v, has_grad in zip(op.ins if op else (), sent):
                        if has_grad and v.kind == "outside":
                            graded[id(v.tensor)] = v
        optimizers = [e[1] for e in tracer.events if isinstance(e, tuple) and e[0] == "step"]
        owners: dict = {}
        for opt in {id(o): o for o in optimizers}.values():
            for group in opt.param_groups:
                for p in group["params"]:
                    owners[id(p)] = owners.get(id(p), 0) + 1
        updates = {}
        for opt in {id(o): o for o in optimizers}.values():
            params = [p for group in opt.param_groups for p in group["params"]]
            if not FlatUpdate.supports(opt) or any(
                    id(p) not in graded or owners[id(p)] != 1 for p in params):
                continue
            values = [graded[id(p)] for p in params]
            flat, views = flat_views([p.data for p in params], params[0].data.dtype)
            for p, v, view in zip(params, values, views):
                p.data = v.array = v.captured = view
            flat_grad, grads = flat_views([np.zeros_like(p.data) for p in params], flat.dtype)
            # the flat update runs only while each .grad is still the very view handed out
            delivered = [g.view(GradArray) for g in grads]
            for v, g, view in zip(values, grads, delivered):
                self.leaf_grads[id(v)], self.delivered[id(v)] = g, view
            updates[id(opt)] = FlatUpdate(opt, flat, flat_grad, delivered)
        return updates

    def _add_op(self, op: _Op) -> None:
        out = op.out.captured
        spec = OpSpec(op.cls, op.params, [v.array for v in op.ins],
                      np.empty(out.shape, dtype=out.dtype), op.needs)
        op.kernel = kernel_for(spec)
        op.out.array = spec.out      # a view op's kernel replaced it with the fixed view
        self.kernels.append(op.kernel.forward())

    def _add_backward(self, event: _Backward, ops_of_node: dict, reset: set) -> None:
        """The walk the engine took, as kernels writing each gradient into its buffer (the
        first contribution writes, later ones add), then `.grad` of the leaves. `reset`: the
        tensors whose `.grad` a recorded zero_grad has just set to None."""
        grads: dict = {}             # id(_Value) -> its gradient buffer in this walk
        for root, seed in zip(event.roots, event.seeds):
            grads[id(root)] = seed
        leaves: list = []
        start = len(self.kernels)
        for node, sent in event.steps:
            op = ops_of_node.get(id(node))
            if op is None:
                raise CaptureError("compile: the loss depends on a graph built before the "
                                   "compiled step ran; compute every op of it inside the step")
            targets: list[np.ndarray | None] = []
            sums: list[tuple[np.ndarray, np.ndarray]] = []
            for v, has_grad in zip(op.ins, sent):
                if not has_grad:
                    targets.append(None)
                    continue
                buffer = self.leaf_grads.get(id(v)) if id(v) not in grads else None
                if buffer is None:
                    buffer = np.empty(v.captured.shape, dtype=v.captured.dtype)
                if id(v) in grads:   # a later contribution: write aside, then add, as eager
                    sums.append((grads[id(v)], buffer))
                else:
                    grads[id(v)] = buffer
                    if v.kind != "op":  # delivered as .grad: a GradArray view, made once
                        view = self.delivered.get(id(v))
                        leaves.append((v, buffer.view(GradArray) if view is None else view))
                    elif v.tensor._retains_grad:
                        raise CaptureError("compile: retain_grad() on an intermediate tensor "
                                           "is not supported in a compiled step")
                targets.append(buffer)
            self.kernels.append(op.kernel.backward(grads[id(op.out)], targets))
            for total, part in sums:
                self.kernels.append(functools.partial(np.add, total, part, out=total))
        # a leaf that zero_grad has just reset needs neither the check nor the sum
        plain = [(v, b) for v, b in leaves if v.kind == "outside" and id(v.tensor) in reset]
        others = [(v, b) for v, b in leaves if not (v.kind == "outside" and id(v.tensor) in reset)]
        if others:
            self.kernels.insert(start, self._unshare(others, event.fresh))
            self.kernels.append(self._delivery(others))
        if plain:
            self.kernels.append(functools.partial(_assign_grads, [v.tensor for v, _ in plain],
                                                  [b for _, b in plain]))

    def _unshare(self, leaves: list, fresh: set) -> Callable[[], None]:
        """Before the walk: a leaf whose `.grad` was None during the capture must be None now
        (reset by a recorded zero_grad), else eager might have accumulated or reset it in a
        way the plan cannot tell; a leaf still holding this walk's buffer from the last call
        keeps a copy, since the walk is about to overwrite the buffer."""
        # (an argument is the caller's tensor, new or not: its .grad adds up as in eager)
        checks = [(v.tensor, buffer, id(v) in fresh) if v.kind == "outside" else
                  (v.position, buffer, False) for v, buffer in leaves]
        plan = self

        def unshare() -> None:
            for t, g, was_none in checks:
                if type(t) is int:            # an argument: this call's tensor
                    t = plan.args[t]
                if t._grad is None:  # the slot behind .grad (no property call on replay)
                    continue
                if was_none:
                    raise CaptureError(
                        f"compile: a parameter of shape {t.shape} holds a .grad when the "
                        f"replayed backward begins, but had none during the capture; reset "
                        f"gradients inside the step with optimizer.zero_grad() or "
                        f"module.zero_grad() (a plain `p.grad = None` is not recorded), or, to "
                        f"accumulate over calls, capture with the gradients already present")
                if t._grad is g:
                    t._grad = g.copy()
        return unshare

    def _delivery(self, leaves: list) -> Callable[[], None]:
        """Hand each leaf its gradient as the engine does: `.grad = g`, or `.grad + g` when
        it already holds one (no zero_grad in between)."""
        outside = [(v.tensor, buffer) for v, buffer in leaves if v.kind == "outside"]
        inputs = [(v.position, buffer) for v, buffer in leaves if v.kind == "input"]
        plan = self

        def deliver() -> None:
            for t, g in outside:  # the slot behind .grad; g is already a GradArray
                t._grad = g if t._grad is None else t._grad + g
            for position, g in inputs:
                t = plan.args[position]
                t._grad = g if t._grad is None else t._grad + g
        return deliver

    # -- replay ---------------------------------------------------------------------------
    def run(self, args: tuple) -> Any:
        for t, array in self.outside:
            if t.data is not array:
                raise CaptureError(
                    f"compile: the data of a tensor of shape {t.shape} the step reads "
                    f"(a parameter or a constant) was replaced since the capture (t.data = "
                    f"...), so the plan would read the old array; change it in place "
                    f"(t.data[...] = new) or call compiled.reset() to capture again")
        for cell, obj in self.closure:
            if cell.cell_contents is not obj:
                raise CaptureError(
                    "compile: a tensor the step reads from an enclosing scope was rebound "
                    "since the capture, so the plan would read the old one; pass it as an "
                    "argument of the compiled function, or call compiled.reset()")
        for position, buffer in self.inputs:
            buffer[...] = args[position].data
        self.args = args
        for kernel in self.kernels:
            kernel()
        self.args = ()
        kind, template = self.returned
        if kind == "none":
            return None
        if kind == "one":
            return Tensor._make(template.array.copy(), False, None)
        return kind(Tensor._make(v.array.copy(), False, None) for v in template)


def _assign_grads(tensors: list, grads: list) -> None:
    for t, g in zip(tensors, grads):  # GradArray views: straight into the slot behind .grad
        t._grad = g


def _zero_grad(params: list, set_to_none: bool) -> None:
    for p in params:
        if set_to_none:
            p._grad = None   # the slot behind .grad (no property call on replay)
        elif p._grad is not None:
            p._grad.fill(0)


# ---- the compiled function ----------------------------------------------------------------

class Compiled:
    """`step` captured per argument signature (shapes and dtypes of tensor arguments, values
    of the others) and replayed; at most `cache_size` plans are kept (least recent dropped)."""

    def __init__(self, step: Callable, cache_size: int = 8) -> None:
        if not callable(step):
            raise TypeError(f"compile: expected a function to compile, got {type(step).__name__}")
        self.step = step
        self.cache_size = cache_size
        self.plans: OrderedDict = OrderedDict()
        self.last: tuple | None = None   # (grad mode, argument shapes/dtypes, plan) of last call
        functools.update_wrapper(self, step)

    def reset(self) -> None:
        """Forget every plan: the next call captures again (after replacing parameters)."""
        self.plans.clear()
        self.last = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs:
            raise TypeError("compile: pass the compiled function's arguments by position")
        last = self.last
        if last is not None and last[0] == state.grad_enabled and len(args) == len(last[1]):
            # the common case, checked cheaply: the same argument types as the last call
            for a, (shape, dtype) in zip(args, last[1]):
                if type(a) is not Tensor or a.data.shape != shape or a.data.dtype is not dtype:
                    break
            else:
                if not (state.anomaly or state.tracer is not None):
                    return last[2].run(args)
        if state.anomaly or state.tracer is not None:
            return self.step(*args)  # detect_anomaly checks every op: run eagerly
        key = (state.grad_enabled,) + tuple(_signature(a) for a in args)
        plan = self.plans.get(key)
        if plan is None:
            result, plan = self._capture(args)
            self.plans[key] = plan
            if len(self.plans) > self.cache_size:
                self.plans.popitem(last=False)
        else:
            self.plans.move_to_end(key)
            result = plan.run(args)
        plain = all(type(a) is Tensor and not a.requires_grad for a in args)
        self.last = (key[0], [(a.data.shape, a.data.dtype) for a in args], plan) if plain else None
        return result

    def _capture(self, args: tuple) -> tuple:
        tracer = _Tracer(args)
        closure = _closure_tensors(self.step)
        state.tracer = tracer  # grad_mode declares `tracer = None`
        try:
            result = self.step(*args)
        finally:
            state.tracer = None
            tracer.finish()
        tracer.check()
        returned = _returned(result, tracer.values)
        plan = _Plan(tracer, returned, closure)
        if isinstance(result, Tensor):
            result = Tensor._make(result.data.copy(), False, None)
        elif isinstance(result, (tuple, list)):
            result = type(result)(Tensor._make(t.data.copy(), False, None) for t in result)
        return result, plan


def _signature(arg: Any) -> Any:
    if isinstance(arg, Tensor):
        return ("tensor", arg.data.shape, arg.data.dtype.str, arg.requires_grad)
    if isinstance(arg, np.ndarray):
        raise TypeError(f"compile: an ndarray argument of shape {arg.shape}: pass tensors "
                        f"(minigrad.Tensor(array)) so that each call's values are used")
    try:
        hash(arg)
    except TypeError:
        raise TypeError(f"compile: argument of type {type(arg).__name__} is neither a tensor "
                        f"nor hashable; other arguments are keys of the plan cache") from None
    return ("static", type(arg), arg)


def _closure_tensors(fn: Callable) -> list:
    """The closure cells of `fn` that hold tensors: rebinding one later is detected."""
    cells = getattr(fn, "__closure__", None) or ()
    out = []
    for cell in cells:
        try:
            obj = cell.cell_contents
        except ValueError:  # an empty cell
            continue
        if isinstance(obj, Tensor):
            out.append((cell, obj))
    return out


def compile(step: Callable | None = None, *, cache_size: int = 8) -> Any:  # noqa: A001
    """Capture `step` on its first call and replay it on later calls with the same argument
    shapes and dtypes (see the module docstring for the rules). Usable as `@compile`."""
    if step is None:
        return lambda fn: Compiled(fn, cache_size)
    return Compiled(step, cache_size)
