"""Errors that name the op: a failure inside a forward, and detect_anomaly's NaN/inf check."""
from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.tensor import Tensor

__all__ = ["check_finite", "check_versions", "freed_graph", "with_op_context"]


def with_op_context(err: Exception, op: str, tensors: tuple) -> Exception:
    """A failure inside an op's forward, re-raised with the op's name and the input shapes."""
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
    except Exception:  # noqa: BLE001  (an exception type with an unusual constructor keeps its own text)
        return err


def check_finite(array: Any, where: str, tensors: tuple) -> None:
    """detect_anomaly's check: raise naming `where` if `array` holds a NaN or inf."""
    array = np.asarray(array.data if isinstance(array, Tensor) else array)
    if array.dtype.kind in "fc" and not np.isfinite(array).all():
        bad = np.argwhere(~np.isfinite(array))[0]
        shapes = ", ".join(str(t.shape) for t in tensors)
        raise FloatingPointError(
            f"detect_anomaly: {where} produced a non-finite value {array[tuple(bad)]} at index "
            f"{tuple(int(i) for i in bad)} (input shapes: {shapes}); check the inputs' "
            f"domain (log/sqrt of negatives, division by zero) or lower the learning rate")


def check_versions(node: Any) -> None:
    """Raise naming the node if an array it saved was changed in place since it was made."""
    saved_ids = {id(a) for a in node.saved_tensors}
    for t in node.inputs:
        if t._version > node.created and id(t.data) in saved_ids:
            raise RuntimeError(
                f"backward: a tensor of shape {t.shape} that {node.name} saved for its backward "
                f"was changed in place afterwards (at version {t._version}), so the "
                f"gradient would be wrong; do the in-place update after backward(), or use the "
                f"out-of-place op (x = x + y instead of x += y)")
    if getattr(node, "output_changed", False) and any(a is node.out_data for a in node.saved_tensors):
        raise RuntimeError(
            f"backward: the output of {node.name} (shape {node.out_data.shape}) was changed in "
            f"place after {node.name} saved it for its backward; use the out-of-place op")


def freed_graph(node: Any) -> RuntimeError:
    return RuntimeError(
        f"backward: trying to backward through the graph a second time: the node {node.name} "
        f"was freed by an earlier backward(). Pass retain_graph=True to the first backward() "
        f"if you need to call it again, or recompute the forward pass")
