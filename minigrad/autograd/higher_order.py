"""Running a node's backward on tensors, for `create_graph=True`.

Every backward is written with NumPy operators, ufuncs and array methods. Handed tensors
instead of arrays, the same code records a graph (Tensor implements NumPy's dispatch
protocols), so the gradients it returns can be differentiated again.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.tensor import Tensor

__all__ = ["backward_on_tensors"]


def backward_on_tensors(node: Any, grad: Any) -> Any:
    """The node's backward run on tensors wired to the graph."""
    arrays = node.saved_tensors
    node.saved_tensors = saved_as_tensors(node)
    try:
        return node.backward(node, grad if isinstance(grad, Tensor)
                             else Tensor._make(grad, False, None))
    except (TypeError, ValueError, AttributeError) as err:
        raise RuntimeError(
            f"{node.name}.backward failed on tensors (create_graph=True): {err}. Write it "
            f"with NumPy operators, ufuncs and array methods so it runs on tensors too, or "
            f"mark it @minigrad.once_differentiable") from err
    finally:
        node.saved_tensors = arrays


def saved_as_tensors(node: Any) -> tuple:
    """The node's saved arrays as tensors: its inputs and output keep their place in the
    graph (so the backward can be differentiated), anything else is a constant."""
    out = []
    for a in node.saved_tensors:
        if isinstance(a, np.ndarray):
            source = next((t for t in node.inputs if t.data is a), None)
            if source is None:
                source = Tensor._make(a, a is node.out_data, node if a is node.out_data else None)
            a = source
        out.append(a)
    return tuple(out)
