"""Errors that name the op: a failure inside a forward, and detect_anomaly's NaN/inf check."""
from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.tensor import Tensor

__all__ = ["check_finite", "with_op_context"]


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
