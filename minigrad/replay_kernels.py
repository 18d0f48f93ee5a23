"""Replay kernels: the NumPy work of one op (or one optimiser update) on fixed arrays.

`minigrad.compile` captures a step as a list of ops; to replay it, each op becomes a kernel
bound to arrays allocated once: `forward()` writes the op's output with `out=`, and
`backward(g, targets)` returns a closure that writes d(root)/d(input i) into `targets[i]`
(None where no gradient is wanted). A kernel runs the same NumPy expressions as the op's own
forward and backward, in the same order, so replayed numbers equal eager ones bit for bit.

Ops with a kernel here (the layers and losses a training step spends its time in): Affine,
Tanh, ReLU, GaussianParams, GaussianKL (packed, mean or sum). Every other op replays through
`Generic`, which calls the op's own forward and backward on arrays and copies the results
into the fixed buffers: the same numbers, with the op's allocations and checks kept.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

__all__ = ["KERNELS", "AffineKernel", "FlatUpdate", "GaussianKLKernel", "GaussianParamsKernel",
           "Generic", "OpSpec", "ReLUKernel", "ReplayContext", "TanhKernel", "constant",
           "flat_views", "is_view_op", "kernel_for"]


from minigrad.autograd.gradients import fit
from minigrad.autograd.function import Function
from minigrad.nn.functional import GaussianKL, _diagnose_kl
from minigrad.nn.heads import GaussianParams
from minigrad.nn.layers import Affine
from minigrad.ops.elementwise import ReLU, Tanh
from minigrad.ops.shape import (BroadcastTo, ExpandDims, GetItem, Reshape, Squeeze, Transpose,
                                _is_advanced)


def constant(value: float, like: np.ndarray) -> np.ndarray:
    """`value` as a 0-d array of `like`'s dtype: the number NumPy would convert a Python
    scalar to on every call (the same bits), converted once."""
    return np.array(value, dtype=like.dtype)


class OpSpec:
    """What the planner knows of one captured op: its class and parameters, the arrays of its
    inputs and output (fixed for the plan's life) and which inputs need a gradient."""

    __slots__ = ("cls", "ins", "needs", "out", "params")

    def __init__(self, cls: type[Function], params: dict, ins: list, out: np.ndarray,
                 needs: tuple) -> None:
        self.cls, self.params, self.ins, self.out, self.needs = cls, params, ins, out, needs


class ReplayContext:
    """The ctx a generic op's forward and backward share during one replay (not a graph node)."""

    def __init__(self, name: str, needs: tuple) -> None:
        self.name = name
        self.needs_input_grad = needs
        self.saved_tensors = ()

    def save_for_backward(self, *arrays: Any) -> None:
        self.saved_tensors = arrays


# ---- the generic kernel: the op's own code on arrays --------------------------------------

# Ops whose output is a view of their input: on fixed buffers the view is fixed too, so it is
# made once when the plan is built and costs nothing per replay.
VIEW_OPS = (Reshape, Squeeze, ExpandDims, Transpose, BroadcastTo, GetItem)


def is_view_op(spec: OpSpec) -> bool:
    return issubclass(spec.cls, VIEW_OPS) and not (
        spec.cls is GetItem and _is_advanced(spec.params.get("index")))


class Generic:
    """Any op: its forward and backward run as written, results copied into the buffers."""

    def __init__(self, spec: OpSpec) -> None:
        self.spec = spec
        self.ctx = ReplayContext(spec.cls.name, spec.needs)
        if is_view_op(spec):  # run once now: the view of a fixed buffer stays valid
            spec.out = spec.cls.forward(self.ctx, *spec.ins, **spec.params)

    def forward(self) -> Callable[[], None] | None:
        if is_view_op(self.spec):
            return None
        spec, forward = self.spec, self.spec.cls.forward
        ins, out, params, cls = spec.ins, spec.out, spec.params, spec.cls

        def run() -> None:
            self.ctx = ctx = ReplayContext(cls.name, spec.needs)
            np.copyto(out, forward(ctx, *ins, **params), casting="unsafe")
        return run

    def backward(self, g: np.ndarray, targets: list) -> Callable[[], None]:
        spec, backward = self.spec, self.spec.cls.backward
        wanted = [(i, t, spec.ins[i]) for i, t in enumerate(targets) if t is not None]
        name = spec.cls.name

        def run() -> None:
            grads = backward(self.ctx, g)
            if type(grads) is not tuple:
                grads = tuple(grads) if isinstance(grads, list) else (grads,)
            for i, target, data in wanted:
                np.copyto(target, fit(grads[i], data, name), casting="unsafe")
        return run


# ---- hand-written kernels for the ops a training step spends its time in ------------------

class AffineKernel:
    """y = x @ W + b;  dx = g @ W^T, dW = x^T g, db = sum of g over rows (2-D x only)."""

    @staticmethod
    def supports(spec: OpSpec) -> bool:
        return spec.ins[0].ndim == 2

    def __init__(self, spec: OpSpec) -> None:
        self.spec = spec

    def forward(self) -> Callable[[], None]:
        x, w, out = self.spec.ins[0], self.spec.ins[1], self.spec.out
        matmul = np.matmul
        if len(self.spec.ins) == 2:
            def run_no_bias() -> None:
                matmul(x, w, out=out)
            return run_no_bias
        b = self.spec.ins[2]
        add = np.add

        def run() -> None:
            matmul(x, w, out=out)
            add(out, b, out=out)
        return run

    def backward(self, g: np.ndarray, targets: list) -> Callable[[], None]:
        x, w = self.spec.ins[0], self.spec.ins[1]
        xT, wT = x.T, w.T
        gx, gw = targets[0], targets[1]
        gb = targets[2] if len(targets) == 3 else None
        matmul, reduce = np.matmul, np.add.reduce

        def run() -> None:
            if gx is not None:
                matmul(g, wT, out=gx)
            if gw is not None:
                matmul(xT, g, out=gw)
            if gb is not None:
                reduce(g, axis=0, out=gb)
        return run


class TanhKernel:
    """y = tanh(x);  dx = g (1 - y^2)."""

    supports = staticmethod(lambda spec: True)

    def __init__(self, spec: OpSpec) -> None:
        self.spec = spec
        self.scratch = np.empty_like(spec.out)

    def forward(self) -> Callable[[], None]:
        x, out, tanh = self.spec.ins[0], self.spec.out, np.tanh
        return lambda: tanh(x, out=out)

    def backward(self, g: np.ndarray, targets: list) -> Callable[[], None]:
        y, t, gx = self.spec.out, self.scratch, targets[0]
        multiply, subtract, one = np.multiply, np.subtract, constant(1, self.spec.out)

        def run() -> None:
            multiply(y, y, out=t)
            subtract(one, t, out=t)
            multiply(g, t, out=gx)
        return run


class ReLUKernel:
    """y = max(x, 0);  dx = g where x > 0, else 0."""

    supports = staticmethod(lambda spec: True)

    def __init__(self, spec: OpSpec) -> None:
        self.spec = spec
        self.mask = np.empty(spec.out.shape, dtype=bool)

    def forward(self) -> Callable[[], None]:
        x, out, maximum = self.spec.ins[0], self.spec.out, np.maximum
        zero = constant(0, out)
        return lambda: maximum(x, zero, out=out)

    def backward(self, g: np.ndarray, targets: list) -> Callable[[], None]:
        x, mask, gx = self.spec.ins[0], self.mask, targets[0]
        zero = constant(0, x)

        def run() -> None:
            np.greater(x, zero, out=mask)
            gx.fill(0)
            np.copyto(gx, g, where=mask)
        return run


class GaussianParamsKernel:
    """[mu, sigma] = [raw0, softplus(raw1) + min_sigma];  d raw1 = g1 sigmoid(raw1)."""

    supports = staticmethod(lambda spec: True)

    def __init__(self, spec: OpSpec) -> None:
        self.spec = spec
        column = spec.out[..., 1]
        self.softplus, self.slope = np.empty_like(column), np.empty_like(column)

    def forward(self) -> Callable[[], None]:
        raw, out = self.spec.ins[0], self.spec.out
        raw1, out1 = raw[..., 1], out[..., 1]
        min_sigma = constant(self.spec.params.get("min_sigma", 1e-6), out)
        zero, logaddexp = constant(0, out), np.logaddexp

        softplus = self.softplus

        def run() -> None:
            out[...] = raw
            logaddexp(raw1, zero, out=softplus)
            np.add(softplus, min_sigma, out=out1)
        return run

    def backward(self, g: np.ndarray, targets: list) -> Callable[[], None]:
        target = targets[0]
        softplus, slope = self.softplus, self.slope
        g0, g1, t0, t1 = g[..., 0], g[..., 1], target[..., 0], target[..., 1]

        def run() -> None:
            # kernels.gaussian_params_grad step by step: slope = -expm1(-softplus(raw1))
            np.negative(softplus, out=slope)
            np.expm1(slope, out=slope)
            t0[...] = g0
            np.multiply(g1, slope, out=t1)
            np.negative(t1, out=t1)
        return run


class GaussianKLKernel:
    """Mean (or sum) KL(target || pred) on packed [mu, sigma]: the terms z, r, d = r - 1 and
    1/s_m of the forward are kept for the backward (the eager backward recomputes the very
    same numbers). The forward's input screens become one check that the loss is finite;
    when it is not, the eager checks run and name the bad input."""

    @staticmethod
    def supports(spec: OpSpec) -> bool:
        pred, target = spec.ins[0], spec.ins[1]
        return (spec.params.get("packed", True) and len(spec.ins) == 2
                and spec.params.get("reduction", "mean") in ("mean", "sum")
                and pred.shape == target.shape and not spec.needs[1])

    def __init__(self, spec: OpSpec) -> None:
        self.spec = spec
        column = spec.ins[0][..., 0]
        self.z, self.r, self.q, self.inv, self.log_r = (
            np.empty(column.shape, dtype=spec.out.dtype) for _ in range(5))
        self.count = math.prod(column.shape)
        self.mean = spec.params.get("reduction", "mean") == "mean"

    def forward(self) -> Callable[[], None]:
        pred, target, out = self.spec.ins[0], self.spec.ins[1], self.spec.out
        mu_m, s_m, mu_gt, s_gt = pred[..., 0], pred[..., 1], target[..., 0], target[..., 1]
        z, r, log_r = self.z, self.r, self.log_r
        count, mean = self.count, self.mean
        reduce = np.add.reduce

        def run() -> None:
            # functional._kl_value step by step, into buffers (no np.errstate here: it costs
            # more than the arithmetic at small sizes; a non-finite loss is diagnosed below)
            np.divide(s_gt, s_m, out=r)
            np.log(r, out=log_r)
            np.subtract(mu_gt, mu_m, out=z)
            np.divide(z, s_m, out=z)
            np.multiply(z, z, out=z)
            np.multiply(r, r, out=r)
            np.add(r, z, out=r)
            np.subtract(r, 1.0, out=r)
            np.multiply(r, 0.5, out=r)
            np.subtract(r, log_r, out=r)
            total = reduce(r, axis=None)
            out[...] = total / count if mean else total
            if not math.isfinite(out):
                self.diagnose()
        return run

    def diagnose(self) -> None:
        """The eager op's checks, which raise naming the input (or the overflowing term)."""
        pred, target = self.spec.ins
        with np.errstate(all="ignore"):
            GaussianKL.forward(ReplayContext("GaussianKLLoss", self.spec.needs), pred, target,
                               **self.spec.params)
        _diagnose_kl((pred, target), True)  # forward accepted: the sum itself overflowed

    def backward(self, g: np.ndarray, targets: list) -> Callable[[], None]:
        pred = self.spec.ins[0]
        target_in = self.spec.ins[1]
        mu_m, s_m, mu_gt, s_gt = pred[..., 0], pred[..., 1], target_in[..., 0], target_in[..., 1]
        target = targets[0]
        z, q, inv = self.z, self.q, self.inv
        t0, t1 = target[..., 0], target[..., 1]
        count, mean = self.count, self.mean

        def run() -> None:
            # kernels.kl_grads step by step, into buffers
            scale = float(g) / count if mean else float(g)
            np.divide(1.0, s_m, out=inv)
            np.subtract(mu_gt, mu_m, out=z)
            np.multiply(z, inv, out=z)
            np.divide(s_gt, s_m, out=q)
            np.multiply(q, q, out=q)
            np.subtract(q, 1.0, out=q)
            np.multiply(inv, -scale, out=inv)
            np.multiply(z, inv, out=t0)
            np.multiply(z, z, out=z)
            np.add(z, q, out=z)
            np.multiply(z, inv, out=t1)
        return run


KERNELS: dict = {Affine: AffineKernel, Tanh: TanhKernel, ReLU: ReLUKernel,
                 GaussianParams: GaussianParamsKernel, GaussianKL: GaussianKLKernel}


def kernel_for(spec: OpSpec) -> Any:
    """The hand-written kernel of the op when it has one that fits these shapes, else Generic."""
    kernel = KERNELS.get(spec.cls)
    if kernel is not None and kernel.supports(spec):
        return kernel(spec)
    return Generic(spec)


# ---- optimiser updates on one flat buffer -------------------------------------------------

def flat_views(arrays: list, dtype: Any) -> tuple:
    """One flat buffer holding `arrays` (copied in), and a view of it shaped like each; when
    the arrays already are such views, in order (another plan of the same step made them),
    that buffer and the arrays themselves."""
    base = arrays[0].base
    if base is not None and base.ndim == 1 and base.dtype == dtype and base.flags.c_contiguous \
            and base.size == sum(a.size for a in arrays):
        start, address = 0, base.__array_interface__["data"][0]
        for a in arrays:
            if a.base is not base or not a.flags.c_contiguous or \
                    a.__array_interface__["data"][0] != address + start * base.itemsize:
                break
            start += a.size
        else:
            return base, list(arrays)
    flat = np.empty(sum(a.size for a in arrays), dtype=dtype)
    views, start = [], 0
    for a in arrays:
        view = flat[start:start + a.size].reshape(a.shape)
        view[...] = a
        views.append(view)
        start += a.size
    return flat, views


class FlatUpdate:
    """An SGD or Adam update of every parameter of a one-group optimiser at once, on flat
    buffers of which the parameters, their gradients and their state are views (the planner
    arranges that). Each call first checks that this still holds (every gradient and state
    array is the view it was, the structural options unchanged); if not, it runs the
    optimiser's own `step()`, which handles any state."""

    STATE: ClassVar[dict[str, tuple[str, ...]]] = {
        "SGD": ("momentum_buffer",), "Adam": ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")}

    def __init__(self, optimizer: Any, flat_param: np.ndarray, flat_grad: np.ndarray,
                 grads: list) -> None:
        self.opt, self.p, self.g = optimizer, flat_param, flat_grad
        self.params = optimizer.param_groups[0]["params"]
        self.grads = grads
        self.kind = type(optimizer).__name__
        self.flat_state: dict = {}
        for key in self.STATE[self.kind]:
            arrays = [optimizer.state[p].get(key) for p in self.params]
            if all(a is not None for a in arrays):
                self.flat_state[key], views = flat_views(arrays, flat_param.dtype)
                for p, view in zip(self.params, views):
                    optimizer.state[p][key] = view
        self.views = {key: [optimizer.state[p][key] for p in self.params]
                      for key in self.flat_state}
        self.work = np.empty_like(flat_param)
        self.work2 = np.empty_like(flat_param)

    @staticmethod
    def supports(optimizer: Any) -> bool:
        groups = optimizer.param_groups
        if type(optimizer).__name__ not in FlatUpdate.STATE or len(groups) != 1:
            return False
        params = groups[0]["params"]
        if len({p.data.dtype for p in params}) != 1:
            return False
        return type(optimizer).__name__ == "SGD" or all(optimizer.state.get(p) for p in params)

    def still_flat(self) -> bool:
        opt = self.opt
        if len(opt.param_groups) != 1 or opt.param_groups[0]["params"] is not self.params:
            return False
        group = opt.param_groups[0]  # its options are read afresh on every call
        for p, g in zip(self.params, self.grads):
            if p._grad is not g:  # the slot behind .grad
                return False
        state = opt.state
        for key, views in self.views.items():
            for p, view in zip(self.params, views):
                entry = state.get(p)
                if entry is None or entry.get(key) is not view:
                    return False
        if self.kind == "SGD" and group["momentum"] != 0 and "momentum_buffer" not in self.views:
            return False
        return not (self.kind == "Adam" and group["amsgrad"]
                    and "max_exp_avg_sq" not in self.views)

    def __call__(self) -> None:
        if not self.still_flat():
            self.opt.step()
            return
        group = self.opt.param_groups[0]
        if self.kind == "SGD":
            self._sgd(group)
        else:
            self._adam(group)

    def _effective_grad(self, group: dict) -> tuple:
        """+-grad (+ weight_decay p), as optim.optimizer.effective_grad; (array, owned)."""
        weight_decay = float(group["weight_decay"])
        if weight_decay == 0:
            if group["maximize"]:
                return np.negative(self.g, out=self.work2), True
            return self.g, False
        g = np.multiply(self.p, weight_decay, out=self.work2)
        if group["maximize"]:
            g -= self.g
        else:
            g += self.g
        return g, True

    def _sgd(self, group: dict) -> None:
        lr, momentum = float(group["lr"]), float(group["momentum"])
        dampening = float(group["dampening"])
        g, owned = self._effective_grad(group)
        if momentum != 0:
            buf = self.flat_state["momentum_buffer"]
            buf *= momentum
            if dampening == 0:
                buf += g
            else:
                buf += np.multiply(g, 1 - dampening, out=self.work)
            if group["nesterov"]:
                np.multiply(buf, momentum, out=self.work)
                self.work += g
                g, owned = self.work, True
            else:
                g, owned = buf, False
        if owned:
            g *= lr
            self.p -= g
        else:
            self.p -= np.multiply(lr, g, out=self.work)

    def _adam(self, group: dict) -> None:
        lr, eps = float(group["lr"]), float(group["eps"])
        beta1, beta2 = (float(b) for b in group["betas"])
        states = [self.opt.state[p] for p in self.params]
        t = states[0]["step"] + 1
        if any(s["step"] + 1 != t for s in states):
            self.opt.step()  # parameters at different step counts: the general path
            return
        for s in states:
            s["step"] = t
        g, _ = self._effective_grad(group)
        m, v, work = self.flat_state["exp_avg"], self.flat_state["exp_avg_sq"], self.work
        m *= beta1
        m += np.multiply(g, 1 - beta1, out=work)
        v *= beta2
        np.multiply(g, g, out=work)
        work *= 1 - beta2
        v += work
        if group["amsgrad"]:
            v = np.maximum(self.flat_state["max_exp_avg_sq"], v,
                           out=self.flat_state["max_exp_avg_sq"])
        denom = np.sqrt(v, out=work)
        denom /= math.sqrt(1 - beta2 ** t)
        denom += eps
        update = np.divide(m, denom, out=work)
        update *= lr / (1 - beta1 ** t)
        self.p -= update
