"""Random programs: a machine, not a user, should find the class of bugs of issue 10.

Hypothesis composes random chains of ops over random broadcasting shapes, with edge values
(0, ties, +-large, empty axes) among the inputs, and checks every gradient with `gradcheck`
(and the forward against the same program run in plain NumPy). Derandomised, so the suite
stays deterministic; each example is small so the whole test takes seconds.
"""
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minigrad as mg

# each op: (minigrad, numpy, domain guard applied to its input first); the guards are smooth
# (no kink for finite differences to trip on) and written so they run on arrays and tensors
UNARY = {
    "exp": (mg.exp, np.exp, lambda v: 3 * np.tanh(v)),
    "log": (mg.log, np.log, lambda v: v * v + 0.5),
    "sqrt": (mg.sqrt, np.sqrt, lambda v: v * v + 0.5),
    "tanh": (mg.tanh, np.tanh, None),
    "sigmoid": (mg.sigmoid, lambda v: 1 / (1 + np.exp(-v)), None),
    "softplus": (mg.softplus, lambda v: np.logaddexp(v, 0), None),
    "square": (lambda t: t ** 2, lambda v: v ** 2, None),
    "cube": (lambda t: t ** 3, lambda v: v ** 3, None),
    "neg": (lambda t: -t, np.negative, None),
    "scale": (lambda t: t * 0.5 + 1.0, lambda v: v * 0.5 + 1.0, None),
    "poly": (lambda t: 1.0 + 2.0 * t ** 1 + 3.0 * t ** 2 + t ** 0,
             lambda v: 1.0 + 2.0 * v ** 1 + 3.0 * v ** 2 + v ** 0, None),
}
BINARY = {
    "add": (lambda a, b: a + b, np.add),
    "sub": (lambda a, b: a - b, np.subtract),
    "mul": (lambda a, b: a * b, np.multiply),
    "div": (lambda a, b: a / (b * b + 1.0), lambda a, b: a / (b * b + 1.0)),
    "maximum": (mg.maximum, np.maximum),
    "minimum": (mg.minimum, np.minimum),
}
REDUCE = {
    "sum": (lambda t, ax: t.sum(axis=ax), lambda v, ax: v.sum(axis=ax)),
    "mean": (lambda t, ax: t.mean(axis=ax), lambda v, ax: v.mean(axis=ax)),
    "softmax": (lambda t, ax: mg.softmax(t, axis=ax), lambda v, ax: _softmax(v, ax)),
}


def _softmax(v, axis):
    if v.shape[axis] == 0:
        return v.copy()
    e = np.exp(v - v.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


EDGES = [0.0, 0.0, 1.0, -1.0, 1e3, -1e3, 2.5]


@st.composite
def programs(draw):
    ndim = draw(st.integers(1, 3))
    # size-0 axes now and then: every op must take an empty tensor in its stride
    full = tuple(draw(st.lists(st.integers(0, 3), min_size=ndim, max_size=ndim)))
    # the second input broadcasts: some axes set to 1, some leading axes dropped
    other = tuple(n if draw(st.booleans()) else 1 for n in full)[draw(st.integers(0, ndim - 1)):]
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    a, b = (rng.uniform(-2, 2, size=s) for s in (full, other))
    for arr in (a, b):  # sprinkle edge values and ties
        flat = arr.reshape(-1)
        for i in range(flat.size):
            if draw(st.integers(0, 5)) == 0:
                flat[i] = draw(st.sampled_from(EDGES))
    steps = draw(st.lists(st.one_of(
        st.tuples(st.just("u"), st.sampled_from(sorted(UNARY))),
        st.tuples(st.just("b"), st.sampled_from(sorted(BINARY)))), min_size=1, max_size=4))
    reduce = draw(st.sampled_from(sorted(REDUCE)))
    axis = draw(st.integers(-ndim, ndim - 1))
    return a, b, steps, reduce, axis


def run(program, a, b, mg_side):
    _, _, steps, reduce, axis = program
    x, y = a, b
    for kind, name in steps:
        if kind == "u":
            mg_fn, np_fn, guard = UNARY[name]
            x = x if guard is None else guard(x)   # NumPy's functions dispatch on tensors
            x = mg_fn(x) if mg_side else np_fn(x)
        else:
            mg_fn, np_fn = BINARY[name]
            x = mg_fn(x, y) if mg_side else np_fn(x, y)
    mg_r, np_r = REDUCE[reduce]
    return mg_r(x, axis) if mg_side else np_r(x, axis)


def has_a_tie(program, a, b) -> bool:
    """maximum/minimum at a tie is a kink: its split gradient is a convention (PyTorch's),
    which finite differences cannot confirm."""
    _, _, steps, _, _ = program
    return any(name in ("maximum", "minimum") for _, name in steps)


@settings(max_examples=120, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(programs())
def test_random_programs_match_numpy_and_finite_differences(program):
    a, b, *_ = program
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = run(program, a, b, mg_side=False)
        ta, tb = mg.Tensor(a, requires_grad=True), mg.Tensor(b, requires_grad=True)
        got = run(program, ta, tb, mg_side=True)
    np.testing.assert_allclose(got.data, expected, rtol=1e-10, atol=1e-12)
    if a.size == 0 or got.size == 0:
        got.sum().backward()  # an empty program still runs backward to empty gradients
        assert ta.grad is None or ta.grad.shape == a.shape
    if not np.all(np.isfinite(expected)) or np.abs(expected).max(initial=0) > 1e6:
        return  # overflowed or huge: finite differences cannot judge it
    # finite differences are only meaningful away from ties
    if has_a_tie(program, a, b) and np.any(np.isin(a, b)):
        return
    if a.size == 0:
        return  # nothing to perturb; the forward and backward above ran through empty arrays
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert mg.gradcheck(lambda x, y: run(program, x, y, mg_side=True), [ta, tb],
                            atol=1e-4, rtol=1e-3)


@pytest.mark.parametrize("shape", [(0,), (0, 3), (2, 0)])
def test_empty_inputs_flow_through_every_op(shape):
    x = mg.Tensor(np.zeros(shape), requires_grad=True)
    y = x
    for mg_fn, _, _ in UNARY.values():
        y = mg_fn(y) if mg_fn not in (mg.log, mg.sqrt) else mg_fn(mg.abs(y) + 1.0)
    y = y + x * x
    y.sum().backward()
    assert x.grad.shape == shape and y.shape == shape
