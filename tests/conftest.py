"""Shared test helper: one call checks an op's forward against NumPy and its gradient
against minigrad's own `gradcheck` (finite differences), so an op case is one line.

Test modules get it through the `check_op` fixture (tests/ has no __init__.py, so a
fixture is the one way to share code between directories).
"""
from typing import Any, Callable, Sequence

import numpy as np
import pytest

import minigrad as mg


def random_inputs(shapes: Sequence[tuple], low: float = -2.0, high: float = 2.0,
                  seed: int = 0) -> list:
    """Float64 arrays, uniform in [low, high), one per shape; the same for the same seed."""
    rng = np.random.default_rng(seed)
    return [rng.uniform(low, high, size=shape) for shape in shapes]


def check_op(mg_fn: Callable[..., Any], np_fn: Callable[..., Any] | None,
             shapes: Sequence[tuple], low: float = -2.0, high: float = 2.0,
             seed: int = 0, arrays: Sequence[np.ndarray] | None = None,
             rtol: float = 1e-10, atol: float = 1e-12) -> mg.Tensor:
    """Check `mg_fn` on float64 inputs of `shapes` (or on the given `arrays`).

    Forward: `mg_fn(*tensors)` must equal `np_fn(*arrays)` in shape and value (skipped
    when `np_fn` is None). Backward: `minigrad.gradcheck` on every input. Returns the
    forward output so a test can check more.
    """
    if arrays is None:
        arrays = random_inputs(shapes, low, high, seed)
    tensors = [mg.Tensor(a, requires_grad=True) for a in arrays]
    out = mg_fn(*tensors)
    assert isinstance(out, mg.Tensor)
    assert out.dtype == np.float64
    if np_fn is not None:
        expected = np.asarray(np_fn(*[a.copy() for a in arrays]))
        assert out.shape == expected.shape, f"shape {out.shape}, NumPy gives {expected.shape}"
        np.testing.assert_allclose(out.data, expected, rtol=rtol, atol=atol)
    assert out.requires_grad and out.grad_fn is not None
    assert mg.gradcheck(mg_fn, tensors)
    return out


@pytest.fixture(scope="session", name="check_op")
def check_op_fixture() -> Callable[..., mg.Tensor]:
    """`check_op(mg_fn, np_fn, shapes, ...)`: forward vs NumPy, gradient vs gradcheck."""
    return check_op


@pytest.fixture(scope="session", name="random_inputs")
def random_inputs_fixture() -> Callable[..., list]:
    """`random_inputs(shapes, low, high, seed)`: reproducible float64 arrays."""
    return random_inputs
