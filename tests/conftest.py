"""Shared test helpers.

- `check_op`: one call checks an op's forward against NumPy and its gradient against
  minigrad's own `gradcheck` (finite differences), so an op case is one line.
- `@pytest.mark.requires_tool("dot")` (or the `require_tool` fixture): a test that needs a
  program outside Python skips when it is missing, with a reason saying how to install it;
  with the environment variable CI set (`.ci/run` sets it) a missing program FAILS instead,
  so CI cannot pass by skipping. Add a program to `TOOLS` to reuse the pattern.

Test modules get these through fixtures and markers (tests/ has no __init__.py, so that
is the one way to share code between directories).
"""
import os
import shutil
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


# ---- programs outside Python: skip locally, fail in CI ------------------------------------

# name -> (is it available?, what it is, how to install it)
TOOLS: dict = {
    "dot": (lambda: shutil.which("dot") is not None, "Graphviz's `dot` program",
            "apt-get install graphviz (Debian/Ubuntu), brew install graphviz (macOS), "
            "conda install graphviz, or https://graphviz.org/download/"),
}


def in_ci() -> bool:
    """True when the environment variable CI is set to anything but "", "0" or "false"."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false")


def require_tool(name: str) -> None:
    """Return if the program `name` of TOOLS is available; else skip the test with a reason
    that says how to install it, or fail it when running in CI."""
    available, what, how = TOOLS[name]
    if available():
        return
    message = f"{what} is not installed; install it with: {how}"
    if in_ci():
        pytest.fail(f"{message} (CI is set, so a missing program fails the run instead of "
                    f"skipping)", pytrace=False)
    pytest.skip(message)


def pytest_configure(config: Any) -> None:
    config.addinivalue_line(
        "markers", "requires_tool(name): the test needs an external program from "
                   "conftest.TOOLS; skipped when missing, failed when missing under CI")


def pytest_runtest_setup(item: Any) -> None:
    for mark in item.iter_markers("requires_tool"):
        for name in mark.args:
            require_tool(name)


@pytest.fixture(scope="session", name="require_tool")
def require_tool_fixture() -> Callable[[str], None]:
    """`require_tool("dot")` inside a test: skip (locally) or fail (CI) if it is missing."""
    return require_tool
