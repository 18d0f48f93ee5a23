"""The autograd engine:

- `function`: `Function`, the node every op is (forward on arrays, backward in NumPy that
  also runs on tensors), and `once_differentiable`;
- `engine`: `backward` and `grad`, the reverse walk over the graph;
- `grad_mode`: per-thread state: `no_grad`, `enable_grad`, `set_grad_enabled`,
  `detect_anomaly` and the module scope the renderer labels nodes with;
- `functional`: `vjp`, `jvp`, `jacobian`, `hessian`, `hvp`, `vhp`, built on `grad`;
- the engine's helpers, one job each: `graph` (`topological_order`), `gradients`
  (`unbroadcast`), `higher_order` (backward on tensors), `arguments`, `constants`,
  `versions`, `errors`.
"""
from minigrad.autograd.function import Function, once_differentiable
from minigrad.autograd.engine import backward, grad
from minigrad.autograd.gradients import unbroadcast
from minigrad.autograd.graph import topological_order
from minigrad.autograd.grad_mode import (detect_anomaly, enable_grad, is_grad_enabled,
                                         module_scope, no_grad, set_grad_enabled)

__all__ = [
    "Function", "backward", "detect_anomaly", "enable_grad", "functional", "grad",
    "is_grad_enabled", "module_scope", "no_grad", "once_differentiable", "set_grad_enabled",
    "topological_order", "unbroadcast",
]


def __getattr__(name: str):  # `minigrad.autograd.functional` without importing it up front
    if name == "functional":
        import importlib
        return importlib.import_module("minigrad.autograd.functional")
    raise AttributeError(f"module 'minigrad.autograd' has no attribute {name!r}")
