"""In-place updates (`+=`, `add_`, `zero_`, `t[i] = v`, ...) under PyTorch's rules.

- While grad mode is on, a tensor that requires grad (or an update by one that does) cannot
  be changed in place: the graph would not know. Wrap the update in `with minigrad.no_grad():`,
  which is how optimisers and `p -= lr * p.grad` are written.
- Otherwise the data changes in place and the tensor's version goes up. A graph node that
  saved the old array for its backward notices at backward time and raises, naming itself.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.autograd.versions import clock
from minigrad.autograd.grad_mode import state
from minigrad.tensor import Tensor

__all__ = ["update"]


def update(t: Tensor, op: str, how: Any, value: Any) -> Tensor:
    """Apply the in-place op `op` to `t`: `how` is a binary ufunc, np.clip (value = bounds),
    None (write `value` over the data) or, for item assignment, the index."""
    operand = value.data if isinstance(value, Tensor) else value
    if state.grad_enabled and (t.requires_grad or getattr(value, "requires_grad", False)):
        who = "a leaf tensor that requires grad" if t.requires_grad and t.grad_fn is None else (
            "a tensor in a graph" if t.requires_grad else "a tensor, with an operand that "
            "requires grad,")
        raise RuntimeError(
            f"{op}: in-place change of {who} while grad mode is on: the graph cannot record it. "
            f"For a parameter update wrap it in `with minigrad.no_grad():`; to compute "
            f"something new, use the out-of-place form (x = x + y)")
    data = t.data
    try:
        if op == "__setitem__":
            data[how] = operand
        elif op == "clamp_":
            np.clip(data, *operand, out=data)
        elif how is None:
            np.copyto(data, operand, casting="unsafe" if op == "copy_" else "same_kind")
        else:
            how(data, operand, out=data, casting="same_kind")
    except (ValueError, TypeError) as err:
        shape = getattr(operand, "shape", np.shape(operand))
        # NumPy raises subclasses whose constructors take more arguments: use the base type
        raise (ValueError if isinstance(err, ValueError) else TypeError)(
            f"{op}: cannot write into the tensor of shape {t.shape} and dtype {t.dtype} with a "
            f"value of shape {shape} ({err}); the value must broadcast to the tensor's shape "
            f"(an in-place op cannot grow it) and keep its dtype kind") from None
    clock.tick(t)
    if t.grad_fn is not None:
        t.grad_fn.output_changed = True
    return t
